package kafka

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
)

// TestSourceStaticMemberTakesItsPartitionsBack: with an InstanceID, a
// member that goes away without leaving (a static member's Close does not
// leave; a crash does not either) and comes back with the same InstanceID
// gets its partitions at once, not after its session timeout, and the
// other member keeps its own without a pause.
func TestSourceStaticMemberTakesItsPartitionsBack(t *testing.T) {
	b := startBroker(t, BrokerConfig{})
	servers := b.Addrs()
	mustCreateTopic(t, b, "static", 4)
	const session = 6 * time.Second // kfake's minimum
	start := func(id string, h *recorder) *Source {
		s, err := NewSource(context.Background(), SourceConfig{Servers: servers, Topic: "static", Group: "static",
			SessionTimeout: session, MaxWait: 100 * time.Millisecond, InstanceID: id}, h, testLogger(t))
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	ha, hb := newRecorder(nil), newRecorder(nil)
	a, bs := start("instance-a", ha), start("instance-b", hb)
	defer bs.Close()
	_, stopA := pollLoop(t, a)
	_, stopB := pollLoop(t, bs)
	defer stopB()
	waitFor(t, 30*time.Second, "a and b to split 4 partitions", func() bool {
		pa, pb := ha.ownedSorted(), hb.ownedSorted()
		return len(pa) > 0 && len(pb) > 0 && len(pa)+len(pb) == 4
	})
	aOwned, bOwned := ha.ownedSorted(), hb.ownedSorted()
	stopA()
	a.Close() // static: no LeaveGroup; the group keeps a's place
	gone := time.Now()

	ha2 := newRecorder(nil)
	a2 := start("instance-a", ha2)
	defer a2.Close()
	_, stopA2 := pollLoop(t, a2)
	defer stopA2()
	waitFor(t, session, "the restarted a to get partitions", func() bool { return len(ha2.ownedSorted()) > 0 })
	took := time.Since(gone)
	t.Logf("a owned %v, b %v; restarted a got %v %s after a went away (session timeout %s)", aOwned, bOwned, ha2.ownedSorted(), took.Round(time.Millisecond), session)
	if took > session/2 {
		t.Errorf("the restarted static member got its partitions after %s, want well under the session timeout %s", took, session)
	}
	if got := ha2.ownedSorted(); !slices.Equal(got, aOwned) {
		t.Errorf("restarted a owns %v, want its old %v", got, aOwned)
	}
	if got := hb.ownedSorted(); !slices.Equal(got, bOwned) {
		t.Errorf("b owns %v after a's restart, want its own %v unchanged", got, bOwned)
	}
	revoked, lost := hb.counts()
	for _, p := range bOwned {
		if revoked[p] != 0 || lost[p] != 0 {
			t.Errorf("b's partition %d was revoked (%d) or lost (%d) by a's restart", p, revoked[p], lost[p])
		}
	}
	ha.check(t)
	hb.check(t)
	ha2.check(t)
}

// TestSourceCooperativeRebalanceKeepsOthersFlowing: while a second member
// joins and later leaves, the partitions that stay with the first member
// keep being read (cooperative-sticky: a rebalance revokes only what
// moves). Records go to every partition every 20ms; the longest gap
// between two records read on a partition that stays put must stay far
// below what stopping every partition for the rebalance would cost.
func TestSourceCooperativeRebalanceKeepsOthersFlowing(t *testing.T) {
	b := startBroker(t, BrokerConfig{})
	servers := b.Addrs()
	mustCreateTopic(t, b, "coop", 4)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	producer, err := kgo.NewClient(kgo.SeedBrokers(servers...), kgo.DefaultProduceTopic("coop"),
		kgo.RecordPartitioner(kgo.ManualPartitioner()), kgo.ProducerLinger(0))
	if err != nil {
		t.Fatal(err)
	}
	defer producer.Close()
	go func() {
		for i := 0; ctx.Err() == nil; i++ {
			for p := int32(0); p < 4; p++ {
				producer.Produce(ctx, &kgo.Record{Partition: p, Value: fmt.Appendf(nil, "%d", i)}, nil)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}()

	// first records its partitions' reads; gaps are measured from there.
	var mu sync.Mutex
	lastRead := map[int32]time.Time{}
	maxGap := map[int32]time.Duration{}
	ha := newRecorder(nil)
	first, err := NewSource(ctx, SourceConfig{Servers: servers, Topic: "coop", Group: "coop",
		SessionTimeout: 6 * time.Second, MaxWait: 50 * time.Millisecond}, ha, testLogger(t))
	if err != nil {
		t.Fatal(err)
	}
	defer first.Close()
	done := make(chan struct{})
	go func() {
		defer close(done)
		for ctx.Err() == nil {
			bt, err := first.Poll(ctx)
			if err != nil {
				return
			}
			now := time.Now()
			mu.Lock()
			for _, pb := range bt.Partitions {
				if len(pb.Records) == 0 {
					continue
				}
				if last, ok := lastRead[pb.Partition]; ok && now.Sub(last) > maxGap[pb.Partition] {
					maxGap[pb.Partition] = now.Sub(last)
				}
				lastRead[pb.Partition] = now
			}
			mu.Unlock()
		}
	}()
	waitFor(t, 15*time.Second, "first to read all 4 partitions", func() bool {
		mu.Lock()
		defer mu.Unlock()
		return len(lastRead) == 4
	})
	mu.Lock()
	clear(maxGap) // gaps from here on
	mu.Unlock()

	second := startMember(t, servers, "coop", "coop")
	waitFor(t, 20*time.Second, "the second member to take partitions", func() bool { return len(second.h.ownedSorted()) > 0 })
	stayed := ha.ownedSorted()
	time.Sleep(500 * time.Millisecond)
	second.close()
	waitFor(t, 20*time.Second, "first to own all 4 again", func() bool { return len(ha.ownedSorted()) == 4 })
	time.Sleep(500 * time.Millisecond)
	cancel()
	<-done

	mu.Lock()
	defer mu.Unlock()
	t.Logf("partitions %v stayed with the first member; longest gaps between records read: %v", stayed, maxGap)
	if len(stayed) == 0 || len(stayed) == 4 {
		t.Fatalf("first kept %v while the second member was in: want some, not all", stayed)
	}
	for _, p := range stayed {
		if g := maxGap[p]; g > time.Second {
			t.Errorf("partition %d stayed with the first member but no record of it was read for %s during the rebalances", p, g.Round(time.Millisecond))
		}
	}
	ha.check(t)
}
