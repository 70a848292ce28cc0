package pipeline

import (
	"context"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sessionize/sessionize/internal/iceberg"
)

// TestStopDuringCommitFinishesItAndDrains: the stop signal (ctx
// cancelled, as on SIGTERM) arrives while a sessions commit is in flight
// and slow. The commit is let finish, and the final commit follows with
// --drain: every open session closed, nothing left open. (Before, the stop
// cut the commit short, the final commit was skipped as if fenced, and the
// run exited 0 without draining.)
func TestStopDuringCommitFinishesItAndDrains(t *testing.T) {
	b := startBroker(t, 3)
	lines, keys := generated(t, 20_000, 300, 13)
	produceLines(t, b, lines, keys)
	wh := t.TempDir()

	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	var calls atomic.Int64
	cfg := runConfig(t, b, wh)
	cfg.CommitMaxRecords = 2000
	cfg.Warehouse.Faults = &iceberg.FaultInjector{BeforeCommit: func(actx context.Context, table string) error {
		if table == iceberg.TableSessions && calls.Add(1) == 3 {
			cancel() // the stop arrives in the middle of this commit
			select {
			case <-time.After(300 * time.Millisecond): // a slow catalog
			case <-actx.Done():
				return actx.Err()
			}
		}
		return nil
	}}
	var infos []CommitInfo
	cfg.OnCommit = func(ci CommitInfo) { infos = append(infos, ci) }
	if err := Run(ctx, cfg); err != nil {
		t.Fatalf("stopped during a slow commit: Run returned %v, want nil", err)
	}
	if calls.Load() < 3 {
		t.Fatal("the run ended before the third sessions commit")
	}
	if len(infos) < 3 {
		t.Fatalf("%d commits; want the one in flight at the stop and the final one after it: %+v", len(infos), infos)
	}
	if last := infos[len(infos)-1]; last.OpenEvents != 0 || last.Sessions == 0 {
		t.Fatalf("the last commit left %d events open and wrote %d sessions; want the drain (nothing open): %+v", last.OpenEvents, last.Sessions, infos)
	}
}

// TestStopDuringHungCommitWithDrainFails: a commit that still hangs when
// the stop's grace is over is abandoned; with --drain the run says that
// nothing was drained and exits with an error, instead of a clean exit.
func TestStopDuringHungCommitWithDrainFails(t *testing.T) {
	b := startBroker(t, 3)
	lines, keys := generated(t, 5_000, 100, 13)
	produceLines(t, b, lines, keys)
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	var calls atomic.Int64
	cfg := runConfig(t, b, t.TempDir())
	cfg.CommitMaxRecords = 1000
	cfg.stopGrace = 200 * time.Millisecond
	cfg.Warehouse.Faults = &iceberg.FaultInjector{BeforeCommit: func(actx context.Context, table string) error {
		if table == iceberg.TableSessions && calls.Add(1) == 2 {
			cancel()
			<-actx.Done()
			return actx.Err()
		}
		return nil
	}}
	err := Run(ctx, cfg)
	if err == nil || !strings.Contains(err.Error(), "nothing was drained") {
		t.Fatalf("Run = %v, want an error saying nothing was drained", err)
	}
}
