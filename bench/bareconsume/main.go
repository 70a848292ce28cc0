// Command bareconsume is the yardstick of bench/stream-vs-bare.sh: a bare
// franz-go consumer that reads every partition of a topic from its start
// to its end (read_committed, as sessionize run reads) and exits, printing
// records/s. It touches each record's value (sums its length) and nothing
// else: the rate at which the broker can hand this machine the topic, which
// sessionize's drain is compared against in the same run.
//
// With --parse it also parses every value with sessionize's event.Parser,
// a poll's partitions on one goroutine per core, as sessionize run does:
// the floor of a drain, which reads and parses every record before its
// engine and Parquet encoder see one.
//
//	go run ./bench/bareconsume --kafka-servers 127.0.0.1:29092 --topic clickstream [--parse]
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"runtime"
	"strings"
	"sync"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/sessionize/sessionize/internal/event"
)

func main() {
	servers := flag.String("kafka-servers", "127.0.0.1:9092", "brokers, comma-separated")
	topic := flag.String("topic", "clickstream", "topic to read")
	parse := flag.Bool("parse", false, "also parse every value with sessionize's event parser (default event schema), on one goroutine per core: a drain's floor")
	flag.Parse()
	var ps *pollParser
	if *parse {
		ps = newPollParser(runtime.GOMAXPROCS(0))
	}
	if err := run(*servers, *topic, ps); err != nil {
		fmt.Fprintln(os.Stderr, "bareconsume:", err)
		os.Exit(1)
	}
}

func run(servers, topic string, ps *pollParser) error {
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
		if ps != nil {
			ps.parse(fs)
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
	name, parsed := "bare", ""
	if ps != nil {
		name = "bare+parse"
		parsed = fmt.Sprintf(", parsed: %d valid, %d rejected", ps.valid, ps.rejected)
	}
	fmt.Printf("%s: %d records (%d value bytes) of %d partitions in %.2f s = %.0f records/s (start-up %.2f s)%s\n",
		name, records, bytes, len(end), secs, float64(records)/secs, connected.Sub(started).Seconds(), parsed)
	return nil
}

// pollParser parses a poll's records as sessionize run's processPoll
// does: its partitions spread over one goroutine per parser, each parser
// used by one goroutine at a time.
type pollParser struct {
	parsers         []*event.Parser
	valid, rejected int64
}

func newPollParser(workers int) *pollParser {
	ps := &pollParser{}
	for range workers {
		ps.parsers = append(ps.parsers, event.NewParser(event.DefaultSchema(), event.DefaultMaxRecordBytes))
	}
	return ps
}

func (ps *pollParser) parse(fs kgo.Fetches) {
	next := make(chan []*kgo.Record, 64)
	go func() {
		fs.EachPartition(func(fp kgo.FetchTopicPartition) { next <- fp.Records })
		close(next)
	}()
	counts := make([][2]int64, len(ps.parsers))
	var wg sync.WaitGroup
	for w, p := range ps.parsers {
		wg.Go(func() {
			var f event.Fields
			var c [2]int64 // stored once: the entries of counts share a cache line
			for recs := range next {
				for _, r := range recs {
					if r.Attrs.IsControl() {
						continue
					}
					if p.Parse(r.Value, &f) == event.OK {
						c[0]++
					} else {
						c[1]++
					}
				}
			}
			counts[w] = c
		})
	}
	wg.Wait()
	for _, c := range counts {
		ps.valid += c[0]
		ps.rejected += c[1]
	}
}
