// Package pipeline is the streaming job: Kafka records in, through the
// parser and one session engine per partition, to Iceberg tables, committed
// exactly once (see docs/commit-protocol.md).
package pipeline

import (
	"math"
	"slices"
	"time"
	"unsafe"

	"github.com/sessionize/sessionize/internal/decode"
	"github.com/sessionize/sessionize/internal/event"
	"github.com/sessionize/sessionize/internal/iceberg"
	"github.com/sessionize/sessionize/internal/metrics"
	"github.com/sessionize/sessionize/internal/rule"
	"github.com/sessionize/sessionize/internal/session"
)

// Record is one Kafka record as the pipeline needs it.
type Record struct {
	Partition   int32
	Offset      int64
	TimestampMs int64 // Kafka record timestamp
	Key, Value  []byte
}

// ReasonFutureTimestamp rejects events whose time is too far ahead of their
// Kafka timestamp: one bad clock must not push the watermark forward and
// make every honest event late.
const ReasonFutureTimestamp = event.FutureTimestamp

// LateRow is a late event for the late_events table.
type LateRow struct {
	Partition     int32
	Offset        int64
	KafkaTsMs     int64
	WatermarkMs   int64
	UUID, EventID string
	EventTimeMs   int64
	Raw           []byte
}

// RejectedRow is a rejected record for the rejected_events table.
type RejectedRow struct {
	Partition   int32
	Offset      int64
	KafkaTsMs   int64
	WatermarkMs int64 // math.MinInt64 before the partition's first event
	Reason      string
	Raw         []byte
}

// Counters are a partition's cumulative outcome counts; they travel in
// checkpoints and snapshot summaries so the nothing-lost account can be
// made from the tables alone.
type Counters = iceberg.Counters

// partition is the pipeline's state for one Kafka partition: the engine,
// the next offset to read, and the rows produced since the last commit.
type partition struct {
	id     int32
	stream *session.Stream
	next   int64 // next offset to process
	// Rows of records below these offsets are already in their tables
	// (committed before a crash); replay must not write them again.
	lateDone, rejectedDone int64

	// A restored stream keeps the dedup bound it was checkpointed with
	// while replaying records whose late rows are committed already (they
	// must come out late again); the configured one applies from
	// dedupFrom on.
	nextDedup *session.Dedup
	dedupFrom int64

	rejectedCount int64
	rejectedBy    map[string]int64 // since the process started, for metrics
	reported      Counters         // counters last handed to metrics
	reportedEarly int64            // DedupStats.EvictedEarly last handed to metrics
	sessions      []session.Session
	// closedAtMs[i] is the Kafka timestamp of the newest record read when
	// sessions[i] closed: when it became final, for the close-to-visible
	// latency.
	closedAtMs    []int64
	lastKafkaTsMs int64
	pages         []string // backing for sessions' Pages
	late          []LateRow
	rejected      []RejectedRow
	maxFutureMs   int64

	// Event-level output (nil events: off). An event is written when the
	// Stream folds it into its session; the events table holds every
	// event of the records below eventsDone whose time is below
	// eventsSettled (docs/commit-protocol.md), so replay skips those.
	events                    *[]iceberg.EventRow
	eventsDone, eventsSettled int64
	drained                   bool // a Drain placed every event

	// replayTo, while positive, is the sessions table's offset for this
	// partition, beyond the checkpoint it was restored from: the records
	// up to it are read again only to rebuild the state, and what they
	// close was committed already (replay.go).
	replayTo int64
	// ckptURI is the checkpoint file holding this partition's state as
	// of offset ckptNext, the one its commits name ("" before the first);
	// ckptAt is when that state was taken (zero: before this process),
	// ckptBytes about its share of the file.
	ckptURI   string
	ckptNext  int64
	ckptAt    time.Time
	ckptBytes int

	parser  decode.Decoder // this partition's own: partitions are processed concurrently
	marker  *rule.Marker   // the boundary rules (nil if none); its own too
	attrBuf []byte         // the rules' attribute input of the record in hand
	// fields is the record in hand's parse: a local would escape to the
	// heap (Parse is an interface call), one allocation per record.
	fields event.Fields

	check inputCheck // for the advice (advice.go)
}

func newPartition(id int32, stream *session.Stream, next, lateDone, rejectedDone int64, maxFuture time.Duration) *partition {
	return &partition{id: id, stream: stream, next: next, lateDone: lateDone, rejectedDone: rejectedDone, maxFutureMs: maxFuture.Milliseconds()}
}

// tagEvents turns event-level output on; done and settled are the events
// table's progress for this partition.
func (p *partition) tagEvents(done, settled int64) {
	p.events = new([]iceberg.EventRow)
	p.eventsDone, p.eventsSettled = done, settled
	p.stream.TagEvents(p.collectEvent)
}

func (p *partition) collectEvent(e *session.TaggedEvent) {
	if int64(e.Seq) < p.eventsDone && e.TimeMs < p.eventsSettled {
		return // committed before a crash; this is the replay
	}
	*p.events = append(*p.events, iceberg.EventRow{SessionID: e.SessionID(), EventIndex: e.Index,
		SessionStartTimeMs: e.SessionStartMs, UUID: e.UUID, EventID: e.ID, EventTimestampMs: e.TimeMs, PageName: e.Page,
		Raw: e.Raw, Partition: p.id, Offset: int64(e.Seq)})
}

// eventsProgress is the events table's progress once this partition's
// events so far are in it: every event of the records below next whose
// time is below the watermark has been placed (Advance runs after every
// batch of records, and before every commit), all of them after a drain.
// It never moves back, so it still covers what a crashed commit wrote
// ahead of the sessions table.
func (p *partition) eventsProgress() (offset, settled int64) {
	w := p.stream.Watermark()
	if p.drained {
		w = math.MaxInt64
	}
	return max(p.next, p.eventsDone), max(w, p.eventsSettled)
}

// setDedup applies the configured dedup bound d to a stream restored from
// a checkpoint: at once if it is the checkpoint's, or if the replay has no
// committed late (or event) rows to reproduce, else from the offset
// below which they are committed on.
func (p *partition) setDedup(d session.Dedup) {
	horizon := p.lateDone
	if p.events != nil {
		horizon = max(horizon, p.eventsDone)
	}
	if p.stream.Dedup() == d || p.next >= horizon {
		p.stream.SetDedup(d)
		return
	}
	p.nextDedup, p.dedupFrom = &d, horizon
}

// process takes one record: reject, late, duplicate or into the engine,
// marked by the boundary rules.
func (p *partition) process(r *Record) {
	if r.Offset < p.next {
		return // a redelivery below what we have processed
	}
	if p.replayTo > 0 && r.Offset >= p.replayTo {
		p.endReplay()
	}
	if p.nextDedup != nil && r.Offset >= p.dedupFrom {
		p.stream.SetDedup(*p.nextDedup)
		p.nextDedup = nil
	}
	p.next = r.Offset + 1
	p.lastKafkaTsMs = max(p.lastKafkaTsMs, r.TimestampMs)
	p.check.records++
	f := &p.fields
	*f = event.Fields{}
	reason := p.parser.Parse(r.Value, f)
	var why string
	switch {
	case reason != event.OK:
		why = reason.String()
	case f.TimestampMs > r.TimestampMs+p.maxFutureMs:
		why = ReasonFutureTimestamp
	}
	if why == "" {
		p.check.times.Observe(f.TimestampMs, r.TimestampMs)
		p.check.users.observe(r.Offset, f.UUID, r.Key)
	} else {
		p.check.reject(why, r.Value)
	}
	if why != "" {
		p.rejectedCount++
		if p.rejectedBy == nil {
			p.rejectedBy = map[string]int64{}
		}
		p.rejectedBy[why]++
		if r.Offset >= p.rejectedDone {
			p.rejected = append(p.rejected, RejectedRow{Partition: p.id, Offset: r.Offset, KafkaTsMs: r.TimestampMs,
				WatermarkMs: p.stream.Watermark(), Reason: why, Raw: append([]byte(nil), r.Value...)})
		}
		return
	}
	wm := p.stream.Watermark()
	// Views, not copies: Stream.Add copies what it keeps, and these
	// three (four with the rules' attributes) allocations a record were
	// garbage right after it, a large part of the collector's work.
	ev := session.Event{TimeMs: f.TimestampMs, Seq: uint64(r.Offset), ID: view(f.EventID), Page: view(f.PageName)}
	if p.events != nil {
		ev.Raw = view(r.Value)
	}
	ev.Mark, p.attrBuf = p.marker.Eval(f.Extra, p.attrBuf[:0])
	ev.Attrs = view(p.attrBuf)
	if p.stream.Add(view(f.UUID), &ev) == session.Late && r.Offset >= p.lateDone {
		p.late = append(p.late, LateRow{Partition: p.id, Offset: r.Offset, KafkaTsMs: r.TimestampMs, WatermarkMs: wm,
			UUID: string(f.UUID), EventID: string(f.EventID), EventTimeMs: f.TimestampMs, Raw: append([]byte(nil), r.Value...)})
	}
	if p.stream.AdvanceDue() {
		// Within a poll batch too (one can span hours of event time):
		// what it emits is what the batch's closing Advance would have
		// (while replaying, sessions the tables have; see endReplay).
		p.advance()
	}
}

// advance closes the sessions the watermark has passed.
func (p *partition) advance() { p.stream.Advance(p.collect) }

// drain closes every open session as of endMs.
func (p *partition) drain(endMs int64) {
	p.stream.Drain(endMs, p.collect)
	p.drained = true
}

func (p *partition) collect(s *session.Session) {
	if p.replayTo > 0 {
		return // closed before the committed offset: in the table already
	}
	start := len(p.pages)
	p.pages = append(p.pages, s.Pages...)
	c := *s
	c.Pages = p.pages[start:len(p.pages):len(p.pages)]
	c.Attrs = slices.Clone(s.Attrs)
	p.sessions = append(p.sessions, c)
	p.closedAtMs = append(p.closedAtMs, p.lastKafkaTsMs)
}

// observe hands the outcomes since the last call to m.
func (p *partition) observe(m *metrics.Pipeline) {
	if m == nil || p.replayTo > 0 {
		return // a replay's records were counted by whoever read them first
	}
	c := p.counters()
	m.AddRecords("consumed", "", c.Records-p.reported.Records)
	m.AddRecords("duplicate", "", c.Duplicates-p.reported.Duplicates)
	m.AddRecords("late", "", c.Late-p.reported.Late)
	m.AddRecords("in_session", "", c.InSessions-p.reported.InSessions)
	for reason, n := range p.rejectedBy {
		m.AddRecords("rejected", reason, n)
	}
	clear(p.rejectedBy)
	p.reported = c
	d := p.stream.DedupStats()
	m.SetDedup(p.id, d.Keys, d.Bytes, d.EvictedEarly-p.reportedEarly)
	p.reportedEarly = d.EvictedEarly
}

// counters is the partition's account so far.
func (p *partition) counters() Counters {
	st := p.stream.Stats()
	return Counters{
		Records:    st.Accepted + st.Duplicates + st.Late + p.rejectedCount,
		Rejected:   p.rejectedCount,
		Late:       st.Late,
		Duplicates: st.Duplicates,
		InSessions: st.SessionEvents,
		Open:       st.Accepted - st.SessionEvents,
	}
}

// takeOutput hands over the rows since the last call.
func (p *partition) takeOutput() ([]session.Session, []int64, []LateRow, []RejectedRow) {
	s, c, l, r := p.sessions, p.closedAtMs, p.late, p.rejected
	// The next commit's output is likely as large as this one's: growing
	// it from nothing by appends copied it about twice over.
	p.sessions = make([]session.Session, 0, len(s))
	p.closedAtMs = make([]int64, 0, len(c))
	p.pages = make([]string, 0, len(p.pages))
	p.late, p.rejected = nil, nil
	return s, c, l, r
}

// takeEvents hands over the event rows since the last call (nil if off).
func (p *partition) takeEvents() []iceberg.EventRow {
	if p.events == nil {
		return nil
	}
	e := *p.events
	*p.events = nil
	return e
}

// view is b's bytes as a string, without a copy. Only for handing a
// record's fields to session.Stream.Add, which keeps none of its strings
// (it copies what it holds): the string is valid only while b is
// unchanged.
func view(b []byte) string { return unsafe.String(unsafe.SliceData(b), len(b)) }
