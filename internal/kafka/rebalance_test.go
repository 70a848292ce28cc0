package kafka

import (
	"context"
	"errors"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// killableClient is a kgo group consumer whose connections the test can cut
// at once, as a kill -9 would: it sends nothing more (no LeaveGroup, no
// heartbeat), so the broker must notice by itself.
type killableClient struct {
	cl *kgo.Client

	mu    sync.Mutex
	conns []net.Conn
	dead  bool
}

func newKillableClient(t *testing.T, servers []string, opts ...kgo.Opt) *killableClient {
	t.Helper()
	k := &killableClient{}
	dial := func(ctx context.Context, network, host string) (net.Conn, error) {
		k.mu.Lock()
		defer k.mu.Unlock()
		if k.dead {
			return nil, errors.New("killed")
		}
		c, err := (&net.Dialer{}).DialContext(ctx, network, host)
		if err == nil {
			k.conns = append(k.conns, c)
		}
		return c, err
	}
	cl, err := kgo.NewClient(append([]kgo.Opt{kgo.SeedBrokers(servers...), kgo.Dialer(dial),
		kgo.RetryTimeout(time.Second)}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	k.cl = cl
	t.Cleanup(func() {
		k.kill()
		ctx, cancel := context.WithCancel(context.Background())
		cancel() // leave without waiting: the client is dead
		_ = cl.LeaveGroupContext(ctx)
		cl.Close()
	})
	return k
}

// kill closes every connection and makes every later dial fail.
func (k *killableClient) kill() {
	k.mu.Lock()
	defer k.mu.Unlock()
	k.dead = true
	for _, c := range k.conns {
		c.Close()
	}
	k.conns = nil
}

// groupState describes group: its state and member count.
func groupState(t *testing.T, servers []string, group string) (string, int) {
	t.Helper()
	cl, err := kgo.NewClient(kgo.SeedBrokers(servers...))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	gs, err := kadm.NewClient(cl).DescribeGroups(ctx, group)
	if err != nil {
		t.Fatal(err)
	}
	g := gs[group]
	return g.State, len(g.Members)
}

// pollLoop polls s in its own goroutine until stop is called, counting
// records; stop returns once the loop has left Poll (s stays open).
func pollLoop(t *testing.T, s *Source) (records *atomic.Int64, stop func()) {
	records = new(atomic.Int64)
	quit, done := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(done)
		for {
			select {
			case <-quit:
				return
			default:
			}
			b, err := s.Poll(context.Background())
			if err != nil {
				t.Errorf("Poll: %v", err)
				return
			}
			records.Add(int64(b.Len()))
		}
	}()
	var once sync.Once
	return records, func() { once.Do(func() { close(quit); <-done }) }
}

// TestSourceCommitAndCloseDuringRebalanceDoNotWait: the copy of offsets to
// the group and leaving the group must not wait for a rebalance. Member C
// dies without leaving; a new member D joins, so the group waits for C (up
// to C's session timeout) while our Source has already rejoined. kgo holds
// a commit back for as long as its member is between JoinGroup and
// SyncGroup: a CommitOffsets that waited for it stalled the pipeline for
// seconds on every member change.
func TestSourceCommitAndCloseDuringRebalanceDoNotWait(t *testing.T) {
	b := startBroker(t, BrokerConfig{})
	servers := b.Addrs()
	mustCreateTopic(t, b, "rebal", 4)
	const group = "rebal"
	cSession := 4 * time.Second

	// Our Source's rejoin shows as a JoinGroup with a member ID of its
	// client ("sessionize-..."); the other members have other client IDs.
	var ourRejoin atomic.Int64 // unix nanos of our latest JoinGroup with a member ID
	b.Cluster().ControlKey(kmsg.JoinGroup.Int16(), func(req kmsg.Request) (kmsg.Response, error, bool) {
		b.Cluster().KeepControl()
		if j := req.(*kmsg.JoinGroupRequest); j.Group == group && strings.HasPrefix(j.MemberID, "sessionize-") {
			ourRejoin.Store(time.Now().UnixNano())
		}
		return nil, nil, false
	})

	h := newRecorder(nil)
	s, err := NewSource(context.Background(), SourceConfig{Servers: servers, Topic: "rebal", Group: group,
		SessionTimeout: 3 * time.Second, MaxWait: 100 * time.Millisecond}, h, testLogger(t))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	_, stopPolling := pollLoop(t, s)
	defer stopPolling()
	waitFor(t, 15*time.Second, "our member to own all 4 partitions", func() bool { return len(h.ownedSorted()) == 4 })

	var cOwns atomic.Int64
	c := newKillableClient(t, servers, kgo.ClientID("member-c"), kgo.ConsumerGroup(group), kgo.ConsumeTopics("rebal"),
		kgo.Balancers(kgo.CooperativeStickyBalancer()), kgo.SessionTimeout(cSession), kgo.HeartbeatInterval(200*time.Millisecond),
		kgo.OnPartitionsAssigned(func(_ context.Context, _ *kgo.Client, m map[string][]int32) { cOwns.Add(int64(len(m["rebal"]))) }))
	cPoll, cCancel := context.WithCancel(context.Background())
	defer cCancel()
	go func() {
		for cPoll.Err() == nil {
			c.cl.PollFetches(cPoll)
		}
	}()
	waitFor(t, 20*time.Second, "C to take some partitions", func() bool {
		st, n := groupState(t, servers, group)
		return n == 2 && st == "Stable" && cOwns.Load() > 0
	})
	// C is killed in a stable group, after a heartbeat: the group drops it
	// at its session timeout. (Killed in the middle of a join, kfake could
	// keep it for good: see TestBrokerDropsMemberKilledMidJoin.)
	time.Sleep(300 * time.Millisecond)
	c.kill()
	killed := time.Now()
	before := ourRejoin.Load()

	d := newKillableClient(t, servers, kgo.ClientID("member-d"), kgo.ConsumerGroup(group), kgo.ConsumeTopics("rebal"),
		kgo.Balancers(kgo.CooperativeStickyBalancer()))
	go func() {
		for cPoll.Err() == nil {
			d.cl.PollFetches(cPoll)
		}
	}()
	waitFor(t, 10*time.Second, "our member to rejoin for D", func() bool { return ourRejoin.Load() != before })
	time.Sleep(50 * time.Millisecond) // our JoinGroup is parked: the group waits for C
	if st, _ := groupState(t, servers, group); st != "PreparingRebalance" {
		t.Fatalf("group is %s, want it waiting for dead C in PreparingRebalance", st)
	}
	inRebalance := time.Since(killed)

	started := time.Now()
	s.CommitOffsets(map[int32]int64{0: 1})
	if took := time.Since(started); took > 500*time.Millisecond {
		t.Errorf("CommitOffsets during a rebalance took %s, want it not to wait", took.Round(time.Millisecond))
	}
	stopPolling()
	started = time.Now()
	s.Close()
	took := time.Since(started)
	t.Logf("commit and close %s after C died, during the rebalance waiting for it; close took %s", inRebalance.Round(time.Millisecond), took.Round(time.Millisecond))
	if st, _ := groupState(t, servers, group); time.Since(killed) < cSession && st != "PreparingRebalance" {
		t.Logf("(the rebalance ended before Close returned: group %s)", st)
	}
	if limit := closeCopyWait + leaveTimeout + time.Second; took > limit {
		t.Errorf("Close during a rebalance took %s, want at most %s", took.Round(time.Millisecond), limit)
	}
	h.check(t)
}
