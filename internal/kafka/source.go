package kafka

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// Source defaults.
const (
	DefaultGroup          = "sessionize"
	DefaultSessionTimeout = 10 * time.Second
	DefaultMaxWait        = time.Second
	DefaultMaxPollRecords = 100_000
)

// Bounds of the work a Source does on the side of the pipeline's.
const (
	// metadataMaxAge is how often the consumer refreshes the topic's
	// metadata even if nothing went wrong: partitions added to the topic
	// are assigned once the group's leader sees them. Kafka's default
	// (metadata.max.age.ms, 5 minutes) left their records unread, and a
	// --stop-when-idle run waiting, for that long.
	metadataMaxAge = 30 * time.Second
	// copyTimeout bounds one copy of offsets to the group (monitoring
	// only): kgo holds a commit back while the member is in a rebalance,
	// which on a slow group lasts up to the rebalance timeout.
	copyTimeout = 10 * time.Second
	// closeCopyWait is how long Close waits for the last copy of offsets.
	closeCopyWait = time.Second
	// leaveTimeout bounds leaving the group at Close: kgo's leave waits
	// for a JoinGroup in flight, which the group may hold for the whole
	// rebalance timeout while it waits for other members.
	leaveTimeout = 3 * time.Second
)

// Start offsets OnAssigned may return besides an exact offset.
const (
	// OffsetEarliest starts at the oldest record still in the partition.
	OffsetEarliest int64 = -2
	// OffsetLatest starts after the newest record (at the end).
	OffsetLatest int64 = -1
)

// SourceConfig configures NewSource.
type SourceConfig struct {
	Servers  []string
	Security Security // TLS and SASL; the zero value is plaintext
	Topic    string   // "" is DefaultTopic
	Group    string   // "" is DefaultGroup
	// WaitForTopic makes NewSource wait (logging every 10s) for a topic
	// that does not exist yet instead of failing with ErrTopicNotFound.
	WaitForTopic bool
	// ResetOutOfRange makes a start offset outside the partition's
	// records (deleted by retention, or the topic was recreated) restart
	// at the oldest record. By default Poll fails instead: resuming
	// anywhere else than asked for would break exactly-once silently.
	ResetOutOfRange bool
	// MaxPollRecords bounds the records one Poll returns (<= 0:
	// DefaultMaxPollRecords).
	MaxPollRecords int
	// MaxWait is how long Poll waits for records before it returns an
	// empty Batch (<= 0: DefaultMaxWait).
	MaxWait time.Duration
	// SessionTimeout: a member that is not heard from for this long (it
	// crashed) loses its partitions (<= 0: DefaultSessionTimeout). It
	// must be within the broker's group.{min,max}.session.timeout.ms.
	SessionTimeout time.Duration
	// RebalanceTimeout bounds how long a rebalance waits for the members:
	// the time between two Polls and the OnAssigned/OnRevoked calls must
	// fit in it, or the member is dropped from the group (<= 0: 60s).
	RebalanceTimeout time.Duration
	// ConnectTimeout bounds the wait for a broker at start (<= 0:
	// DefaultConnectTimeout).
	ConnectTimeout time.Duration
	// InstanceID, if set, makes the member static (KIP-345): a member
	// that restarts with the same InstanceID takes its predecessor's
	// place at once, without waiting for its session to time out. Two
	// live members must never share one. A static member does not leave
	// the group at Close: its partitions wait for it up to SessionTimeout.
	InstanceID string
}

// Assignment is told which partitions the member gets and loses.
//
// Ordering guarantees (the Source relies on franz-go's BlockRebalanceOnPoll,
// AdjustFetchOffsetsFn and OnPartitionsRevoked/Lost, and adds a gate of its
// own):
//
//   - The methods are called one at a time, from a goroutine of the client,
//     and only while the caller is inside Source.Poll or Source.Close: never
//     while the caller is processing a Batch. A Batch is done when Poll is
//     called again.
//   - OnAssigned(p) runs after the group's committed offsets were fetched
//     and before anything is fetched from p; the offsets it returns replace
//     the committed ones, so p is read from there and only from there. The
//     group's committed offsets are never used.
//   - Every partition given to OnAssigned is later given to OnRevoked
//     exactly once (lost or not) before it is given to OnAssigned again.
//   - When OnRevoked(p) runs, every record of p that Poll returned has been
//     processed (Poll was called again), and once it returns, Poll returns
//     no record of p. Close revokes everything the member holds.
type Assignment interface {
	// OnAssigned is called with partitions this member now owns, sorted.
	// It returns where to start reading each: an exact offset (the next
	// record to read, as stored with the output), OffsetEarliest or
	// OffsetLatest. A partition left out starts at OffsetEarliest. ctx is
	// cancelled if a new rebalance begins meanwhile. An error is fatal:
	// Poll returns it, and the partitions are not owned (no OnRevoked).
	OnAssigned(ctx context.Context, partitions []int32) (start map[int32]int64, err error)
	// OnRevoked is called with partitions this member no longer owns,
	// sorted. If lost is false the member is leaving (Close) or the
	// partitions move in an orderly rebalance: the group gives them to
	// another member only after OnRevoked returns, so this is the moment
	// to commit state, then drop it. That holds only if the caller came
	// back to Poll within RebalanceTimeout of the rebalance starting;
	// past it the group drops the member and moves its partitions anyway.
	// If lost is true the member was dropped from the group: another
	// member may own them already, so drop the state without committing.
	// Either way a commit of output with offsets must be conditional on
	// the offsets it started from still being the stored ones, so a late
	// member cannot overwrite the new owner's work.
	OnRevoked(ctx context.Context, partitions []int32, lost bool)
}

// Record is one record read.
type Record struct {
	Partition   int32
	Offset      int64
	Key, Value  []byte // valid as long as referenced; never reused
	TimestampMs int64  // the record timestamp, epoch ms
}

// PartitionBatch is the records of one partition in a Batch, in offset
// order.
type PartitionBatch struct {
	Partition int32
	Records   []Record // may be empty when only transaction markers were read
	// Next is where reading resumes after these records: the offset to
	// store with the output that includes them. It is past any
	// transaction markers and aborted records read, so it can be beyond
	// the last record's offset + 1.
	Next int64
	// HighWatermark and LastStableOffset are the partition's end as of
	// this fetch; with read_committed, Next == LastStableOffset means the
	// partition was read to its end.
	HighWatermark, LastStableOffset int64
}

// Batch is what one Poll returns: records grouped by partition.
type Batch struct {
	Partitions []PartitionBatch
}

// Len returns the number of records.
func (b Batch) Len() int {
	n := 0
	for i := range b.Partitions {
		n += len(b.Partitions[i].Records)
	}
	return n
}

// PartitionLag is how far a partition's reading is behind its end.
type PartitionLag struct {
	Partition int32
	Position  int64 // next offset to read
	End       int64 // last stable offset: the end for read_committed
	Lag       int64 // End - Position, at least 0
}

// Source is a member of a consumer group reading one topic with
// read_committed isolation, for the streaming pipeline. Offsets are not
// committed to Kafka automatically: the pipeline keeps them with its
// output and says where to start in Assignment.OnAssigned; CommitOffsets
// copies them to Kafka for lag monitoring only.
//
// Poll, CommitOffsets, Lag and Close are meant for one goroutine.
type Source struct {
	cfg     SourceConfig
	cl      *kgo.Client // group member
	admCl   *kgo.Client // lag and topic lookups
	adm     *kadm.Client
	handler Assignment
	logger  *slog.Logger
	servers string

	// gate is held on the caller's behalf whenever it is outside Poll and
	// Close; the assignment callbacks take it, so they run only while the
	// caller is inside Poll or Close. kgo's BlockRebalanceOnPoll gives the
	// same for revoke and lost, but not for AdjustFetchOffsetsFn.
	gate sync.Mutex

	mu     sync.Mutex // guards the fields below; callbacks and Poll share them
	held   bool       // gate is held for the caller
	closed bool
	owned  map[int32]bool
	pos    map[int32]int64 // next offset to read; OffsetEarliest/Latest until known
	fatal  error

	copies offsetCopier
	// stopClient cancels the member client's context: it fails the
	// requests in flight, a parked JoinGroup among them.
	stopClient context.CancelFunc
}

// releaseGate lets the assignment callbacks run; false if the Source is
// closed.
func (s *Source) releaseGate() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return false
	}
	if s.held {
		s.held = false
		s.gate.Unlock()
	}
	return true
}

// takeGate keeps the assignment callbacks from running until the next
// releaseGate.
func (s *Source) takeGate() {
	s.gate.Lock()
	s.mu.Lock()
	s.held = true
	s.mu.Unlock()
}

// NewSource connects, checks the topic and joins the group. Joining
// completes in the background; partitions are handed out during Poll.
func NewSource(ctx context.Context, cfg SourceConfig, handler Assignment, logger *slog.Logger) (*Source, error) {
	if handler == nil {
		return nil, errors.New("kafka: NewSource needs an Assignment")
	}
	logger = orDiscard(logger)
	if cfg.Topic == "" {
		cfg.Topic = DefaultTopic
	}
	if cfg.Group == "" {
		cfg.Group = DefaultGroup
	}
	if cfg.MaxPollRecords <= 0 {
		cfg.MaxPollRecords = DefaultMaxPollRecords
	}
	if cfg.MaxWait <= 0 {
		cfg.MaxWait = DefaultMaxWait
	}
	if cfg.SessionTimeout <= 0 {
		cfg.SessionTimeout = DefaultSessionTimeout
	}
	s := &Source{
		cfg:     cfg,
		handler: handler,
		logger:  logger.With("topic", cfg.Topic, "group", cfg.Group),
		servers: strings.Join(cfg.Servers, ","),
		owned:   map[int32]bool{},
		pos:     map[int32]int64{},
	}

	if err := connect(ctx, cfg.Servers, cfg.Security, cfg.ConnectTimeout, logger); err != nil {
		return nil, err
	}
	// A short metadata min age: kgo caches a missing topic that long, and
	// WaitForTopic should see it soon after it is created.
	admCl, err := newClient(cfg.Servers, cfg.Security, logger, kgo.MetadataMinAge(time.Second))
	if err != nil {
		return nil, err
	}
	s.admCl, s.adm = admCl, kadm.NewClient(admCl)
	if err := s.waitTopic(ctx); err != nil {
		admCl.Close()
		return nil, err
	}

	reset := kgo.NoResetOffset()
	if cfg.ResetOutOfRange {
		reset = kgo.NewOffset().AtStart()
	}
	opts := []kgo.Opt{
		kgo.ConsumerGroup(cfg.Group),
		kgo.ConsumeTopics(cfg.Topic),
		kgo.FetchIsolationLevel(kgo.ReadCommitted()),
		// Markers come back so Next can move past them; Poll drops them.
		kgo.KeepControlRecords(),
		kgo.DisableAutoCommit(),
		// Cooperative: a rebalance takes from a member only what moves.
		kgo.Balancers(kgo.CooperativeStickyBalancer()),
		kgo.BlockRebalanceOnPoll(),
		kgo.AdjustFetchOffsetsFn(s.adjustOffsets),
		kgo.OnPartitionsRevoked(func(ctx context.Context, _ *kgo.Client, m map[string][]int32) {
			s.revoked(ctx, m[s.cfg.Topic], false)
		}),
		kgo.OnPartitionsLost(func(ctx context.Context, _ *kgo.Client, m map[string][]int32) {
			s.revoked(ctx, m[s.cfg.Topic], true)
		}),
		kgo.ConsumeResetOffset(reset),
		kgo.MetadataMaxAge(metadataMaxAge),
		kgo.SessionTimeout(cfg.SessionTimeout),
		kgo.HeartbeatInterval(min(3*time.Second, cfg.SessionTimeout/3)),
	}
	if cfg.RebalanceTimeout > 0 {
		opts = append(opts, kgo.RebalanceTimeout(cfg.RebalanceTimeout))
	}
	if cfg.InstanceID != "" {
		opts = append(opts, kgo.InstanceID(cfg.InstanceID))
	}
	clientCtx, stopClient := context.WithCancel(context.Background())
	opts = append(opts, kgo.WithContext(clientCtx))
	s.takeGate() // the caller is outside Poll
	cl, err := newClient(cfg.Servers, cfg.Security, logger, opts...)
	if err != nil {
		stopClient()
		admCl.Close()
		return nil, err
	}
	s.cl, s.stopClient = cl, stopClient
	s.copies.start(s.commitSync, s.logger)
	if cfg.InstanceID != "" {
		s.logger.Info("joining consumer group", "servers", s.servers, "security", cfg.Security.String(), "instance_id", cfg.InstanceID)
	} else {
		s.logger.Info("joining consumer group", "servers", s.servers, "security", cfg.Security.String())
	}
	return s, nil
}

// waitTopic checks that the topic exists; with WaitForTopic it waits for it.
func (s *Source) waitTopic(ctx context.Context) error {
	var last time.Time
	for {
		_, err := topicPartitions(ctx, s.adm, s.cfg.Topic)
		if err == nil {
			return nil
		}
		if !errors.Is(err, ErrTopicNotFound) {
			return err
		}
		if !s.cfg.WaitForTopic {
			return fmt.Errorf("kafka: %w: %q on %s", ErrTopicNotFound, s.cfg.Topic, s.servers)
		}
		if time.Since(last) >= 10*time.Second {
			s.logger.Warn("topic does not exist yet; waiting for it to be created", "servers", s.servers)
			last = time.Now()
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(500 * time.Millisecond):
		}
	}
}

// adjustOffsets is kgo's AdjustFetchOffsetsFn: it runs after the group's
// committed offsets are fetched for newly assigned partitions and before
// they are assigned for fetching; what it returns is where fetching
// starts. No fetch of these partitions can happen before, so the committed
// offsets are never read from.
func (s *Source) adjustOffsets(ctx context.Context, offsets map[string]map[int32]kgo.Offset) (map[string]map[int32]kgo.Offset, error) {
	fetched := offsets[s.cfg.Topic]
	if len(fetched) == 0 {
		return offsets, nil
	}
	s.gate.Lock()
	defer s.gate.Unlock()
	if err := ctx.Err(); err != nil {
		return nil, err // a new rebalance began; kgo fetches these again
	}
	parts := make([]int32, 0, len(fetched))
	var again []int32
	s.mu.Lock()
	for p := range fetched {
		parts = append(parts, p)
		if s.owned[p] {
			again = append(again, p)
		}
	}
	s.mu.Unlock()
	slices.Sort(parts)
	if len(again) > 0 { // keep OnAssigned/OnRevoked paired
		slices.Sort(again)
		s.revokeLocked(ctx, again, false)
	}

	start, err := s.handler.OnAssigned(ctx, parts)
	if err != nil && ctx.Err() != nil {
		// The session ended while the partitions were being restored (a
		// rebalance, a broker restart): kgo assigns them again in the
		// next one. Undo what the handler took meanwhile, which the
		// partitions' next owner, this member or another, restores anew.
		s.logger.Info("assignment given up: the group session ended while the partitions were being restored", "partitions", parts, "err", err)
		s.handler.OnRevoked(ctx, parts, true)
		return nil, ctx.Err()
	}
	if err != nil {
		err = fmt.Errorf("kafka: assigning partitions %v of %q: %w", parts, s.cfg.Topic, err)
		s.setFatal(err)
		return nil, err
	}
	out := make(map[int32]kgo.Offset, len(parts))
	s.mu.Lock()
	for _, p := range parts {
		at, ok := start[p]
		if !ok {
			at = OffsetEarliest
		}
		var o kgo.Offset
		switch {
		case at >= 0:
			o = kgo.NewOffset().At(at).WithEpoch(-1) // no leader-epoch check: the offset is ours
		case at == OffsetLatest:
			o = kgo.NewOffset().AtEnd()
		default:
			at = OffsetEarliest
			o = kgo.NewOffset().AtStart()
		}
		out[p] = o
		s.owned[p] = true
		s.pos[p] = at
	}
	s.mu.Unlock()
	s.logger.Info("partitions assigned", "partitions", parts, "start", start)
	offsets[s.cfg.Topic] = out
	return offsets, nil
}

// revoked is kgo's OnPartitionsRevoked and OnPartitionsLost.
func (s *Source) revoked(ctx context.Context, parts []int32, lost bool) {
	if len(parts) == 0 {
		return
	}
	s.gate.Lock()
	defer s.gate.Unlock()
	s.revokeLocked(ctx, parts, lost)
}

func (s *Source) revokeLocked(ctx context.Context, parts []int32, lost bool) {
	s.mu.Lock()
	var mine []int32
	for _, p := range parts {
		if s.owned[p] {
			mine = append(mine, p)
			delete(s.owned, p)
			delete(s.pos, p)
		}
	}
	s.mu.Unlock()
	if len(mine) == 0 {
		return
	}
	s.copies.forget(mine) // the next owner copies its own
	slices.Sort(mine)
	if lost {
		s.logger.Warn("partitions lost: another member may own them now", "partitions", mine)
	} else {
		s.logger.Info("partitions revoked", "partitions", mine)
	}
	s.handler.OnRevoked(ctx, mine, lost)
}

func (s *Source) setFatal(err error) {
	s.mu.Lock()
	if s.fatal == nil {
		s.fatal = err
	}
	s.mu.Unlock()
}

func (s *Source) fatalErr() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.fatal
}

// Poll returns the next records, waiting up to MaxWait for some; with
// none it returns an empty Batch and no error. Calling Poll says the
// previous Batch is done: rebalances (and so the Assignment calls) happen
// only inside Poll and Close, so Poll takes longer than MaxWait while they
// run. It returns ctx.Err() when ctx is done, and an
// error for anything that stops reading a partition (an OnAssigned error, a
// start offset out of range, ...): the member cannot go on reading
// exactly once, so the caller should Close and stop.
func (s *Source) Poll(ctx context.Context) (Batch, error) {
	if err := s.fatalErr(); err != nil {
		return Batch{}, err
	}
	if err := ctx.Err(); err != nil {
		return Batch{}, err
	}
	if !s.releaseGate() {
		return Batch{}, errors.New("kafka: Poll on a closed Source")
	}
	pctx, cancel := context.WithTimeout(ctx, s.cfg.MaxWait)
	s.cl.AllowRebalance()
	fetches := s.cl.PollRecords(pctx, s.cfg.MaxPollRecords)
	cancel()
	s.takeGate()
	if err := s.fatalErr(); err != nil {
		return Batch{}, err
	}

	var errs []error
	fetches.EachError(func(topic string, p int32, err error) {
		switch {
		case errors.Is(err, context.DeadlineExceeded) && ctx.Err() == nil:
			// MaxWait passed
		case errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded):
			errs = append(errs, ctx.Err())
		case errors.Is(err, kgo.ErrClientClosed):
			errs = append(errs, fmt.Errorf("kafka: source closed: %w", err))
		default:
			var ge *kgo.ErrGroupSession
			if errors.As(err, &ge) {
				// OnRevoked(lost) has run; kgo rejoins by itself.
				s.logger.Warn("consumer group session ended; rejoining", "err", err)
				return
			}
			errs = append(errs, fmt.Errorf("kafka: reading %s partition %d from %s: %w", topic, p, s.servers, err))
		}
	})
	if len(errs) > 0 {
		if ctx.Err() != nil {
			return Batch{}, ctx.Err()
		}
		return Batch{}, errors.Join(errs...)
	}

	var b Batch
	s.mu.Lock()
	defer s.mu.Unlock()
	fetches.EachTopic(func(t kgo.FetchTopic) {
		if t.Topic != s.cfg.Topic {
			return
		}
		for _, fp := range t.Partitions {
			if len(fp.Records) == 0 {
				continue
			}
			pb := PartitionBatch{
				Partition:        fp.Partition,
				Records:          make([]Record, 0, len(fp.Records)),
				HighWatermark:    fp.HighWatermark,
				LastStableOffset: fp.LastStableOffset,
			}
			for _, r := range fp.Records {
				pb.Next = r.Offset + 1
				if r.Attrs.IsControl() {
					continue
				}
				pb.Records = append(pb.Records, Record{
					Partition:   fp.Partition,
					Offset:      r.Offset,
					Key:         r.Key,
					Value:       r.Value,
					TimestampMs: r.Timestamp.UnixMilli(),
				})
			}
			if s.owned[fp.Partition] {
				s.pos[fp.Partition] = pb.Next
			}
			b.Partitions = append(b.Partitions, pb)
		}
	})
	slices.SortFunc(b.Partitions, func(x, y PartitionBatch) int { return int(x.Partition) - int(y.Partition) })
	return b, nil
}

// Assigned returns the partitions this member owns, sorted.
func (s *Source) Assigned() []int32 {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]int32, 0, len(s.owned))
	for p := range s.owned {
		out = append(out, p)
	}
	slices.Sort(out)
	return out
}

// CommitOffsets copies next offsets (the PartitionBatch.Next of what the
// pipeline has made durable) to the consumer group, for lag monitoring
// with standard Kafka tools. Reading never starts from them. It does not
// wait: the copy is made in the background, a newer one replaces a copy
// not yet sent, and a failed one is logged (at debug) and superseded by
// the next. Waiting would stall the pipeline during every rebalance, when
// kgo holds commits back until the group has settled.
func (s *Source) CommitOffsets(next map[int32]int64) {
	s.copies.offer(next)
}

// commitSync makes one copy of offsets to the group.
func (s *Source) commitSync(ctx context.Context, next map[int32]int64) error {
	m := make(map[int32]kgo.EpochOffset, len(next))
	for p, o := range next {
		m[p] = kgo.EpochOffset{Epoch: -1, Offset: o}
	}
	var rerr error
	s.cl.CommitOffsetsSync(ctx, map[string]map[int32]kgo.EpochOffset{s.cfg.Topic: m},
		func(_ *kgo.Client, _ *kmsg.OffsetCommitRequest, resp *kmsg.OffsetCommitResponse, err error) {
			if err != nil {
				rerr = err
				return
			}
			for _, t := range resp.Topics {
				for _, p := range t.Partitions {
					if e := kerr.ErrorForCode(p.ErrorCode); e != nil && rerr == nil {
						rerr = fmt.Errorf("partition %d: %w", p.Partition, e)
					}
				}
			}
		})
	if rerr != nil {
		return fmt.Errorf("kafka: copying offsets of %q to group %q: %w", s.cfg.Topic, s.cfg.Group, rerr)
	}
	return nil
}

// Lag returns, for every partition this member owns, how far its reading
// is behind the partition's last stable offset. It asks the broker for the
// ends, so it costs a round trip.
func (s *Source) Lag(ctx context.Context) ([]PartitionLag, error) {
	s.mu.Lock()
	pos := make(map[int32]int64, len(s.pos))
	for p, o := range s.pos {
		pos[p] = o
	}
	s.mu.Unlock()
	if len(pos) == 0 {
		return nil, nil
	}
	ends, err := s.adm.ListCommittedOffsets(ctx, s.cfg.Topic) // LSO: the read_committed end
	if err == nil {
		err = ends.Error()
	}
	if err != nil {
		return nil, fmt.Errorf("kafka: listing end offsets of %q: %w", s.cfg.Topic, err)
	}
	var starts kadm.ListedOffsets
	out := make([]PartitionLag, 0, len(pos))
	for p, at := range pos {
		end, ok := ends.Lookup(s.cfg.Topic, p)
		if !ok {
			return nil, fmt.Errorf("kafka: no end offset for %q partition %d", s.cfg.Topic, p)
		}
		switch at {
		case OffsetLatest:
			at = end.Offset // nothing read yet; reading started at the end
		case OffsetEarliest:
			if starts == nil {
				if starts, err = s.adm.ListStartOffsets(ctx, s.cfg.Topic); err == nil {
					err = starts.Error()
				}
				if err != nil {
					return nil, fmt.Errorf("kafka: listing start offsets of %q: %w", s.cfg.Topic, err)
				}
			}
			st, _ := starts.Lookup(s.cfg.Topic, p)
			at = st.Offset
		}
		out = append(out, PartitionLag{Partition: p, Position: at, End: end.Offset, Lag: max(0, end.Offset-at)})
	}
	slices.SortFunc(out, func(x, y PartitionLag) int { return int(x.Partition) - int(y.Partition) })
	return out, nil
}

// AtEnd reports whether this member owns partitions and has read all of
// them to their end (for --stop-when-idle). Partitions other members own
// are not considered.
func (s *Source) AtEnd(ctx context.Context) (bool, error) {
	lag, err := s.Lag(ctx)
	if err != nil || len(lag) == 0 {
		return false, err
	}
	for _, l := range lag {
		if l.Lag > 0 {
			return false, nil
		}
	}
	return true, nil
}

// Close leaves the group, which first revokes every partition the member
// owns (OnRevoked with lost false), and closes the connections. It is
// bounded: it waits up to closeCopyWait for the last copy of offsets and
// up to leaveTimeout for the group to be left. A rebalance in progress can
// hold a leave up for the group's whole rebalance timeout; then Close
// sends the LeaveGroup itself and fails the client's requests in flight.
func (s *Source) Close() {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return
	}
	s.closed = true
	if s.held {
		s.held = false
		s.gate.Unlock()
	}
	s.mu.Unlock()
	s.copies.stop(closeCopyWait)
	ctx, cancel := context.WithTimeout(context.Background(), leaveTimeout)
	defer cancel()
	s.cl.AllowRebalance()
	if err := s.cl.LeaveGroupContext(ctx); errors.Is(err, context.DeadlineExceeded) {
		// A rebalance holds the leave up. Tell the group ourselves, so
		// it need not wait for our session to time out, and end the
		// client's requests in flight.
		memberID, _ := s.cl.GroupMetadata()
		lerr := s.leaveDirectly(memberID)
		s.stopClient()
		s.logger.Warn("leaving the consumer group waited for a rebalance in progress; left without it",
			"waited", leaveTimeout, "member_id", memberID, "leave_error", lerr)
	}
	s.cl.Close()
	s.stopClient()
	s.admCl.Close()
}

// leaveDirectly sends a LeaveGroup for memberID on the admin client. A
// static member does not leave (its InstanceID holds its place for a
// restart), as kgo's own leave does not.
func (s *Source) leaveDirectly(memberID string) error {
	if memberID == "" || s.cfg.InstanceID != "" {
		return nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	req := kmsg.NewPtrLeaveGroupRequest()
	req.Group = s.cfg.Group
	m := kmsg.NewLeaveGroupRequestMember()
	m.MemberID = memberID
	m.Reason = kmsg.StringPtr("closing while a rebalance holds up leaving")
	req.Members = append(req.Members, m)
	resp, err := req.RequestWith(ctx, s.admCl)
	if err != nil {
		return err
	}
	if err := kerr.ErrorForCode(resp.ErrorCode); err != nil {
		return err
	}
	for _, m := range resp.Members {
		if err := kerr.ErrorForCode(m.ErrorCode); err != nil {
			return err
		}
	}
	return nil
}
