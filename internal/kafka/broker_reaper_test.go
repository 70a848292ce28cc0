package kafka

import (
	"context"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// membersOf maps the client IDs of group's members to the number of
// partitions each is assigned, and says whether the group is Stable.
func membersOf(t *testing.T, adm *kadm.Client, group string) (stable bool, owns map[string]int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	gs, err := adm.DescribeGroups(ctx, group)
	if err != nil {
		t.Fatal(err)
	}
	g := gs[group]
	owns = map[string]int{}
	for _, m := range g.Members {
		n := 0
		if c, ok := m.Assigned.AsConsumer(); ok {
			for _, tp := range c.Topics {
				n += len(tp.Partitions)
			}
		}
		owns[m.ClientID] = n
	}
	return g.State == "Stable", owns
}

// killMidJoin plays the sequence that makes kfake keep a dead member: in a
// stable group of "survivor" (the leader) and "doomed", doomed dies
// (kill -9: connections cut, nothing sent) and a new member "victim" joins;
// victim dies too, the moment its JoinGroup with a member ID reaches the
// broker. The group waits for doomed's session to time out, then completes
// the rebalance with victim counted (its JoinGroup is parked) and the
// leader gives victim some of doomed's partitions. It returns how many
// partitions victim holds once the group is Stable again, and whether it
// still holds them hold later; settled is false when the group was not
// Stable without doomed within settleWait (then held and kept mean nothing).
func killMidJoin(t *testing.T, cluster *kfake.Cluster, addrs []string, group string, hold time.Duration) (held int, kept, settled bool) {
	t.Helper()
	const session = time.Second
	cl, err := kgo.NewClient(kgo.SeedBrokers(addrs...))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	adm := kadm.NewClient(cl)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	member := func(id string) *killableClient {
		k := newKillableClient(t, addrs, kgo.ClientID(id), kgo.ConsumerGroup(group), kgo.ConsumeTopics("midjoin"),
			kgo.Balancers(kgo.CooperativeStickyBalancer()), kgo.SessionTimeout(session),
			kgo.HeartbeatInterval(100*time.Millisecond), kgo.RebalanceTimeout(20*time.Second))
		go func() {
			for ctx.Err() == nil {
				k.cl.PollFetches(ctx)
			}
		}()
		return k
	}

	var victim atomic.Pointer[killableClient]
	var victimKilled atomic.Bool
	cluster.ControlKey(kmsg.JoinGroup.Int16(), func(req kmsg.Request) (kmsg.Response, error, bool) {
		cluster.KeepControl()
		j := req.(*kmsg.JoinGroupRequest)
		if v := victim.Load(); v != nil && j.Group == group && strings.HasPrefix(j.MemberID, "victim-") && !victimKilled.Load() {
			v.kill() // before the broker handles this JoinGroup
			victimKilled.Store(true)
		}
		return nil, nil, false
	})

	member("survivor")
	time.Sleep(200 * time.Millisecond) // survivor forms the group and leads it
	doomed := member("doomed")
	waitFor(t, 15*time.Second, "survivor and doomed to share the partitions", func() bool {
		stable, owns := membersOf(t, adm, group)
		return stable && owns["survivor"] > 0 && owns["doomed"] > 0
	})
	time.Sleep(200 * time.Millisecond) // a heartbeat: doomed's session timer runs
	doomed.kill()
	v := newKillableClient(t, addrs, kgo.ClientID("victim"), kgo.ConsumerGroup(group), kgo.ConsumeTopics("midjoin"),
		kgo.Balancers(kgo.CooperativeStickyBalancer()), kgo.SessionTimeout(session),
		kgo.HeartbeatInterval(100*time.Millisecond), kgo.RebalanceTimeout(20*time.Second))
	victim.Store(v)
	go func() {
		for ctx.Err() == nil {
			v.cl.PollFetches(ctx)
		}
	}()
	deadline := time.Now().Add(settleWait)
	for {
		stable, owns := membersOf(t, adm, group)
		if _, hasDoomed := owns["doomed"]; victimKilled.Load() && stable && !hasDoomed {
			held = owns["victim"]
			break
		}
		if time.Now().After(deadline) {
			return 0, false, false
		}
		time.Sleep(50 * time.Millisecond)
	}
	time.Sleep(hold)
	_, owns := membersOf(t, adm, group)
	_, kept = owns["victim"]
	return held, kept, true
}

// settleWait bounds killMidJoin's wait for the group to be Stable without
// doomed: longer than the members' rebalance timeout (20 s), after which
// kfake drops whoever has not joined or synced. A loaded machine can need
// that: on bare kfake, survivor's session timer keeps running while its
// JoinGroup is parked (see broker_parked_join.go), so a slow rebalance
// drops survivor and leaves the dead victim as the leader nobody hears a
// SyncGroup from until the rebalance timeout.
const settleWait = 25 * time.Second

// TestBrokerDropsMemberKilledMidJoin: a member killed while its JoinGroup is
// parked at kfake can stay in the group with partitions for good, since kfake
// may never start its session timer (see memberReaper). The first subtest
// shows it on kfake itself; the second, that the bundled broker
// (StartBroker) drops such a member within its session timeout.
func TestBrokerDropsMemberKilledMidJoin(t *testing.T) {
	const hold = 3 * time.Second // three session timeouts
	t.Run("kfake", func(t *testing.T) {
		c, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.DefaultNumPartitions(4), kfake.GroupMinSessionTimeout(testMinSessionTimeout))
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		addrs := c.ListenAddrs()
		if _, err := CreateTopic(context.Background(), addrs, Security{}, "midjoin", 4); err != nil {
			t.Fatal(err)
		}
		// Whether kfake starts the timer is a coin toss (a select
		// between two ready channels): try until it keeps the member.
		for attempt := 1; attempt <= 8; attempt++ {
			held, kept, settled := killMidJoin(t, c, addrs, fmt.Sprintf("midjoin-%d", attempt), hold)
			if !settled {
				// kfake's other timer bug (a parked survivor
				// dropped) got in first: this attempt shows nothing.
				t.Logf("attempt %d: the group did not settle without doomed within %s", attempt, settleWait)
				continue
			}
			t.Logf("attempt %d: the dead member held %d partitions; still in the group %s later: %v", attempt, held, hold, kept)
			if kept && held > 0 {
				return
			}
		}
		t.Error("kfake dropped the member killed mid-join in 8 of 8 attempts: has kfake been fixed? Then memberReaper can go")
	})
	t.Run("broker", func(t *testing.T) {
		b := startBroker(t, BrokerConfig{})
		mustCreateTopic(t, b, "midjoin", 4)
		settled := 0
		for attempt := 1; attempt <= 6 && settled < 3; attempt++ {
			held, kept, ok := killMidJoin(t, b.Cluster(), b.Addrs(), fmt.Sprintf("midjoin-%d", attempt), hold)
			if !ok {
				// A starved machine can stretch the rebalance past
				// settleWait; that says nothing of the dead member.
				t.Logf("attempt %d: the group did not settle without the dead members within %s", attempt, settleWait)
				continue
			}
			settled++
			t.Logf("attempt %d: the dead member held %d partitions; still in the group %s later: %v", attempt, held, hold, kept)
			if kept {
				t.Fatalf("attempt %d: the broker kept a member killed mid-join for %s, three times its session timeout", attempt, hold)
			}
		}
		if settled == 0 {
			t.Fatalf("the group never settled without the dead members, in 6 attempts of %s each", settleWait)
		}
	})
}
