package pipeline

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/sessionize/sessionize/internal/iceberg"
	"github.com/sessionize/sessionize/internal/kafka"
)

// Fault tests: the broker and the catalog misbehave during a run, and the
// tables still hold exactly what batch computes, each row once.

// runToEnd runs the pipeline until StopWhenIdle stops it, failing the test
// if that takes longer than limit (Run returns nil when its context is
// cancelled too, so a timeout must not pass for success).
func runToEnd(t *testing.T, cfg Config, limit time.Duration) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), limit)
	defer cancel()
	started := time.Now()
	err := Run(ctx, cfg)
	if ctx.Err() != nil {
		t.Fatalf("the run did not finish within %s (Run returned %v)", limit, err)
	}
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	t.Logf("run took %s", time.Since(started).Round(time.Millisecond))
}

// assertExactlyOnce checks a finished (drained) run: the sessions table
// equals batch over inSessions, no session_id is there twice, no record is
// twice in late_events or rejected_events, and the tables account for
// every one of the records produced.
func assertExactlyOnce(t *testing.T, warehouse string, inSessions [][]byte, records int) Account {
	t.Helper()
	return assertExactlyOnceIn(t, openWarehouse(t, warehouse), inSessions, records)
}

// assertExactlyOnceIn is assertExactlyOnce on an open warehouse (of any
// catalog and storage).
func assertExactlyOnceIn(t *testing.T, wh *iceberg.Warehouse, inSessions [][]byte, records int) Account {
	t.Helper()
	got, rows := warehouseLines(t, wh)
	ids := map[string]int{}
	for _, r := range rows {
		if ids[r.SessionID]++; ids[r.SessionID] == 2 {
			t.Errorf("session_id %s (uuid %s, start %d) is in the sessions table more than once", r.SessionID, r.UUID, r.SessionStartTimeMs)
		}
	}
	want := batchLines(t, inSessions)
	if !slices.Equal(got, want) {
		t.Fatalf("stream gave %d sessions, batch %d; first difference: %s", len(got), len(want), firstDiff(got, want))
	}
	type key struct {
		partition int32
		offset    int64
	}
	late, err := wh.ReadLate(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	seen := map[key]bool{}
	for _, l := range late {
		if k := (key{l.Partition, l.Offset}); seen[k] {
			t.Errorf("late_events holds partition %d offset %d twice", l.Partition, l.Offset)
		} else {
			seen[k] = true
		}
	}
	rejected, err := wh.ReadRejected(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	seen = map[key]bool{}
	for _, r := range rejected {
		if k := (key{r.Partition, r.Offset}); seen[k] {
			t.Errorf("rejected_events holds partition %d offset %d twice", r.Partition, r.Offset)
		} else {
			seen[k] = true
		}
	}
	a, err := Audit(t.Context(), wh)
	if err != nil {
		t.Fatal(err)
	}
	if a.Records != int64(records) || !a.Holds() || a.Open != 0 {
		t.Fatalf("produced %d records; %s", records, a)
	}
	return a
}

// lockedRand is a seeded source the fault hooks share (they run on other
// goroutines than the test).
type lockedRand struct {
	mu sync.Mutex
	r  *rand.Rand
}

func newLockedRand(t *testing.T) *lockedRand {
	seed := uint64(time.Now().UnixNano())
	t.Logf("fault seed %d", seed)
	return &lockedRand{r: rand.New(rand.NewPCG(seed, 1))}
}

func (l *lockedRand) float() float64 {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.r.Float64()
}

// TestBrokerFaultsDuringRun: while the pipeline reads, the broker fails a
// share of Fetch, ListOffsets, Metadata, OffsetCommit and Heartbeat
// requests with retriable errors and drops some fetch connections. The
// records keep arriving meanwhile. The run still finishes, with exactly
// batch's sessions.
func TestBrokerFaultsDuringRun(t *testing.T) {
	if testing.Short() {
		t.Skip("fault run takes several seconds")
	}
	b := startBroker(t, 3)
	lines, keys := generated(t, 24_000, 400, 11)
	first := 8_000
	produceLines(t, b, lines[:first], keys[:first])

	rnd := newLockedRand(t)
	share := func(p float64) func(kmsg.Request) bool {
		return func(kmsg.Request) bool { return rnd.float() < p }
	}
	c := b.Cluster()
	var (
		faultsOn  = make(chan struct{})
		faultOnce sync.Once
		handle    *kfake.FaultHandle
		drops     atomic.Int64
		fetches   atomic.Int64
		dropping  atomic.Bool
	)
	install := func() {
		handle = c.Fault(
			kfake.Fault{Keys: []kmsg.Key{kmsg.Fetch}, Err: kerr.NotLeaderForPartition, Count: -1, When: share(0.3)},
			kfake.Fault{Keys: []kmsg.Key{kmsg.Fetch}, Err: kerr.RequestTimedOut, Count: -1, When: share(0.1)},
			kfake.Fault{Keys: []kmsg.Key{kmsg.ListOffsets}, Err: kerr.NotLeaderForPartition, Count: -1, When: share(0.4)},
			kfake.Fault{Keys: []kmsg.Key{kmsg.Metadata}, Err: kerr.LeaderNotAvailable, Count: -1, When: share(0.3)},
			kfake.Fault{Keys: []kmsg.Key{kmsg.OffsetCommit}, Err: kerr.RequestTimedOut, Count: -1, When: share(0.5)},
			kfake.Fault{Keys: []kmsg.Key{kmsg.OffsetCommit}, Err: kerr.NotCoordinator, Count: -1, When: share(0.2)},
			kfake.Fault{Keys: []kmsg.Key{kmsg.Heartbeat}, Err: kerr.NotCoordinator, TopLevel: true, Count: 3},
		)
		// The first two fetches, then every third, four in all: close the
		// connection instead of answering.
		dropping.Store(true)
		c.ControlKey(int16(kmsg.Fetch), func(kmsg.Request) (kmsg.Response, error, bool) {
			c.KeepControl()
			if !dropping.Load() || drops.Load() >= 4 {
				c.DropControl()
				return nil, nil, false
			}
			if n := fetches.Add(1); drops.Load() >= 2 && n%3 != 0 {
				return nil, nil, false
			}
			drops.Add(1)
			return nil, errors.New("injected: connection dropped"), true
		})
		close(faultsOn)
	}

	wh := t.TempDir()
	cfg := runConfig(t, b, wh)
	cfg.StopWhenIdle = 1500 * time.Millisecond
	var commits, underFaults atomic.Int64
	cfg.OnCommit = func(info CommitInfo) {
		if dropping.Load() {
			underFaults.Add(info.Records)
		}
		if commits.Add(1) == 1 {
			faultOnce.Do(install)
		}
	}

	// The rest of the records arrive while the faults are on (the
	// producer starts before them: it is not what is under test); the
	// faults go once the records are all sent and the faults have hit
	// enough requests.
	pr, err := kafka.NewProducer(t.Context(), kafka.ProducerConfig{Servers: b.Addrs(), Topic: "clickstream"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer pr.Close()
	produced := make(chan error, 1)
	go func() {
		select {
		case <-faultsOn:
		case <-t.Context().Done():
			produced <- t.Context().Err()
			return
		}
		defer func() {
			handle.Remove()
			dropping.Store(false)
		}()
		send := func(from, to int) error {
			for j := from; j < to; j++ {
				if err := pr.Send(t.Context(), keys[j], lines[j]); err != nil {
					return err
				}
			}
			return pr.Flush(t.Context())
		}
		// The last records trickle in, one per 50 ms, until the faults
		// have hit enough requests: so the run, which stops once idle,
		// is still reading while they do (on a loaded machine the bulk
		// can be read before that). The faults slow the client's
		// fetches and metadata refreshes, so hits come at a few a
		// second, and fewer under load: CI once saw 24 in the 10 s
		// that 200 records took. 800 records give them 40 s; the loop
		// ends as soon as the hits are there.
		const trickle = 800
		bulkEnd := len(lines) - trickle
		for i := first; i < bulkEnd; i += 2000 {
			if err := send(i, min(i+2000, bulkEnd)); err != nil {
				produced <- err
				return
			}
		}
		next := bulkEnd
		for ; next < len(lines) && (handle.Hits() < 30 || drops.Load() < 2); next++ {
			if err := send(next, next+1); err != nil {
				produced <- err
				return
			}
			time.Sleep(50 * time.Millisecond)
		}
		if err := send(next, len(lines)); err != nil {
			produced <- err
			return
		}
		if handle.Hits() < 30 || drops.Load() < 2 {
			produced <- fmt.Errorf("the faults hit only %d requests and dropped %d fetch connections while the last %d records trickled in", handle.Hits(), drops.Load(), trickle)
			return
		}
		produced <- nil
	}()

	runToEnd(t, cfg, 120*time.Second)
	if err := <-produced; err != nil || handle == nil {
		t.Fatalf("producing under faults: %v (faults answered %d requests, %d fetch connections dropped, %d commits)", err, handle.Hits(), drops.Load(), commits.Load())
	}
	t.Logf("faults answered %d requests, %d fetch connections dropped; %d commits, %d records committed while the faults were on",
		handle.Hits(), drops.Load(), commits.Load(), underFaults.Load())
	if handle.Hits() < 30 || drops.Load() < 2 || underFaults.Load() == 0 {
		t.Fatalf("faults hit only %d requests, dropped %d connections, %d records committed under them: the test did not test much",
			handle.Hits(), drops.Load(), underFaults.Load())
	}
	assertExactlyOnce(t, wh, lines, len(lines))
}

// catalogFaults is an iceberg.FaultInjector whose behaviour per call the
// test decides, counting what it did.
type catalogFaults struct {
	before, after func(call int64, table string) fault

	calls, failed, hung, timedOut, lost atomic.Int64
	runCtx                              context.Context
}

type fault int

const (
	noFault    fault = iota
	failCall         // the catalog call fails, nothing recorded
	hangCall         // the catalog hangs until the caller gives up
	loseAnswer       // the commit is recorded, the answer lost
)

func (f *catalogFaults) injector() *iceberg.FaultInjector {
	fi := &iceberg.FaultInjector{}
	fi.BeforeCommit = func(ctx context.Context, table string) error {
		n := f.calls.Add(1)
		if f.before == nil {
			return nil
		}
		switch f.before(n, table) {
		case failCall:
			f.failed.Add(1)
			return fmt.Errorf("injected: catalog unavailable (call %d, %s)", n, table)
		case hangCall:
			f.hung.Add(1)
			select {
			case <-ctx.Done():
			case <-time.After(time.Minute):
				return errors.New("injected hang was never given up on")
			}
			if f.runCtx.Err() == nil && errors.Is(ctx.Err(), context.DeadlineExceeded) {
				f.timedOut.Add(1) // a deadline, not the test's end: the attempt timeout (or the run's limit, which fails the test)
			}
			return ctx.Err()
		}
		return nil
	}
	fi.AfterCommit = func(ctx context.Context, table string) error {
		if f.after != nil && f.after(f.calls.Load(), table) == loseAnswer {
			f.lost.Add(1)
			return errors.New("injected: connection reset after the commit")
		}
		return nil
	}
	return fi
}

// TestCatalogCommitFailuresAreRetried: the catalog fails the first commits
// outright, then hangs twice (until the pipeline's per-attempt timeout
// gives up on the call), then fails or hangs at random. Every commit is
// retried with backoff and the result is exactly once.
func TestCatalogCommitFailuresAreRetried(t *testing.T) {
	forEachCatalog(t, testCatalogCommitFailuresAreRetried)
}

func testCatalogCommitFailuresAreRetried(t *testing.T, wh testWarehouse) {
	b := startBroker(t, 3)
	lines, keys := generated(t, 20_000, 300, 5)
	produceLines(t, b, lines, keys)

	rnd := newLockedRand(t)
	f := &catalogFaults{runCtx: t.Context()}
	f.before = func(n int64, _ string) fault {
		switch {
		case n <= 3:
			return failCall
		case n <= 5:
			return hangCall
		}
		switch r := rnd.float(); {
		case r < 0.2:
			return failCall
		case r < 0.25:
			return hangCall
		}
		return noFault
	}
	cfg := runConfig(t, b, "")
	cfg.Warehouse = wh.cfg
	cfg.Warehouse.Faults = f.injector()
	cfg.attemptTimeout = 300 * time.Millisecond
	runToEnd(t, cfg, 60*time.Second)
	t.Logf("catalog commit calls %d: failed %d, hung %d (%d ended by the attempt timeout)", f.calls.Load(), f.failed.Load(), f.hung.Load(), f.timedOut.Load())
	if f.timedOut.Load() < 2 {
		t.Fatalf("only %d hung catalog calls were ended by the per-attempt timeout", f.timedOut.Load())
	}
	assertExactlyOnceIn(t, wh.open(t), lines, len(lines))
}

// TestCatalogCommitOutcomeUnknown: the catalog records commits but the
// answer is lost (the pipeline sees ErrCommitUnknown), for every sessions
// commit, the final drained one included, and for half the others; some
// calls also fail before recording anything. The retry must find out which
// commits landed and write nothing twice.
func TestCatalogCommitOutcomeUnknown(t *testing.T) {
	forEachCatalog(t, testCatalogCommitOutcomeUnknown)
}

func testCatalogCommitOutcomeUnknown(t *testing.T, wh testWarehouse) {
	b := startBroker(t, 3)
	lines, keys := generated(t, 20_000, 300, 9)
	produceLines(t, b, lines, keys)

	rnd := newLockedRand(t)
	f := &catalogFaults{runCtx: t.Context()}
	f.before = func(int64, string) fault {
		if rnd.float() < 0.15 {
			return failCall
		}
		return noFault
	}
	f.after = func(_ int64, table string) fault {
		if table == iceberg.TableSessions || rnd.float() < 0.5 {
			return loseAnswer
		}
		return noFault
	}
	cfg := runConfig(t, b, "")
	cfg.Warehouse = wh.cfg
	cfg.Warehouse.Faults = f.injector()
	var commits atomic.Int64
	cfg.OnCommit = func(CommitInfo) { commits.Add(1) }
	runToEnd(t, cfg, 60*time.Second)
	t.Logf("%d commits; catalog commit calls %d: failed %d, answer lost %d", commits.Load(), f.calls.Load(), f.failed.Load(), f.lost.Load())
	if f.lost.Load() < 3 {
		t.Fatalf("only %d answers lost", f.lost.Load())
	}
	assertExactlyOnceIn(t, wh.open(t), lines, len(lines))
}

// TestStopDuringHungCommitLosesNothing: the stop signal (ctx cancelled, as
// on SIGTERM) arrives while the catalog hangs in a sessions commit, after
// that commit took its rows out of the engine. The run must not then
// commit the later offsets without those rows: it exits saying that
// nothing was drained, and a restart gives exactly batch's sessions.
func TestStopDuringHungCommitLosesNothing(t *testing.T) {
	b := startBroker(t, 3)
	lines, keys := generated(t, 20_000, 300, 13)
	produceLines(t, b, lines, keys)
	wh := t.TempDir()

	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	var calls atomic.Int64
	hung := make(chan struct{})
	cfg := runConfig(t, b, wh)
	cfg.stopGrace = 200 * time.Millisecond
	cfg.Warehouse.Faults = &iceberg.FaultInjector{BeforeCommit: func(actx context.Context, table string) error {
		if table == iceberg.TableSessions && calls.Add(1) == 3 {
			close(hung)
			<-actx.Done()
			return actx.Err()
		}
		return nil
	}}
	var committed atomic.Int64
	cfg.OnCommit = func(CommitInfo) { committed.Add(1) }
	go func() {
		select {
		case <-hung:
			cancel()
		case <-ctx.Done():
		}
	}()
	// The hung commit outlasts the stop's grace: nothing can be drained
	// (TestStopDuringHungCommitWithDrainFails), and a restart replays.
	if err := Run(ctx, cfg); err == nil || !strings.Contains(err.Error(), "nothing was drained") {
		t.Fatalf("stopped during a hung commit: Run returned %v, want an error saying nothing was drained (a restart replays the interrupted commit)", err)
	}
	select {
	case <-hung:
	default:
		t.Fatal("the run ended before the third sessions commit")
	}
	t.Logf("first run: %d commits before the stop", committed.Load())

	runToEnd(t, runConfig(t, b, wh), 60*time.Second)
	assertExactlyOnce(t, wh, lines, len(lines))
}
