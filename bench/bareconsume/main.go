// Command bareconsume is the yardstick of bench/stream-vs-bare.sh: a bare
// franz-go consumer that reads every partition of a topic from its start
// to its end (read_committed, as sessionize run reads) and exits, printing
// records/s. It touches each record's value (sums its length) and nothing
// else: the rate at which the broker can hand this machine the topic, which
// sessionize's drain is compared against in the same run.
//
//	go run ./bench/bareconsume --kafka-servers 127.0.0.1:29092 --topic clickstream
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
)

func main() {
	servers := flag.String("kafka-servers", "127.0.0.1:9092", "brokers, comma-separated")
	topic := flag.String("topic", "clickstream", "topic to read")
	flag.Parse()
	if err := run(*servers, *topic); err != nil {
		fmt.Fprintln(os.Stderr, "bareconsume:", err)
		os.Exit(1)
	}
}

func run(servers, topic string) error {
	ctx := context.Background()
	started := time.Now()
	seeds := strings.Split(servers, ",")
	adm, err := kgo.NewClient(kgo.SeedBrokers(seeds...))
	if err != nil {
		return err
	}
	ends, err := kadm.NewClient(adm).ListEndOffsets(ctx, topic)
	adm.Close()
	if err == nil {
		err = ends.Error()
	}
	if err != nil {
		return fmt.Errorf("end offsets of %s: %w", topic, err)
	}
	end := map[int32]int64{}
	start := map[int32]kgo.Offset{}
	var total int64
	ends.Each(func(o kadm.ListedOffset) {
		end[o.Partition] = o.Offset
		start[o.Partition] = kgo.NewOffset().AtStart()
		total += o.Offset
	})

	// Direct partition consumption (no group): the cheapest way to read.
	// Fetch sizes are franz-go's defaults but for a larger per-partition
	// cap, so one fetch brings a good part of every partition.
	cl, err := kgo.NewClient(kgo.SeedBrokers(seeds...),
		kgo.ConsumePartitions(map[string]map[int32]kgo.Offset{topic: start}),
		kgo.FetchIsolationLevel(kgo.ReadCommitted()),
		// A transactional producer's last offset is a commit marker:
		// keep markers so the end is seen, and do not count them.
		kgo.KeepControlRecords(),
		kgo.FetchMaxBytes(64<<20), kgo.FetchMaxPartitionBytes(16<<20))
	if err != nil {
		return err
	}
	defer cl.Close()
	connected := time.Now()
	var records, bytes int64
	pos := map[int32]int64{}
	done := 0
	for p, e := range end {
		if e == 0 {
			done++
		}
		pos[p] = 0
	}
	for done < len(end) {
		fs := cl.PollFetches(ctx)
		if err := fs.Err0(); err != nil {
			return err
		}
		fs.EachPartition(func(fp kgo.FetchTopicPartition) {
			for _, r := range fp.Records {
				if !r.Attrs.IsControl() {
					records++
					bytes += int64(len(r.Value))
				}
				before := pos[fp.Partition]
				pos[fp.Partition] = r.Offset + 1
				if before < end[fp.Partition] && r.Offset+1 >= end[fp.Partition] {
					done++
				}
			}
		})
	}
	secs := time.Since(started).Seconds()
	fmt.Printf("bare: %d records (%d value bytes) of %d partitions in %.2f s = %.0f records/s (start-up %.2f s)\n",
		records, bytes, len(end), secs, float64(records)/secs, connected.Sub(started).Seconds())
	return nil
}
