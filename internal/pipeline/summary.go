package pipeline

import (
	"maps"

	"github.com/sessionize/sessionize/internal/iceberg"
)

// progress is what a table's current snapshot says about the pipeline. The
// properties, their names and encoding belong to iceberg.Summary; this is
// the pipeline's working view of them.
type progress struct {
	topic       string
	offsets     map[int32]int64
	checkpoints map[int32]string
	counters    map[int32]Counters
	settled     map[int32]int64 // events table only
	// partitions is the most partitions a writer has seen the topic have
	// (0: unknown).
	partitions int
	// carried is the rest of the snapshot's summary (batch runs, properties
	// of newer versions), which every commit carries forward unchanged.
	carried iceberg.Summary
}

func parseProgress(summary map[string]string) (progress, error) {
	s, err := iceberg.ParseSummary(summary)
	if err != nil {
		return progress{}, err
	}
	return progress{topic: s.Topic, offsets: s.Offsets, checkpoints: s.Checkpoints, counters: s.Counters, settled: s.Settled, partitions: s.TopicPartitions, carried: s}, nil
}

// merged returns the properties of a new snapshot on top of base: base's
// entries for every partition, overwritten by ours.
func (base progress) merged(ours progress) progress {
	out := progress{topic: ours.topic, carried: base.carried,
		offsets: maps.Clone(base.offsets), checkpoints: maps.Clone(base.checkpoints), counters: maps.Clone(base.counters),
		settled: maps.Clone(base.settled), partitions: max(base.partitions, ours.partitions)}
	if out.offsets == nil {
		out.offsets = map[int32]int64{}
	}
	maps.Copy(out.offsets, ours.offsets)
	if len(ours.checkpoints) > 0 && out.checkpoints == nil {
		out.checkpoints = map[int32]string{}
	}
	maps.Copy(out.checkpoints, ours.checkpoints)
	if len(ours.counters) > 0 && out.counters == nil {
		out.counters = map[int32]Counters{}
	}
	maps.Copy(out.counters, ours.counters)
	if len(ours.settled) > 0 && out.settled == nil {
		out.settled = map[int32]int64{}
	}
	maps.Copy(out.settled, ours.settled)
	return out
}

func (p progress) properties(group, writer string) map[string]string {
	s := p.carried
	s.Topic, s.Group, s.Writer = p.topic, group, writer
	s.Offsets, s.Checkpoints, s.Counters, s.Settled = p.offsets, p.checkpoints, p.counters, p.settled
	s.TopicPartitions = p.partitions
	s.BatchRun = "" // names the batch run of one snapshot only
	return s.Properties()
}
