package report

import (
	"bytes"
	"encoding/json"
	"log/slog"
	"testing"

	"github.com/sessionize/sessionize/internal/iceberg"
)

// A report of a warehouse streams the sessions table: it equals the
// report computed from the same sessions in memory, for any window, and a
// window opens only the data files of its days.
func TestFromWarehouseStreamsTheWindow(t *testing.T) {
	ctx := t.Context()
	cfg := iceberg.Config{Warehouse: t.TempDir()}
	wh, err := iceberg.Open(ctx, cfg, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	// handMade spans two days: one data file per day partition.
	if _, err := wh.Commit(ctx, iceberg.Commit{Table: iceberg.TableSessions, Sessions: handMade(), ExpectParentSnapshotID: iceberg.NoSnapshot}); err != nil {
		t.Fatal(err)
	}
	wh.Close()

	day2Only := Options{}
	day2Only.From, _ = ParseFrom("2026-11-02")
	day1Part := Options{}
	day1Part.From, _ = ParseFrom("2026-11-01T12:00:00Z")
	day1Part.To, _ = ParseTo("2026-11-01T23:59:59Z")
	for _, tc := range []struct {
		name      string
		opts      Options
		wantFiles float64
	}{
		{"open", Options{}, 2},
		{"day 2", day2Only, 1},
		{"part of day 1", day1Part, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var logs bytes.Buffer
			logger := slog.New(slog.NewJSONHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
			got, err := FromWarehouse(ctx, cfg, logger, tc.opts)
			if err != nil {
				t.Fatal(err)
			}
			want := Compute(handMade(), tc.opts)
			if g, w := figures(t, got), figures(t, want); g != w {
				t.Errorf("warehouse report differs from the in-memory one:\n got %s\nwant %s", g, w)
			}
			if files := scannedFiles(t, logs.Bytes()); files != tc.wantFiles {
				t.Errorf("data files read = %v, want %v (the window must prune day partitions)", files, tc.wantFiles)
			}
		})
	}
}

// figures is the report's JSON without source and quality.
func figures(t *testing.T, r *Report) string {
	t.Helper()
	var buf bytes.Buffer
	if err := r.WriteJSON(&buf); err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(buf.Bytes(), &m); err != nil {
		t.Fatal(err)
	}
	delete(m, "source")
	delete(m, "quality")
	b, _ := json.Marshal(m)
	return string(b)
}

// scannedFiles finds the data_files of the report's scan log line.
func scannedFiles(t *testing.T, logs []byte) float64 {
	t.Helper()
	dec := json.NewDecoder(bytes.NewReader(logs))
	for {
		var rec map[string]any
		if err := dec.Decode(&rec); err != nil {
			t.Fatalf("no log line of the sessions scan in:\n%s", logs)
		}
		if rec["msg"] == "scanned the sessions table" {
			n, _ := rec["data_files"].(float64)
			return n
		}
	}
}
