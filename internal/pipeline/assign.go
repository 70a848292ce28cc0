package pipeline

import (
	"context"
	"fmt"
	"math"

	"github.com/sessionize/sessionize/internal/iceberg"
	"github.com/sessionize/sessionize/internal/kafka"
	"github.com/sessionize/sessionize/internal/session"
)

// noOffset marks a partition a table has no entry for.
const noOffset int64 = -1

// OnAssigned restores each new partition from the tables: its state from
// the checkpoint the sessions table points to, where to start reading, and
// how far the late and rejected tables already got (see
// docs/commit-protocol.md).
func (p *Pipeline) OnAssigned(ctx context.Context, ids []int32) (map[int32]int64, error) {
	p.awaitCommit(ctx) // it may drop partitions: before new ones come
	prog := map[string]progress{}
	for _, t := range p.tables() {
		pr, err := p.loadProgress(ctx, t)
		if err != nil {
			return nil, err
		}
		prog[t] = pr
	}
	sess := prog[iceberg.TableSessions]
	p.checkTopicGrowth(ctx, sess.partitions)
	checkpoints := map[string]map[int32]partitionCheckpoint{}
	start := make(map[int32]int64, len(ids))
	lateness := p.cfg.AllowedLateness.Milliseconds()
	for _, id := range ids {
		stream := session.NewStream(p.cfg.Rules, lateness)
		next, rejected := int64(0), int64(0)
		start[id] = kafka.OffsetEarliest
		if uri, ok := sess.checkpoints[id]; ok {
			if checkpoints[uri] == nil {
				data, err := p.wh.ReadFile(ctx, uri)
				if err != nil {
					return nil, fmt.Errorf("read checkpoint of partition %d: %w", id, err)
				}
				if checkpoints[uri], err = decodeCheckpoint(data); err != nil {
					return nil, fmt.Errorf("checkpoint %s: %w", uri, err)
				}
			}
			c, ok := checkpoints[uri][id]
			if !ok {
				return nil, fmt.Errorf("checkpoint %s has no state for partition %d", uri, id)
			}
			var err error
			if stream, err = c.restore(p.cfg.Rules, lateness); err != nil {
				return nil, err
			}
			if p.cfg.Warehouse.EventsTable {
				if err := p.checkEventsCover(id, offsetOr(prog[iceberg.TableEvents], id, 0), c.next, stream.OpenSessions()); err != nil {
					return nil, err
				}
			}
			next, rejected = c.next, c.rejected
			start[id] = c.next
		}
		part := newPartition(id, stream, next, offsetOr(prog[iceberg.TableLate], id, 0), offsetOr(prog[iceberg.TableRejected], id, 0), p.cfg.MaxFutureSkew)
		if uri, ok := sess.checkpoints[id]; ok {
			part.ckptURI, part.ckptNext = uri, next
			// Commits since the checkpoint moved the offset on: re-read
			// the records in between to rebuild the state (replay.go).
			if committed := offsetOr(sess, id, next); committed > next {
				part.replayTo = committed
				p.cfg.Logger.Info("re-reading the records since the partition's checkpoint", "partition", id,
					"from", next, "to", committed)
			}
		}
		part.marker = p.cfg.RuleSet.NewMarker()
		var err error
		if part.parser, err = p.decoders(); err != nil {
			return nil, fmt.Errorf("partition %d: %w", id, err)
		}
		stream.SetAttrs(p.cfg.RuleSet.Fold())
		if p.cfg.Warehouse.EventsTable {
			ev := prog[iceberg.TableEvents]
			settled, ok := ev.settled[id]
			if !ok {
				settled = math.MinInt64
			}
			part.tagEvents(offsetOr(ev, id, 0), settled)
		}
		if _, restored := sess.checkpoints[id]; restored {
			part.setDedup(*p.cfg.Dedup)
		} else {
			stream.SetDedup(*p.cfg.Dedup)
		}
		part.rejectedCount = rejected
		part.reported = part.counters() // metrics count from here on
		p.parts[id] = part
		delete(p.contested, id) // restored from the tables: ours again
		for t, pr := range prog {
			p.expected[t][id] = offsetOr(pr, id, noOffset)
		}
		p.expectedCheckpoint[id] = sess.checkpoints[id]
	}
	p.cfg.Metrics.SetAssigned(p.owned())
	return start, nil
}

func offsetOr(pr progress, id int32, def int64) int64 {
	if o, ok := pr.offsets[id]; ok {
		return o
	}
	return def
}

func (p *Pipeline) loadProgress(ctx context.Context, table string) (progress, error) {
	snap, ok, err := p.wh.Current(ctx, table)
	if err != nil {
		return progress{}, err
	}
	pr := progress{topic: p.cfg.Kafka.Topic, offsets: map[int32]int64{}, checkpoints: map[int32]string{}, counters: map[int32]Counters{}}
	if !ok {
		return pr, nil
	}
	base, err := parseProgress(snap.Summary)
	if err != nil {
		return pr, fmt.Errorf("table %s snapshot %d: %w", table, snap.ID, err)
	}
	if base.topic != "" && base.topic != p.cfg.Kafka.Topic {
		return pr, fmt.Errorf("table %s holds output of topic %q, not %q: use another --warehouse or --namespace", table, base.topic, p.cfg.Kafka.Topic)
	}
	base.topic = p.cfg.Kafka.Topic
	return base, nil
}

// OnRevoked commits before partitions move (unless they were lost or we
// are fenced, when another member may own them already) and drops them.
func (p *Pipeline) OnRevoked(ctx context.Context, ids []int32, lost bool) {
	p.awaitCommit(ctx)
	if !lost && !p.fenced && (p.dirty || p.stateBehind(ids)) {
		p.handover, p.dirty = true, true
		err := p.commit(ctx)
		p.handover = false
		if err != nil && !isContested(err) {
			p.cfg.Logger.Warn("commit before giving up partitions failed; their new owner replays from the last commit",
				"partitions", ids, "error", err)
		}
	}
	for _, id := range ids {
		delete(p.parts, id)
		delete(p.contested, id)
		for _, m := range p.expected {
			delete(m, id)
		}
		delete(p.expectedCheckpoint, id)
	}
	p.cfg.Metrics.SetAssigned(p.owned())
	p.cfg.Logger.Info("partitions revoked", "partitions", ids, "lost", lost)
}

// stateBehind reports whether the last checkpoint of one of ids is older
// than what is processed: the handover commit then writes a fresh one, so
// the next owner need not re-read the records since.
func (p *Pipeline) stateBehind(ids []int32) bool {
	for _, id := range ids {
		if part := p.parts[id]; part != nil && !part.replaying() && part.ckptURI != "" && part.next > part.ckptNext {
			return true
		}
	}
	return false
}

// checkEventsCover: the events table of partition id has the events of the
// records below eventsAt, and the state restored for it (with open
// sessions open) is that of the records below next. Below next and at or
// above eventsAt, a run without --events-table sessionized the records
// (the table is new, or was left out for a while): their events are not in
// the table and cannot be, as the state keeps no event of a session once
// placed. With sessions open that would leave the table with sessions
// missing their first events, so the run is refused, saying how to start
// the table cleanly; with none it only misses those records, which it
// says.
func (p *Pipeline) checkEventsCover(id int32, eventsAt, next int64, open int) error {
	if eventsAt >= next {
		return nil
	}
	if open > 0 {
		return fmt.Errorf("--events-table: partition %d's records %d to %d were sessionized without it, and %d of their sessions are still open; "+
			"their events so far were not kept and cannot be written. Stop the run without --events-table with --drain (closing every "+
			"open session), then start with --events-table: the table gets the events of every session from there on", id, eventsAt, next, open)
	}
	p.cfg.Logger.Warn("the events table has no events of these records: a run without --events-table sessionized them; it has the events of every session from here on",
		"partition", id, "from_offset", eventsAt, "to_offset", next)
	return nil
}
