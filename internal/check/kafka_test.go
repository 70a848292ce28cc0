package check

import (
	"context"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/sessionize/sessionize/internal/kafka"
)

func startBroker(t *testing.T) []string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	b, err := kafka.StartBroker(ctx, kafka.BrokerConfig{Listen: "127.0.0.1:0"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(b.Close)
	return b.Addrs()
}

func createTopic(t *testing.T, servers []string, topic string, partitions int32) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := kafka.CreateTopic(ctx, servers, kafka.Security{}, topic, partitions); err != nil {
		t.Fatal(err)
	}
}

// TestTopicPerPartitionLateness: each partition has its own running max,
// aborted transactions are not read, a partition ending in a transaction
// marker is read to its end, and an event too far ahead of its Kafka
// timestamp is rejected without moving the running max.
func TestTopicPerPartitionLateness(t *testing.T) {
	servers := startBroker(t)
	createTopic(t, servers, "clicks", 2)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cl, err := kgo.NewClient(kgo.SeedBrokers(servers...), kgo.DefaultProduceTopic("clicks"),
		kgo.RecordPartitioner(kgo.ManualPartitioner()), kgo.TransactionalID("check-test"))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	now := time.Now()
	rec := func(p int32, line string) *kgo.Record {
		return &kgo.Record{Partition: p, Value: []byte(line), Timestamp: now}
	}
	txn := func(end kgo.TransactionEndTry, recs ...*kgo.Record) {
		t.Helper()
		if err := cl.BeginTransaction(); err != nil {
			t.Fatal(err)
		}
		for _, r := range recs {
			cl.Produce(ctx, r, nil)
		}
		if err := cl.Flush(ctx); err != nil {
			t.Fatal(err)
		}
		if err := cl.EndTransaction(ctx, end); err != nil {
			t.Fatal(err)
		}
	}
	future := now.Add(2 * time.Hour).UnixMilli()
	// Partition 0: max t0+20m; 15m and 1m behind it.
	// Partition 1: starts at t0, which is not late although partition 0
	// is at t0+20m; then 1m (exactly: on time at 1m) and 30m behind.
	txn(kgo.TryCommit,
		rec(0, ev("u1", "a", t0+20*minute)),
		rec(1, ev("u2", "b", t0)),
		rec(0, ev("u1", "c", t0+5*minute)),
		rec(1, ev("u2", "d", t0-minute)),
		rec(1, ev("u2", "x", future)), // future_timestamp: must not move the max
		rec(1, ev("u2", "e", t0+30*minute)),
	)
	txn(kgo.TryAbort, rec(0, ev("u1", "aborted", t0-24*60*minute)), rec(1, "not json"))
	txn(kgo.TryCommit,
		rec(0, ev("u1", "f", t0+19*minute)),
		rec(1, ev("u2", "g", t0)),
		rec(1, `{"uuid": "u2"}`),
	)

	r, err := CheckTopic(ctx, Options{}, KafkaInput{Servers: servers, Topic: "clicks"})
	if err != nil {
		t.Fatal(err)
	}
	if r.Records != 9 || r.Valid != 7 || r.RejectedByReason[ReasonFutureTimestamp] != 1 || r.RejectedByReason["missing_event_id"] != 1 || r.Rejected != 2 {
		t.Errorf("records %d valid %d rejected %v; want 9, 7, one future_timestamp and one missing_event_id", r.Records, r.Valid, r.RejectedByReason)
	}
	if len(r.Partitions) != 2 {
		t.Fatalf("partitions %+v", r.Partitions)
	}
	type part struct {
		records, ooo, late10m int64
		lateBy                map[string]int64
		max                   int64
	}
	want := []part{
		{records: 3, ooo: 2, late10m: 1, lateBy: map[string]int64{"1m": 1, "5m": 1, "10m": 1, "30m": 0, "1h": 0}, max: 15 * minute},
		{records: 6, ooo: 2, late10m: 1, lateBy: map[string]int64{"1m": 1, "5m": 1, "10m": 1, "30m": 0, "1h": 0}, max: 30 * minute},
	}
	for i, p := range r.Partitions {
		lateBy := map[string]int64{}
		for _, l := range p.LateBy {
			lateBy[l.AllowedLateness] = l.Late
		}
		got := part{p.Records, p.OutOfOrder, p.Late, lateBy, p.Lateness.MaxMs}
		if p.Partition == nil || *p.Partition != int32(i) || !reflect.DeepEqual(got, want[i]) {
			t.Errorf("partition %d: got %+v, want %+v", i, got, want[i])
		}
	}
	if r.Late != 2 || r.OutOfOrder != 4 {
		t.Errorf("late %d, out of order %d; want 2 and 4", r.Late, r.OutOfOrder)
	}

	// An empty topic and a missing one.
	createTopic(t, servers, "empty", 3)
	r, err = CheckTopic(ctx, Options{}, KafkaInput{Servers: servers, Topic: "empty"})
	if err != nil || r.Records != 0 || len(r.Partitions) != 3 {
		t.Errorf("empty topic: %+v, %v", r, err)
	}
	_, err = CheckTopic(ctx, Options{}, KafkaInput{Servers: servers, Topic: "nope"})
	if err == nil || !strings.Contains(err.Error(), "does not exist") {
		t.Errorf("missing topic: %v", err)
	}
}

// TestTopicLast reads only the last N offsets of each partition.
func TestTopicLast(t *testing.T) {
	servers := startBroker(t)
	createTopic(t, servers, "last", 1)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	p, err := kafka.NewProducer(ctx, kafka.ProducerConfig{Servers: servers, Topic: "last"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	for _, line := range []string{ev("u1", "a", t0+20*minute), ev("u1", "b", t0), ev("u1", "c", t0+5*minute)} {
		if err := p.Send(ctx, []byte("u1"), []byte(line)); err != nil {
			t.Fatal(err)
		}
	}
	if err := p.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	all, err := CheckTopic(ctx, Options{}, KafkaInput{Servers: servers, Topic: "last"})
	if err != nil {
		t.Fatal(err)
	}
	last, err := CheckTopic(ctx, Options{}, KafkaInput{Servers: servers, Topic: "last", Last: 2})
	if err != nil {
		t.Fatal(err)
	}
	if all.Records != 3 || all.OutOfOrder != 2 || all.Late != 2 {
		t.Errorf("all: records %d, out of order %d, late %d; want 3, 2, 2", all.Records, all.OutOfOrder, all.Late)
	}
	if last.Records != 2 || last.OutOfOrder != 0 || last.Source.LastPerPartition != 2 {
		t.Errorf("--last 2: records %d, out of order %d; want 2 and 0 (t0, then t0+5m)", last.Records, last.OutOfOrder)
	}
}

// TestTopicUsersOnSeveralPartitions: check of a topic counts the users
// whose events are in more than one partition (run would split their
// sessions) and says what to do; records keyed by user have none.
func TestTopicUsersOnSeveralPartitions(t *testing.T) {
	servers := startBroker(t)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	now := time.Now()
	for _, tc := range []struct {
		topic   string
		place   func(user, i int) int32 // the partition of user's event i
		several int64
	}{
		{"keyed", func(user, _ int) int32 { return int32(user % 3) }, 0},
		// Users 0-3 in one partition each; 4-9 spread over all three.
		{"spread", func(user, i int) int32 {
			if user < 4 {
				return int32(user % 3)
			}
			return int32(i % 3)
		}, 6},
	} {
		createTopic(t, servers, tc.topic, 3)
		cl, err := kgo.NewClient(kgo.SeedBrokers(servers...), kgo.DefaultProduceTopic(tc.topic), kgo.RecordPartitioner(kgo.ManualPartitioner()))
		if err != nil {
			t.Fatal(err)
		}
		var recs []*kgo.Record
		for u := range 10 {
			for i := range 6 {
				recs = append(recs, &kgo.Record{Partition: tc.place(u, i), Timestamp: now,
					Value: []byte(ev(fmt.Sprintf("u%d", u), fmt.Sprintf("e%d", i), t0+int64(i)*minute))})
			}
		}
		if err := cl.ProduceSync(ctx, recs...).FirstErr(); err != nil {
			t.Fatal(err)
		}
		cl.Close()
		r, err := CheckTopic(ctx, Options{}, KafkaInput{Servers: servers, Topic: tc.topic})
		if err != nil {
			t.Fatal(err)
		}
		if r.UsersOnSeveralPartitions == nil || *r.UsersOnSeveralPartitions != tc.several || r.Users != 10 {
			t.Errorf("%s: %d users, on several partitions %v; want 10 and %d", tc.topic, r.Users, r.UsersOnSeveralPartitions, tc.several)
		}
		advised := strings.Contains(strings.Join(r.Advice, "\n"), "have events in more than one partition")
		if advised != (tc.several > 0) {
			t.Errorf("%s: advice %q", tc.topic, r.Advice)
		}
	}
	// Files have no partitions: the count is left out.
	r, err := CheckFiles(ctx, Options{}, []string{writeFile(t, t.TempDir(), "in.jsonl", ev("u", "a", t0))}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if r.UsersOnSeveralPartitions != nil {
		t.Errorf("files: users on several partitions %d", *r.UsersOnSeveralPartitions)
	}
}
