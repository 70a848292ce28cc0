package iceberg

import (
	"cmp"
	"context"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

// testLogger sends the package's logs to the test log, so a failing test
// shows what the warehouse did.
func testLogger(t testing.TB) *slog.Logger {
	return slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

type testWriter struct{ t testing.TB }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}

func testCtx(t testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func openWarehouse(t testing.TB, cfg Config) *Warehouse {
	t.Helper()
	w, err := Open(testCtx(t), cfg, testLogger(t))
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() {
		if err := w.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return w
}

// 2024-03-09 23:59:00 UTC and a minute later on the next day: commits span
// two day partitions.
const baseMs int64 = 1710028740000

func sampleSessions(n int, tag string) []SessionRow {
	rows := make([]SessionRow, n)
	for i := range rows {
		start := baseMs + int64(i)*1000
		pages := []string{"home", fmt.Sprintf("product-%d", i%7), "cart"}[:1+i%3]
		rows[i] = SessionRow{
			SessionID:              fmt.Sprintf("%s-session-%06d", tag, i),
			UUID:                   fmt.Sprintf("user-%04d", i%97),
			SessionStartTimeMs:     start,
			SessionEndTimeMs:       start + int64(i%1800)*1000,
			SessionDurationSeconds: float64(i%1800) + 0.25,
			EventCount:             int64(1 + i%50),
			PagesVisited:           pages,
			PagesTruncated:         i%11 == 0,
			EntryPage:              pages[0],
			ExitPage:               pages[len(pages)-1],
			EndReason:              []string{"inactivity", "max_duration", "end_of_input"}[i%3],
		}
	}
	return rows
}

func sampleLate(n int) []LateRow {
	rows := make([]LateRow, n)
	for i := range rows {
		var wm *int64
		if i%2 == 0 {
			wm = ptr(baseMs + int64(i))
		}
		rows[i] = LateRow{
			Raw:              fmt.Sprintf(`{"uuid":"u%d","event_id":"e%d","event_timestamp":"%d"}`, i, i, baseMs-int64(i)),
			Topic:            "clicks",
			Partition:        int32(i % 3),
			Offset:           int64(100 + i),
			KafkaTimestampMs: baseMs + int64(i)*60000,
			WatermarkMs:      wm,
			EventID:          fmt.Sprintf("e%d", i),
			UUID:             fmt.Sprintf("u%d", i),
			EventTimestampMs: baseMs - int64(i),
		}
	}
	return rows
}

func sampleRejected(n int) []RejectedRow {
	rows := make([]RejectedRow, n)
	for i := range rows {
		var wm *int64
		if i%3 != 0 {
			wm = ptr(baseMs - 5)
		}
		rows[i] = RejectedRow{
			Raw:              fmt.Sprintf("not json %d", i),
			Reason:           "unparsable",
			Topic:            "clicks",
			Partition:        int32(i % 2),
			Offset:           int64(i),
			KafkaTimestampMs: baseMs + int64(i)*90000,
			WatermarkMs:      wm,
		}
	}
	return rows
}

func sortSessions(rows []SessionRow) {
	slices.SortFunc(rows, func(a, b SessionRow) int { return cmp.Compare(a.SessionID, b.SessionID) })
}

func sortLate(rows []LateRow) {
	slices.SortFunc(rows, func(a, b LateRow) int { return cmp.Compare(a.Offset, b.Offset) })
}

func sortRejected(rows []RejectedRow) {
	slices.SortFunc(rows, func(a, b RejectedRow) int { return cmp.Compare(a.Offset, b.Offset) })
}

// listFiles returns every regular file under dir, relative to dir.
func listFiles(t testing.TB, dir string) []string {
	t.Helper()
	var out []string
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.Type().IsRegular() {
			rel, _ := filepath.Rel(dir, p)
			out = append(out, rel)
		}
		return nil
	})
	if err != nil && !os.IsNotExist(err) {
		t.Fatalf("list %s: %v", dir, err)
	}
	slices.Sort(out)
	return out
}

// tableDir is where iceberg-go's SQL catalog puts a table by default.
func tableDir(w *Warehouse, name string) string {
	return w.store.Join(w.cfg.Namespace+".db", name)
}

// storeFiles lists the files below dir in the warehouse's storage (local
// or object store), relative to dir, slash-separated, sorted.
func storeFiles(t testing.TB, w *Warehouse, dir string) []string {
	t.Helper()
	var out []string
	err := w.store.Walk(testCtx(t), dir, func(p string, _ fs.FileInfo) error {
		rel, ok := strings.CutPrefix(filepath.ToSlash(p), filepath.ToSlash(dir)+"/")
		if !ok {
			t.Errorf("listed %s, not below %s", p, dir)
		}
		out = append(out, rel)
		return nil
	})
	if err != nil {
		t.Fatalf("list %s: %v", dir, err)
	}
	slices.Sort(out)
	return out
}

func mustCurrentID(t testing.TB, w *Warehouse, name string) int64 {
	t.Helper()
	s, ok, err := w.Current(testCtx(t), name)
	if err != nil {
		t.Fatalf("Current(%s): %v", name, err)
	}
	if !ok {
		return NoSnapshot
	}
	return s.ID
}

func sampleEvents(n int, tag string) []EventRow {
	rows := make([]EventRow, n)
	for i := range rows {
		rows[i] = EventRow{
			SessionID:          fmt.Sprintf("%s-session-%06d", tag, i/4),
			EventIndex:         int64(i % 4),
			SessionStartTimeMs: baseMs + int64(i/4)*1000,
			UUID:               fmt.Sprintf("user-%04d", i%97),
			EventID:            fmt.Sprintf("%s-e%d", tag, i),
			EventTimestampMs:   baseMs + int64(i)*250,
			PageName:           []string{"home", "search", "cart"}[i%3],
			Raw:                fmt.Sprintf(`{"uuid":"user-%04d","event_id":"%s-e%d","note":%q}`, i%97, tag, i, strings.Repeat("x", i%5)),
			Partition:          int32(i % 3),
			Offset:             int64(1000 + i),
		}
	}
	return rows
}
