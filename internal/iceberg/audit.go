package iceberg

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"
)

// Account is the nothing-lost account of a warehouse, made from the tables
// alone: rows in the three tables plus the counters the writers keep in
// the sessions table's snapshot summary, the streaming pipeline's per Kafka
// partition and each batch run's.
type Account struct {
	// Records the writers consumed: Kafka records (the pipeline), records
	// read plus events resumed (batch).
	Records    int64
	Sessions   int64 // rows in sessions
	InSessions int64 // sum of event_count
	Duplicates int64
	Late       int64 // rows in late_events
	Rejected   int64 // rows in rejected_events
	// RejectedNotInTable are batch runs' rejected records: they went to
	// each run's --rejected file (or nowhere), never to rejected_events.
	RejectedNotInTable int64
	// LateNotInTable are the events of batch --resume runs older than the
	// resumed run's end: listed in each run's --rejected file as late,
	// never in late_events.
	LateNotInTable int64
	Open           int64 // events in sessions still open at the pipeline's last commit
	Carried        int64 // events batch runs carried to a --carry-open state file
	// Replaced are the events of sessions that a batch --replace-range
	// removed from the table on purpose.
	Replaced  int64
	BatchRuns int
}

// Holds reports whether every consumed record is accounted for.
func (a Account) Holds() bool {
	return a.Records == a.InSessions+a.Duplicates+a.Late+a.Rejected+a.RejectedNotInTable+a.LateNotInTable+a.Open+a.Carried+a.Replaced
}

func (a Account) String() string {
	verdict := "OK"
	if !a.Holds() {
		verdict = "DOES NOT ADD UP"
	}
	var b strings.Builder
	fmt.Fprintf(&b, "records %d = in sessions %d + duplicates %d + late %d + rejected %d",
		a.Records, a.InSessions, a.Duplicates, a.Late, a.Rejected)
	for _, extra := range []struct {
		n    int64
		what string
	}{
		{a.RejectedNotInTable, "rejected by batch (not in the table)"},
		{a.LateNotInTable, "late in batch --resume (not in the table)"},
		{a.Open, "still open"},
		{a.Carried, "carried open by batch"},
		{a.Replaced, "replaced"},
	} {
		if extra.n > 0 {
			fmt.Fprintf(&b, " + %s %d", extra.what, extra.n)
		}
	}
	fmt.Fprintf(&b, ": %s", verdict)
	return b.String()
}

// PartitionAudit is one Kafka partition's line of the audit.
type PartitionAudit struct {
	Partition      int32    `json:"partition"`
	SessionsOffset *int64   `json:"sessions_offset"`
	LateOffset     *int64   `json:"late_offset"`
	RejectedOffset *int64   `json:"rejected_offset"`
	Counters       Counters `json:"counters"`
	LateRows       int64    `json:"late_rows"`
	RejectedRows   int64    `json:"rejected_rows"`
	// EndOffset and Behind are set by CheckTopicEnds: the partition's end
	// in Kafka, and how many records below it the sessions table has not
	// committed.
	EndOffset *int64   `json:"end_offset,omitempty"`
	Behind    int64    `json:"behind,omitempty"`
	Problems  []string `json:"problems,omitempty"`
}

// Audit is the whole audit of a warehouse.
type Audit struct {
	Account Account `json:"account"`
	Holds   bool    `json:"holds"`
	// Topic is the Kafka topic the pipeline wrote from ("" if it never
	// committed).
	Topic      string           `json:"topic,omitempty"`
	Partitions []PartitionAudit `json:"partitions"`
	BatchRuns  []BatchRun       `json:"batch_runs,omitempty"`
	// TopicChecked says whether CheckTopicEnds compared the offsets with
	// the topic's ends; without it a run that stopped early looks
	// complete.
	TopicChecked bool `json:"topic_checked"`
	OK           bool `json:"ok"`
}

// Audit makes the account of the warehouse and checks, per Kafka
// partition, the late_events and rejected_events rows against the
// pipeline's counters.
func (w *Warehouse) Audit(ctx context.Context) (Audit, error) {
	ctx = w.ioContext(ctx)
	var rep Audit
	parts := map[int32]*PartitionAudit{}
	part := func(p int32) *PartitionAudit {
		if parts[p] == nil {
			parts[p] = &PartitionAudit{Partition: p}
		}
		return parts[p]
	}
	var a Account
	for _, table := range TableNames() {
		snap, ok, err := w.Current(ctx, table)
		if err != nil {
			return rep, err
		}
		if !ok {
			continue
		}
		sum, err := ParseSummary(snap.Summary)
		if err != nil {
			return rep, fmt.Errorf("table %s snapshot %d: %w", table, snap.ID, err)
		}
		for p, off := range sum.Offsets {
			switch table {
			case TableSessions:
				part(p).SessionsOffset = &off
			case TableLate:
				part(p).LateOffset = &off
			case TableRejected:
				part(p).RejectedOffset = &off
			}
		}
		if table != TableSessions {
			continue
		}
		rep.Topic = sum.Topic
		for p, c := range sum.Counters {
			part(p).Counters = c
			a.Records += c.Records
			a.Duplicates += c.Duplicates
			a.Open += c.Open
		}
		rep.BatchRuns = sum.BatchRuns
		for _, r := range sum.BatchRuns {
			a.BatchRuns++
			a.Records += r.Counters.Records
			a.Duplicates += r.Counters.Duplicates
			a.RejectedNotInTable += r.Counters.Rejected
			a.LateNotInTable += r.Counters.Late
			a.Carried += r.Counters.Open
			if r.Replaced != nil {
				a.Replaced += r.Replaced.Events
			}
		}
	}
	var err error
	if a.Sessions, a.InSessions, err = w.SessionTotals(ctx); err != nil {
		return rep, err
	}
	late, err := w.RowsByPartition(ctx, TableLate)
	if err != nil {
		return rep, err
	}
	rejected, err := w.RowsByPartition(ctx, TableRejected)
	if err != nil {
		return rep, err
	}
	for p, n := range late {
		part(p).LateRows = n
		a.Late += n
	}
	for p, n := range rejected {
		part(p).RejectedRows = n
		a.Rejected += n
	}
	rep.Account, rep.Holds = a, a.Holds()

	rep.OK = rep.Holds
	for _, p := range slices.Sorted(maps.Keys(parts)) {
		pa := parts[p]
		c := pa.Counters
		if !c.Holds() {
			pa.Problems = append(pa.Problems, fmt.Sprintf("counters: records %d != in sessions %d + duplicates %d + late %d + rejected %d + open %d",
				c.Records, c.InSessions, c.Duplicates, c.Late, c.Rejected, c.Open))
		}
		pa.Problems = append(pa.Problems, checkRows("late_events", pa.LateRows, c.Late, pa.LateOffset, pa.SessionsOffset)...)
		pa.Problems = append(pa.Problems, checkRows("rejected_events", pa.RejectedRows, c.Rejected, pa.RejectedOffset, pa.SessionsOffset)...)
		if len(pa.Problems) > 0 {
			rep.OK = false
		}
		rep.Partitions = append(rep.Partitions, *pa)
	}
	return rep, nil
}

// checkRows compares a table's rows of one partition with the counter:
// equal when the table's offset is the sessions table's; more rows are
// fine when it is ahead (committed before a crash, before sessions).
func checkRows(table string, rows, counted int64, offset, sessionsOffset *int64) []string {
	switch {
	case rows == counted:
		return nil
	case rows > counted && offset != nil && sessionsOffset != nil && *offset > *sessionsOffset:
		return nil
	case rows > counted:
		return []string{fmt.Sprintf("%s has %d rows, the counters say %d", table, rows, counted)}
	default:
		return []string{fmt.Sprintf("%s has %d rows, fewer than the %d the counters say", table, rows, counted)}
	}
}

// CheckTopicEnds compares the sessions table's committed offset of every
// partition of the topic with the partition's end (ends: partition ->
// last stable offset, from Kafka). A partition committed below its end,
// or not at all while it has records, is behind, and the audit is not OK:
// the tables hold only part of the topic.
func (a *Audit) CheckTopicEnds(ends map[int32]int64) {
	a.TopicChecked = true
	byPartition := map[int32]int{}
	for i := range a.Partitions {
		byPartition[a.Partitions[i].Partition] = i
	}
	for _, p := range slices.Sorted(maps.Keys(ends)) {
		end := ends[p]
		i, ok := byPartition[p]
		if !ok {
			a.Partitions = append(a.Partitions, PartitionAudit{Partition: p})
			i = len(a.Partitions) - 1
		}
		pa := &a.Partitions[i]
		pa.EndOffset = &end
		committed := int64(0)
		if pa.SessionsOffset != nil {
			committed = *pa.SessionsOffset
		}
		if committed >= end {
			continue
		}
		pa.Behind = end - committed
		what := fmt.Sprintf("committed up to offset %d", committed)
		if pa.SessionsOffset == nil {
			what = "nothing committed"
		}
		pa.Problems = append(pa.Problems, fmt.Sprintf("behind the topic: %s, the partition ends at %d: %d records not in the tables",
			what, end, pa.Behind))
		a.OK = false
	}
	slices.SortFunc(a.Partitions, func(x, y PartitionAudit) int { return int(x.Partition) - int(y.Partition) })
}
