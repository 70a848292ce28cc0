package iceberg

import (
	"encoding/json"
	"fmt"
	"maps"
	"strconv"
	"strings"
)

// The sessionize.* snapshot-summary properties are how the tables record
// what their writers did: the streaming pipeline's Kafka progress, the
// batch runs that appended sessions, and every commit attempt's id. This
// file is their only definition, parser and encoder (see
// docs/commit-protocol.md for what they mean to the protocol).
const (
	// PropertyPrefix starts every property a sessionize writer owns.
	// Whoever makes a snapshot on top of another carries the parent's
	// properties with this prefix forward (see Carried).
	PropertyPrefix = "sessionize."

	// CommitIDProperty is the property every Commit adds: a fresh UUID per
	// attempt, so an attempt whose outcome was lost can be found in the
	// table's history. Never carried.
	CommitIDProperty = "sessionize.commit-id"

	// The pipeline's progress. Offsets, checkpoints and counters each
	// hold a JSON object keyed by Kafka partition number, for every
	// partition of the topic any instance has committed.
	propTopic       = "sessionize.topic"
	propGroup       = "sessionize.group"
	propWriter      = "sessionize.writer"
	propOffsets     = "sessionize.offsets"
	propCheckpoints = "sessionize.checkpoints"
	propCounters    = "sessionize.counters"
	// propSettled (events table): per partition, the watermark below
	// which the events of the records below its offset were placed in
	// their sessions, i.e. written (docs/commit-protocol.md).
	propSettled = "sessionize.settled"
	// propTopicPartitions is the most partitions any writer has seen the
	// topic have: a topic that has more now has grown, which moves users
	// between partitions (see pipeline's checkTopicGrowth).
	propTopicPartitions = "sessionize.topic-partitions"

	// propBatchRuns is the sessions table's record of every batch run
	// that appended to it (a JSON array of BatchRun, oldest first),
	// carried forward like the pipeline's progress. propBatchRun names
	// the run a snapshot wrote; never carried.
	propBatchRuns = "sessionize.batch.runs"
	propBatchRun  = "sessionize.batch.run"

	// MaintenanceActionProperty names the maintenance step that made a
	// snapshot ("compact", "rewrite-manifests"). It is deliberately
	// outside the sessionize.* prefix, so it is never carried forward.
	MaintenanceActionProperty = "maintenance.action"
)

// Counters are the cumulative outcome counts of a writer's records: per
// Kafka partition for the pipeline, per run for batch. They let the
// nothing-lost account be made from the tables alone: Records = InSessions
// + Duplicates + Late + Rejected + Open.
type Counters struct {
	Records    int64 `json:"records"`
	Rejected   int64 `json:"rejected"`
	Late       int64 `json:"late"`
	Duplicates int64 `json:"duplicates"`
	InSessions int64 `json:"in_sessions"`
	// Open: accepted events not yet in a committed session (the pipeline);
	// events carried to a --carry-open state file (batch).
	Open int64 `json:"open"`
}

// Holds reports whether the counters add up on their own.
func (c Counters) Holds() bool {
	return c.Records == c.InSessions+c.Duplicates+c.Late+c.Rejected+c.Open
}

// BatchRun is what the sessions table remembers of one batch
// --output-table run: enough to recognise the same run again, to find
// overlaps, and to account for its records.
type BatchRun struct {
	// ID identifies the run's inputs (by content) and the settings that
	// shape its output; the same ID means the same sessions.
	ID string `json:"id"`
	// CommittedMs is when the run committed (the writer's clock).
	CommittedMs int64 `json:"committed_ms"`
	// Inputs names the first few inputs, for people; InputCount is how
	// many there were.
	Inputs     []string `json:"inputs"`
	InputCount int      `json:"input_count"`
	// FromMs and ToMs are the earliest and latest session start the run
	// wrote (0, 0 if it wrote none).
	FromMs   int64 `json:"from_ms"`
	ToMs     int64 `json:"to_ms"`
	Sessions int64 `json:"sessions"`
	// Counters: Records are the records read plus the events resumed
	// from --resume (the run that carried them counted them as Open);
	// Late is always 0.
	Counters Counters `json:"counters"`
	// RejectedTo is the file the run wrote its rejected records to; ""
	// if it kept none. Batch rejects are not in rejected_events.
	RejectedTo string `json:"rejected_to,omitempty"`
	// Replaced, if the run was made with --replace-range, says what it
	// removed from the table in the same snapshot.
	Replaced *ReplacedRange `json:"replaced,omitempty"`
}

// ReplacedRange is a time window of session starts a batch run rewrote:
// the sessions starting in [FromMs, ToMs) that were in the table before.
type ReplacedRange struct {
	FromMs   int64 `json:"from_ms"`
	ToMs     int64 `json:"to_ms"`
	Sessions int64 `json:"sessions"`
	Events   int64 `json:"events"`
}

// Summary is what a snapshot's summary says about sessionize's writers.
type Summary struct {
	// The pipeline's progress (see docs/commit-protocol.md).
	Topic       string
	Group       string
	Writer      string
	Offsets     map[int32]int64
	Checkpoints map[int32]string
	Counters    map[int32]Counters
	// Settled is the events table's per-partition watermark (see
	// propSettled); math.MaxInt64 after a drain.
	Settled map[int32]int64
	// TopicPartitions is the most partitions a writer has seen the topic
	// have (0: not recorded, before this property).
	TopicPartitions int

	// BatchRuns are all batch runs that appended to the table, oldest
	// first; BatchRun is the ID of the one this snapshot wrote, if any.
	BatchRuns []BatchRun
	BatchRun  string

	// Other holds sessionize.* properties this version does not know,
	// carried forward unchanged.
	Other map[string]string
}

// ParseSummary reads the sessionize.* properties of a snapshot summary.
// The maps are never nil.
func ParseSummary(props map[string]string) (Summary, error) {
	s := Summary{Topic: props[propTopic], Group: props[propGroup], Writer: props[propWriter],
		BatchRun: props[propBatchRun], Other: map[string]string{}}
	var err error
	if s.Offsets, err = partitionMap[int64](props[propOffsets]); err != nil {
		return s, fmt.Errorf("snapshot property %s: %w", propOffsets, err)
	}
	if s.Checkpoints, err = partitionMap[string](props[propCheckpoints]); err != nil {
		return s, fmt.Errorf("snapshot property %s: %w", propCheckpoints, err)
	}
	if s.Counters, err = partitionMap[Counters](props[propCounters]); err != nil {
		return s, fmt.Errorf("snapshot property %s: %w", propCounters, err)
	}
	if s.Settled, err = partitionMap[int64](props[propSettled]); err != nil {
		return s, fmt.Errorf("snapshot property %s: %w", propSettled, err)
	}
	if raw := props[propTopicPartitions]; raw != "" {
		if s.TopicPartitions, err = strconv.Atoi(raw); err != nil || s.TopicPartitions < 0 {
			return s, fmt.Errorf("snapshot property %s: %q is not a partition count", propTopicPartitions, raw)
		}
	}
	if raw := props[propBatchRuns]; raw != "" {
		if err := json.Unmarshal([]byte(raw), &s.BatchRuns); err != nil {
			return s, fmt.Errorf("snapshot property %s: %w", propBatchRuns, err)
		}
	}
	for k, v := range props {
		if strings.HasPrefix(k, PropertyPrefix) && !known(k) {
			s.Other[k] = v
		}
	}
	return s, nil
}

func known(k string) bool {
	switch k {
	case CommitIDProperty, propTopic, propGroup, propWriter, propOffsets, propCheckpoints, propCounters, propSettled, propTopicPartitions,
		propBatchRuns, propBatchRun:
		return true
	}
	return false
}

// Properties encodes s as snapshot-summary properties (without a commit
// id, which Commit adds). Empty strings, maps and lists are left out.
func (s Summary) Properties() map[string]string {
	props := map[string]string{}
	maps.Copy(props, s.Other)
	for k, v := range map[string]string{propTopic: s.Topic, propGroup: s.Group, propWriter: s.Writer, propBatchRun: s.BatchRun} {
		if v != "" {
			props[k] = v
		}
	}
	if len(s.Offsets) > 0 {
		props[propOffsets] = encodeMap(s.Offsets)
	}
	if len(s.Checkpoints) > 0 {
		props[propCheckpoints] = encodeMap(s.Checkpoints)
	}
	if len(s.Counters) > 0 {
		props[propCounters] = encodeMap(s.Counters)
	}
	if len(s.Settled) > 0 {
		props[propSettled] = encodeMap(s.Settled)
	}
	if s.TopicPartitions > 0 {
		props[propTopicPartitions] = strconv.Itoa(s.TopicPartitions)
	}
	if len(s.BatchRuns) > 0 {
		b, _ := json.Marshal(s.BatchRuns) // plain values always marshal
		props[propBatchRuns] = string(b)
	}
	return props
}

// Carried returns the properties of a snapshot made on top of one with
// props: every sessionize.* property except those that describe that
// snapshot alone (its commit id, the batch run it wrote).
func Carried(props map[string]string) map[string]string {
	out := map[string]string{}
	for k, v := range props {
		if strings.HasPrefix(k, PropertyPrefix) && k != CommitIDProperty && k != propBatchRun {
			out[k] = v
		}
	}
	return out
}

// WrittenBatchRun returns the latest recorded run with id whose sessions
// are still in the table: no later run replaced a range they start in.
func (s Summary) WrittenBatchRun(id string) (BatchRun, bool) {
	for i := len(s.BatchRuns) - 1; i >= 0; i-- {
		r := s.BatchRuns[i]
		if r.ID != id {
			continue
		}
		for _, later := range s.BatchRuns[i+1:] {
			if rr := later.Replaced; rr != nil && r.Sessions > 0 && rr.FromMs <= r.ToMs && r.FromMs < rr.ToMs {
				return BatchRun{}, false
			}
		}
		return r, true
	}
	return BatchRun{}, false
}

func partitionMap[V any](s string) (map[int32]V, error) {
	out := map[int32]V{}
	if s == "" {
		return out, nil
	}
	var m map[string]V
	if err := json.Unmarshal([]byte(s), &m); err != nil {
		return nil, err
	}
	for k, v := range m {
		p, err := strconv.ParseInt(k, 10, 32)
		if err != nil {
			return nil, fmt.Errorf("partition key %q: %w", k, err)
		}
		out[int32(p)] = v
	}
	return out, nil
}

func encodeMap[V any](m map[int32]V) string {
	s := make(map[string]V, len(m))
	for k, v := range m {
		s[strconv.Itoa(int(k))] = v
	}
	b, _ := json.Marshal(s) // maps of plain values always marshal
	return string(b)
}
