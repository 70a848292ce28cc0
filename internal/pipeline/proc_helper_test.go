//go:build unix

package pipeline

// Helpers for the tests that run the real sessionize binary as child
// processes against a broker in the test process (crash_test.go,
// fence_test.go): building the binary, starting, signalling and watching
// children, the input with deliberate late and malformed records, reading
// the warehouse's progress, and the exactly-once assertions.

import (
	"bytes"
	"context"
	"database/sql"
	"fmt"
	"maps"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/sessionize/sessionize/internal/gen"
	"github.com/sessionize/sessionize/internal/iceberg"
	"github.com/sessionize/sessionize/internal/kafka"
)

// procSessionTimeout is the consumer-group session timeout of every child:
// a killed or stopped child loses its partitions this long after its last
// heartbeat, so a restart waits at most this long for them.
const procSessionTimeout = time.Second

// procRebalanceTimeout bounds how long a rebalance waits for a member.
const procRebalanceTimeout = 3 * time.Second

// procBuildBinary builds ./cmd/sessionize into a temporary directory.
func procBuildBinary(t *testing.T) string {
	t.Helper()
	goBin, err := exec.LookPath("go")
	if err != nil {
		goBin = filepath.Join(runtime.GOROOT(), "bin", "go")
		if _, err := os.Stat(goBin); err != nil {
			if os.Getenv("CI") == "true" {
				t.Fatal("no go command to build cmd/sessionize with")
			}
			t.Skip("no go command to build cmd/sessionize with")
		}
	}
	root := procModuleRoot(t)
	bin := filepath.Join(t.TempDir(), "sessionize")
	started := time.Now()
	cmd := exec.CommandContext(t.Context(), goBin, "build", "-o", bin, "./cmd/sessionize")
	cmd.Dir = root
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build ./cmd/sessionize: %v\n%s", err, out)
	}
	t.Logf("built %s in %s", bin, time.Since(started).Round(time.Millisecond))
	return bin
}

// procModuleRoot walks up from the test's working directory to go.mod.
func procModuleRoot(t *testing.T) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatal("no go.mod above the test's working directory")
		}
		dir = parent
	}
}

// procGroup starts children for one test, kills them when it ends and, if it
// failed, prints the tail of every child's log.
type procGroup struct {
	t   *testing.T
	bin string
	dir string
	// runExtra are arguments every `run` child gets on top of runArgs'.
	runExtra []string

	mu       sync.Mutex
	children []*procChild
}

func newProcGroup(t *testing.T, bin string) *procGroup {
	ps := &procGroup{t: t, bin: bin, dir: t.TempDir()}
	// Children run side by side: no status server on a fixed port (if
	// this build has one).
	if help, _ := exec.Command(bin, "run", "--help").CombinedOutput(); strings.Contains(string(help), "--http-addr") {
		ps.runExtra = append(ps.runExtra, "--http-addr=")
	}
	// Registered before any child's kill, so it runs after them (LIFO).
	t.Cleanup(func() {
		ps.mu.Lock()
		defer ps.mu.Unlock()
		if dir := os.Getenv("PROC_TEST_LOG_DIR"); dir != "" {
			ps.keepLogs(filepath.Join(dir, strings.ReplaceAll(t.Name(), "/", "_")))
		}
		if !t.Failed() {
			return
		}
		for _, c := range ps.children {
			t.Logf("---- tail of %s (%s) ----\n%s", c.name, c.logPath, c.tail(40))
		}
	})
	return ps
}

// keepLogs copies every child's log into dir (PROC_TEST_LOG_DIR=dir keeps
// them for reading after the test, passed or not).
func (ps *procGroup) keepLogs(dir string) {
	t := ps.t
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Errorf("PROC_TEST_LOG_DIR: %v", err)
		return
	}
	for _, c := range ps.children {
		if err := os.WriteFile(filepath.Join(dir, c.name+".log"), []byte(c.log()), 0o644); err != nil {
			t.Errorf("PROC_TEST_LOG_DIR: %v", err)
			return
		}
	}
	t.Logf("children's logs kept in %s", dir)
}

// procChild is one sessionize process; stdout and stderr go to its log file.
type procChild struct {
	t       *testing.T
	name    string
	logPath string
	cmd     *exec.Cmd
	started time.Time
	done    chan struct{}
	waitErr error
}

// start runs `sessionize args...` with a log file of its own.
func (ps *procGroup) start(name string, args ...string) *procChild {
	t := ps.t
	t.Helper()
	logPath := filepath.Join(ps.dir, name+".log")
	f, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	cmd := exec.Command(ps.bin, args...)
	cmd.Stdout, cmd.Stderr = f, f
	cmd.Env = procEnv()
	cmd.SysProcAttr = procSysProcAttr()
	if err := cmd.Start(); err != nil {
		t.Fatalf("start %s: %v", name, err)
	}
	c := &procChild{t: t, name: name, logPath: logPath, cmd: cmd, started: time.Now(), done: make(chan struct{})}
	go func() {
		c.waitErr = cmd.Wait()
		close(c.done)
	}()
	t.Cleanup(c.kill)
	ps.mu.Lock()
	ps.children = append(ps.children, c)
	ps.mu.Unlock()
	return c
}

// procEnv is the test's environment without SESSIONIZE_* variables: every
// flag of the child is one the test chose.
func procEnv() []string {
	return slices.DeleteFunc(os.Environ(), func(kv string) bool { return strings.HasPrefix(kv, "SESSIONIZE_") })
}

func (c *procChild) exited() bool {
	select {
	case <-c.done:
		return true
	default:
		return false
	}
}

// kill sends SIGKILL (which also ends a stopped process) and waits for
// the exit.
func (c *procChild) kill() {
	if c.exited() {
		return
	}
	_ = c.cmd.Process.Signal(syscall.SIGKILL)
	<-c.done
}

func (c *procChild) signal(sig syscall.Signal) {
	c.t.Helper()
	if err := c.cmd.Process.Signal(sig); err != nil {
		c.t.Fatalf("%s: send %v: %v", c.name, sig, err)
	}
}

// waitStopped waits until a child sent SIGSTOP is stopped (where /proc
// tells; elsewhere it gives the signal a moment).
func (c *procChild) waitStopped() {
	c.t.Helper()
	stat := fmt.Sprintf("/proc/%d/stat", c.cmd.Process.Pid)
	deadline := time.Now().Add(2 * time.Second)
	for time.Now().Before(deadline) {
		b, err := os.ReadFile(stat)
		if err != nil {
			time.Sleep(50 * time.Millisecond)
			return
		}
		// pid (comm) state ...: the state follows the last ')'.
		if f := strings.Fields(string(b[bytes.LastIndexByte(b, ')')+1:])); len(f) > 0 && f[0] == "T" {
			return
		}
		time.Sleep(time.Millisecond)
	}
	c.t.Fatalf("%s did not stop within 2s of SIGSTOP", c.name)
}

// wait waits for the child to exit by itself and fails unless it exits 0.
func (c *procChild) wait(timeout time.Duration) {
	c.t.Helper()
	select {
	case <-c.done:
	case <-time.After(timeout):
		c.t.Fatalf("%s did not exit within %s", c.name, timeout)
	}
	if c.waitErr != nil {
		c.t.Fatalf("%s: %v", c.name, c.waitErr)
	}
}

func (c *procChild) log() string {
	b, err := os.ReadFile(c.logPath)
	if err != nil {
		return ""
	}
	return string(b)
}

func (c *procChild) tail(n int) string {
	lines := strings.Split(strings.TrimRight(c.log(), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// waitLog waits for the log to satisfy ok, failing if the child exits first
// or timeout passes.
func (c *procChild) waitLog(what string, timeout time.Duration, ok func(log string) bool) {
	c.t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		if ok(c.log()) {
			return
		}
		if c.exited() {
			c.t.Fatalf("%s exited (%v) while waiting for %s", c.name, c.waitErr, what)
		}
		if time.Now().After(deadline) {
			c.t.Fatalf("%s: no %s within %s", c.name, what, timeout)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// runArgs are the arguments of a child `sessionize run`: frequent small
// commits, and short session and rebalance timeouts so that crashes and
// takeovers are quick. (kfake drops a member killed while its JoinGroup
// was answered only after the rebalance timeout, not the session timeout.)
func (ps *procGroup) runArgs(b brokerAddrs, wh testWarehouse, group string, extra ...string) []string {
	args := []string{"run", "--kafka-servers", strings.Join(b.Addrs(), ","), "--topic", "clickstream", "--group", group}
	args = append(args, wh.flags()...)
	args = append(args, "--commit-interval", "100ms", "--commit-max-records", "2000",
		"--allowed-lateness", "1h", "--session-timeout", procSessionTimeout.String(),
		"--rebalance-timeout", procRebalanceTimeout.String(), "--log-level", "info")
	return append(append(args, ps.runExtra...), extra...)
}

// everyCommitCheckpoints makes a child write its state with every commit:
// the tests that stop a child in the middle of a commit (procStopMidCommit)
// find the commit by its checkpoint file. The crash test keeps the default
// interval, so its restarts re-read the records since older checkpoints.
func everyCommitCheckpoints(extra ...string) []string {
	return append([]string{"--checkpoint-interval", "0"}, extra...)
}

// testMinSessionTimeout is the shortest session timeout the tests'
// brokers accept (Kafka's default minimum is 6s), so that children with a
// session timeout of a second lose their partitions quickly.
const testMinSessionTimeout = 100 * time.Millisecond

// procWaitGroupEmpty waits until group has no members: the children that
// were killed have been dropped, so the next one to join gets every
// partition at once. (A drain run that joined beside a dead member would
// wait for the dead member's partitions until its session timed out, and
// if the dead member had committed them to their end it would stop without
// draining their open sessions: see "Stopped when idle" in
// docs/commit-protocol.md.)
func procWaitGroupEmpty(t *testing.T, b brokerAddrs, group string, timeout time.Duration) {
	t.Helper()
	cl, err := kgo.NewClient(kgo.SeedBrokers(b.Addrs()...))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	adm := kadm.NewClient(cl)
	deadline := time.Now().Add(timeout)
	for {
		gs, err := adm.DescribeGroups(t.Context(), group)
		if err == nil {
			g := gs[group]
			if g.Err == nil && len(g.Members) == 0 {
				return
			}
			err = fmt.Errorf("state %s, %d members", g.State, len(g.Members))
			if g.Err != nil {
				err = g.Err
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("group %s still has members after %s: %v", group, timeout, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// procRecord is one Kafka record to produce.
type procRecord struct{ key, value []byte }

// procInput is a generated clickstream with deliberate late, malformed and
// future records mixed in, and what the pipeline must make of them.
type procInput struct {
	recs []procRecord
	// late holds the values of records that must land in late_events.
	late map[string]bool
	// rejected holds values and reasons of records that must land in
	// rejected_events (on top of the generator's own malformed ones).
	rejected map[string]string
	// notInBatch are records batch mode would take as events but the
	// stream must not: the late and the future ones.
	notInBatch map[string]bool
}

// procInputStart is the event time the generated stream starts at: fixed,
// and well before the Kafka timestamps (the time of the test), so no
// generated event is rejected as future_timestamp.
var procInputStart = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

// procMakeInput generates n records for users users and mixes in, after the
// first 3000 (when every partition has a watermark), a malformed record
// every 150 records, a late one every 400, and 3 future ones.
func procMakeInput(t *testing.T, n int64, users int, seed uint64) procInput {
	t.Helper()
	cfg := gen.DefaultConfig()
	cfg.Events, cfg.NumUsers, cfg.Seed, cfg.Start = n, users, seed, procInputStart
	g, err := gen.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	in := procInput{late: map[string]bool{}, rejected: map[string]string{}, notInBatch: map[string]bool{}}
	add := func(key, value string) {
		in.recs = append(in.recs, procRecord{key: []byte(key), value: []byte(value)})
	}
	lateMs := procInputStart.Add(-72 * time.Hour).UnixMilli() // far below any watermark
	futureMs := time.Now().Add(48 * time.Hour).UnixMilli()    // far ahead of its Kafka timestamp
	bad := 0
	for i := 0; ; i++ {
		r, ok := g.Next()
		if !ok {
			break
		}
		in.recs = append(in.recs, procRecord{key: bytes.Clone(r.UUID), value: bytes.Clone(r.Line)})
		if i < 3000 {
			continue
		}
		if i%150 == 0 {
			bad++
			key := fmt.Sprintf("bad-%d", bad)
			var v, reason string
			switch bad % 5 {
			case 0:
				v, reason = fmt.Sprintf(`{"event_id": "bad-%d", "uuid": "bad-user-%d", "page_name": "home"`, bad, bad), "invalid_json"
			case 1:
				v, reason = fmt.Sprintf(`{"event_id": "bad-%d", "page_name": "home", "event_timestamp": "%d"}`, bad, lateMs), "missing_user"
			case 2:
				v, reason = fmt.Sprintf(`{"uuid": "bad-user-%d", "page_name": "home", "event_timestamp": "%d"}`, bad, lateMs), "missing_event_id"
			case 3:
				v, reason = fmt.Sprintf(`{"event_id": "bad-%d", "uuid": "bad-user-%d", "event_timestamp": "yesterday"}`, bad, bad), "bad_time_format"
			case 4:
				// blank, and unique: bad's bits as spaces and tabs
				v = strings.NewReplacer("0", " ", "1", "\t").Replace(strconv.FormatInt(int64(bad), 2))
				reason = "empty_record"
			}
			if _, dup := in.rejected[v]; dup {
				t.Fatalf("injected rejected record %q twice", v)
			}
			add(key, v)
			in.rejected[v] = reason
		}
		if i%400 == 0 {
			v := fmt.Sprintf(`{"event_id": "late-%d", "uuid": "late-user-%d", "page_name": "home", "event_timestamp": "%d"}`, i, i, lateMs)
			add(fmt.Sprintf("late-user-%d", i), v)
			in.late[v], in.notInBatch[v] = true, true
		}
		if i == 3001 || int64(i) == n/2 || int64(i) == n-10 {
			v := fmt.Sprintf(`{"event_id": "future-%d", "uuid": "future-user-%d", "page_name": "home", "event_timestamp": %d}`, i, i, futureMs)
			add(fmt.Sprintf("future-user-%d", i), v)
			in.rejected[v], in.notInBatch[v] = ReasonFutureTimestamp, true
		}
	}
	return in
}

// batchInput is what batch mode gets: every record but the late and future
// ones, in produce order.
func (in procInput) batchInput() [][]byte {
	var out [][]byte
	for _, r := range in.recs {
		if !in.notInBatch[string(r.value)] {
			out = append(out, r.value)
		}
	}
	return out
}

// procProduce sends recs keyed, in order; safe to call from any goroutine.
func procProduce(ctx context.Context, b brokerAddrs, recs []procRecord) error {
	pr, err := kafka.NewProducer(ctx, kafka.ProducerConfig{Servers: b.Addrs(), Topic: "clickstream"}, nil)
	if err != nil {
		return err
	}
	defer pr.Close()
	for _, r := range recs {
		if err := pr.Send(ctx, r.key, r.value); err != nil {
			return err
		}
	}
	return pr.Flush(ctx)
}

// procTableState is what a table's current snapshot says.
type procTableState struct {
	snapshot int64 // iceberg.NoSnapshot if none
	progress
}

// procReadState reads the tables' current progress (the events table where a
// run wrote it), opening and closing
// the warehouse (so it holds no catalog connection afterwards).
func procReadState(t *testing.T, w testWarehouse) map[string]procTableState {
	t.Helper()
	cfg := w.cfg
	cfg.EventsTable = true
	wh, err := iceberg.Open(t.Context(), cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer wh.Close()
	out := map[string]procTableState{}
	for _, tbl := range []string{iceberg.TableSessions, iceberg.TableLate, iceberg.TableRejected, iceberg.TableEvents} {
		snap, ok, err := wh.Current(t.Context(), tbl)
		if err != nil {
			t.Fatal(err)
		}
		if !ok && tbl == iceberg.TableEvents {
			continue // opt-in: only where a run wrote it
		}
		st := procTableState{snapshot: iceberg.NoSnapshot, progress: progress{offsets: map[int32]int64{}, checkpoints: map[int32]string{}}}
		if ok {
			pr, err := parseProgress(snap.Summary)
			if err != nil {
				t.Fatal(err)
			}
			st = procTableState{snapshot: snap.ID, progress: pr}
		}
		out[tbl] = st
	}
	return out
}

// procCheckpointFiles lists the checkpoint directory of a group: finished
// checkpoints and temporary files of unfinished ones (on a local disk; an
// object store has none: a checkpoint is one PUT).
func procCheckpointFiles(t *testing.T, wh testWarehouse, group string) (done, tmp []string) {
	for _, name := range wh.checkpointNames(t, group) {
		switch {
		case strings.HasPrefix(name, "."):
			tmp = append(tmp, name)
		case strings.HasSuffix(name, ".ckpt"):
			done = append(done, name)
		}
	}
	return done, tmp
}

// procCheckpointWriter is the writer in a checkpoint's name
// (<writer>-<seq>.ckpt): the process that wrote it.
func procCheckpointWriter(name string) string {
	return name[:strings.LastIndexByte(name, '-')]
}

// procWriterCheckpoints keeps the names written by writer ("": any).
func procWriterCheckpoints(names []string, writer string) []string {
	if writer == "" {
		return names
	}
	return slices.DeleteFunc(slices.Clone(names), func(n string) bool { return procCheckpointWriter(n) != writer })
}

// waitNewCheckpoint waits for a finished checkpoint file of writer ("":
// any) not in before: the first step of one of its commits. False if none
// appears within timeout.
func waitNewCheckpoint(t *testing.T, wh testWarehouse, group, writer string, before []string, timeout time.Duration) bool {
	n := len(procWriterCheckpoints(before, writer))
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		done, _ := procCheckpointFiles(t, wh, group)
		if len(procWriterCheckpoints(done, writer)) > n {
			return true
		}
		time.Sleep(time.Millisecond)
	}
	return false
}

func newNames(before, after []string) []string {
	var out []string
	for _, n := range after {
		if !slices.Contains(before, n) {
			out = append(out, n)
		}
	}
	return out
}

// procNewWriter returns the writer of the checkpoints of group that is
// not in known, if there is one (a child that was just started has made its
// first commit), and adds it to known. It fails if there are several.
func procNewWriter(t *testing.T, wh testWarehouse, group string, known map[string]bool) (string, bool) {
	t.Helper()
	done, _ := procCheckpointFiles(t, wh, group)
	fresh := map[string]bool{}
	for _, n := range done {
		if w := procCheckpointWriter(n); !known[w] {
			fresh[w] = true
		}
	}
	if len(fresh) > 1 {
		t.Fatalf("more than one new writer in the checkpoints: %v", slices.Sorted(maps.Keys(fresh)))
	}
	for w := range fresh {
		known[w] = true
		return w, true
	}
	return "", false
}

// procStopMidCommit stops c with SIGSTOP in the middle of a commit: after
// the checkpoint of one of its commits is written (writer is c's, "" if c
// is the only writer), before the sessions snapshot that names it, and
// outside a catalog transaction (a stopped process holding SQLite's write
// lock would stall every other writer, which is not what such a test is
// about). A stop that lands elsewhere is undone (SIGCONT) and tried again,
// up to 40 times; check, called before each attempt, fails the test if the
// conditions for another attempt have run out. It returns the checkpoint
// of the interrupted commit, the tables' state while c is stopped, and when
// the SIGSTOP that stopped it was sent.
func procStopMidCommit(t *testing.T, c *procChild, warehouse testWarehouse, group, writer string, rng *rand.Rand, check func()) (string, map[string]procTableState, time.Time) {
	t.Helper()
	for attempt := 1; ; attempt++ {
		if attempt > 40 {
			t.Fatalf("could not stop %s in the middle of a commit in 40 attempts", c.name)
		}
		check()
		before, _ := procCheckpointFiles(t, warehouse, group)
		if !waitNewCheckpoint(t, warehouse, group, writer, before, 3*time.Second) {
			t.Fatalf("%s began no commit within 3s (attempt %d)", c.name, attempt)
		}
		// At once, or a little later: after its late or rejected
		// snapshot, say.
		time.Sleep(time.Duration(rng.IntN(15)) * time.Millisecond)
		stoppedAt := time.Now()
		c.signal(syscall.SIGSTOP)
		c.waitStopped()
		if procCatalogHeld(t, warehouse) {
			t.Logf("attempt %d: %s stopped inside a catalog transaction; continuing it", attempt, c.name)
			c.signal(syscall.SIGCONT)
			continue
		}
		after, _ := procCheckpointFiles(t, warehouse, group)
		newest := slices.MaxFunc(procWriterCheckpoints(newNames(before, after), writer), func(x, y string) int {
			return int(procCheckpointSeq(x) - procCheckpointSeq(y))
		})
		state := procReadState(t, warehouse)
		if procReferenced(state[iceberg.TableSessions], newest) {
			t.Logf("attempt %d: %s stopped after its commit had finished; continuing it", attempt, c.name)
			c.signal(syscall.SIGCONT)
			continue
		}
		t.Logf("attempt %d: %s stopped mid-commit: checkpoint %s written, sessions still at %v",
			attempt, c.name, newest, state[iceberg.TableSessions].offsets)
		return newest, state, stoppedAt
	}
}

// procCheckpointTargets reads a checkpoint of group: the partitions it
// holds and, for each, the offset the commit that wrote it moves the
// tables to.
func procCheckpointTargets(t *testing.T, wh testWarehouse, group, name string) map[int32]int64 {
	t.Helper()
	entries, err := decodeCheckpoint(wh.readCheckpoint(t, group, name))
	if err != nil {
		t.Fatal(err)
	}
	target := map[int32]int64{}
	for p, e := range entries {
		target[p] = e.next
	}
	return target
}

// procCheckpointSeq is the commit sequence number in a checkpoint's name
// (<writer>-<seq>.ckpt).
func procCheckpointSeq(name string) int64 {
	name = strings.TrimSuffix(name, ".ckpt")
	n, _ := strconv.ParseInt(name[strings.LastIndexByte(name, '-')+1:], 10, 64)
	return n
}

// procReferenced reports whether the sessions table's current snapshot names
// the checkpoint file called name.
func procReferenced(st procTableState, name string) bool {
	for _, uri := range st.checkpoints {
		if filepath.Base(uri) == name {
			return true
		}
	}
	return false
}

// procCatalogHeld reports whether the SQLite catalog's write lock stays
// taken for 200 ms (never, for a catalog that is not SQLite): a process
// that holds it is stopped, since running
// writers hold it for milliseconds at a time.
func procCatalogHeld(t *testing.T, warehouse testWarehouse) bool {
	t.Helper()
	if warehouse.catalogFile() == "" {
		return false // a server-side catalog: nothing of it in a stopped client
	}
	for deadline := time.Now().Add(200 * time.Millisecond); time.Now().Before(deadline); time.Sleep(5 * time.Millisecond) {
		if !procCatalogLocked(t, warehouse) {
			return false
		}
	}
	return true
}

// procCatalogLocked reports whether some process holds the SQLite
// catalog's write lock (is inside a catalog commit) right now.
func procCatalogLocked(t *testing.T, warehouse testWarehouse) bool {
	t.Helper()
	db, err := sql.Open("sqlite", "file:"+warehouse.catalogFile()+"?_pragma=busy_timeout(0)&_txlock=immediate")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	tx, err := db.BeginTx(t.Context(), nil) // BEGIN IMMEDIATE: takes the write lock or fails at once
	if err != nil {
		if strings.Contains(strings.ToLower(err.Error()), "locked") || strings.Contains(strings.ToLower(err.Error()), "busy") {
			return true
		}
		t.Fatalf("probe catalog lock: %v", err)
	}
	_ = tx.Rollback()
	return false
}

type procRowKey struct {
	partition int32
	offset    int64
	reason    string
}

func procLateKeys(t *testing.T, wh *iceberg.Warehouse) ([]procRowKey, []iceberg.LateRow) {
	t.Helper()
	rows, err := wh.ReadLate(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	keys := make([]procRowKey, len(rows))
	for i, r := range rows {
		keys[i] = procRowKey{r.Partition, r.Offset, iceberg.LateReason}
	}
	procSortKeys(keys)
	return keys, rows
}

func procRejectedKeys(t *testing.T, wh *iceberg.Warehouse) ([]procRowKey, []iceberg.RejectedRow) {
	t.Helper()
	rows, err := wh.ReadRejected(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	keys := make([]procRowKey, len(rows))
	for i, r := range rows {
		keys[i] = procRowKey{r.Partition, r.Offset, r.Reason}
	}
	procSortKeys(keys)
	return keys, rows
}

func procSortKeys(keys []procRowKey) {
	slices.SortFunc(keys, func(a, b procRowKey) int {
		if a.partition != b.partition {
			return int(a.partition - b.partition)
		}
		if a.offset != b.offset {
			if a.offset < b.offset {
				return -1
			}
			return 1
		}
		return strings.Compare(a.reason, b.reason)
	})
}

// procDupKeys returns the (partition, offset) pairs that occur more than once.
func procDupKeys(keys []procRowKey) []procRowKey {
	var d []procRowKey
	for i := 1; i < len(keys); i++ {
		if keys[i].partition == keys[i-1].partition && keys[i].offset == keys[i-1].offset {
			d = append(d, keys[i])
		}
	}
	return d
}

// procReferenceRun runs the pipeline in process, without crashes, over the
// whole topic into a local warehouse of its own (another group), and
// returns it.
func procReferenceRun(t *testing.T, b brokerAddrs) testWarehouse {
	t.Helper()
	ref := localWarehouse(t, t.TempDir())
	cfg := runConfig(t, b, ref.cfg.Warehouse)
	cfg.Kafka.Group = "reference"
	ctx, cancel := context.WithTimeout(t.Context(), 60*time.Second)
	defer cancel()
	started := time.Now()
	if err := Run(ctx, cfg); err != nil {
		t.Fatalf("crash-free reference run: %v", err)
	}
	t.Logf("crash-free reference run: %s", time.Since(started).Round(time.Millisecond))
	return ref
}

// procAssertExactlyOnce checks warehouse against the crash-free reference run
// and batch mode over the same produced input: same sessions (ids and end
// reasons included), same late and rejected rows, nothing twice, no table's
// offsets ever moved back, and the account from the tables alone adds up to
// what was produced.
func procAssertExactlyOnce(t *testing.T, warehouse, reference testWarehouse, in procInput) {
	t.Helper()
	wh, refWh := warehouse.open(t), reference.open(t)
	got, rows := warehouseLines(t, wh)
	ids := map[string]bool{}
	for _, r := range rows {
		if ids[r.SessionID] {
			t.Errorf("session %s (%s@%d) is in the sessions table twice", r.SessionID, r.UUID, r.SessionStartTimeMs)
		}
		ids[r.SessionID] = true
	}
	want, _ := warehouseLines(t, refWh)
	if !slices.Equal(got, want) {
		t.Errorf("sessions: %d rows, the crash-free run %d; first difference: %s", len(got), len(want), firstDiff(got, want))
	}
	batch := batchLines(t, in.batchInput())
	if !slices.Equal(got, batch) {
		t.Errorf("sessions: %d rows, batch mode %d; first difference: %s", len(got), len(batch), firstDiff(got, batch))
	}
	if warehouse.local() { // the independent reader reads local files only
		if ind := independentLines(t, wh); !slices.Equal(ind, batch) {
			t.Errorf("sessions through the independent reader: %d rows, batch mode %d; first difference: %s", len(ind), len(batch), firstDiff(ind, batch))
		}
	}

	late, lateRows := procLateKeys(t, wh)
	refLate, _ := procLateKeys(t, refWh)
	if d := procDupKeys(late); len(d) > 0 {
		t.Errorf("late_events has %d (partition, offset) pairs more than once, e.g. %+v", len(d), d[0])
	}
	if !slices.Equal(late, refLate) {
		t.Errorf("late_events: %d rows, the crash-free run %d", len(late), len(refLate))
	}
	gotLate := map[string]bool{}
	for _, r := range lateRows {
		gotLate[r.Raw] = true
	}
	if !maps.Equal(gotLate, in.late) {
		t.Errorf("late_events holds %d distinct records; %d were produced late", len(gotLate), len(in.late))
	}
	rejected, rejectedRows := procRejectedKeys(t, wh)
	refRejected, _ := procRejectedKeys(t, refWh)
	if d := procDupKeys(rejected); len(d) > 0 {
		t.Errorf("rejected_events has %d (partition, offset) pairs more than once, e.g. %+v", len(d), d[0])
	}
	if !slices.Equal(rejected, refRejected) {
		t.Errorf("rejected_events: %d rows, the crash-free run %d", len(rejected), len(refRejected))
	}
	found := 0
	for _, r := range rejectedRows {
		if reason, ok := in.rejected[r.Raw]; ok {
			found++
			if r.Reason != reason {
				t.Errorf("rejected %q as %s, want %s", r.Raw, r.Reason, reason)
			}
		}
	}
	if found != len(in.rejected) {
		t.Errorf("rejected_events holds %d of the %d deliberately bad records", found, len(in.rejected))
	}

	procAssertOffsetsNeverBack(t, wh)

	a, err := Audit(t.Context(), wh)
	if err != nil {
		t.Fatal(err)
	}
	refA, err := Audit(t.Context(), refWh)
	if err != nil {
		t.Fatal(err)
	}
	produced := int64(len(in.recs))
	if a.Records != produced || !a.Holds() || a.Open != 0 {
		t.Errorf("produced %d; account from the tables: %s", produced, a)
	}
	if a != refA {
		t.Errorf("account %+v, the crash-free run's %+v", a, refA)
	}
	if a.Late != int64(len(in.late)) {
		t.Errorf("late %d, produced %d late records", a.Late, len(in.late))
	}
	t.Logf("account: %s; %d sessions", a, a.Sessions)
}

// procAssertOffsetsNeverBack walks every table's history, oldest first: no
// snapshot may move a partition's offset back. (An offset says the rows of
// every record below it are in the table; moving it back makes whoever
// restores from there write rows a second time.)
func procAssertOffsetsNeverBack(t *testing.T, wh *iceberg.Warehouse) {
	t.Helper()
	for _, tbl := range []string{iceberg.TableSessions, iceberg.TableLate, iceberg.TableRejected, iceberg.TableEvents} {
		snaps, err := wh.Snapshots(t.Context(), tbl)
		if err != nil {
			t.Fatal(err)
		}
		last := map[int32]int64{}
		for _, s := range slices.Backward(snaps) {
			pr, err := parseProgress(s.Summary)
			if err != nil {
				t.Fatal(err)
			}
			for p, o := range pr.offsets {
				if o < last[p] {
					t.Errorf("%s snapshot %d (writer %s) moves partition %d back from %d to %d", tbl, s.ID, writerOf(s.Summary), p, last[p], o)
				}
				last[p] = o
			}
		}
	}
}
