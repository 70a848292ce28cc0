package kafka

import (
	"context"
	"testing"
	"time"
)

func TestTopicEndsAndGroupMembers(t *testing.T) {
	b := startBroker(t, BrokerConfig{})
	mustCreateTopic(t, b, "ends", 3)
	produceN(t, b.Addrs(), "ends", 30, 7)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()

	ends, err := TopicEnds(ctx, b.Addrs(), Security{}, "ends")
	if err != nil {
		t.Fatal(err)
	}
	var total int64
	for p, end := range ends {
		if p < 0 || p > 2 {
			t.Errorf("unexpected partition %d", p)
		}
		total += end
	}
	if len(ends) != 3 || total != 30 {
		t.Fatalf("ends %v: want 3 partitions summing to 30", ends)
	}
	if _, err := TopicEnds(ctx, b.Addrs(), Security{}, "no-such-topic"); err == nil {
		t.Fatal("TopicEnds of a missing topic: no error")
	}

	members, err := GroupMembers(ctx, b.Addrs(), Security{}, "nobody", "ends")
	if err != nil || len(members) != 0 {
		t.Fatalf("empty group: members %v, err %v", members, err)
	}
	rec := newRecorder(nil)
	src := newTestSource(t, b.Addrs(), "ends", "g", rec)
	deadline := time.Now().Add(20 * time.Second)
	for len(rec.ownedSorted()) < 3 && time.Now().Before(deadline) {
		if _, err := src.Poll(ctx); err != nil {
			t.Fatal(err)
		}
	}
	members, err = GroupMembers(ctx, b.Addrs(), Security{}, "g", "ends")
	if err != nil {
		t.Fatal(err)
	}
	if len(members) != 1 || len(members[0].Partitions) != 3 {
		t.Fatalf("members %+v: want one member holding 3 partitions", members)
	}
}
