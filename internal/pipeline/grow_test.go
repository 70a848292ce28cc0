package pipeline

import (
	"log/slog"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/sessionize/sessionize/internal/kafka"
)

// TestPartitionsAddedDuringRun: the topic grows from 2 to 4 partitions
// while the pipeline runs (operators do this to scale out), and records go
// to the new partitions. The run picks them up at once (it waited for the
// client's next metadata refresh, 5 minutes, before), stops only once they
// are committed, warns that users moved between partitions, and the tables
// account for every record, each partition sessionized on its own.
func TestPartitionsAddedDuringRun(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the pipeline for several seconds")
	}
	b := startBroker(t, 2)
	lines, keys := generated(t, 6_000, 300, 21)
	first := 3_000
	produceLines(t, b, lines[:first], keys[:first])

	var grow sync.Once
	grown := make(chan error, 1)
	wh := t.TempDir()
	cfg := runConfig(t, b, wh)
	cfg.StopWhenIdle = 2 * time.Second
	cfg.OnCommit = func(CommitInfo) {
		grow.Do(func() {
			// After the first commit: the run holds the two
			// partitions it started with.
			go func() { grown <- addPartitionsAndProduce(t, b.Addrs(), lines[first:], keys[first:]) }()
		})
	}
	var logs SyncBuffer
	cfg.Logger = slog.New(slog.NewTextHandler(&logs, nil))
	runToEnd(t, cfg, 60*time.Second)
	if err := <-grown; err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(logs.String(), "the topic has more partitions than when the tables were written") ||
		!strings.Contains(logs.String(), "partitions=4 before=2") {
		t.Errorf("no warning that the topic grew from 2 to 4 partitions in the log:\n%s", logs.String())
	}

	// Each partition is sessionized on its own: the tables hold what
	// batch gives for each partition's records, put together. (End
	// reasons aside: the stream's drain ends sessions as of the latest
	// event of the whole topic, batch of its own input.)
	byPartition := readTopic(t, b.Addrs(), 4)
	var want []string
	total := 0
	for _, recs := range byPartition {
		want = append(want, batchLines(t, recs)...)
		total += len(recs)
	}
	if total != len(lines) {
		t.Fatalf("read back %d records, produced %d", total, len(lines))
	}
	got, _ := warehouseLines(t, openWarehouse(t, wh))
	if g, w := withoutEndReason(got), withoutEndReason(want); !slices.Equal(g, w) {
		t.Fatalf("stream gave %d sessions, batch per partition %d; first difference: %s", len(g), len(w), firstDiff(g, w))
	}
	a, err := Audit(t.Context(), openWarehouse(t, wh))
	if err != nil {
		t.Fatal(err)
	}
	if a.Records != int64(len(lines)) || !a.Holds() || a.Open != 0 {
		t.Fatalf("produced %d records; %s", len(lines), a)
	}
}

var endReason = regexp.MustCompile(`,"end_reason":"[a-z_]+"`)

// withoutEndReason returns the session lines without their end_reason,
// sorted.
func withoutEndReason(lines []string) []string {
	out := make([]string, len(lines))
	for i, l := range lines {
		out[i] = endReason.ReplaceAllString(l, "")
	}
	slices.Sort(out)
	return out
}

// readTopic reads every record of topic clickstream's n partitions, per
// partition in offset order.
func readTopic(t *testing.T, addrs []string, n int32) [][][]byte {
	t.Helper()
	ends, err := kafka.TopicEnds(t.Context(), addrs, kafka.Security{}, "clickstream")
	if err != nil {
		t.Fatal(err)
	}
	start := map[int32]kgo.Offset{}
	for p := range n {
		start[p] = kgo.NewOffset().AtStart()
	}
	cl, err := kgo.NewClient(kgo.SeedBrokers(addrs...), kgo.ConsumePartitions(map[string]map[int32]kgo.Offset{"clickstream": start}))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	out := make([][][]byte, n)
	read := 0
	want := 0
	for _, e := range ends {
		want += int(e)
	}
	for read < want {
		fs := cl.PollFetches(t.Context())
		if err := fs.Err0(); err != nil {
			t.Fatal(err)
		}
		fs.EachRecord(func(r *kgo.Record) {
			out[r.Partition] = append(out[r.Partition], r.Value)
			read++
		})
	}
	return out
}

// addPartitionsAndProduce grows topic clickstream to 4 partitions and
// sends the records with a new producer (which sees all four), checking
// that some went to the new ones.
func addPartitionsAndProduce(t *testing.T, addrs []string, lines, keys [][]byte) error {
	cl, err := kgo.NewClient(kgo.SeedBrokers(addrs...))
	if err != nil {
		return err
	}
	defer cl.Close()
	adm := kadm.NewClient(cl)
	resp, err := adm.UpdatePartitions(t.Context(), 4, "clickstream")
	if err == nil {
		err = resp.Error()
	}
	if err != nil {
		return err
	}
	pr, err := kgo.NewClient(kgo.SeedBrokers(addrs...), kgo.DefaultProduceTopic("clickstream"))
	if err != nil {
		return err
	}
	defer pr.Close()
	var rs []*kgo.Record
	for i := range lines {
		rs = append(rs, &kgo.Record{Key: keys[i], Value: lines[i]})
	}
	if err := pr.ProduceSync(t.Context(), rs...).FirstErr(); err != nil {
		return err
	}
	onNew := 0
	for _, r := range rs {
		if r.Partition >= 2 {
			onNew++
		}
	}
	if onNew == 0 {
		t.Errorf("none of the %d records went to the new partitions", len(rs))
	}
	return nil
}
