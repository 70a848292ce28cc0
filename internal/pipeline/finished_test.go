//go:build unix

package pipeline

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/sessionize/sessionize/internal/kafka"
)

// groupHolder is a consumer-group member that takes partitions and never
// processes them: a plain franz-go client. freeze cuts its connections
// and refuses new ones, as kill -9 would: it does not leave the group, so
// the broker takes its partitions away only once its session times out.
type groupHolder struct {
	cl *kgo.Client

	mu     sync.Mutex
	conns  []net.Conn
	frozen bool
	owned  map[int32]bool
}

func newGroupHolder(t *testing.T, b *kafka.Broker, group string, sessionTimeout time.Duration) *groupHolder {
	t.Helper()
	h := &groupHolder{owned: map[int32]bool{}}
	set := func(m map[string][]int32, own bool) {
		h.mu.Lock()
		defer h.mu.Unlock()
		for _, p := range m["clickstream"] {
			if own {
				h.owned[p] = true
			} else {
				delete(h.owned, p)
			}
		}
	}
	cl, err := kgo.NewClient(kgo.SeedBrokers(b.Addrs()...), kgo.Dialer(h.dial),
		kgo.ConsumerGroup(group), kgo.ConsumeTopics("clickstream"), kgo.DisableAutoCommit(),
		kgo.Balancers(kgo.CooperativeStickyBalancer()), kgo.ClientID("holder"),
		kgo.SessionTimeout(sessionTimeout), kgo.HeartbeatInterval(sessionTimeout/5), kgo.RebalanceTimeout(3*time.Second),
		kgo.RetryTimeout(time.Second),
		kgo.OnPartitionsAssigned(func(_ context.Context, _ *kgo.Client, m map[string][]int32) { set(m, true) }),
		kgo.OnPartitionsRevoked(func(_ context.Context, _ *kgo.Client, m map[string][]int32) { set(m, false) }),
		kgo.OnPartitionsLost(func(_ context.Context, _ *kgo.Client, m map[string][]int32) { set(m, false) }))
	if err != nil {
		t.Fatal(err)
	}
	h.cl = cl
	t.Cleanup(func() {
		// Frozen, it cannot leave the group: do not wait for it to try.
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		cl.LeaveGroupContext(ctx)
		cl.Close()
	})
	return h
}

func (h *groupHolder) dial(ctx context.Context, network, host string) (net.Conn, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.frozen {
		return nil, errors.New("holder frozen")
	}
	var d net.Dialer
	c, err := d.DialContext(ctx, network, host)
	if err == nil {
		h.conns = append(h.conns, c)
	}
	return c, err
}

func (h *groupHolder) freeze() {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.frozen = true
	for _, c := range h.conns {
		c.Close()
	}
}

func (h *groupHolder) partitions() []int32 {
	h.mu.Lock()
	defer h.mu.Unlock()
	var out []int32
	for p := range h.owned {
		out = append(out, p)
	}
	slices.Sort(out)
	return out
}

// waitFor polls cond every 20 ms until it holds, failing after timeout.
func waitFor(t *testing.T, what string, timeout time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("no %s within %s", what, timeout)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// heldRun is a pipeline sharing its group with a groupHolder that holds
// part of a 4-partition topic and processes none of it.
type heldRun struct {
	broker *kafka.Broker
	lines  [][]byte
	wh     string
	holder *groupHolder
	held   []int32 // the holder's partitions once the pipeline has joined
	logs   *SyncBuffer
	done   chan error
}

func startHeldRun(t *testing.T, holderSession time.Duration, tune func(*Config)) *heldRun {
	t.Helper()
	b := startBroker(t, 4)
	lines, keys := generated(t, 8_000, 200, 31)
	produceLines(t, b, lines, keys)
	const group = "held"
	r := &heldRun{broker: b, lines: lines, wh: t.TempDir(), logs: &SyncBuffer{}, done: make(chan error, 1)}
	r.holder = newGroupHolder(t, b, group, holderSession)
	waitFor(t, "assignment of the whole topic to the holder", 15*time.Second, func() bool { return len(r.holder.partitions()) == 4 })

	cfg := runConfig(t, b, r.wh)
	cfg.Kafka.Group = group
	cfg.Kafka.SessionTimeout = 2 * time.Second
	cfg.Kafka.RebalanceTimeout = 3 * time.Second
	cfg.StopWhenIdle = 300 * time.Millisecond
	var w io.Writer = r.logs
	if testing.Verbose() {
		w = io.MultiWriter(r.logs, os.Stderr)
	}
	cfg.Logger = slog.New(slog.NewTextHandler(w, nil))
	if tune != nil {
		tune(&cfg)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 60*time.Second)
	t.Cleanup(cancel)
	go func() { r.done <- Run(ctx, cfg) }()
	waitFor(t, "rebalance giving the pipeline part of the topic", 15*time.Second, func() bool { return len(r.holder.partitions()) < 4 })
	r.held = r.holder.partitions()
	if len(r.held) == 0 {
		t.Fatal("the holder kept no partition")
	}
	return r
}

// TestStopWhenIdleWaitsForPartitionsOthersHold: another member of the
// group holds partitions and never processes them. --stop-when-idle must
// not stop once the pipeline's own partitions are done: it waits, saying
// which partitions are unfinished and who holds them, takes them over
// when the holder's session times out, and stops with the tables a run
// alone would have written.
func TestStopWhenIdleWaitsForPartitionsOthersHold(t *testing.T) {
	r := startHeldRun(t, 2*time.Second, nil)
	deadline := time.After(30 * time.Second)
	for !strings.Contains(r.logs.String(), "waiting for the rest of the topic") {
		select {
		case err := <-r.done:
			t.Fatalf("run stopped (error %v) while partitions %v were held by another member, unprocessed", err, r.held)
		case <-deadline:
			t.Fatal("the pipeline did not say it waits for the rest of the topic within 30s")
		case <-time.After(20 * time.Millisecond):
		}
	}
	log := r.logs.String()
	for _, p := range r.held {
		if !logHasLine(log, "waiting for the rest of the topic", fmt.Sprintf("partition %d: nothing committed", p), "held by member holder-") {
			t.Errorf("the waiting message does not name partition %d and its holder:\n%s", p, log)
		}
	}
	// It keeps waiting while the holder is alive.
	select {
	case err := <-r.done:
		t.Fatalf("run stopped (error %v) while the holder still held %v", err, r.held)
	case <-time.After(1500 * time.Millisecond):
	}
	r.holder.freeze()
	frozen := time.Now()
	select {
	case err := <-r.done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("run did not stop within 30s of the holder's death")
	}
	t.Logf("stopped %s after the holder froze", time.Since(frozen).Round(time.Millisecond))
	got, _ := tableLines(t, r.wh)
	if want := batchLines(t, r.lines); !slices.Equal(got, want) {
		t.Fatalf("stream gave %d sessions, batch %d; first difference: %s", len(got), len(want), firstDiff(got, want))
	}
	a, err := Audit(t.Context(), openWarehouse(t, r.wh))
	if err != nil {
		t.Fatal(err)
	}
	if a.Records != int64(len(r.lines)) || !a.Holds() || a.Open != 0 {
		t.Fatalf("produced %d; %s", len(r.lines), a)
	}
}

// TestStopTimeoutNamesUnfinishedPartitions: with --stop-timeout shorter
// than the holder's session timeout, the run fails, naming the partitions
// it waited for and their holder, after committing its own partitions to
// their end.
func TestStopTimeoutNamesUnfinishedPartitions(t *testing.T) {
	r := startHeldRun(t, 20*time.Second, func(c *Config) { c.StopTimeout = time.Second })
	var err error
	select {
	case err = <-r.done:
	case <-time.After(30 * time.Second):
		t.Fatal("run did not end within 30s with --stop-timeout 1s")
	}
	if err == nil {
		t.Fatalf("run exited without error with partitions %v unprocessed", r.held)
	}
	msg := err.Error()
	if !strings.Contains(msg, `topic "clickstream" is not finished`) || !strings.Contains(msg, "--stop-timeout 1s") {
		t.Errorf("error does not say the topic is unfinished and why it stopped waiting: %v", err)
	}
	for _, p := range r.held {
		if !strings.Contains(msg, fmt.Sprintf("partition %d: nothing committed (end ", p)) {
			t.Errorf("error does not name partition %d: %v", p, err)
		}
	}
	if !strings.Contains(msg, "held by member holder-") {
		t.Errorf("error does not name the holder: %v", err)
	}
	t.Logf("run failed as it should: %v", err)
	ends, err := kafka.TopicEnds(t.Context(), r.broker.Addrs(), kafka.Security{}, "clickstream")
	if err != nil {
		t.Fatal(err)
	}
	committed := procReadState(t, localWarehouse(t, r.wh))["sessions"].offsets
	for p, end := range ends {
		switch {
		case slices.Contains(r.held, p):
			if _, ok := committed[p]; ok {
				t.Errorf("held partition %d has offset %d in the tables", p, committed[p])
			}
		case committed[p] != end:
			t.Errorf("own partition %d committed to %d, its end is %d", p, committed[p], end)
		}
	}
}

// TestStopWhenIdleOwningNothing: a member that gets no partition (the only
// one stays with a live member that is still processing it) stops once
// that member has committed it to its end, not before, and not never.
func TestStopWhenIdleOwningNothing(t *testing.T) {
	b := startBroker(t, 1)
	lines, keys := generated(t, 20_000, 300, 37)
	produceLines(t, b, lines, keys)
	wh := t.TempDir()
	ctx, cancel := context.WithTimeout(t.Context(), 60*time.Second)
	defer cancel()

	var mu sync.Mutex
	var atEnd time.Time // A's first commit up to the end
	firstCommit := make(chan struct{})
	a := runConfig(t, b, wh)
	a.Kafka.Group = "one-partition"
	a.StopWhenIdle, a.Drain = 0, false
	// Slow: about 20 commits 200 ms apart, so B joins while A is busy.
	a.CommitMaxRecords = 1000
	a.OnCommit = func(c CommitInfo) {
		defer time.Sleep(200 * time.Millisecond)
		mu.Lock()
		defer mu.Unlock()
		if firstCommit != nil {
			close(firstCommit)
			firstCommit = nil
		}
		if c.Lag == 0 && atEnd.IsZero() {
			atEnd = time.Now()
		}
	}
	actx, stopA := context.WithCancel(ctx)
	aDone := make(chan error, 1)
	go func() { aDone <- Run(actx, a) }()
	mu.Lock()
	wait := firstCommit
	mu.Unlock()
	select {
	case <-wait:
	case err := <-aDone:
		t.Fatalf("A ended before its first commit: %v", err)
	}

	logs := &SyncBuffer{}
	bcfg := runConfig(t, b, wh)
	bcfg.Kafka.Group = "one-partition"
	bcfg.StopWhenIdle = 300 * time.Millisecond
	bcfg.Logger = slog.New(slog.NewTextHandler(logs, nil))
	bcfg.OnCommit = func(CommitInfo) { t.Error("B committed: it should own nothing") }
	bctx, cancelB := context.WithTimeout(ctx, 30*time.Second)
	defer cancelB()
	started := time.Now()
	if err := Run(bctx, bcfg); err != nil {
		t.Fatal(err)
	}
	stopped := time.Now()
	if bctx.Err() != nil {
		t.Fatalf("B did not stop by itself within 30s:\n%s", logs)
	}
	mu.Lock()
	ended := atEnd
	mu.Unlock()
	if ended.IsZero() || stopped.Before(ended) {
		t.Fatalf("B stopped at %s, before A committed the partition to its end (%v)", stopped.Format(time.StampMilli), ended.Format(time.StampMilli))
	}
	if ended.Sub(started) < time.Second {
		t.Fatalf("A was done %s after B started: B hardly had to wait", ended.Sub(started))
	}
	t.Logf("B waited %s for A; stopped %s after A's commit to the end",
		ended.Sub(started).Round(time.Millisecond), stopped.Sub(ended).Round(time.Millisecond))
	stopA()
	if err := <-aDone; err != nil {
		t.Fatal(err)
	}
}

// TestStopWhenIdleDoesNotAskWhileReading: --stop-when-idle asks the broker
// for the topic's ends only after a poll that brought nothing. Asking
// after every poll put a ListOffsets round trip (retried with backoff
// while the broker fails requests) between the polls of a busy loop: with
// the broker answering ListOffsets slowly here, the drain of a preloaded
// topic made one per poll.
func TestStopWhenIdleDoesNotAskWhileReading(t *testing.T) {
	if testing.Short() {
		t.Skip("drains a topic with slow ListOffsets answers")
	}
	b := startBroker(t, 3)
	lines, keys := generated(t, 6_000, 100, 5)
	produceLines(t, b, lines, keys)

	c := b.Cluster()
	var listOffsets atomic.Int64
	c.ControlKey(int16(kmsg.ListOffsets), func(kmsg.Request) (kmsg.Response, error, bool) {
		c.KeepControl()
		listOffsets.Add(1)
		c.SleepControl(func() { time.Sleep(100 * time.Millisecond) })
		return nil, nil, false
	})

	wh := t.TempDir()
	cfg := runConfig(t, b, wh)
	cfg.Kafka.MaxPollRecords = 50 // 120 polls with records
	cfg.CommitInterval = time.Minute
	cfg.CommitMaxRecords = 100_000 // one commit, the final one
	cfg.StopWhenIdle = 500 * time.Millisecond
	runToEnd(t, cfg, 2*time.Minute)
	assertExactlyOnce(t, wh, lines, len(lines))
	// What is left: the client's own look-ups, the idle checks at the end
	// (every 100 ms for StopWhenIdle, each 100 ms slow) and the final
	// commit's.
	if n := listOffsets.Load(); n > 30 {
		t.Fatalf("the run sent %d ListOffsets requests while it drained 120 polls of records: it asked for the topic's ends while it had records to process", n)
	}
	t.Logf("%d ListOffsets requests", listOffsets.Load())
}

// TestStopWhenIdleCountsFromTheLastRecords: --stop-when-idle D stops D
// after the last records were read, not D after the first poll that found
// none: that poll returns only after the source's MaxWait, which made
// every run stop MaxWait late (a second by default, a third of the time
// of a 1M-event drain in bench/stream-vs-bare.sh).
func TestStopWhenIdleCountsFromTheLastRecords(t *testing.T) {
	b := startBroker(t, 3)
	lines, keys := generated(t, 1_000, 50, 9)
	produceLines(t, b, lines, keys)
	wh := t.TempDir()
	cfg := runConfig(t, b, wh)
	const maxWait = 4 * time.Second
	cfg.Kafka.MaxWait = maxWait
	cfg.StopWhenIdle = 300 * time.Millisecond
	started := time.Now()
	runToEnd(t, cfg, time.Minute)
	took := time.Since(started)
	assertExactlyOnce(t, wh, lines, len(lines))
	// The last records come with the first polls; then one empty poll
	// (MaxWait) ends in the stop. Counting from that poll instead took a
	// second empty poll: 2 x MaxWait.
	if took >= maxWait+maxWait*3/4 {
		t.Fatalf("the run took %s: it waited for more than one empty poll (MaxWait %s) after the last records to stop idle for %s",
			took.Round(time.Millisecond), maxWait, cfg.StopWhenIdle)
	}
}
