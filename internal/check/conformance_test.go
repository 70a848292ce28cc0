package check

import (
	"encoding/json"
	"maps"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// conformanceDir finds ../shared/conformance/cases from the repository
// root (SESSIONIZE_CONFORMANCE_DIR overrides it); without it the test
// skips, unless CI is set.
func conformanceDir(t *testing.T) string {
	t.Helper()
	dir := os.Getenv("SESSIONIZE_CONFORMANCE_DIR")
	if dir == "" {
		dir = filepath.Join("..", "..", "..", "shared", "conformance", "cases")
	}
	if _, err := os.Stat(dir); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("conformance cases not found at %s (set SESSIONIZE_CONFORMANCE_DIR): %v", dir, err)
		}
		t.Skipf("conformance cases not found at %s; set SESSIONIZE_CONFORMANCE_DIR to run them", dir)
	}
	return dir
}

// TestConformance: over every case, check's counts are the ones the case
// pins down: records, rejected by reason, duplicates, and the number of
// records it says are late at the case's allowed lateness is the number
// the stream sends to late_events.
func TestConformance(t *testing.T) {
	root := conformanceDir(t)
	entries, err := os.ReadDir(root)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, e := range entries {
		if !e.IsDir() {
			continue
		}
		dir := filepath.Join(root, e.Name())
		t.Run(e.Name(), func(t *testing.T) {
			var c struct {
				AllowedLateMs int64            `json:"allowed_lateness_ms"`
				InputRecords  int64            `json:"input_records"`
				Rejected      map[string]int64 `json:"rejected"`
				Duplicates    int64            `json:"duplicates"`
				StreamLateIDs []string         `json:"stream_late_event_ids"`
			}
			b, err := os.ReadFile(filepath.Join(dir, "case.json"))
			if err != nil {
				t.Fatal(err)
			}
			if err := json.Unmarshal(b, &c); err != nil {
				t.Fatal(err)
			}
			r := checkFiles(t, Options{AllowedLateness: time.Duration(c.AllowedLateMs) * time.Millisecond, AllowedLatenessSet: true},
				filepath.Join(dir, "input.jsonl"))
			if r.Records != c.InputRecords {
				t.Errorf("records %d, want %d", r.Records, c.InputRecords)
			}
			if c.Rejected == nil {
				c.Rejected = map[string]int64{}
			}
			if !maps.Equal(r.RejectedByReason, c.Rejected) {
				t.Errorf("rejected %v, want %v", r.RejectedByReason, c.Rejected)
			}
			if r.Duplicates != c.Duplicates {
				t.Errorf("duplicates %d, want %d", r.Duplicates, c.Duplicates)
			}
			if r.Late != int64(len(c.StreamLateIDs)) {
				t.Errorf("late at %dms: %d, want %d (%v)", c.AllowedLateMs, r.Late, len(c.StreamLateIDs), c.StreamLateIDs)
			}
		})
		n++
	}
	if n == 0 {
		t.Fatalf("no cases in %s", root)
	}
}
