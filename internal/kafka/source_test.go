package kafka

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// produceTo writes n records "p<partition>-<i>" to one partition.
func produceTo(t testing.TB, servers []string, topic string, partition int32, n int) {
	t.Helper()
	cl, err := kgo.NewClient(kgo.SeedBrokers(servers...), kgo.DefaultProduceTopic(topic),
		kgo.RecordPartitioner(kgo.ManualPartitioner()))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	recs := make([]*kgo.Record, n)
	for i := range recs {
		recs[i] = &kgo.Record{Partition: partition, Value: fmt.Appendf(nil, "p%d-%d", partition, i)}
	}
	if err := cl.ProduceSync(ctx, recs...).FirstErr(); err != nil {
		t.Fatal(err)
	}
}

// pollUntil polls s until done says so, returning the records seen.
func pollUntil(t testing.TB, s *Source, timeout time.Duration, done func(all []Record, last Batch) bool) []Record {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	var all []Record
	for {
		b, err := s.Poll(ctx)
		if err != nil {
			t.Fatalf("Poll: %v (after %d records)", err, len(all))
		}
		for _, pb := range b.Partitions {
			all = append(all, pb.Records...)
		}
		if done(all, b) {
			return all
		}
	}
}

func TestSourceStartsWhereOnAssignedSays(t *testing.T) {
	b := startBroker(t, BrokerConfig{})
	servers := b.Addrs()
	mustCreateTopic(t, b, "start", 3)
	for p := int32(0); p < 3; p++ {
		produceTo(t, servers, "start", p, 100)
	}
	// The group has committed offsets; they must not be used.
	commitGroupOffsets(t, servers, "g", "start", map[int32]int64{0: 50, 1: 30, 2: 90})

	h := newRecorder(map[int32]int64{0: 42, 2: 7}) // 1 left out: earliest
	s := newTestSource(t, servers, "start", "g", h)
	defer s.Close()
	first := map[int32]int64{}
	count := map[int32]int{}
	pollUntil(t, s, 20*time.Second, func(_ []Record, last Batch) bool {
		for _, pb := range last.Partitions {
			for _, r := range pb.Records {
				if _, ok := first[r.Partition]; !ok {
					first[r.Partition] = r.Offset
				}
				count[r.Partition]++
				if want := fmt.Sprintf("p%d-%d", r.Partition, r.Offset); string(r.Value) != want {
					t.Fatalf("record %s at offset %d", r.Value, r.Offset)
				}
			}
			if len(pb.Records) > 0 && pb.Next != pb.Records[len(pb.Records)-1].Offset+1 {
				t.Errorf("partition %d: Next %d after offset %d", pb.Partition, pb.Next, pb.Records[len(pb.Records)-1].Offset)
			}
		}
		return count[0] == 58 && count[1] == 100 && count[2] == 93
	})
	if first[0] != 42 || first[1] != 0 || first[2] != 7 {
		t.Fatalf("first offsets %v, want 0:42 1:0 2:7", first)
	}
	if got := h.ownedSorted(); !slices.Equal(got, []int32{0, 1, 2}) || !slices.Equal(s.Assigned(), got) {
		t.Errorf("owned %v, Assigned %v", got, s.Assigned())
	}
	ctx := context.Background()
	if at, err := s.AtEnd(ctx); !at || err != nil {
		t.Errorf("AtEnd = %v, %v", at, err)
	}
	produceTo(t, servers, "start", 1, 5)
	lag, err := s.Lag(ctx)
	if err != nil || len(lag) != 3 || lag[1].Lag != 5 || lag[1].Position != 100 || lag[1].End != 105 || lag[0].Lag != 0 {
		t.Errorf("Lag = %+v, %v", lag, err)
	}
	if at, _ := s.AtEnd(ctx); at {
		t.Error("AtEnd with 5 records to read")
	}
	s.CommitOffsets(map[int32]int64{0: 100, 1: 100}) // in the background
	waitFor(t, 10*time.Second, "the copy of offsets to reach the group", func() bool {
		got := fetchGroupOffsets(t, servers, "g", "start")
		return got[0] == 100 && got[1] == 100 && got[2] == 90
	})
	s.Close()
	h.check(t)
	if h.revoked[0] != 1 || h.revoked[1] != 1 || h.revoked[2] != 1 {
		t.Errorf("Close revoked %v, want each partition once", h.revoked)
	}
}

// member polls s in its own goroutine until stop is closed, then closes s.
// It checks that the callbacks run only inside Poll or Close, and that a
// Batch holds only partitions the member owns.
type member struct {
	s       *Source
	h       *recorder
	stop    chan struct{}
	done    chan struct{}
	inPoll  atomic.Bool
	mu      sync.Mutex
	records map[int32]int
	err     error
}

func startMember(t *testing.T, servers []string, topic, group string) *member {
	return startMemberWith(t, servers, topic, group, newRecorder(nil))
}

// startMemberWith is startMember with the handler h.
func startMemberWith(t *testing.T, servers []string, topic, group string, h *recorder) *member {
	m := &member{h: h, stop: make(chan struct{}), done: make(chan struct{}), records: map[int32]int{}}
	m.h.inPoll = m.inPoll.Load
	m.s = newTestSource(t, servers, topic, group, m.h)
	go func() {
		defer close(m.done)
		defer func() {
			m.inPoll.Store(true)
			m.s.Close()
		}()
		ctx := context.Background()
		for {
			select {
			case <-m.stop:
				return
			default:
			}
			m.inPoll.Store(true)
			b, err := m.s.Poll(ctx)
			m.inPoll.Store(false)
			if err != nil {
				m.mu.Lock()
				m.err = err
				m.mu.Unlock()
				return
			}
			m.mu.Lock()
			for _, pb := range b.Partitions {
				m.records[pb.Partition] += len(pb.Records)
				if !m.h.owns(pb.Partition) {
					m.err = fmt.Errorf("records of partition %d, not owned", pb.Partition)
				}
			}
			m.mu.Unlock()
			time.Sleep(5 * time.Millisecond) // processing: no callback may run now
		}
	}()
	return m
}

func (m *member) close() { close(m.stop); <-m.done }

func waitFor(t *testing.T, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func TestSourceMembersSplitPartitionsAndTakeOver(t *testing.T) {
	b := startBroker(t, BrokerConfig{})
	servers := b.Addrs()
	mustCreateTopic(t, b, "split", 6)
	for p := int32(0); p < 6; p++ {
		produceTo(t, servers, "split", p, 20)
	}
	a := startMember(t, servers, "split", "g")
	waitFor(t, 15*time.Second, "first member to own all 6", func() bool { return len(a.h.ownedSorted()) == 6 })
	bm := startMember(t, servers, "split", "g")
	waitFor(t, 25*time.Second, "two members to split 6 partitions", func() bool {
		pa, pb := a.h.ownedSorted(), bm.h.ownedSorted()
		return len(pa) > 0 && len(pb) > 0 && len(pa)+len(pb) == 6
	})
	pa, pb := a.h.ownedSorted(), bm.h.ownedSorted()
	if all := slices.Sorted(slices.Values(append(slices.Clone(pa), pb...))); !slices.Equal(all, []int32{0, 1, 2, 3, 4, 5}) {
		t.Fatalf("split %v / %v", pa, pb)
	}
	t.Logf("split: %v / %v", pa, pb)
	// The first member gave up exactly what the second took, orderly.
	revoked, lost := a.h.counts()
	for _, p := range pb {
		if revoked[p] != 1 || lost[p] != 0 {
			t.Errorf("partition %d moved without one orderly revoke: revoked %v lost %v", p, revoked, lost)
		}
	}

	bm.close()
	if bm.err != nil {
		t.Fatal(bm.err)
	}
	revoked, _ = bm.h.counts()
	for _, p := range pb {
		if revoked[p] != 1 {
			t.Errorf("leaving member did not revoke %d: %v", p, bm.h.events)
		}
	}
	waitFor(t, 25*time.Second, "remaining member to own all 6 again", func() bool { return len(a.h.ownedSorted()) == 6 })
	a.close()
	if a.err != nil {
		t.Fatal(a.err)
	}
	a.h.check(t)
	bm.h.check(t)
	// Every record was read, by one member or the other.
	for p := int32(0); p < 6; p++ {
		if a.records[p]+bm.records[p] < 20 {
			t.Errorf("partition %d: %d + %d records read", p, a.records[p], bm.records[p])
		}
	}
	t.Logf("a: %v", a.h.events)
	t.Logf("b: %v", bm.h.events)
}

// TestSourceAssignmentInterruptedByRebalance: a rebalance begins while
// OnAssigned is still restoring its partitions (the pipeline reads their
// checkpoints there, from object storage perhaps). The assignment is
// given up, what OnAssigned took is revoked, and the partitions come back
// in the next session; before, the cancelled restore was a fatal error
// ("read checkpoint of partition 0: context canceled", exit 1).
func TestSourceAssignmentInterruptedByRebalance(t *testing.T) {
	b := startBroker(t, BrokerConfig{})
	servers := b.Addrs()
	mustCreateTopic(t, b, "slow", 4)
	for p := range int32(4) {
		produceTo(t, servers, "slow", p, 10)
	}
	h := newRecorder(nil)
	h.interruptFirst, h.blocking, h.interrupted = true, make(chan struct{}), make(chan struct{})
	a := startMemberWith(t, servers, "slow", "g", h)
	select {
	case <-h.blocking:
	case <-time.After(15 * time.Second):
		t.Fatal("no assignment")
	}
	// The coordinator no longer knows the member, as after a broker
	// restart: the session ends and the restore's context is cancelled.
	fault := b.Cluster().Fault(kfake.Fault{Keys: []kmsg.Key{kmsg.Heartbeat}, Err: kerr.UnknownMemberID, TopLevel: true, Count: 1})
	defer fault.Remove()
	select {
	case <-h.interrupted:
	case <-time.After(20 * time.Second):
		t.Fatalf("OnAssigned's context was never cancelled by the rebalance (the fault answered %d heartbeats)", fault.Hits())
	}
	waitFor(t, 25*time.Second, "the member to hold the 4 partitions again and read them", func() bool {
		a.mu.Lock()
		defer a.mu.Unlock()
		n := 0
		for _, c := range a.records {
			n += c
		}
		return a.err != nil || len(a.h.ownedSorted()) == 4 && n >= 40
	})
	a.close()
	if a.err != nil {
		t.Fatalf("member failed: %v", a.err)
	}
	a.h.check(t)
	t.Logf("events %v", a.h.events)
}

func TestSourceReadCommittedSkipsAbortedTransactions(t *testing.T) {
	b := startBroker(t, BrokerConfig{})
	servers := b.Addrs()
	mustCreateTopic(t, b, "txn", 1)
	cl, err := kgo.NewClient(kgo.SeedBrokers(servers...), kgo.DefaultProduceTopic("txn"), kgo.TransactionalID("t1"))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	txn := func(prefix string, n int, commit kgo.TransactionEndTry) {
		if err := cl.BeginTransaction(); err != nil {
			t.Fatal(err)
		}
		for i := 0; i < n; i++ {
			cl.Produce(ctx, &kgo.Record{Value: fmt.Appendf(nil, "%s-%d", prefix, i)}, nil)
		}
		if err := cl.Flush(ctx); err != nil {
			t.Fatal(err)
		}
		if err := cl.EndTransaction(ctx, commit); err != nil {
			t.Fatal(err)
		}
	}
	txn("committed", 10, kgo.TryCommit)
	txn("aborted", 10, kgo.TryAbort)
	txn("committed2", 5, kgo.TryCommit)

	h := newRecorder(nil)
	s := newTestSource(t, servers, "txn", "g", h)
	defer s.Close()
	var next int64
	var lso int64
	recs := pollUntil(t, s, 20*time.Second, func(all []Record, last Batch) bool {
		for _, pb := range last.Partitions {
			next, lso = pb.Next, pb.LastStableOffset
		}
		return len(all) >= 15 && next == lso
	})
	for _, r := range recs {
		if strings.HasPrefix(string(r.Value), "aborted") {
			t.Errorf("aborted record delivered: %s", r.Value)
		}
	}
	if len(recs) != 15 {
		t.Errorf("%d records, want 15 committed ones", len(recs))
	}
	// 10 + marker + 10 aborted + marker + 5 + marker = 28 offsets.
	if next != 28 || lso != 28 {
		t.Errorf("Next %d, LastStableOffset %d; want 28 (past the last commit marker)", next, lso)
	}
	if at, err := s.AtEnd(ctx); !at || err != nil {
		t.Errorf("AtEnd = %v, %v; Lag %v", at, err, must(s.Lag(ctx)))
	}

	// An open transaction holds back what follows it.
	if err := cl.BeginTransaction(); err != nil {
		t.Fatal(err)
	}
	cl.Produce(ctx, &kgo.Record{Value: []byte("open")}, nil)
	if err := cl.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	pctx, pcancel := context.WithTimeout(ctx, 1500*time.Millisecond)
	for pctx.Err() == nil {
		bt, err := s.Poll(pctx)
		if err != nil && pctx.Err() == nil {
			t.Fatal(err)
		}
		if bt.Len() > 0 {
			t.Errorf("record of an open transaction delivered: %+v", bt)
		}
	}
	pcancel()
	if err := cl.EndTransaction(ctx, kgo.TryCommit); err != nil {
		t.Fatal(err)
	}
	recs = pollUntil(t, s, 10*time.Second, func(all []Record, _ Batch) bool { return len(all) == 1 })
	if string(recs[0].Value) != "open" || recs[0].Offset != 28 {
		t.Errorf("after commit: %+v", recs[0])
	}
}

func must[T any](v T, _ error) T { return v }

func TestSourceOnAssignedErrorIsFatal(t *testing.T) {
	b := startBroker(t, BrokerConfig{})
	mustCreateTopic(t, b, "fail", 2)
	h := newRecorder(nil)
	h.failWith = errors.New("iceberg is down")
	s := newTestSource(t, b.Addrs(), "fail", "g", h)
	defer s.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	for {
		_, err := s.Poll(ctx)
		if err == nil {
			continue
		}
		if !strings.Contains(err.Error(), "iceberg is down") || ctx.Err() != nil {
			t.Fatalf("Poll: %v", err)
		}
		break
	}
}

func TestSourceStartOutOfRangeFails(t *testing.T) {
	b := startBroker(t, BrokerConfig{})
	mustCreateTopic(t, b, "range", 1)
	produceTo(t, b.Addrs(), "range", 0, 10)
	s := newTestSource(t, b.Addrs(), "range", "g", newRecorder(map[int32]int64{0: 1000}))
	defer s.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	for {
		bt, err := s.Poll(ctx)
		if bt.Len() > 0 {
			t.Fatalf("records read from an out-of-range start: %+v", bt)
		}
		if err == nil {
			continue
		}
		if ctx.Err() != nil || !strings.Contains(err.Error(), "OFFSET_OUT_OF_RANGE") {
			t.Fatalf("Poll: %v", err)
		}
		break
	}
}

func TestSourceTopicMissing(t *testing.T) {
	b := startBroker(t, BrokerConfig{})
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	_, err := NewSource(ctx, SourceConfig{Servers: b.Addrs(), Topic: "later"}, newRecorder(nil), testLogger(t))
	if !errors.Is(err, ErrTopicNotFound) || !strings.Contains(err.Error(), `"later"`) {
		t.Fatalf("err = %v", err)
	}
	go func() {
		time.Sleep(700 * time.Millisecond)
		CreateTopic(ctx, b.Addrs(), Security{}, "later", 2)
	}()
	s, err := NewSource(ctx, SourceConfig{Servers: b.Addrs(), Topic: "later", WaitForTopic: true}, newRecorder(nil), testLogger(t))
	if err != nil {
		t.Fatal(err)
	}
	s.Close()
}
