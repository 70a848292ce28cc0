package batch

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/sessionize/sessionize/internal/iceberg"
	"github.com/sessionize/sessionize/internal/session"
)

func tableRows(t *testing.T, cfg iceberg.Config) ([]iceberg.SessionRow, iceberg.Audit) {
	t.Helper()
	wh, err := iceberg.Open(context.Background(), cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer wh.Close()
	rows, err := wh.ReadSessions(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	slices.SortFunc(rows, func(a, b iceberg.SessionRow) int { return cmp.Compare(a.SessionID, b.SessionID) })
	audit, err := wh.Audit(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return rows, audit
}

// TestTableChainEqualsOneRun: hourly runs with --carry-open/--resume into
// the table are not refused as overlapping (their windows overlap by the
// carried sessions, their sessions do not), give the table one run gives,
// and the account of the chain adds up.
func TestTableChainEqualsOneRun(t *testing.T) {
	r := rand.New(rand.NewPCG(9, 3))
	dir := t.TempDir()
	evs := randomStream(r, 600)
	all := filepath.Join(dir, "all.jsonl")
	writeLines(t, all, evs, "{broken")
	one := iceberg.Config{Warehouse: filepath.Join(dir, "one")}
	runBatch(t, Config{Inputs: []string{all}, Output: filepath.Join(dir, "all-out.jsonl"), Table: &TableOutput{Table: iceberg.TableSessions, Warehouse: one}})

	lo, hi := evs[0].t, evs[0].t
	for _, e := range evs {
		lo, hi = min(lo, e.t), max(hi, e.t)
	}
	chain := iceberg.Config{Warehouse: filepath.Join(dir, "chain")}
	cuts := []int64{lo + (hi-lo)/3, lo + 2*(hi-lo)/3, hi + 1}
	state, from := "", int64(-1<<63)
	for k, cut := range cuts {
		var part []testEvent
		for _, e := range evs {
			if e.t >= from && e.t < cut {
				part = append(part, e)
			}
		}
		in := filepath.Join(dir, fmt.Sprintf("part%d.jsonl", k))
		writeLines(t, in, part)
		cfg := Config{Inputs: []string{in}, Output: filepath.Join(dir, fmt.Sprintf("out%d.jsonl", k)), Resume: state,
			Table: &TableOutput{Table: iceberg.TableSessions, Warehouse: chain}}
		if k < len(cuts)-1 {
			cfg.CarryOpen = filepath.Join(dir, fmt.Sprintf("state%d", k))
		}
		if sum, _ := runBatch(t, cfg); sum.Table == nil || sum.Table.AlreadyWritten {
			t.Fatalf("part %d: table result %+v", k, sum.Table)
		}
		state, from = cfg.CarryOpen, cut
	}
	want, oneAudit := tableRows(t, one)
	got, chainAudit := tableRows(t, chain)
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("the chain's table has %d sessions, one run's %d, or they differ", len(got), len(want))
	}
	if !oneAudit.OK || !chainAudit.OK || chainAudit.Account.BatchRuns != 3 || chainAudit.Account.Carried == 0 {
		t.Fatalf("accounts: one run %s, chain %s (%d runs, carried %d)", oneAudit.Account, chainAudit.Account,
			chainAudit.Account.BatchRuns, chainAudit.Account.Carried)
	}
}

// TestTableCommitOutcomeUnknown: when the catalog's answer to the batch
// commit is lost, the retry finds the run in the table and does not write
// it again; when the catalog fails before recording, the retry writes it.
func TestTableCommitOutcomeUnknown(t *testing.T) {
	for _, tc := range []struct {
		name   string
		calls  int32 // catalog commits the run takes
		faults func(*atomic.Int32) *iceberg.FaultInjector
	}{
		{"answer lost", 1, func(n *atomic.Int32) *iceberg.FaultInjector {
			return &iceberg.FaultInjector{AfterCommit: func(context.Context, string) error {
				if n.Add(1) == 1 {
					return errors.New("connection reset")
				}
				return nil
			}}
		}},
		{"failed before recording", 2, func(n *atomic.Int32) *iceberg.FaultInjector {
			return &iceberg.FaultInjector{BeforeCommit: func(context.Context, string) error {
				if n.Add(1) == 1 {
					return errors.New("connection reset")
				}
				return nil
			}}
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			in := filepath.Join(dir, "in.jsonl")
			writeLines(t, in, randomStream(rand.New(rand.NewPCG(5, 5)), 200))
			var calls atomic.Int32
			wcfg := iceberg.Config{Warehouse: filepath.Join(dir, "wh"), Faults: tc.faults(&calls)}
			sum, _ := runBatch(t, Config{Inputs: []string{in}, Output: filepath.Join(dir, "out.jsonl"), Rules: session.DefaultRules(),
				Table: &TableOutput{Table: iceberg.TableSessions, Warehouse: wcfg}})
			if calls.Load() != tc.calls || sum.Table == nil || sum.Table.AlreadyWritten || sum.Table.Snapshot == 0 {
				t.Fatalf("%d catalog calls, result %+v", calls.Load(), sum.Table)
			}
			rows, audit := tableRows(t, iceberg.Config{Warehouse: wcfg.Warehouse})
			if int64(len(rows)) != sum.Sessions || !audit.OK || audit.Account.BatchRuns != 1 {
				t.Fatalf("%d rows for %d sessions; %s, %d runs", len(rows), sum.Sessions, audit.Account, audit.Account.BatchRuns)
			}
		})
	}
}

// TestTableOverlapCountsEachSessionOnce: when the table already holds a
// run's sessions twice (a streaming job wrote events batch had written),
// the refusal of another run over them counts each of its sessions once:
// it once said "42 of its 21 sessions".
func TestTableOverlapCountsEachSessionOnce(t *testing.T) {
	dir := t.TempDir()
	in := filepath.Join(dir, "in.jsonl")
	writeLines(t, in, randomStream(rand.New(rand.NewPCG(7, 1)), 200))
	wcfg := iceberg.Config{Warehouse: filepath.Join(dir, "wh")}
	sum, _ := runBatch(t, Config{Inputs: []string{in}, Output: filepath.Join(dir, "out.jsonl"),
		Table: &TableOutput{Table: iceberg.TableSessions, Warehouse: wcfg}})

	rows, _ := tableRows(t, wcfg)
	wh, err := iceberg.Open(context.Background(), wcfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	snap, _, err := wh.Current(context.Background(), iceberg.TableSessions)
	if err == nil {
		_, err = wh.Commit(context.Background(), iceberg.Commit{Table: iceberg.TableSessions, Sessions: rows, ExpectParentSnapshotID: snap.ID})
	}
	wh.Close()
	if err != nil {
		t.Fatal(err)
	}

	// The same events under other settings: another run.
	rules := session.DefaultRules()
	rules.MaxPages = 7
	_, err = Run(context.Background(), Config{Inputs: []string{in}, Output: filepath.Join(dir, "out2.jsonl"), Rules: rules, Workers: 2,
		Table: &TableOutput{Table: iceberg.TableSessions, Warehouse: wcfg}})
	if !errors.Is(err, ErrSessionsExist) {
		t.Fatalf("another run over the same events: %v, want ErrSessionsExist", err)
	}
	if want := fmt.Sprintf("%d of its %d sessions", sum.Sessions, sum.Sessions); !strings.Contains(err.Error(), want) {
		t.Fatalf("message %q does not say %q", err, want)
	}
}

// TestTableAuditCountsResumedLateEvents: events of a --resume run older
// than the resumed run's end are late (listed in --rejected, not in a
// session); the batch run's record counts them, so the table's account
// still adds up.
func TestTableAuditCountsResumedLateEvents(t *testing.T) {
	const t0, minute = int64(1_700_000_000_000), int64(60_000)
	dir := t.TempDir()
	wcfg := iceberg.Config{Warehouse: filepath.Join(dir, "wh")}
	a := filepath.Join(dir, "a.jsonl")
	writeLines(t, a, []testEvent{{"u", "u1", "home", t0}, {"x", "x1", "home", t0 + 2*60*minute}})
	state := filepath.Join(dir, "state")
	runBatch(t, Config{Inputs: []string{a}, Output: filepath.Join(dir, "a-out.jsonl"), CarryOpen: state,
		Table: &TableOutput{Table: iceberg.TableSessions, Warehouse: wcfg}})
	b := filepath.Join(dir, "b.jsonl")
	writeLines(t, b, []testEvent{{"u", "u9", "details", t0 + 5*minute}, {"x", "x2", "search", t0 + 2*60*minute + minute}})
	sum, _ := runBatch(t, Config{Inputs: []string{b}, Output: filepath.Join(dir, "b-out.jsonl"), Resume: state,
		Rejected: filepath.Join(dir, "rejected.jsonl"), Table: &TableOutput{Table: iceberg.TableSessions, Warehouse: wcfg}})
	if sum.Late != 1 {
		t.Fatalf("resumed run: %d late, want 1", sum.Late)
	}
	if _, audit := tableRows(t, wcfg); !audit.OK {
		t.Fatalf("account of a table with a resumed run's late event: %s", audit.Account)
	}
}
