package pipeline

import (
	"context"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sessionize/sessionize/internal/iceberg"
	"github.com/sessionize/sessionize/internal/metrics"
)

// TestLoopProcessesWhileCommitting: the poll loop goes on reading and
// processing records while a commit of its own is being written, and the
// tables still equal batch. The first sessions commit is held while more
// records are produced, until a partition's watermark (set as each poll
// is processed) has moved past where it was; with the loop waiting for
// its commits it never would. (Before, the loop waited: a drain spent
// about a third of its time encoding Parquet with nothing else running.)
func TestLoopProcessesWhileCommitting(t *testing.T) {
	b := startBroker(t, 3)
	lines, keys := generated(t, 20_000, 300, 5)
	const first = 3000
	produceLines(t, b, lines[:first], keys[:first])
	wh := t.TempDir()
	cfg := runConfig(t, b, wh)
	cfg.CommitMaxRecords = 100_000 // commits by time only
	cfg.Metrics = metrics.New(cfg.CommitInterval)
	watermark := func() int64 {
		var w int64
		for _, ps := range cfg.Metrics.Status().Partitions {
			w = max(w, ps.WatermarkMs)
		}
		return w
	}
	var calls atomic.Int64
	var overlapped atomic.Bool
	produceErr := make(chan error, 1)
	cfg.Warehouse.Faults = &iceberg.FaultInjector{BeforeCommit: func(ctx context.Context, table string) error {
		if table != iceberg.TableSessions || calls.Add(1) != 1 {
			return nil
		}
		before := watermark()
		produceErr <- produce(ctx, b, lines[first:], keys[first:])
		deadline := time.Now().Add(10 * time.Second)
		for time.Now().Before(deadline) {
			if watermark() > before {
				overlapped.Store(true)
				return nil
			}
			select {
			case <-ctx.Done():
				return ctx.Err()
			case <-time.After(10 * time.Millisecond):
			}
		}
		return nil
	}}
	var infos []CommitInfo
	cfg.OnCommit = func(ci CommitInfo) { infos = append(infos, ci) }
	ctx, cancel := context.WithTimeout(t.Context(), 60*time.Second)
	defer cancel()
	if err := Run(ctx, cfg); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-produceErr:
		if err != nil {
			t.Fatal(err)
		}
	default:
		t.Fatal("the first sessions commit never came")
	}
	if !overlapped.Load() {
		t.Fatal("no record was processed while the first commit was being written: the loop waited for its commit")
	}
	if len(infos) < 3 {
		t.Fatalf("%d commits; want several", len(infos))
	}
	var records int64
	for i, ci := range infos {
		if ci.Seq != int64(i+1) {
			t.Fatalf("commit %d has seq %d: commits applied out of order: %+v", i+1, ci.Seq, infos)
		}
		records += ci.Records
	}
	if records != int64(len(lines)) {
		t.Fatalf("the commits count %d records; %d were produced", records, len(lines))
	}
	got, _ := tableLines(t, wh)
	if want := batchLines(t, lines); !slices.Equal(got, want) {
		t.Fatalf("stream gave %d sessions, batch %d; first difference: %s", len(got), len(want), firstDiff(got, want))
	}
	a, err := Audit(t.Context(), openWarehouse(t, wh))
	if err != nil {
		t.Fatal(err)
	}
	if a.Records != int64(len(lines)) || !a.Holds() {
		t.Fatalf("produced %d; %s", len(lines), a)
	}
}
