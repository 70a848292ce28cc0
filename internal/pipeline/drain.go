package pipeline

import (
	"context"
	"fmt"
	"math"

	"github.com/sessionize/sessionize/internal/iceberg"
)

// drainEnd is the event time a drain at stop closes sessions as of: the
// latest seen over every partition of the topic, as batch takes the latest
// of its whole input (see session.Stream.Drain). Our own partitions say it
// from memory; the others (held by other members, or by nobody now) from
// the checkpoints the sessions table names for them. Without those, a
// member holding only some partitions would end as end_of_input sessions
// that batch, seeing a later event in another partition, ends by
// inactivity or max duration: the tables would depend on who held what
// at the stop.
func (p *Pipeline) drainEnd(ctx context.Context) (int64, error) {
	endMs := int64(math.MinInt64)
	for _, part := range p.parts {
		endMs = max(endMs, part.stream.MaxSeenMs())
	}
	others, err := retryOp(ctx, p, "read the other partitions' checkpoints", func(ctx context.Context) (int64, error) {
		return p.othersMaxSeenMs(ctx)
	})
	if err != nil {
		return 0, err
	}
	return max(endMs, others), nil
}

// othersMaxSeenMs is the latest event time the committed checkpoints of
// the partitions we do not own have seen.
func (p *Pipeline) othersMaxSeenMs(ctx context.Context) (int64, error) {
	sess, _, err := p.current(ctx, iceberg.TableSessions)
	if err != nil {
		return 0, err
	}
	endMs := int64(math.MinInt64)
	files := map[string]map[int32]partitionCheckpoint{}
	for id, uri := range sess.checkpoints {
		if p.parts[id] != nil {
			continue
		}
		if files[uri] == nil {
			data, err := p.wh.ReadFile(ctx, uri)
			if err != nil {
				return 0, fmt.Errorf("read checkpoint of partition %d: %w", id, err)
			}
			if files[uri], err = decodeCheckpoint(data); err != nil {
				return 0, fmt.Errorf("checkpoint %s: %w", uri, err)
			}
		}
		c, ok := files[uri][id]
		if !ok {
			return 0, fmt.Errorf("checkpoint %s has no state for partition %d", uri, id)
		}
		stream, err := c.restore(p.cfg.Rules, p.cfg.AllowedLateness.Milliseconds())
		if err != nil {
			return 0, err
		}
		endMs = max(endMs, stream.MaxSeenMs())
	}
	return endMs, nil
}
