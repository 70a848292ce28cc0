//go:build unix

package pipeline

import (
	"maps"
	"math/rand/v2"
	"os"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/sessionize/sessionize/internal/iceberg"
)

// TestScaleOutUnderFailures: scale-out is Kafka's consumer-group protocol,
// and exactly once must hold while the group changes under it. Three
// `sessionize run` children share a 6-partition topic and one warehouse;
// the broker is a child too (`sessionize broker --data-dir`). Records keep
// coming while, one after the other:
//
//  1. member B is killed with kill -9 (the others take over its partitions
//     after its session timeout);
//  2. member C is stopped with SIGSTOP in the middle of a commit, past its
//     session timeout; the others take over its partitions and commit past
//     where C's commit would move them; C is continued and must find
//     itself fenced (its commit writes nothing), then rejoin and work on;
//  3. member D joins;
//  4. the broker is killed with kill -9 while the members are busy, and
//     restarted from its data directory on the same address; B is started
//     again.
//
// After each step the test waits until the sessions table has committed
// every partition to its end (whoever holds it). At the end every member
// is stopped with SIGTERM and drains (--drain). The tables must equal
// batch mode over the same records (minus the late ones) and a run without
// failures, hold no session_id and no late or rejected (partition, offset)
// twice, never have moved an offset back, and account for every record
// produced (records = in sessions + duplicates + late + rejected).
//
// The timing of the kills is random; SCALEOUT_TEST_SEED=n repeats it (the
// timing of the children still varies).
func TestScaleOutUnderFailures(t *testing.T) {
	if testing.Short() {
		t.Skip("scale-out test: builds cmd/sessionize and runs a broker and four instances as children (about a minute); skipped with -short")
	}
	seed := uint64(time.Now().UnixNano())
	if s := os.Getenv("SCALEOUT_TEST_SEED"); s != "" {
		var err error
		if seed, err = strconv.ParseUint(s, 10, 64); err != nil {
			t.Fatalf("SCALEOUT_TEST_SEED=%q: %v", s, err)
		}
	}
	t.Logf("schedule seed %d (SCALEOUT_TEST_SEED=%d repeats it)", seed, seed)
	rng := rand.New(rand.NewPCG(seed, 0x5ca1e))

	bin := procBuildBinary(t)
	ps := newProcGroup(t, bin)
	b := ps.startBroker(6)
	in := procMakeInput(t, 36_000, 600, 11)
	n := len(in.recs)
	at := func(pct int) int { return n * pct / 100 }
	if err := procProduce(t.Context(), b, in.recs[:at(25)]); err != nil {
		t.Fatal(err)
	}
	t.Logf("%d records (%d late, %d deliberately rejected); %d produced up front, the rest while members fail",
		n, len(in.late), len(in.rejected), at(25))
	feed := newProcFeeder(t, b, in.recs, at(25), n/500+1, 25*time.Millisecond)

	wh := localWarehouse(t, t.TempDir())
	const group = "scaleout"
	const settle = 60 * time.Second // bound of each wait for the group to catch up
	started := time.Now()
	step := func(format string, args ...any) {
		t.Helper()
		t.Logf("%6.1fs: "+format, append([]any{time.Since(started).Seconds()}, args...)...)
	}
	run := func(name string) *procChild {
		return ps.start(name, ps.runArgs(b, wh, group, everyCommitCheckpoints("--drain")...)...)
	}
	writers := map[string]bool{}

	// Three members; C joins last so that its writer (the name of its
	// checkpoints) is known. A member commits only once it has read
	// something: records trickle in while the test waits for commits.
	hasCommit := func(c *procChild) bool { return strings.Contains(c.log(), "msg=commit ") }
	a, bm := run("A"), run("B")
	feed.trickleUntil(at(35), settle, "commit of both A and B", func() bool { return hasCommit(a) && hasCommit(bm) }, a, bm)
	done, _ := procCheckpointFiles(t, wh, group)
	for _, name := range done {
		writers[procCheckpointWriter(name)] = true
	}
	c := run("C")
	var cWriter string
	feed.trickleUntil(at(40), settle, "first commit of C", func() (ok bool) {
		cWriter, ok = procNewWriter(t, wh, group, writers)
		return ok
	}, a, bm, c)
	procWaitCommitted(t, b, wh, settle, a, bm, c)
	step("A, B and C committed everything produced so far; owners %s", procOwners(t, b, group))

	// 1. kill -9 B while records come in.
	feed.feedTo(at(45))
	time.Sleep(time.Duration(rng.IntN(800)) * time.Millisecond)
	bm.kill()
	step("B killed (kill -9)")
	feed.waitFed(settle)
	procWaitCommitted(t, b, wh, settle, a, c)
	step("A and C committed everything, B's partitions included; owners %s", procOwners(t, b, group))

	// 2. SIGSTOP C in the middle of a commit, past its session timeout.
	ckpt, state, stoppedAt := procStopMidCommit(t, c, wh, group, cWriter, rng, func() {
		if feed.produced() >= at(65) {
			t.Fatal("the records ran out before C could be stopped in the middle of a commit")
		}
		feed.feedTo(min(feed.produced()+n/100, at(65)))
	})
	target := procCheckpointTargets(t, wh, group, ckpt)
	cLog := len(c.log())
	step("C (writer %s) frozen in a commit of partitions %v to %v; tables at %s", cWriter, slices.Sorted(maps.Keys(target)), target, offsetsOf(state))
	feed.feedTo(at(70))
	// Wait until the others have committed each of C's partitions past
	// where C's commit would move it: then C's commit, whichever table it
	// goes on with, finds a partition of its own moved by another writer.
	// (A partition's late and rejected rows are committed before its
	// sessions, so those tables have moved too wherever C has rows.)
	deadline := time.Now().Add(settle)
	for {
		sess := procReadState(t, wh)[iceberg.TableSessions].offsets
		past := true
		for p, o := range target {
			past = past && sess[p] > o
		}
		if past {
			step("the others committed C's partitions past C's commit: sessions at %v; owners %s", sess, procOwners(t, b, group))
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("C's partitions were not committed past %v within %s of stopping C: sessions at %v", target, settle, sess)
		}
		time.Sleep(50 * time.Millisecond)
	}
	// The broker times C's session from its last heartbeat, which may be
	// up to one heartbeat interval (a third of the session timeout, as
	// kafka.Source sets it) before the SIGSTOP.
	if d := time.Since(stoppedAt); d < procSessionTimeout-procSessionTimeout/3 {
		t.Fatalf("C's partitions moved %s after it was stopped, within its session timeout (%s) less one heartbeat interval", d, procSessionTimeout)
	}
	step("C continued after %s stopped (session timeout %s)", time.Since(stoppedAt).Round(time.Millisecond), procSessionTimeout)
	c.signal(syscall.SIGCONT)
	c.waitLog("fenced", 30*time.Second, func(log string) bool { return strings.Contains(log[cLog:], `msg="fenced`) })
	afterCont := c.log()[cLog:]
	fenceAt := strings.Index(afterCont, `msg="fenced`)
	if strings.Contains(afterCont[:fenceAt], "msg=commit ") {
		t.Errorf("C completed a commit after it was continued, before it was fenced:\n%s", afterCont)
	}
	if !logHasLine(afterCont, `msg="fenced`, "writer="+cWriter) {
		t.Errorf(`C's log has no "fenced" line naming writer %s:\n%s`, cWriter, afterCont)
	}
	step("C continued and found itself fenced")
	// C recovers: it rejoins, is given partitions again and commits.
	feed.trickleUntil(at(72), settle, "partitions and a commit of C after the fence", func() bool {
		l := c.log()[cLog+fenceAt:]
		i := strings.Index(l, `msg="partitions assigned"`)
		return i >= 0 && strings.Contains(l[i:], "msg=commit ")
	}, a, c)
	step("C rejoined and committed again; owners %s", procOwners(t, b, group))
	feed.waitFed(settle)
	procWaitCommitted(t, b, wh, settle, a, c)
	step("A and C committed everything")

	// 3. D joins mid-run.
	d := run("D")
	feed.trickleUntil(at(78), settle, "first commit of D", func() bool {
		_, ok := procNewWriter(t, wh, group, writers)
		return ok
	}, a, c, d)
	feed.feedTo(at(78))
	step("D joined and committed; owners %s", procOwners(t, b, group))
	feed.waitFed(settle)
	procWaitCommitted(t, b, wh, settle, a, c, d)
	step("A, C and D committed everything")

	// 4. kill -9 the broker while the members are busy, and restart it
	// from its data directory. No produce request is in flight meanwhile:
	// what the broker does with one cut by its death is not what this
	// test is about.
	feed.pause()
	feed.produceNow(at(86))
	endsBefore := procTopicEnds(t, b)
	time.Sleep(time.Duration(rng.IntN(300)) * time.Millisecond)
	b.kill9()
	step("broker killed (kill -9) with the sessions table at %v of %v", procReadState(t, wh)[iceberg.TableSessions].offsets, endsBefore)
	time.Sleep(time.Duration(rng.IntN(2000)) * time.Millisecond)
	b.restart()
	endsAfter := procTopicEnds(t, b)
	for p, e := range endsBefore {
		if endsAfter[p] != e {
			t.Fatalf("the restarted broker has partition %d ending at %d; it ended at %d before the kill (ends %v, before %v)", p, endsAfter[p], e, endsAfter, endsBefore)
		}
	}
	step("broker restarted from its data directory on %s", b.addr)
	feed.resume()
	procWaitCommitted(t, b, wh, settle, a, c, d)
	step("A, C and D committed everything after the broker restart; owners %s", procOwners(t, b, group))
	b2 := run("B2") // B again
	feed.trickleUntil(at(92), settle, "first commit of B2", func() bool {
		_, ok := procNewWriter(t, wh, group, writers)
		return ok
	}, a, c, d, b2)
	step("B started again and committed")

	// The rest, then stop: every member drains at SIGTERM.
	feed.feedTo(n)
	feed.waitFed(settle)
	procWaitCommitted(t, b, wh, settle, a, c, d, b2)
	// Stopped while the group rebalances, the members would own nothing
	// and drain nothing (they each leave correctly, but the open sessions
	// stay open): stop them once every partition has its owner.
	step("everything committed; owners %s; stopping every member", procWaitAssigned(t, b, group, 4, 6, settle))
	live := []*procChild{a, c, d, b2}
	for _, m := range live {
		m.signal(syscall.SIGTERM)
	}
	for _, m := range live {
		m.wait(90 * time.Second)
	}
	step("every member stopped")

	ref := procReferenceRun(t, b)
	procAssertExactlyOnce(t, wh, ref, in)
	whr := wh.open(t)
	snaps, err := whr.Snapshots(t.Context(), iceberg.TableSessions)
	if err != nil {
		t.Fatal(err)
	}
	wrote := map[string]bool{}
	for _, s := range snaps {
		sum, err := iceberg.ParseSummary(s.Summary)
		if err != nil {
			t.Fatal(err)
		}
		wrote[sum.Writer] = true
	}
	if len(wrote) < 4 {
		t.Errorf("sessions snapshots by %d writers; want one per member (A, B, C, D, B again)", len(wrote))
	}
	step("done: %d sessions snapshots by %d writers", len(snaps), len(wrote))
}
