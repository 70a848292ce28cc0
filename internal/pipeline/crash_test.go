//go:build unix

package pipeline

import (
	"fmt"
	"math/rand/v2"
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/sessionize/sessionize/internal/iceberg"
)

// TestCrashRecoveryKill9 runs the real binary (`sessionize run`) against a
// broker in the test process and SIGKILLs it a dozen times, at seeded
// random moments of four kinds: while it starts, joins and restores; just
// after its first (large, replaying) commit after the restart has begun;
// at a random time after a commit; and just after a later commit has begun
// (its checkpoint file appeared), so that kills land between the steps of
// the commit protocol. After each kill the warehouse says where it landed
// (a temporary checkpoint file, a checkpoint the sessions snapshot does not
// name, late or rejected snapshots ahead of sessions); at least one kill
// must land inside a commit, or extra rounds aim at commits until one does.
// Records keep coming: a slice before each restart, a trickle while each
// child runs (the rest of it at once when the child is killed), so recovery
// is not only replay. A last run drains. The tables must then equal a
// crash-free run over the same topic and batch mode over the same records,
// hold nothing twice, never have moved an offset back, and account for
// every record produced; the events table (--events-table) must tag every
// event as batch --output-events does, none twice. The input carries deliberately late and malformed records
// throughout, so late_events and rejected_events are committed (steps 2
// and 3) in most commits and kills hit those steps too.
//
// The kill schedule is random; its seed is logged and CRASH_TEST_SEED=n
// repeats it (the timing of the children still varies).
//
// It runs with the warehouse (tables and checkpoints) in a local directory,
// on versitygw, a real S3 server, and with the tables in SeaweedFS's
// Iceberg REST catalog (the checkpoints in its S3): the end-to-end test of
// produce -> run (killed, restarted) -> tables read back through the REST
// catalog, equal to batch.
func TestCrashRecoveryKill9(t *testing.T) {
	if testing.Short() {
		t.Skip("crash test: builds cmd/sessionize and SIGKILLs it a dozen times (about 30 s per storage); skipped with -short")
	}
	forEachStorage(t, testCrashRecoveryKill9)
}

func testCrashRecoveryKill9(t *testing.T, wh testWarehouse) {
	seed := uint64(time.Now().UnixNano())
	if s := os.Getenv("CRASH_TEST_SEED"); s != "" {
		var err error
		if seed, err = strconv.ParseUint(s, 10, 64); err != nil {
			t.Fatalf("CRASH_TEST_SEED=%q: %v", s, err)
		}
	}
	t.Logf("kill schedule seed %d (CRASH_TEST_SEED=%d repeats it)", seed, seed)
	rng := rand.New(rand.NewPCG(seed, 0x5e55))

	bin := procBuildBinary(t)
	b := startBroker(t, 3)
	in := procMakeInput(t, 60_000, 500, 5)
	n := len(in.recs)
	const plannedKills, extraKills = 12, 8
	// 40% up front; then, each round, a slice before the child starts
	// (between restarts) and one while it runs; the last 10% is for extra
	// rounds or the final run.
	next, reserve := n*40/100, n*90/100
	per := (reserve - next) / (2 * plannedKills)
	take := func(k int, limit int) []procRecord {
		end := min(next+k, limit)
		s := in.recs[next:end]
		next = end
		return s
	}
	if err := procProduce(t.Context(), b, in.recs[:next]); err != nil {
		t.Fatal(err)
	}
	t.Logf("%d records (%d late, %d deliberately rejected); %d produced up front, the rest around and during the restarts",
		n, len(in.late), len(in.rejected), next)

	const group = "crash"
	ps := newProcGroup(t, bin)
	var (
		midCommit   int
		summary     []string
		killsLanded = map[string]int{}
	)
	started := time.Now()
	for round := 1; round <= plannedKills || (midCommit == 0 && round <= plannedKills+extraKills); round++ {
		limit := reserve
		if round > plannedKills {
			limit = n
		}
		if err := procProduce(t.Context(), b, take(per, limit)); err != nil {
			t.Fatal(err)
		}
		during := take(per, limit)
		before := procReadState(t, wh)
		doneBefore, tmpBefore := procCheckpointFiles(t, wh, group)

		c := ps.start(fmt.Sprintf("crash-%02d", round), ps.runArgs(b, wh, group, "--events-table")...)
		stop, produced := make(chan struct{}), make(chan error, 1)
		go func() { // a trickle while the child runs (4s worth); what is left at once when it is killed
			const pieces = 40
			var err error
			for i := 0; i < pieces && err == nil; i++ {
				select {
				case <-stop:
					produced <- procProduce(t.Context(), b, during[len(during)*i/pieces:])
					return
				case <-time.After(100 * time.Millisecond):
				}
				err = procProduce(t.Context(), b, during[len(during)*i/pieces:len(during)*(i+1)/pieces])
			}
			produced <- err
		}()
		strategy := []string{"startup", "startup", "first-commit", "first-commit", "random", "random", "random",
			"commit", "commit", "commit", "commit"}[rng.IntN(11)]
		if round > plannedKills {
			strategy = "commit" // extra rounds only aim at commits
		}
		var delay time.Duration
		switch strategy {
		case "startup": // opening the warehouse, joining, restoring
			delay = time.Duration(30+rng.IntN(500)) * time.Millisecond
			time.Sleep(delay)
		case "first-commit": // the first, large, commit after the restart has begun
			waitAssigned(c)
			if !waitNewCheckpoint(t, wh, group, "", doneBefore, 5*time.Second) {
				strategy += " (none began)"
			}
			delay = time.Duration(rng.IntN(40)) * time.Millisecond
			time.Sleep(delay)
		case "random": // any time after the first commit
			waitFirstCommit(c)
			delay = time.Duration(rng.IntN(800)) * time.Millisecond
			time.Sleep(delay)
		case "commit": // a later commit has begun: its checkpoint file is there
			waitFirstCommit(c)
			done, _ := procCheckpointFiles(t, wh, group)
			if !waitNewCheckpoint(t, wh, group, "", done, 2*time.Second) {
				strategy += " (none began)"
			}
			delay = time.Duration(rng.IntN(25)) * time.Millisecond
			time.Sleep(delay)
		}
		c.kill()
		close(stop)
		if err := <-produced; err != nil {
			t.Fatal(err)
		}

		after := procReadState(t, wh)
		doneAfter, tmpAfter := procCheckpointFiles(t, wh, group)
		landed := classifyKill(before, after, newNames(doneBefore, doneAfter), newNames(tmpBefore, tmpAfter))
		if strings.HasPrefix(landed, "mid-commit") {
			midCommit++
		}
		killsLanded[landed]++
		line := fmt.Sprintf("kill %2d: %-25s after %4dms, %5dms into the process: %s; sessions at %v",
			round, strategy, delay.Milliseconds(), time.Since(c.started).Milliseconds(), landed, after[iceberg.TableSessions].offsets)
		summary = append(summary, line)
		t.Log(line)
	}
	t.Logf("%d kills in %s; where they landed: %v", len(summary), time.Since(started).Round(time.Millisecond), killsLanded)
	if midCommit == 0 {
		t.Fatalf("no kill landed inside a commit (after its checkpoint, before its sessions snapshot):\n%s", strings.Join(summary, "\n"))
	}
	committed := int64(0)
	for _, o := range procReadState(t, wh)[iceberg.TableSessions].offsets {
		committed += o
	}
	if committed == 0 {
		t.Fatal("nothing was committed before the last run: the kills came too early to test recovery")
	}
	t.Logf("the killed runs committed %d of %d records; producing the last %d", committed, n, n-next)
	if err := procProduce(t.Context(), b, in.recs[next:]); err != nil {
		t.Fatal(err)
	}
	procWaitGroupEmpty(t, b, group, 15*time.Second)

	final := ps.start("crash-final", ps.runArgs(b, wh, group, "--events-table", "--drain", "--stop-when-idle", "2s")...)
	final.wait(90 * time.Second)
	t.Logf("final drain run: %s", time.Since(final.started).Round(time.Millisecond))

	ref := procReferenceRun(t, b)
	procAssertExactlyOnce(t, wh, ref, in)
	assertEventsTable(t, wh, in.batchInput())
}

func waitFirstCommit(c *procChild) {
	c.t.Helper()
	c.waitLog("commit", 30*time.Second, func(log string) bool { return strings.Contains(log, "msg=commit ") })
}

func waitAssigned(c *procChild) {
	c.t.Helper()
	c.waitLog(`"partitions assigned"`, 20*time.Second, func(log string) bool {
		return logHasLine(log, `msg="partitions assigned"`)
	})
}

// classifyKill says where in the commit protocol a kill landed, from what
// it left in the warehouse: the checkpoints and temporary files the killed
// process wrote and the tables' progress before and after.
func classifyKill(before, after map[string]procTableState, newDone, newTmp []string) string {
	sess := after[iceberg.TableSessions]
	ahead := func(tbl string) bool {
		st := after[tbl]
		if st.snapshot == before[tbl].snapshot {
			return false // not committed by the killed process
		}
		for p, o := range st.offsets {
			if o > sess.offsets[p] {
				return true
			}
		}
		return false
	}
	if len(newTmp) > 0 {
		return "mid-commit: writing the checkpoint (step 1)"
	}
	if len(newDone) == 0 {
		return "before its first commit"
	}
	newest := slices.MaxFunc(newDone, func(a, b string) int { return int(procCheckpointSeq(a) - procCheckpointSeq(b)) })
	if procReferenced(sess, newest) {
		return "between commits"
	}
	if ahead(iceberg.TableEvents) {
		return "mid-commit: events committed, sessions not (after step 3b)"
	}
	switch la, ra := ahead(iceberg.TableLate), ahead(iceberg.TableRejected); {
	case la && ra:
		return "mid-commit: late and rejected committed, sessions not (after step 3)"
	case ra:
		return "mid-commit: rejected committed, sessions not (after step 3)"
	case la:
		return "mid-commit: late committed, sessions not (after step 2)"
	}
	return "mid-commit: checkpoint written, sessions not (steps 1-4)"
}
