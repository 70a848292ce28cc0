package pipeline

import (
	"slices"
	"testing"
	"time"

	"github.com/sessionize/sessionize/internal/iceberg"
)

// TestMaintenanceAlongsideRun: with maintenance running every 100 ms while
// the job commits every 1000 records, no pipeline commit is lost or doubled
// and the job is never fenced by it. The events table is maintained too
// (it was not: its small files and snapshots grew without bound).
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
	cfg.Warehouse.EventsTable = true
	commits := 0
	cfg.OnCommit = func(CommitInfo) { commits++ }
	if err := Run(t.Context(), cfg); err != nil {
		t.Fatal(err)
	}
	got, rows := tableLines(t, wh)
	if want := batchLines(t, lines); !slices.Equal(got, want) {
		t.Fatalf("with maintenance alongside: %d sessions, batch %d: %s", len(got), len(want), firstDiff(got, want))
	}
	w := openWarehouse(t, wh)
	events, err := w.ReadEvents(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	var inSessions int64
	for _, r := range rows {
		inSessions += r.EventCount
	}
	if int64(len(events)) != inSessions {
		t.Fatalf("events table: %d rows, the sessions hold %d events", len(events), inSessions)
	}
	d, err := w.Describe(t.Context(), iceberg.TableEvents)
	if err != nil {
		t.Fatal(err)
	}
	compactions := 0
	for _, s := range d.Snapshots {
		if s.Summary["operation"] == "replace" {
			compactions++
		}
	}
	if compactions == 0 {
		t.Fatalf("no compaction of the events table in %d snapshots", len(d.Snapshots))
	}
	a, err := Audit(t.Context(), w)
	if err != nil || !a.Holds() || a.Records != int64(len(lines)) {
		t.Fatalf("account: %s (%v)", a, err)
	}
	if commits < 10 {
		t.Fatalf("only %d commits: maintenance had little to race with", commits)
	}
}
