package check

import (
	"fmt"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/sessionize/sessionize/internal/event"
)

// Method notes, repeated in the JSON so a reader of it alone knows them.
const (
	DuplicatesMethod = "64-bit xxhash of (uuid, event_id); a collision would hide one duplicate, probability about n^2/2^65 for n distinct events"
	// LatenessExact and LatenessHistogram say how a Lateness's p50 and
	// p99 were found; max is always exact.
	LatenessExact     = "exact"
	LatenessHistogram = "histogram"
	PercentOf         = "every percent is of the records read (of the partition's records in a partition row)"
)

// Report is what a check found. Field meanings are in the package doc.
type Report struct {
	Source           SourceInfo       `json:"source"`
	Records          int64            `json:"records"`
	Valid            int64            `json:"valid"`
	Rejected         int64            `json:"rejected"`
	RejectedPct      float64          `json:"rejected_pct"`
	RejectedByReason map[string]int64 `json:"rejected_by_reason"`
	Duplicates       int64            `json:"duplicates"`
	DuplicatesPct    float64          `json:"duplicates_pct"`
	DuplicatesMethod string           `json:"duplicates_method"`
	EventTime        *TimeRange       `json:"event_time,omitempty"` // nil without valid records
	OutOfOrder       int64            `json:"out_of_order"`
	OutOfOrderPct    float64          `json:"out_of_order_pct"`
	Lateness         Lateness         `json:"lateness"`
	AllowedLateness  string           `json:"allowed_lateness"`
	AllowedLateMs    int64            `json:"allowed_lateness_ms"`
	Late             int64            `json:"late"` // at AllowedLateness
	LatePct          float64          `json:"late_pct"`
	LateBy           []LateAt         `json:"late_by_allowed_lateness"`
	Partitions       []PartitionStats `json:"partitions"`
	Users            int64            `json:"users"`
	// UsersOnSeveralPartitions (a topic only) counts users with events in
	// more than one partition: run splits their sessions.
	UsersOnSeveralPartitions *int64        `json:"users_on_several_partitions,omitempty"`
	EventsPerUser            Distribution  `json:"events_per_user"`
	ElapsedSeconds           float64       `json:"elapsed_seconds"`
	RecordsPerSecond         float64       `json:"records_per_second"`
	PercentOf                string        `json:"percent_of"`
	FailOn                   *FailOnResult `json:"fail_on,omitempty"`
	// Fields are the event schema the records were read with.
	Fields map[string]any `json:"fields"`
	// EventTimes counts implausible event times (event.TimeCheck).
	EventTimes event.TimeCheck `json:"event_times"`
	// Advice says what looks wrong and the likely fix (event.Advice).
	Advice []string `json:"advice,omitempty"`

	fields string // the schema, described for people
}

// SourceInfo says what was read.
type SourceInfo struct {
	Kind    string   `json:"kind"` // "files" or "kafka"
	Inputs  []string `json:"inputs,omitempty"`
	Servers []string `json:"servers,omitempty"`
	Topic   string   `json:"topic,omitempty"`
	// LastPerPartition is --last: only the last N offsets of each
	// partition were read (0: from the beginning).
	LastPerPartition int64 `json:"last_per_partition,omitempty"`
}

// TimeRange is the event-time range of the valid records.
type TimeRange struct {
	Min   string `json:"min"` // RFC 3339, UTC, ms
	Max   string `json:"max"`
	MinMs int64  `json:"min_ms"`
	MaxMs int64  `json:"max_ms"`
}

// Lateness summarises the lateness of the out-of-order records.
type Lateness struct {
	Count int64 `json:"count"` // out-of-order records
	P50Ms int64 `json:"p50_ms"`
	P99Ms int64 `json:"p99_ms"`
	MaxMs int64 `json:"max_ms"`
	// Method is "exact" (nearest rank over every value: at most 16,384
	// out-of-order records) or "histogram" (log-linear buckets: exact
	// under 128 ms, else within 0.8%).
	Method string `json:"method"`
}

// LateAt is how many records an allowed lateness would make late.
type LateAt struct {
	AllowedLateness string  `json:"allowed_lateness"`
	AllowedLateMs   int64   `json:"allowed_lateness_ms"`
	Late            int64   `json:"late"`
	LatePct         float64 `json:"late_pct"`
	Selected        bool    `json:"selected,omitempty"` // the --allowed-lateness value
}

// PartitionStats is one file or Kafka partition.
type PartitionStats struct {
	Name          string     `json:"name"`
	Partition     *int32     `json:"partition,omitempty"` // Kafka only
	Records       int64      `json:"records"`
	Valid         int64      `json:"valid"`
	Rejected      int64      `json:"rejected"`
	Duplicates    int64      `json:"duplicates"` // copies found in this source (of a first copy anywhere)
	EventTime     *TimeRange `json:"event_time,omitempty"`
	OutOfOrder    int64      `json:"out_of_order"`
	OutOfOrderPct float64    `json:"out_of_order_pct"`
	Lateness      Lateness   `json:"lateness"`
	Late          int64      `json:"late"`
	LatePct       float64    `json:"late_pct"`
	LateBy        []LateAt   `json:"late_by_allowed_lateness"`
}

// Distribution summarises a count per user.
type Distribution struct {
	Mean float64 `json:"mean"`
	P50  int64   `json:"p50"`
	P99  int64   `json:"p99"`
	Max  int64   `json:"max"`
}

func pctOf(n, of int64) float64 {
	if of == 0 {
		return 0
	}
	return float64(100*n) / float64(of)
}

func (r *Report) pct(n int64) float64 { return pctOf(n, r.Records) }

func timeRange(minMs, maxMs int64) *TimeRange {
	if minMs > maxMs {
		return nil
	}
	return &TimeRange{Min: rfc3339ms(minMs), Max: rfc3339ms(maxMs), MinMs: minMs, MaxMs: maxMs}
}

func rfc3339ms(ms int64) string {
	return time.UnixMilli(ms).UTC().Format("2006-01-02T15:04:05.000Z07:00")
}

func lateness(h *histogram) Lateness {
	m := LatenessHistogram
	if h.isExact() {
		m = LatenessExact
	}
	return Lateness{Count: h.n, P50Ms: h.quantile(0.5), P99Ms: h.quantile(0.99), MaxMs: h.max, Method: m}
}

// report builds the Report from what the analyzer has seen.
func (a *analyzer) report(info SourceInfo) *Report {
	allowedMs := a.opts.allowed().Milliseconds()
	sel := slices.Index(a.thresholds, allowedMs)
	r := &Report{
		Source:           info,
		RejectedByReason: map[string]int64{},
		DuplicatesMethod: DuplicatesMethod,
		AllowedLateness:  fmtDuration(a.opts.allowed()),
		AllowedLateMs:    allowedMs,
		PercentOf:        PercentOf,
		Partitions:       []PartitionStats{},
	}
	var all histogram
	var counts event.Counts
	var future int64
	lateBy := make([]int64, len(a.thresholds))
	minMs, maxMs := int64(math.MaxInt64), int64(math.MinInt64)
	for _, s := range a.sources {
		r.Records += s.records
		r.Valid += s.valid
		r.Duplicates += s.dups
		r.OutOfOrder += s.outOfOrder
		counts.Add(&s.rejected)
		future += s.future
		all.merge(&s.hist)
		for i, n := range s.late {
			lateBy[i] += n
		}
		minMs, maxMs = min(minMs, s.minMs), max(maxMs, s.maxMs)
		ps := PartitionStats{
			Name:          s.name,
			Records:       s.records,
			Valid:         s.valid,
			Rejected:      s.rejected.Rejected() + s.future,
			Duplicates:    s.dups,
			EventTime:     timeRange(s.minMs, s.maxMs),
			OutOfOrder:    s.outOfOrder,
			OutOfOrderPct: pctOf(s.outOfOrder, s.records),
			Lateness:      lateness(&s.hist),
			Late:          s.late[sel],
			LatePct:       pctOf(s.late[sel], s.records),
			LateBy:        a.lateAt(s.late, s.records, sel),
		}
		if s.partition >= 0 {
			p := s.partition
			ps.Partition = &p
		}
		r.Partitions = append(r.Partitions, ps)
	}
	r.RejectedByReason = counts.Map()
	if future > 0 {
		r.RejectedByReason[ReasonFutureTimestamp] = future
	}
	r.Rejected = counts.Rejected() + future
	r.RejectedPct = r.pct(r.Rejected)
	sch := *a.parser.Schema()
	r.Fields, r.fields, r.EventTimes = sch.FieldNames(), sch.Describe(), a.times
	r.Advice = event.Advice(sch, r.Records, r.RejectedByReason, &a.times, a.sampleRejected)
	r.DuplicatesPct = r.pct(r.Duplicates)
	r.EventTime = timeRange(minMs, maxMs)
	r.OutOfOrderPct = r.pct(r.OutOfOrder)
	r.Lateness = lateness(&all)
	r.Late = lateBy[sel]
	r.LatePct = r.pct(r.Late)
	r.LateBy = a.lateAt(lateBy, r.Records, sel)

	r.Users = int64(a.users.len())
	if a.users.where != nil {
		n := int64(a.users.several)
		r.UsersOnSeveralPartitions = &n
		if n > 0 {
			r.Advice = append(r.Advice, fmt.Sprintf("%d of the %d users have events in more than one partition (%q, for one): the records are not partitioned by user, "+
				"and run, which sessionizes each partition on its own, would split their sessions; key each record by its user (the value of %s), as sessionize produce does, "+
				"and Kafka keeps a user on one partition", n, r.Users, a.spreadUser, strings.Join(sch.UserNames(), "+")))
		}
	}
	if a.users.len() > 0 {
		per := make([]uint32, 0, a.users.len())
		var sum int64
		a.users.each(func(n uint32) {
			per = append(per, n)
			sum += int64(n)
		})
		slices.Sort(per)
		at := func(q float64) int64 {
			i := int(math.Ceil(q*float64(len(per))-1e-9)) - 1
			return int64(per[min(max(i, 0), len(per)-1)])
		}
		r.EventsPerUser = Distribution{Mean: float64(sum) / float64(len(per)), P50: at(0.5), P99: at(0.99), Max: int64(per[len(per)-1])}
	}
	el := time.Since(a.start)
	r.ElapsedSeconds = el.Seconds()
	if el > 0 {
		r.RecordsPerSecond = float64(r.Records) / el.Seconds()
	}
	r.FailOn = evaluate(r, a.opts.FailOn)
	return r
}

func (a *analyzer) lateAt(late []int64, records int64, sel int) []LateAt {
	out := make([]LateAt, len(a.thresholds))
	for i, th := range a.thresholds {
		out[i] = LateAt{
			AllowedLateness: fmtDuration(time.Duration(th) * time.Millisecond),
			AllowedLateMs:   th,
			Late:            late[i],
			LatePct:         pctOf(late[i], records),
			Selected:        i == sel,
		}
	}
	return out
}
