package check

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/sessionize/sessionize/internal/avro"
	"github.com/sessionize/sessionize/internal/decode"
	"github.com/sessionize/sessionize/internal/kafka"
)

// DefaultStallTimeout is how long CheckTopic waits without reading
// anything before it gives up on partitions that are not at their end.
const DefaultStallTimeout = 30 * time.Second

// KafkaInput says which topic to check.
type KafkaInput struct {
	Servers  []string
	Security kafka.Security // TLS and SASL; the zero value is plaintext
	Topic    string
	// Last, if positive, reads only the last Last offsets of each
	// partition (transaction markers and aborted records take offsets
	// too, so with transactional producers a few fewer records come).
	// 0 reads each partition from its oldest record.
	Last int64
	// StallTimeout: fail when nothing is read for this long before every
	// partition is at its end (<= 0: DefaultStallTimeout).
	StallTimeout time.Duration
	// Format is how record values are encoded ("": JSON); Avro needs
	// Registry.
	Format   decode.Format
	Registry avro.RegistryConfig
}

// partitionPlan is the offsets to read of one partition: [from, end).
type partitionPlan struct {
	p         int32
	from, end int64
	next      int64
	src       *source
}

// CheckTopic reads every partition of a topic, each in offset order and on
// its own, up to its end as of the start (the last stable offset: the
// read_committed end), with a plain consumer (no group, nothing committed,
// read_committed), and reports on the records.
func CheckTopic(ctx context.Context, opts Options, in KafkaInput) (*Report, error) {
	if len(in.Servers) == 0 {
		return nil, errors.New("no Kafka servers")
	}
	if in.Topic == "" {
		return nil, errors.New("no topic")
	}
	values, err := decode.New(decode.Config{Format: in.Format, Schema: opts.Schema, MaxRecordBytes: opts.MaxRecordBytes, Registry: in.Registry})
	if err != nil {
		return nil, err
	}
	// Waits for a broker (a clear error naming the servers if none
	// answers) and checks the topic exists.
	if _, err := kafka.TopicPartitions(ctx, in.Servers, in.Security, in.Topic); err != nil {
		return nil, err
	}
	servers := strings.Join(in.Servers, ",")
	secOpts, err := in.Security.ClientOpts()
	if err != nil {
		return nil, err
	}
	admCl, err := kgo.NewClient(append(secOpts, kgo.SeedBrokers(in.Servers...), kgo.ClientID("sessionize-check"))...)
	if err != nil {
		return nil, fmt.Errorf("kafka: servers %s: %w", servers, err)
	}
	defer admCl.Close()
	adm := kadm.NewClient(admCl)
	starts, err := adm.ListStartOffsets(ctx, in.Topic)
	if err == nil {
		err = starts.Error()
	}
	if err != nil {
		return nil, fmt.Errorf("kafka: listing start offsets of %q on %s: %w", in.Topic, servers, err)
	}
	ends, err := adm.ListCommittedOffsets(ctx, in.Topic) // last stable offsets
	if err == nil {
		err = ends.Error()
	}
	if err != nil {
		return nil, fmt.Errorf("kafka: listing end offsets of %q on %s: %w", in.Topic, servers, err)
	}

	a := newAnalyzer(opts)
	a.values = values
	defer a.prog.done()
	var plans []*partitionPlan
	ends.Each(func(o kadm.ListedOffset) {
		if o.Topic != in.Topic {
			return
		}
		from := int64(0)
		if st, ok := starts.Lookup(in.Topic, o.Partition); ok {
			from = st.Offset
		}
		if in.Last > 0 {
			from = max(from, o.Offset-in.Last)
		}
		plans = append(plans, &partitionPlan{p: o.Partition, from: from, end: o.Offset, next: from})
	})
	slices.SortFunc(plans, func(x, y *partitionPlan) int { return int(x.p) - int(y.p) })
	byPart := map[int32]*partitionPlan{}
	assign := map[int32]kgo.Offset{}
	var toRead int64
	for _, pl := range plans {
		pl.src = a.newSource(fmt.Sprintf("%s/%d", in.Topic, pl.p), pl.p)
		if pl.from < pl.end {
			byPart[pl.p] = pl
			assign[pl.p] = kgo.NewOffset().At(pl.from).WithEpoch(-1)
			toRead += pl.end - pl.from
		}
	}
	info := SourceInfo{Kind: "kafka", Servers: in.Servers, Topic: in.Topic, LastPerPartition: in.Last}
	if len(byPart) > 0 {
		if err := a.consume(ctx, in, byPart, assign, toRead); err != nil {
			return nil, err
		}
	}
	a.prog.done()
	return a.report(info), nil
}

func (a *analyzer) consume(ctx context.Context, in KafkaInput, byPart map[int32]*partitionPlan, assign map[int32]kgo.Offset, toRead int64) error {
	servers := strings.Join(in.Servers, ",")
	secOpts, err := in.Security.ClientOpts()
	if err != nil {
		return err
	}
	cl, err := kgo.NewClient(append(secOpts,
		kgo.SeedBrokers(in.Servers...),
		kgo.ClientID("sessionize-check"),
		kgo.ConsumePartitions(map[string]map[int32]kgo.Offset{in.Topic: assign}),
		kgo.FetchIsolationLevel(kgo.ReadCommitted()),
		// Transaction markers come back, so the read position moves past
		// them and a partition ending in one is seen to be at its end.
		kgo.KeepControlRecords(),
		kgo.FetchMaxWait(500*time.Millisecond),
	)...)
	if err != nil {
		return fmt.Errorf("kafka: servers %s: %w", servers, err)
	}
	defer cl.Close()
	stall := in.StallTimeout
	if stall <= 0 {
		stall = DefaultStallTimeout
	}
	left := len(byPart)
	var done int64 // offsets passed
	lastProgress := time.Now()
	for left > 0 {
		pctx, cancel := context.WithTimeout(ctx, time.Second)
		fetches := cl.PollFetches(pctx)
		cancel()
		if err := ctx.Err(); err != nil {
			return err
		}
		var errs []error
		fetches.EachError(func(topic string, p int32, err error) {
			if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled) {
				return // the poll's own timeout
			}
			errs = append(errs, fmt.Errorf("kafka: reading %s partition %d from %s: %w", topic, p, servers, err))
		})
		if len(errs) > 0 {
			return errors.Join(errs...)
		}
		moved := false
		var prepErr error // the registry could not be asked: no verdict on the record
		fetches.EachPartition(func(fp kgo.FetchTopicPartition) {
			pl := byPart[fp.Partition]
			if fp.Topic != in.Topic || pl == nil || pl.next >= pl.end {
				return
			}
			before := pl.next
			for _, r := range fp.Records {
				if r.Offset < pl.next || r.Offset >= pl.end {
					continue
				}
				pl.next = r.Offset + 1
				if r.Attrs.IsControl() {
					continue
				}
				if prepErr = a.values.Prepare(ctx, r.Value); prepErr != nil {
					prepErr = fmt.Errorf("partition %d offset %d: %w", r.Partition, r.Offset, prepErr)
					return
				}
				a.kafkaRecord(pl.src, r.Value, r.Timestamp.UnixMilli())
			}
			if pl.next > before {
				moved = true
				done += pl.next - before
			}
			if pl.next >= pl.end {
				left--
				cl.PauseFetchPartitions(map[string][]int32{in.Topic: {fp.Partition}})
			}
		})
		if prepErr != nil {
			return prepErr
		}
		if moved {
			lastProgress = time.Now()
			if a.prog != nil {
				var n int64
				for _, s := range a.sources {
					n += s.records
				}
				a.prog.kafka(n, done, toRead, a.start)
			}
		} else if time.Since(lastProgress) > stall {
			var stuck []string
			for _, pl := range byPart {
				if pl.next < pl.end {
					stuck = append(stuck, fmt.Sprintf("%d (at offset %d of %d)", pl.p, pl.next, pl.end))
				}
			}
			slices.Sort(stuck)
			return fmt.Errorf("kafka: nothing read from %q on %s for %s; partitions not at their end: %s",
				in.Topic, servers, stall, strings.Join(stuck, ", "))
		}
	}
	return nil
}
