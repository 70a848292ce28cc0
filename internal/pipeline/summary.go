package pipeline

import (
	"encoding/json"
	"fmt"
	"maps"
	"strconv"
)

// Snapshot summary properties written by the pipeline. Each holds a JSON
// object keyed by partition number, for every partition of the topic (see
// docs/commit-protocol.md).
const (
	propOffsets     = "sessionize.offsets"
	propCheckpoints = "sessionize.checkpoints"
	propCounters    = "sessionize.counters"
	propTopic       = "sessionize.topic"
	propGroup       = "sessionize.group"
	propWriter      = "sessionize.writer"
)

// progress is what a table's current snapshot says about the pipeline.
type progress struct {
	topic       string
	offsets     map[int32]int64
	checkpoints map[int32]string
	counters    map[int32]Counters
}

func parseProgress(summary map[string]string) (progress, error) {
	p := progress{topic: summary[propTopic]}
	var err error
	if p.offsets, err = partitionMap[int64](summary[propOffsets]); err != nil {
		return p, fmt.Errorf("snapshot property %s: %w", propOffsets, err)
	}
	if p.checkpoints, err = partitionMap[string](summary[propCheckpoints]); err != nil {
		return p, fmt.Errorf("snapshot property %s: %w", propCheckpoints, err)
	}
	if p.counters, err = partitionMap[Counters](summary[propCounters]); err != nil {
		return p, fmt.Errorf("snapshot property %s: %w", propCounters, err)
	}
	return p, nil
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

// merged returns the properties of a new snapshot on top of base: base's
// entries for every partition, overwritten by ours.
func (base progress) merged(ours progress) progress {
	out := progress{topic: ours.topic,
		offsets: maps.Clone(base.offsets), checkpoints: maps.Clone(base.checkpoints), counters: maps.Clone(base.counters)}
	maps.Copy(out.offsets, ours.offsets)
	maps.Copy(out.checkpoints, ours.checkpoints)
	maps.Copy(out.counters, ours.counters)
	return out
}

func (p progress) properties(group, writer string) map[string]string {
	props := map[string]string{
		propTopic:   p.topic,
		propGroup:   group,
		propWriter:  writer,
		propOffsets: encodeMap(p.offsets),
	}
	if len(p.checkpoints) > 0 {
		props[propCheckpoints] = encodeMap(p.checkpoints)
	}
	if len(p.counters) > 0 {
		props[propCounters] = encodeMap(p.counters)
	}
	return props
}
