package kafka

import (
	"testing"
	"time"
)

// TestBrokerKeepsMemberParkedInJoinAlive: X and Y share a topic; Y is busy
// (a long commit) and does not come back to Poll when Z joins, so the
// rebalance waits for Y, longer than X's session timeout but within its
// rebalance timeout, while X has rejoined at once and waits in JoinGroup.
// kfake alone dropped X meanwhile without answering its join and gave X's
// partitions to Z, while X, never told, kept them: two members held the
// same partitions (seen in the pipeline's scale-out test as sessions
// drained by two members). X must stay a member, and no partition may have
// two owners.
func TestBrokerKeepsMemberParkedInJoinAlive(t *testing.T) {
	b := startBroker(t, BrokerConfig{})
	mustCreateTopic(t, b, "t", 4)
	member := func(h Assignment) *Source {
		s, err := NewSource(t.Context(), SourceConfig{Servers: b.Addrs(), Topic: "t", Group: "g",
			SessionTimeout: time.Second, RebalanceTimeout: 3 * time.Second, MaxWait: 100 * time.Millisecond}, h, testLogger(t))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(s.Close)
		return s
	}
	waitFor := func(what string, ok func() bool) {
		t.Helper()
		deadline := time.Now().Add(15 * time.Second)
		for !ok() {
			if time.Now().After(deadline) {
				t.Fatalf("timed out waiting until %s", what)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	rx, ry, rz := newRecorder(nil), newRecorder(nil), newRecorder(nil)
	x := member(rx)
	_, stopX := pollLoop(t, x)
	defer stopX()
	waitFor("X owns every partition", func() bool { return len(rx.ownedSorted()) == 4 })
	y := member(ry)
	_, stopY := pollLoop(t, y)
	waitFor("X and Y own two each", func() bool { return len(rx.ownedSorted()) == 2 && len(ry.ownedSorted()) == 2 })
	stopY() // Y is busy: it does not come back to Poll
	z := member(rz)
	_, stopZ := pollLoop(t, z)
	defer stopZ()
	time.Sleep(2 * time.Second) // X rejoined at once and waits for Y
	_, stopY = pollLoop(t, y)
	defer stopY()
	waitFor("Z owns a partition", func() bool { return len(rz.ownedSorted()) > 0 })
	time.Sleep(time.Second) // let the cooperative rounds settle

	owners := map[int32][]string{}
	for name, r := range map[string]*recorder{"X": rx, "Y": ry, "Z": rz} {
		r.check(t)
		for _, p := range r.ownedSorted() {
			owners[p] = append(owners[p], name)
		}
	}
	for p, o := range owners {
		if len(o) > 1 {
			t.Errorf("partition %d is owned by %v at once", p, o)
		}
	}
	if len(rx.ownedSorted()) == 0 {
		t.Errorf("X owns nothing; its events: %v", rx.events)
	}
	if _, lost := rx.counts(); len(lost) > 0 {
		t.Errorf("X lost partitions %v while it waited in its join; its events: %v", lost, rx.events)
	}
}
