// Package check is `sessionize check`: a data-quality report over event
// files or a Kafka topic, read once, that says what sessionize would make
// of the data before it runs.
//
// Definitions (all percentages are of records read):
//
//   - records: lines of the files (records of the topic); valid ones parse,
//     rejected ones are counted by the same reasons batch and run use
//     (internal/event), plus future_timestamp on a topic (an event more
//     than --max-future-skew ahead of its Kafka timestamp, as run rejects).
//   - duplicates: valid records whose (uuid, event_id) was seen before in
//     the whole input, as batch counts them. The set holds 64-bit xxhash
//     hashes of the pair, not the pair: with n distinct events the chance
//     that any two collide is about n²/2⁶⁵ (1e-7 for 10^6 events), so the
//     count is exact in practice but not by construction. Users are
//     counted by 64-bit hashes of uuid the same way.
//   - sources: every file (or stdin) and every Kafka partition is read in
//     order and treated on its own, as one partition of the stream: its
//     arrival order is the line (offset) order.
//   - running max: the highest event time of the valid, non-duplicate
//     events seen so far in the source. (run's watermark is this minus
//     the allowed lateness.)
//   - out of order: a valid record whose event time is below the running
//     max; its lateness is running max - event time, in ms.
//   - late at L: a valid record (duplicates included, as run checks
//     lateness before duplicates) whose lateness is strictly greater than
//     L: run with --allowed-lateness L sends it to late_events. Exactly L
//     behind is on time.
//   - lateness p50/p99 are over the out-of-order records (nearest rank).
//     They are exact while a source (or the total) has at most 16,384
//     out-of-order records; past that they come from a log-linear
//     histogram (every value under 128 ms exact, above that 128 buckets
//     per power of two: within 0.8%). Max is always exact.
//   - users: distinct uuids of valid records; events per user counts a
//     user's valid, non-duplicate records (exact quantiles).
//
// One goroutine does the work (a second one decompresses gzip input).
// Memory is the hash set: 11 to 21 bytes per distinct event, 12 to 24 per
// user.
//
// What this can differ from run in: run deduplicates only against events
// of sessions still open, and an event that was late the first time is not
// remembered, so a copy with another (later) timestamp may move run's
// watermark where check's running max (which ignores all copies) does not.
// Copies with the same timestamp, the usual redelivery, behave the same.
package check

import (
	"bytes"
	"encoding/binary"
	"io"
	"math"
	"slices"
	"time"

	"github.com/cespare/xxhash/v2"

	"github.com/sessionize/sessionize/internal/decode"
	"github.com/sessionize/sessionize/internal/event"
)

// Defaults.
const (
	DefaultAllowedLateness = 10 * time.Minute
	DefaultMaxFutureSkew   = time.Hour
	// ReasonFutureTimestamp is run's rejection of an event too far ahead
	// of its Kafka timestamp (pipeline.ReasonFutureTimestamp).
	ReasonFutureTimestamp = event.FutureTimestamp
)

// DefaultCandidates are the allowed lateness values the report always
// gives a late count for, besides Options.AllowedLateness.
var DefaultCandidates = []time.Duration{time.Minute, 5 * time.Minute, 10 * time.Minute, 30 * time.Minute, time.Hour}

// Options configure a check.
type Options struct {
	// AllowedLateness is the value the late count (and --fail-on late)
	// is for; 0 means DefaultAllowedLateness unless AllowedLatenessSet.
	AllowedLateness    time.Duration
	AllowedLatenessSet bool
	// Candidates are more values to count late events for (nil:
	// DefaultCandidates).
	Candidates []time.Duration
	// MaxRecordBytes: longer records are rejected as line_too_long
	// (<= 0: event.DefaultMaxRecordBytes).
	MaxRecordBytes int
	// Schema says where records keep the user, event id, time and page
	// (zero: event.DefaultSchema).
	Schema event.Schema
	// MaxFutureSkew: on a topic, events further ahead of their Kafka
	// timestamp are rejected as future_timestamp (<= 0: DefaultMaxFutureSkew).
	MaxFutureSkew time.Duration
	// Progress, if set, gets a status line redrawn twice a second once
	// the check has run for a second (pass a terminal).
	Progress io.Writer
	// FailOn conditions are evaluated into Report.FailOn.
	FailOn []Condition
}

func (o *Options) allowed() time.Duration {
	if o.AllowedLateness == 0 && !o.AllowedLatenessSet {
		return DefaultAllowedLateness
	}
	return o.AllowedLateness
}

// source is one file or partition: read in order, with its own running max.
type source struct {
	name      string
	partition int32 // -1 for files

	records, valid, dups, outOfOrder, future int64
	rejected                                 event.Counts
	runMax                                   int64 // running max of valid non-duplicates
	minMs, maxMs                             int64 // event-time range of valid records
	refMs                                    int64 // the file's modification time (0: none), for event.TimeCheck
	hist                                     histogram
	late                                     []int64 // per analyzer threshold
}

// analyzer accumulates one check. It is not safe for concurrent use.
type analyzer struct {
	opts       Options
	parser     *event.Parser
	values     decode.Decoder // Kafka record values (JSON or Avro); set by CheckTopic
	fields     event.Fields
	thresholds []int64 // ms, ascending, distinct
	futureMs   int64

	times          event.TimeCheck
	sampleRejected []byte // the first rejected record, for the advice

	seen  *hashSet    // hashes of (uuid, event_id)
	users *hashCounts // hash of uuid -> distinct events (and, for a topic, its partitions)
	// spreadUser is the first user found in two partitions of a topic.
	spreadUser string
	scratch    []byte

	sources []*source
	start   time.Time
	prog    *progress
}

func newAnalyzer(opts Options) *analyzer {
	cands := opts.Candidates
	if cands == nil {
		cands = DefaultCandidates
	}
	th := []int64{opts.allowed().Milliseconds()}
	for _, c := range cands {
		th = append(th, c.Milliseconds())
	}
	slices.Sort(th)
	th = slices.Compact(th)
	future := opts.MaxFutureSkew
	if future <= 0 {
		future = DefaultMaxFutureSkew
	}
	return &analyzer{
		opts:       opts,
		parser:     event.NewParser(opts.Schema, opts.MaxRecordBytes),
		thresholds: th,
		futureMs:   future.Milliseconds(),
		seen:       newHashSet(),
		users:      newHashCounts(),
		start:      time.Now(),
		prog:       newProgress(opts.Progress),
	}
}

func (a *analyzer) newSource(name string, partition int32) *source {
	s := &source{name: name, partition: partition, runMax: math.MinInt64,
		minMs: math.MaxInt64, maxMs: math.MinInt64, late: make([]int64, len(a.thresholds))}
	a.sources = append(a.sources, s)
	return s
}

// record takes one raw record of s, without its line end.
func (a *analyzer) record(s *source, rec []byte) {
	s.records++
	if r := a.parser.Parse(rec, &a.fields); r != event.OK {
		a.reject(s, r, rec)
		return
	}
	a.times.Observe(a.fields.TimestampMs, s.refMs)
	a.event(s, &a.fields)
}

// kafkaRecord takes one Kafka record of s with its timestamp.
func (a *analyzer) kafkaRecord(s *source, rec []byte, kafkaTsMs int64) {
	s.records++
	f := &a.fields
	if r := a.values.Parse(rec, f); r != event.OK {
		a.reject(s, r, rec)
		return
	}
	if f.TimestampMs > kafkaTsMs+a.futureMs {
		s.future++ // rejected as future_timestamp, as run does
		return
	}
	a.times.Observe(f.TimestampMs, kafkaTsMs)
	a.event(s, f)
}

func (a *analyzer) reject(s *source, r event.Reason, rec []byte) {
	s.rejected[r]++
	if a.sampleRejected == nil {
		a.sampleRejected = bytes.Clone(rec)
	}
}

func (a *analyzer) event(s *source, f *event.Fields) {
	s.valid++
	t := f.TimestampMs
	s.minMs = min(s.minMs, t)
	s.maxMs = max(s.maxMs, t)
	if t < s.runMax {
		lat := s.runMax - t
		s.outOfOrder++
		s.hist.add(lat)
		for i, th := range a.thresholds {
			if lat <= th {
				break
			}
			s.late[i]++
		}
	}
	b := binary.AppendUvarint(a.scratch[:0], uint64(len(f.UUID)))
	b = append(b, f.UUID...)
	b = append(b, f.EventID...)
	a.scratch = b
	if !a.seen.add(xxhash.Sum64(b)) {
		s.dups++
		return
	}
	if uh := xxhash.Sum64(f.UUID); s.partition < 0 {
		a.users.inc(uh)
	} else if a.users.incAt(uh, s.partition) && a.spreadUser == "" {
		a.spreadUser = string(f.UUID)
	}
	if t > s.runMax {
		s.runMax = t
	}
}

// tick is called every few thousand records for the progress line.
func (a *analyzer) tick(bytesRead, bytesTotal int64) {
	if a.prog == nil {
		return
	}
	var n int64
	for _, s := range a.sources {
		n += s.records
	}
	a.prog.update(n, bytesRead, bytesTotal, a.start)
}
