package kafka

import (
	"context"
	"fmt"
	"log/slog"
	"maps"
	"net"
	"os"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
)

func testLogger(t testing.TB) *slog.Logger {
	if os.Getenv("KAFKA_TEST_LOG") != "" {
		return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	return slog.New(slog.DiscardHandler)
}

// testMinSessionTimeout is the shortest session timeout the tests' brokers
// accept (Kafka's default minimum is 6s), so that tests can watch a dead
// member's session expire within a second or two.
const testMinSessionTimeout = 100 * time.Millisecond

// startBroker starts an in-process broker on a random port.
func startBroker(t testing.TB, cfg BrokerConfig) *Broker {
	t.Helper()
	if cfg.Listen == "" {
		cfg.Listen = "127.0.0.1:0"
	}
	if cfg.MinSessionTimeout == 0 {
		cfg.MinSessionTimeout = testMinSessionTimeout
	}
	b, err := StartBroker(context.Background(), cfg, testLogger(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(b.Close)
	return b
}

func mustCreateTopic(t testing.TB, b *Broker, topic string, partitions int32) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := CreateTopic(ctx, b.Addrs(), Security{}, topic, partitions); err != nil {
		t.Fatal(err)
	}
}

// closedAddr returns an address nothing listens on.
func closedAddr(t testing.TB) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr
}

// produceN sends n records with keys "user-<i%users>" and values
// "v<i>" through a Producer, and waits for all of them.
func produceN(t testing.TB, servers []string, topic string, n, users int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	p, err := NewProducer(ctx, ProducerConfig{Servers: servers, Topic: topic, CreateTopic: true}, testLogger(t))
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	for i := 0; i < n; i++ {
		if err := p.Send(ctx, fmt.Appendf(nil, "user-%d", i%users), fmt.Appendf(nil, "v%d", i)); err != nil {
			t.Fatal(err)
		}
	}
	if err := p.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	if st := p.Stats(); st.Acked != int64(n) || st.Failed != 0 {
		t.Fatalf("stats %+v, want %d acked", st, n)
	}
}

// consumeAll reads every record of topic from the start with a plain
// (group-less) read_committed consumer until it has want records.
func consumeAll(t testing.TB, servers []string, topic string, want int) []*kgo.Record {
	t.Helper()
	cl, err := kgo.NewClient(kgo.SeedBrokers(servers...), kgo.ConsumeTopics(topic),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()), kgo.FetchIsolationLevel(kgo.ReadCommitted()))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var out []*kgo.Record
	for len(out) < want {
		fs := cl.PollFetches(ctx)
		if err := ctx.Err(); err != nil {
			t.Fatalf("consumed %d of %d records: %v", len(out), want, err)
		}
		fs.EachError(func(topic string, p int32, err error) { t.Fatalf("fetch %s/%d: %v", topic, p, err) })
		out = append(out, fs.Records()...)
	}
	return out
}

// recorder is an Assignment that records what it is told and returns
// preset start offsets.
type recorder struct {
	mu       sync.Mutex
	start    map[int32]int64
	failWith error
	owned    map[int32]bool
	events   []string
	assigned []int32 // every partition ever assigned, in order
	revoked  map[int32]int
	lost     map[int32]int
	errs     []string // contract violations
	// inPoll, if set, says whether the caller is inside Poll or Close,
	// the only time the callbacks may run.
	inPoll func() bool
	// interruptFirst, if set, makes the first OnAssigned take its
	// partitions and then wait for its context to be cancelled (a
	// restore slow enough for the next rebalance to begin) and fail with
	// that; blocking is closed when it starts waiting, interrupted when it
	// gives up.
	interruptFirst        bool
	blocking, interrupted chan struct{}
}

func newRecorder(start map[int32]int64) *recorder {
	return &recorder{start: start, owned: map[int32]bool{}, revoked: map[int32]int{}, lost: map[int32]int{}}
}

func (r *recorder) OnAssigned(ctx context.Context, ps []int32) (map[int32]int64, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.inPoll != nil && !r.inPoll() {
		r.errs = append(r.errs, "OnAssigned called outside Poll")
	}
	if r.failWith != nil {
		return nil, r.failWith
	}
	if !slices.IsSorted(ps) {
		r.errs = append(r.errs, fmt.Sprintf("OnAssigned %v not sorted", ps))
	}
	for _, p := range ps {
		if r.owned[p] {
			r.errs = append(r.errs, fmt.Sprintf("partition %d assigned twice", p))
		}
		r.owned[p] = true
		r.assigned = append(r.assigned, p)
	}
	r.events = append(r.events, fmt.Sprintf("assigned %v", ps))
	if r.interruptFirst {
		r.interruptFirst = false
		r.mu.Unlock()
		close(r.blocking)
		<-ctx.Done()
		close(r.interrupted)
		r.mu.Lock()
		return nil, ctx.Err()
	}
	return r.start, nil
}

func (r *recorder) OnRevoked(_ context.Context, ps []int32, lost bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.inPoll != nil && !r.inPoll() {
		r.errs = append(r.errs, "OnRevoked called outside Poll")
	}
	for _, p := range ps {
		if !r.owned[p] {
			r.errs = append(r.errs, fmt.Sprintf("partition %d revoked but not owned", p))
		}
		delete(r.owned, p)
		if lost {
			r.lost[p]++
		} else {
			r.revoked[p]++
		}
	}
	r.events = append(r.events, fmt.Sprintf("revoked %v lost=%v", ps, lost))
}

func (r *recorder) ownedSorted() []int32 {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []int32
	for p := range r.owned {
		out = append(out, p)
	}
	slices.Sort(out)
	return out
}

func (r *recorder) owns(p int32) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.owned[p]
}

func (r *recorder) counts() (revoked, lost map[int32]int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return maps.Clone(r.revoked), maps.Clone(r.lost)
}

func (r *recorder) check(t testing.TB) {
	t.Helper()
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, e := range r.errs {
		t.Error(e)
	}
}

func newTestSource(t testing.TB, servers []string, topic, group string, h Assignment) *Source {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	s, err := NewSource(ctx, SourceConfig{
		Servers: servers, Topic: topic, Group: group,
		SessionTimeout: 6 * time.Second, MaxWait: 200 * time.Millisecond,
	}, h, testLogger(t))
	if err != nil {
		t.Fatal(err)
	}
	return s
}
