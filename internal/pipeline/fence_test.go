//go:build unix

package pipeline

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"math/rand/v2"
	"slices"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/sessionize/sessionize/internal/iceberg"
)

// TestFencedInstanceWritesNothing: instance A (the real binary) is stopped
// with SIGSTOP in the middle of a commit (its checkpoint is written, its
// sessions snapshot is not, and it holds no catalog lock). Its session
// times out and instance B, same group, takes over its partitions,
// restores from the tables, processes and commits past A on every table.
// Then A is continued: it finishes the commit it was in, which must fail
// the fence and write nothing, and A must say so in its log. B and a final
// drain run finish the topic; the tables must equal a crash-free run and
// batch mode, hold nothing twice, and no table's offsets may ever have
// moved backwards.
//
// It runs with the warehouse (tables and checkpoints) in a local directory
// and on versitygw, a real S3 server.
func TestFencedInstanceWritesNothing(t *testing.T) {
	if testing.Short() {
		t.Skip("fencing test: builds cmd/sessionize and runs three instances (about 25 s per storage); skipped with -short")
	}
	forEachStorage(t, testFencedInstanceWritesNothing)
}

func testFencedInstanceWritesNothing(t *testing.T, wh testWarehouse) {
	seed := uint64(time.Now().UnixNano())
	t.Logf("seed %d", seed)
	rng := rand.New(rand.NewPCG(seed, 0xfe9ce))
	bin := procBuildBinary(t)
	b := startBroker(t, 3)
	in := procMakeInput(t, 40_000, 400, 9)
	n := len(in.recs)
	c1, c2, c3 := n*40/100, n*65/100, n*85/100
	if err := procProduce(t.Context(), b, in.recs[:c1]); err != nil {
		t.Fatal(err)
	}
	const group = "fence"
	ps := newProcGroup(t, bin)

	a := ps.start("A", ps.runArgs(b, wh, group, everyCommitCheckpoints()...)...)
	a.waitLog("first commit", 30*time.Second, func(log string) bool { return strings.Contains(log, "msg=commit ") })
	// A trickle keeps A committing every 100 ms while we aim the stop;
	// once A is stopped the rest of the slice goes at once.
	var trickled atomic.Int64 // records[:trickled] are produced
	trickled.Store(int64(c1))
	stopTrickle, trickle := make(chan struct{}), make(chan error, 1)
	go func() {
		var err error
		for int(trickled.Load()) < c2 && err == nil {
			select {
			case <-stopTrickle:
				trickle <- nil
				return
			case <-time.After(25 * time.Millisecond):
			}
			from := int(trickled.Load())
			end := min(from+(c2-c1)/300+1, c2)
			err = procProduce(t.Context(), b, in.recs[from:end])
			trickled.Store(int64(end))
		}
		trickle <- err
	}()

	// Stop A just after a commit has begun, until a stop lands between
	// its checkpoint and its sessions snapshot.
	ckpt, state, _ := procStopMidCommit(t, a, wh, group, "", rng, func() {
		if int(trickled.Load()) >= c2 {
			t.Fatal("the trickle of records ended before A could be stopped in the middle of a commit")
		}
	})
	stoppedAt := time.Now()
	aWriter := procCheckpointWriter(ckpt)
	target := procCheckpointTargets(t, wh, group, ckpt) // where A's interrupted commit would move every table
	if len(target) != 3 {
		t.Fatalf("A owned partitions %v when stopped; want all 3", slices.Sorted(maps.Keys(target)))
	}
	aLog := len(a.log())
	step := "after its checkpoint (step 1)"
	for _, tbl := range []string{iceberg.TableLate, iceberg.TableRejected} {
		if maps.Equal(state[tbl].offsets, target) {
			step = "after its " + tbl + " snapshot"
		}
	}
	t.Logf("A (writer %s) is frozen %s in a commit to offsets %v; tables at %v", aWriter, step, target, offsetsOf(state))

	bInst := ps.start("B", ps.runArgs(b, wh, group, everyCommitCheckpoints("--stop-when-idle", "3s")...)...)
	bInst.waitLog("all partitions assigned", 30*time.Second, func(log string) bool {
		return logHasLine(log, `msg="partitions assigned"`, `partitions="[0 1 2]"`)
	})
	t.Logf("B owns every partition %s after A was stopped", time.Since(stoppedAt).Round(time.Millisecond))
	close(stopTrickle)
	if err := <-trickle; err != nil {
		t.Fatal(err)
	}
	if err := procProduce(t.Context(), b, in.recs[trickled.Load():c3]); err != nil {
		t.Fatal(err)
	}
	// Wait until B has committed every table past both what A last
	// committed and what A is about to commit: then whatever table A's
	// commit goes on with, it finds one of its partitions moved.
	deadline := time.Now().Add(30 * time.Second)
	for {
		st := procReadState(t, wh)
		moved := true
		for tbl, s := range st {
			for p := range target {
				o, ok := s.offsets[p]
				if !ok || o == state[tbl].offsets[p] || o == target[p] {
					moved = false
				}
			}
		}
		if moved {
			t.Logf("B moved every table past A: %v", offsetsOf(st))
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("B did not commit every table past A within 30s: %v (A was at %v, committing %v)", offsetsOf(st), offsetsOf(state), target)
		}
		time.Sleep(50 * time.Millisecond)
	}

	a.signal(syscall.SIGCONT)
	continued := time.Now()
	a.waitLog("fenced", 20*time.Second, func(log string) bool { return strings.Contains(log[aLog:], `msg="fenced`) })
	a.kill() // before it rejoins: from here on it would be an ordinary member
	t.Logf("A fenced %s after it was continued", time.Since(continued).Round(time.Millisecond))
	afterCont := a.log()[aLog:]
	t.Logf("A, continued:\n%s", afterCont)
	if strings.Contains(afterCont, "msg=commit ") {
		t.Errorf("A completed a commit after it was continued")
	}
	// The interrupted commit failed the fence (it is the only thing that
	// sets it while A is outside Poll), A dropped its state and went to
	// rejoin.
	if !logHasLine(afterCont, `msg="fenced`, "writer="+aWriter) {
		t.Errorf(`A's log has no "fenced" line naming writer %s`, aWriter)
	}
	reassigned := strings.Contains(afterCont, `msg="partitions assigned"`)

	if err := procProduce(t.Context(), b, in.recs[c3:]); err != nil {
		t.Fatal(err)
	}
	bInst.wait(60 * time.Second)
	t.Logf("B finished %s after it started", time.Since(bInst.started).Round(time.Millisecond))
	procWaitGroupEmpty(t, b, group, 15*time.Second)
	final := ps.start("final", ps.runArgs(b, wh, group, everyCommitCheckpoints("--drain", "--stop-when-idle", "2s")...)...)
	final.wait(60 * time.Second)
	t.Logf("final drain run: %s", time.Since(final.started).Round(time.Millisecond))

	// Once B has written a table, A's writer never appears in it again.
	// (That no offset ever moved back is checked with the rest below.)
	whr := wh.open(t)
	for _, tbl := range []string{iceberg.TableSessions, iceberg.TableLate, iceberg.TableRejected} {
		snaps, err := whr.Snapshots(t.Context(), tbl)
		if err != nil {
			t.Fatal(err)
		}
		othersWrote := false
		for _, s := range slices.Backward(snaps) { // oldest first
			if w := writerOf(s.Summary); w != aWriter {
				othersWrote = true
			} else if othersWrote && !reassigned {
				t.Errorf("%s snapshot %d was written by A (%s) after B had taken over", tbl, s.ID, aWriter)
			}
		}
	}
	if reassigned {
		t.Log("A rejoined and was given partitions before it was killed; its later snapshots are an ordinary member's")
	}

	ref := procReferenceRun(t, b)
	procAssertExactlyOnce(t, wh, ref, in)
}

func offsetsOf(st map[string]procTableState) string {
	var parts []string
	for _, tbl := range []string{iceberg.TableSessions, iceberg.TableLate, iceberg.TableRejected} {
		parts = append(parts, fmt.Sprintf("%s=%v", tbl, st[tbl].offsets))
	}
	return strings.Join(parts, " ")
}

// TestCheckFenceMixedOffsets: a table on which some of our partitions are
// still at the offsets we expect and others are already at the offsets of
// the commit we are making was not moved by one commit of ours (a commit
// moves all our partitions at once): another writer got there. Going ahead
// would write the rows of those partitions a second time.
func TestCheckFenceMixedOffsets(t *testing.T) {
	p := &Pipeline{expected: map[string]map[int32]int64{iceberg.TableSessions: {0: 100, 1: 200}}}
	ours := progress{offsets: map[int32]int64{0: 150, 1: 260}}
	for _, tc := range []struct {
		name       string
		table      map[int32]int64
		done, fenc bool
	}{
		{"untouched", map[int32]int64{0: 100, 1: 200}, false, false},
		{"our earlier attempt landed", map[int32]int64{0: 150, 1: 260}, true, false},
		{"another writer moved one", map[int32]int64{0: 120, 1: 200}, false, true},
		{"another writer at our offsets on one, the other untouched", map[int32]int64{0: 150, 1: 200}, false, true},
		{"another writer at our offsets on one, the other untouched (2)", map[int32]int64{0: 100, 1: 260}, false, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p.fenced = false
			done, err := p.checkFence(iceberg.TableSessions, progress{offsets: tc.table}, ours)
			if done != tc.done || errors.Is(err, errFenced) != tc.fenc || (err != nil && !tc.fenc) {
				t.Fatalf("table at %v, expected %v, committing %v: done %v, err %v; want done %v, fenced %v",
					tc.table, p.expected[iceberg.TableSessions], ours.offsets, done, err, tc.done, tc.fenc)
			}
		})
	}
	// A partition without progress since the last commit counts as both.
	p.expected[iceberg.TableSessions] = map[int32]int64{0: 100, 1: 200}
	ours = progress{offsets: map[int32]int64{0: 100, 1: 260}}
	if done, err := p.checkFence(iceberg.TableSessions, progress{offsets: map[int32]int64{0: 100, 1: 260}}, ours); !done || err != nil {
		t.Fatalf("landed with one partition unchanged: done %v, err %v", done, err)
	}
	if done, err := p.checkFence(iceberg.TableSessions, progress{offsets: map[int32]int64{0: 100, 1: 200}}, ours); done || err != nil {
		t.Fatalf("untouched with one partition unchanged: done %v, err %v", done, err)
	}
}

// TestFenceStaleCommitAfterPartialTakeover drives two pipelines in process
// through the real commit path: A owns partitions 0 and 1 and has
// processed both further than it committed when it stalls; B takes over
// partition 0 only, replays it from A's checkpoint to exactly where A got,
// and commits. A's commit then finds partition 0 at its own target offset
// and partition 1 where it left it. It must be fenced: going ahead would
// write partition 0's sessions a second time.
func TestFenceStaleCommitAfterPartialTakeover(t *testing.T) {
	b := startBroker(t, 2)
	wh := t.TempDir()
	// Members of one group as far as the tables know (they hold one
	// group's output); each source joins a Kafka group of its own, so
	// that members that are never polled do not hold up each other's
	// rebalances. The test hands out the partitions.
	newPipeline := func(writer string) *Pipeline {
		cfg := runConfig(t, b, wh)
		cfg.Kafka.Group, cfg.AllowedLateness = "partial-takeover", 0 // a session closes at the next event
		return unpolledPipeline(t, cfg, openWarehouse(t, wh), writer)
	}

	a := newPipeline("a")
	if _, err := a.OnAssigned(t.Context(), []int32{0, 1}); err != nil {
		t.Fatal(err)
	}
	feedClosing(a, 0, 0, 10)
	feedClosing(a, 1, 0, 10)
	if err := a.commit(t.Context()); err != nil {
		t.Fatal(err)
	}
	feedClosing(a, 0, 10, 20) // A stalls here, before committing these
	feedClosing(a, 1, 10, 20)

	bp := newPipeline("b")
	if _, err := bp.OnAssigned(t.Context(), []int32{0}); err != nil {
		t.Fatal(err)
	}
	feedClosing(bp, 0, 10, 20)
	if err := bp.commit(t.Context()); err != nil {
		t.Fatal(err)
	}

	err := a.commit(t.Context())
	sessionRowsOnce(t, wh)
	if !errors.Is(err, errFenced) {
		t.Fatalf("A's stale commit returned %v, want it fenced", err)
	}
}

// TestFenceTakeoverKeepsLateRejectedOffsets: A commits its rejected rows,
// then fails before its sessions snapshot (as if it crashed there), so
// rejected_events is ahead of sessions. B takes over and commits rejected
// rows of partition 1 before it has read anything of partition 0. That
// commit must not move partition 0's rejected offset back to where B reads
// from: the rows up to A's offset are in the table, and a later owner
// restoring from B's commit would write them again.
func TestFenceTakeoverKeepsLateRejectedOffsets(t *testing.T) {
	b := startBroker(t, 2)
	wh := t.TempDir()
	const t0 = int64(1_767_225_600_000) // 2026-01-01
	// Members of one group as far as the tables know (they hold one
	// group's output); each source joins a Kafka group of its own, so
	// that members that are never polled do not hold up each other's
	// rebalances. The test hands out the partitions.
	newPipeline := func(writer string, faults *iceberg.FaultInjector) *Pipeline {
		cfg := runConfig(t, b, wh)
		cfg.Kafka.Group, cfg.Warehouse.Faults = "takeover", faults
		return assignedPipeline(t, cfg, writer, 0, 1)
	}
	// Offsets [from, to) of partition q: events of user u<q>, or malformed
	// records from offset bad on.
	feed := func(p *Pipeline, q int32, from, to, bad int64) {
		for k := from; k < to; k++ {
			ts := t0 + k*60_000
			v := fmt.Appendf(nil, `{"event_id": "e%d", "uuid": "u%d", "page_name": "home", "event_timestamp": "%d"}`, k, q, ts)
			if k >= bad {
				v = fmt.Appendf(nil, `{"broken": %d`, k)
			}
			p.parts[q].process(&Record{Partition: q, Offset: k, TimestampMs: ts, Value: v})
		}
		p.parts[q].advance()
		p.dirty = true
	}

	failSessions := &iceberg.FaultInjector{BeforeCommit: func(_ context.Context, table string) error {
		if table == iceberg.TableSessions {
			return errors.New("injected: the process dies before its sessions snapshot")
		}
		return nil
	}}
	a := newPipeline("a", nil)
	feed(a, 0, 0, 10, 100)
	feed(a, 1, 0, 10, 100)
	if err := a.commit(t.Context()); err != nil {
		t.Fatal(err)
	}
	a = newPipeline("a2", failSessions) // A again, on a warehouse that fails sessions commits
	feed(a, 0, 10, 20, 10)              // rejected rows at partition 0 offsets 10..19
	feed(a, 1, 10, 20, 100)
	ctx, cancel := context.WithTimeout(t.Context(), time.Second)
	err := a.commit(ctx)
	cancel()
	if err == nil {
		t.Fatal("A's commit with a failing sessions snapshot succeeded")
	}

	t.Logf("after A: %s", offsetsOf(procReadState(t, localWarehouse(t, wh))))
	bp := newPipeline("b", nil) // restores partition 0 at 10, its rejected rows done up to 20
	feed(bp, 1, 10, 25, 20)     // rejected rows of partition 1 only
	if err := bp.commit(t.Context()); err != nil {
		t.Fatal(err)
	}

	t.Logf("after B: %s", offsetsOf(procReadState(t, localWarehouse(t, wh))))
	c := newPipeline("c", nil) // B is gone; C restores from B's commit
	feed(c, 0, 10, 20, 10)
	feed(c, 1, 25, 25, 100)
	if err := c.commit(t.Context()); err != nil {
		t.Fatal(err)
	}
	keys, _ := procRejectedKeys(t, openWarehouse(t, wh))
	if d := procDupKeys(keys); len(d) > 0 {
		t.Fatalf("rejected_events holds %d records twice (e.g. partition %d offset %d): B's commit moved partition 0's rejected offset back",
			len(d), d[0].partition, d[0].offset)
	}
	if len(keys) != 15 {
		t.Fatalf("rejected_events holds %d rows, want 15", len(keys))
	}
}

// TestFenceDropsOnlyContestedPartitions: A owns partitions 0, 1 and 2 and
// has processed all three further than it committed when another writer, B,
// takes over partition 0 and commits it. A's next commit must drop
// partition 0 only: commit 1 and 2 as usual, keep their state, and go on
// committing them, never writing partition 0 again. Before, a fence on any
// partition dropped all of A's state (and A rejoined the group).
func TestFenceDropsOnlyContestedPartitions(t *testing.T) {
	b := startBroker(t, 3)
	wh := t.TempDir()
	newPipeline := func(writer string) *Pipeline {
		cfg := runConfig(t, b, wh)
		cfg.Kafka.Group, cfg.AllowedLateness = "contested", 0 // a session closes at the next event
		return unpolledPipeline(t, cfg, openWarehouse(t, wh), writer)
	}

	a := newPipeline("a")
	if _, err := a.OnAssigned(t.Context(), []int32{0, 1, 2}); err != nil {
		t.Fatal(err)
	}
	for q := int32(0); q < 3; q++ {
		feedClosing(a, q, 0, 10)
	}
	if err := a.commit(t.Context()); err != nil {
		t.Fatal(err)
	}
	for q := int32(0); q < 3; q++ {
		feedClosing(a, q, 10, 20) // A stalls here, before committing these
	}

	bp := newPipeline("b")
	if _, err := bp.OnAssigned(t.Context(), []int32{0}); err != nil {
		t.Fatal(err)
	}
	feedClosing(bp, 0, 10, 25)
	if err := bp.commit(t.Context()); err != nil {
		t.Fatal(err)
	}

	err := a.commit(t.Context())
	var fe *fenceError
	if !errors.As(err, &fe) || !slices.Equal(fe.partitions, []int32{0}) {
		t.Fatalf("A's commit returned %v, want it fenced on partition 0 only", err)
	}
	if a.fenced {
		t.Fatal("A dropped all of its state for one contested partition")
	}
	if got := a.owned(); !slices.Equal(got, []int32{1, 2}) {
		t.Fatalf("A owns %v after the fence, want [1 2]", got)
	}
	if _, ok := a.expected[iceberg.TableSessions][0]; ok {
		t.Error("A still expects offsets of partition 0")
	}
	st := procReadState(t, localWarehouse(t, wh))[iceberg.TableSessions]
	if want := map[int32]int64{0: 25, 1: 20, 2: 20}; !maps.Equal(st.offsets, want) {
		t.Fatalf("sessions offsets %v after A's commit, want %v: partitions 1 and 2 committed by A, 0 by B", st.offsets, want)
	}
	// A's partitions 1 and 2 go on from the state they had.
	feedClosing(a, 1, 20, 30)
	feedClosing(a, 2, 20, 30)
	if err := a.commit(t.Context()); err != nil {
		t.Fatalf("A's next commit of the partitions it kept: %v", err)
	}
	if st := procReadState(t, localWarehouse(t, wh))[iceberg.TableSessions]; st.offsets[1] != 30 || st.offsets[2] != 30 || st.offsets[0] != 25 {
		t.Fatalf("sessions offsets %v, want 0:25 1:30 2:30", st.offsets)
	}

	perUser := map[string]int{}
	for _, r := range sessionRowsOnce(t, wh) {
		perUser[r.UUID]++
	}
	// Every record but the last of each partition closed a session:
	// partition 0 read to 25 (by B), 1 and 2 to 30 (by A).
	if want := map[string]int{"u0": 24, "u1": 29, "u2": 29}; !maps.Equal(perUser, want) {
		t.Errorf("sessions per user %v, want %v", perUser, want)
	}
}

// sessionRowsOnce reads the sessions table of the warehouse in dir and
// fails the test for every session_id it holds more than once.
func sessionRowsOnce(t *testing.T, dir string) []iceberg.SessionRow {
	t.Helper()
	rows, err := openWarehouse(t, dir).ReadSessions(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	for _, r := range rows {
		if seen[r.SessionID] {
			t.Errorf("session %s@%d (%s) is in the table twice", r.UUID, r.SessionStartTimeMs, r.EndReason)
		}
		seen[r.SessionID] = true
	}
	return rows
}

// feedClosing has p process offsets [from, to) of partition q, made up:
// offset k is user u<q>'s event 31 minutes after offset k-1, so with no
// allowed lateness every record closes the session before it.
func feedClosing(p *Pipeline, q int32, from, to int64) {
	const t0 = int64(1_767_225_600_000) // 2026-01-01
	for k := from; k < to; k++ {
		ts := t0 + k*31*60_000
		p.parts[q].process(&Record{Partition: q, Offset: k, TimestampMs: ts,
			Value: fmt.Appendf(nil, `{"event_id": "e%d", "uuid": "u%d", "page_name": "home", "event_timestamp": "%d"}`, k, q, ts)})
	}
	p.parts[q].advance()
	p.dirty = true
}
