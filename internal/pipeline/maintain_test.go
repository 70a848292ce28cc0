package pipeline

import (
	"slices"
	"testing"
	"time"
)

// TestMaintenanceAlongsideRun: with maintenance running every 100 ms while
// the job commits every 1000 records, no pipeline commit is lost or doubled
// and the job is never fenced by it.
func TestMaintenanceAlongsideRun(t *testing.T) {
	if testing.Short() {
		t.Skip("maintenance race test skipped in -short mode")
	}
	b := startBroker(t, 3)
	lines, keys := generated(t, 20_000, 300, 13)
	produceLines(t, b, lines, keys)
	wh := t.TempDir()
	cfg := runConfig(t, b, wh)
	cfg.CommitMaxRecords = 1000
	cfg.MaintainEvery = 100 * time.Millisecond
	commits := 0
	cfg.OnCommit = func(CommitInfo) { commits++ }
	if err := Run(t.Context(), cfg); err != nil {
		t.Fatal(err)
	}
	got, _ := tableLines(t, wh)
	if want := batchLines(t, lines); !slices.Equal(got, want) {
		t.Fatalf("with maintenance alongside: %d sessions, batch %d: %s", len(got), len(want), firstDiff(got, want))
	}
	a, err := Audit(t.Context(), openWarehouse(t, wh))
	if err != nil || !a.Holds() || a.Records != int64(len(lines)) {
		t.Fatalf("account: %s (%v)", a, err)
	}
	if commits < 10 {
		t.Fatalf("only %d commits: maintenance had little to race with", commits)
	}
}
