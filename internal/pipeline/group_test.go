package pipeline

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/sessionize/sessionize/internal/batch"
	"github.com/sessionize/sessionize/internal/iceberg"
	"github.com/sessionize/sessionize/internal/session"
)

// batchToTable runs batch --output-table over lines into warehouse.
func batchToTable(t *testing.T, warehouse string, lines [][]byte) {
	t.Helper()
	in := filepath.Join(t.TempDir(), "in.jsonl")
	if err := os.WriteFile(in, append(bytes.Join(lines, []byte("\n")), '\n'), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err := batch.Run(t.Context(), batch.Config{Inputs: []string{in}, Rules: session.DefaultRules(), Workers: 2,
		Table: &batch.TableOutput{Table: iceberg.TableSessions, Warehouse: iceberg.Config{Warehouse: warehouse}}})
	if err != nil {
		t.Fatal(err)
	}
}

func wantForeignGroup(t *testing.T, err error, warehouse, theirs, ours string) {
	t.Helper()
	var fg *ForeignGroupError
	if !errors.As(err, &fg) {
		t.Fatalf("group %s on the tables of group %s: got %v, want it refused", ours, theirs, err)
	}
	want := fmt.Sprintf(`warehouse %s (namespace sessionize) holds the output of consumer group %q on topic "clickstream"; this run uses group %q. `+
		`Run with --group %s to continue it, or use another --warehouse or --namespace`, warehouse, theirs, ours, theirs)
	if err.Error() != want {
		t.Fatalf("message\n %s\nwant\n %s", err, want)
	}
}

// TestRunRefusesTablesOfAnotherGroup: a run with another --group than the
// one whose output the tables hold is refused before it consumes, with a
// message saying what to do. Snapshots of batch --output-table and of
// table maintenance (which carry their parent's properties, or none on an
// empty table) never trip the check.
func TestRunRefusesTablesOfAnotherGroup(t *testing.T) {
	b := startBroker(t, 2)
	lines, keys := generated(t, 3_000, 80, 41)
	produceLines(t, b, lines, keys)
	wh := t.TempDir()
	run := func(group string) error {
		cfg := runConfig(t, b, wh)
		cfg.Kafka.Group = group
		cfg.Warehouse.Namespace = "sessionize"
		ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
		defer cancel()
		return Run(ctx, cfg)
	}

	batchToTable(t, wh, lines) // on an empty table: names no group
	if err := run("A"); err != nil {
		t.Fatalf("group A after a batch run: %v", err)
	}
	// Another batch run over other events (the same ones again would be
	// refused as a run whose sessions the table holds).
	other, _ := generated(t, 100, 5, 42)
	batchToTable(t, wh, other)
	w := openWarehouse(t, wh)
	if _, err := w.Maintain(t.Context(), iceberg.MaintainOptions{OlderThan: time.Nanosecond, RetainLast: 1}); err != nil {
		t.Fatal(err)
	}
	for _, tbl := range []string{iceberg.TableSessions, iceberg.TableLate, iceberg.TableRejected} {
		snap, ok, err := w.Current(t.Context(), tbl)
		if err != nil {
			t.Fatal(err)
		}
		if !ok {
			continue // no late events in this input
		}
		if g := snapshotGroup(t, snap); g != "A" {
			t.Fatalf("%s snapshot %d (%s) names group %q after batch and maintenance, want A", tbl, snap.ID, snap.Summary["operation"], g)
		}
	}
	if err := run("A"); err != nil {
		t.Fatalf("group A again after batch and maintenance: %v", err)
	}
	started := time.Now()
	wantForeignGroup(t, run("B"), wh, "A", "B")
	if d := time.Since(started); d > 10*time.Second {
		t.Fatalf("refused only after %s", d)
	}
}

// TestTwoGroupsStartedTogether: two runs with different groups start at
// once on an empty warehouse, both pass the check at start, and both read
// the whole topic. The first commit decides: the other run's commit is
// fenced by it, finds the other group's output and stops with the
// refusal instead of fencing and being fenced in a loop. The tables hold
// one group's output only.
func TestTwoGroupsStartedTogether(t *testing.T) {
	b := startBroker(t, 2)
	lines, keys := generated(t, 6_000, 100, 43)
	produceLines(t, b, lines, keys)
	wh := t.TempDir()
	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
	defer cancel()
	type result struct {
		group string
		err   error
	}
	done := make(chan result, 2)
	cancels := map[string]context.CancelFunc{}
	for _, g := range []string{"A", "B"} {
		cfg := runConfig(t, b, wh)
		cfg.Kafka.Group = g
		cfg.Warehouse.Namespace = "sessionize"
		cfg.StopWhenIdle, cfg.Drain = 0, false
		rctx, rcancel := context.WithCancel(ctx)
		cancels[g] = rcancel
		go func() { done <- result{g, Run(rctx, cfg)} }()
	}
	first := <-done
	survivor := map[string]string{"A": "B", "B": "A"}[first.group]
	wantForeignGroup(t, first.err, wh, survivor, first.group)
	select {
	case r := <-done:
		t.Fatalf("group %s stopped too (%v)", r.group, r.err)
	case <-time.After(time.Second):
	}
	cancels[survivor]()
	if r := <-done; r.err != nil {
		t.Fatalf("group %s: %v", r.group, r.err)
	}
	w := openWarehouse(t, wh)
	for _, tbl := range []string{iceberg.TableSessions, iceberg.TableLate, iceberg.TableRejected} {
		snaps, err := w.Snapshots(t.Context(), tbl)
		if err != nil {
			t.Fatal(err)
		}
		for _, s := range snaps {
			if g := snapshotGroup(t, s); g != survivor {
				t.Errorf("%s snapshot %d was written by group %q, not %s", tbl, s.ID, g, survivor)
			}
		}
	}
	_, rows := tableLines(t, wh)
	ids := map[string]bool{}
	for _, r := range rows {
		if ids[r.SessionID] {
			t.Errorf("session %s is in the table twice", r.SessionID)
		}
		ids[r.SessionID] = true
	}
}

// snapshotGroup is the consumer group a snapshot's summary names.
func snapshotGroup(t *testing.T, snap iceberg.Snapshot) string {
	t.Helper()
	sum, err := iceberg.ParseSummary(snap.Summary)
	if err != nil {
		t.Fatal(err)
	}
	return sum.Group
}
