package kafka

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
)

// Producer defaults.
const (
	DefaultTopic              = "clickstream"
	DefaultLinger             = 5 * time.Millisecond
	DefaultMaxBufferedRecords = 100_000
	DefaultDeliveryTimeout    = 30 * time.Second
)

// ProducerConfig configures NewProducer.
type ProducerConfig struct {
	Servers  []string
	Security Security // TLS and SASL; the zero value is plaintext
	Topic    string   // "" is DefaultTopic
	// CreateTopic creates Topic when it does not exist, with Partitions
	// partitions (<= 0: the broker's default). Without it a missing topic
	// is an error wrapping ErrTopicNotFound.
	CreateTopic bool
	Partitions  int32
	// Linger is how long a partition's batch waits for more records
	// (<= 0: DefaultLinger). Batches also close at 1 MB.
	Linger time.Duration
	// MaxBufferedRecords bounds the records in flight; Send blocks past
	// it (<= 0: DefaultMaxBufferedRecords).
	MaxBufferedRecords int
	// DeliveryTimeout is how long franz-go keeps retrying a record
	// before failing it (<= 0: DefaultDeliveryTimeout). Retries are
	// franz-go's and, with the idempotent producer, never duplicate or
	// reorder a record.
	DeliveryTimeout time.Duration
	// ConnectTimeout bounds the wait for a broker at start (<= 0:
	// DefaultConnectTimeout).
	ConnectTimeout time.Duration
}

// ProducerStats counts a producer's records so far.
type ProducerStats struct {
	Sent   int64 // records handed to Send
	Acked  int64 // records the broker acknowledged
	Bytes  int64 // key and value bytes of the acknowledged records
	Failed int64 // records that failed for good
}

// Producer sends records to one topic: idempotent (no duplicates or
// reordering on retries), acks=all, lingering a few ms to batch. A record
// with a key goes to partition murmur2(key) mod partitions, exactly as
// Kafka's Java producer places it, so ours and Java producers put a user on
// the same partition; a record without a key goes to a partition chosen for
// batching. The record timestamp is the time of Send (CreateTime).
type Producer struct {
	cl         *kgo.Client
	topic      string
	servers    string
	partitions int
	logger     *slog.Logger

	mu   sync.Mutex // Send's slabs
	slab []byte
	recs []kgo.Record
	// inflight counts records sent and not yet acknowledged or failed,
	// up to maxInflight. Send waits for room with its ctx; the record
	// itself is produced with no ctx, so that cancelling Send's ctx
	// (Ctrl-C) stops sending but does not fail what is already buffered:
	// Flush can still deliver it. (kgo's own bound would block in Produce
	// on the record's ctx.) An atomic counter, not a channel: a channel
	// here halved the send rate.
	inflight    atomic.Int64
	maxInflight int64
	waiting     atomic.Bool
	waitMu      sync.Mutex
	room        chan struct{} // closed when a record completes while Send waits

	sent, acked, bytes, failed atomic.Int64
	errOnce                    sync.Once
	err                        atomic.Pointer[error]
}

// NewProducer connects to cfg.Servers and checks (or creates) the topic. A
// broker that does not answer within ConnectTimeout is an error wrapping
// ErrUnreachable that names the servers.
func NewProducer(ctx context.Context, cfg ProducerConfig, logger *slog.Logger) (*Producer, error) {
	logger = orDiscard(logger)
	if cfg.Topic == "" {
		cfg.Topic = DefaultTopic
	}
	if cfg.Linger <= 0 {
		cfg.Linger = DefaultLinger
	}
	if cfg.MaxBufferedRecords <= 0 {
		cfg.MaxBufferedRecords = DefaultMaxBufferedRecords
	}
	if cfg.DeliveryTimeout <= 0 {
		cfg.DeliveryTimeout = DefaultDeliveryTimeout
	}
	if err := connect(ctx, cfg.Servers, cfg.Security, cfg.ConnectTimeout, logger); err != nil {
		return nil, err
	}
	cl, err := newClient(cfg.Servers, cfg.Security, logger,
		kgo.DefaultProduceTopic(cfg.Topic),
		kgo.RequiredAcks(kgo.AllISRAcks()), // the default; idempotence requires it
		// The default partitioner, spelled out: records with a key are
		// placed by KafkaHasher(murmur2), as Java's producer does;
		// records without one stick to a partition for 64 KiB.
		kgo.RecordPartitioner(kgo.UniformBytesPartitioner(64<<10, true, true, nil)),
		kgo.ProducerLinger(cfg.Linger),
		// Send bounds what is in flight itself (see slots); kgo's bound
		// is never reached, so kgo's Produce never blocks.
		kgo.MaxBufferedRecords(cfg.MaxBufferedRecords+1),
		kgo.RecordDeliveryTimeout(cfg.DeliveryTimeout),
		// Without this, a record sent to a broker that then died is
		// retried forever (its fate is unknown, and failing it would
		// break idempotence for a re-send). We never re-send a failed
		// record, we stop, so failing it after DeliveryTimeout costs
		// nothing and keeps a dead broker from hanging the producer.
		kgo.AllowIdempotentProduceCancellation(),
		kgo.ProducerBatchCompression(kgo.SnappyCompression(), kgo.NoCompression()), // kgo's default; measured a little faster than lz4 here
	)
	if err != nil {
		return nil, err
	}
	p := &Producer{cl: cl, topic: cfg.Topic, servers: strings.Join(cfg.Servers, ","), logger: logger,
		maxInflight: int64(cfg.MaxBufferedRecords)}
	adm := kadm.NewClient(cl)
	n, err := topicPartitions(ctx, adm, cfg.Topic)
	if errors.Is(err, ErrTopicNotFound) && cfg.CreateTopic {
		created, np, cerr := createTopic(ctx, adm, cfg.Topic, cfg.Partitions)
		if cerr != nil {
			cl.Close()
			return nil, cerr
		}
		if created && np > 0 {
			n, err = int(np), nil
		} else {
			n, err = waitTopic(ctx, adm, cfg.Topic)
		}
		if err == nil && created {
			logger.Info("created topic", "topic", cfg.Topic, "partitions", n, "servers", p.servers)
		}
	}
	if err != nil {
		cl.Close()
		if errors.Is(err, ErrTopicNotFound) {
			return nil, fmt.Errorf("kafka: %w: %q on %s (create it, or let the producer create it)", ErrTopicNotFound, cfg.Topic, p.servers)
		}
		return nil, err
	}
	p.partitions = n
	return p, nil
}

// waitTopic waits for a topic another client just created to show in
// metadata (kgo caches a missing topic for its metadata min age, 5s).
func waitTopic(ctx context.Context, adm *kadm.Client, topic string) (int, error) {
	for i := 0; ; i++ {
		n, err := topicPartitions(ctx, adm, topic)
		if err == nil && n > 0 || !errors.Is(err, ErrTopicNotFound) || i == 100 {
			return n, err
		}
		select {
		case <-ctx.Done():
			return 0, ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// Topic returns the topic records go to.
func (p *Producer) Topic() string { return p.topic }

// Partitions returns the topic's partition count when the producer started.
func (p *Producer) Partitions() int { return p.partitions }

// Send queues one record. key and value are copied, so the caller may
// reuse them at once; a nil key stays nil (no key). Send blocks while
// MaxBufferedRecords are in flight, until ctx is done; ctx does not
// cancel records already queued (Flush delivers them). It returns the
// first delivery error once there is one: a failed record is lost, so the
// caller should stop. Send is safe for concurrent use, though one caller
// keeps records in order.
func (p *Producer) Send(ctx context.Context, key, value []byte) error {
	if err := p.Err(); err != nil {
		return err
	}
	if err := p.reserve(ctx); err != nil {
		return err
	}
	p.mu.Lock()
	r := p.record(key, value)
	p.mu.Unlock()
	p.sent.Add(1)
	p.cl.Produce(context.Background(), r, p.promise)
	return nil
}

// record builds a record in the current slabs: one allocation per many
// records instead of three per record.
func (p *Producer) record(key, value []byte) *kgo.Record {
	n := len(key) + len(value)
	if cap(p.slab)-len(p.slab) < n {
		p.slab = make([]byte, 0, max(1<<20, n))
	}
	buf := p.slab[len(p.slab) : len(p.slab)+n : len(p.slab)+n]
	p.slab = p.slab[:len(p.slab)+n]
	copy(buf, key)
	copy(buf[len(key):], value)
	if len(p.recs) == 0 {
		p.recs = make([]kgo.Record, 1024)
	}
	r := &p.recs[0]
	p.recs = p.recs[1:]
	if key != nil {
		r.Key = buf[:len(key):len(key)]
	}
	r.Value = buf[len(key):]
	return r
}

// reserve takes room for one record in flight, waiting for it until ctx
// is done.
func (p *Producer) reserve(ctx context.Context) error {
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		if p.inflight.Add(1) <= p.maxInflight {
			return nil
		}
		p.inflight.Add(-1)
		p.waitMu.Lock()
		if p.room == nil {
			p.room = make(chan struct{})
		}
		room := p.room
		p.waiting.Store(true)
		full := p.inflight.Load() >= p.maxInflight // checked after waiting is set: no wakeup is missed
		p.waitMu.Unlock()
		if !full {
			continue
		}
		select {
		case <-room:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// release gives back a record's room and wakes a waiting Send.
func (p *Producer) release() {
	p.inflight.Add(-1)
	if p.waiting.Load() {
		p.waitMu.Lock()
		if p.room != nil {
			close(p.room)
			p.room = nil
		}
		p.waiting.Store(false)
		p.waitMu.Unlock()
	}
}

func (p *Producer) promise(r *kgo.Record, err error) {
	p.release()
	if err == nil {
		p.acked.Add(1)
		p.bytes.Add(int64(len(r.Key) + len(r.Value)))
		return
	}
	p.failed.Add(1)
	p.errOnce.Do(func() {
		e := fmt.Errorf("kafka: producing to topic %q on %s: %w", p.topic, p.servers, err)
		p.err.Store(&e)
	})
}

// Err returns the first delivery error, if any.
func (p *Producer) Err() error {
	if e := p.err.Load(); e != nil {
		return *e
	}
	return nil
}

// Flush waits until every record sent so far is acknowledged or failed, or
// ctx is done, and returns the first delivery error.
func (p *Producer) Flush(ctx context.Context) error {
	if err := p.cl.Flush(ctx); err != nil {
		if perr := p.Err(); perr != nil {
			return perr
		}
		return err
	}
	return p.Err()
}

// Stats returns the counts so far.
func (p *Producer) Stats() ProducerStats {
	return ProducerStats{Sent: p.sent.Load(), Acked: p.acked.Load(), Bytes: p.bytes.Load(), Failed: p.failed.Load()}
}

// Close closes the connections; records not yet acknowledged fail. Flush
// first to deliver them.
func (p *Producer) Close() { p.cl.Close() }
