package pipeline

import (
	"bytes"
	"encoding/json"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/sessionize/sessionize/internal/session"
)

// TestConformanceStream runs the shared cases' stream view through a real
// broker (one partition, arrival order = line order) and the pipeline into
// Iceberg: late events as listed, rejected counts by reason, and sessions
// equal to batch's over the input without the late events.
func TestConformanceStream(t *testing.T) {
	dir := filepath.Join("..", "..", "..", "shared", "conformance", "cases")
	if d := os.Getenv("SESSIONIZE_CONFORMANCE_DIR"); d != "" {
		dir = d
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("conformance cases not found: %v", err)
		}
		t.Skipf("conformance cases not found at %s: %v", dir, err)
	}
	for _, e := range entries {
		t.Run(e.Name(), func(t *testing.T) {
			var c struct {
				Inactivity int64            `json:"inactivity_timeout_ms"`
				MaxDur     int64            `json:"max_session_duration_ms"`
				Lateness   int64            `json:"allowed_lateness_ms"`
				Rejected   map[string]int64 `json:"rejected"`
				LateIDs    []string         `json:"stream_late_event_ids"`
			}
			b, err := os.ReadFile(filepath.Join(dir, e.Name(), "case.json"))
			if err != nil {
				t.Fatal(err)
			}
			if err := json.Unmarshal(b, &c); err != nil {
				t.Fatal(err)
			}
			input, err := os.ReadFile(filepath.Join(dir, e.Name(), "input.jsonl"))
			if err != nil {
				t.Fatal(err)
			}
			lines := bytes.Split(bytes.TrimRight(input, "\n"), []byte("\n"))
			broker := startBroker(t, 1)
			produceLines(t, broker, lines, make([][]byte, len(lines)))
			wh := t.TempDir()
			cfg := runConfig(t, broker, wh)
			cfg.Rules = session.Rules{InactivityMs: c.Inactivity, MaxDurationMs: c.MaxDur, MaxPages: session.DefaultMaxPages}
			cfg.AllowedLateness = time.Duration(c.Lateness) * time.Millisecond
			cfg.StopWhenIdle = 300 * time.Millisecond
			if err := Run(t.Context(), cfg); err != nil {
				t.Fatal(err)
			}

			w := openWarehouse(t, wh)
			late, _ := w.ReadLate(t.Context())
			var lateIDs []string
			lateOffsets := map[int64]bool{}
			for _, l := range late {
				lateIDs = append(lateIDs, l.EventID)
				lateOffsets[l.Offset] = true
			}
			slices.Sort(lateIDs)
			wantLate := slices.Sorted(slices.Values(c.LateIDs))
			if !slices.Equal(lateIDs, wantLate) {
				t.Fatalf("late %v, want %v", lateIDs, wantLate)
			}
			rej, _ := w.ReadRejected(t.Context())
			byReason := map[string]int64{}
			for _, r := range rej {
				byReason[r.Reason]++
			}
			if !maps.Equal(byReason, c.Rejected) && len(byReason)+len(c.Rejected) > 0 {
				t.Fatalf("rejected %v, want %v", byReason, c.Rejected)
			}
			var onTime [][]byte
			for i, l := range lines {
				if !lateOffsets[int64(i)] {
					onTime = append(onTime, l)
				}
			}
			got, _ := tableLines(t, wh)
			want := batchLinesWith(t, onTime, cfg.Rules)
			// end_reason may differ only where batch sees a later event
			// time than the stream (a late event carries the maximum);
			// the cases do not contain that, so compare everything.
			if !slices.Equal(got, want) {
				t.Fatalf("stream sessions differ from batch without late events: %s", firstDiff(got, want))
			}
		})
	}
}
