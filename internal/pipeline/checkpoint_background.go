package pipeline

import (
	"context"
	"time"
)

// A checkpoint that is due by time alone (--checkpoint-interval) is
// written in the background, one partition at a time: the state of the
// partition whose checkpoint is the oldest is copied out at a commit
// (AppendState, on the loop: about half a second per million open events,
// so one partition rather than all), and compressing and writing it,
// seconds for a large state, overlap the records that follow. Until it is
// written, that partition's commits go on naming its checkpoint before;
// the first commit after names it, with the offset it was taken at, from
// which a restore re-reads (replay.go). Over an interval every partition
// gets a fresh one. A checkpoint a commit needs at once (a partition
// without one, a drain, a handover) is written on the loop, for all.

// backgroundCheckpoint is one checkpoint being written.
type backgroundCheckpoint struct {
	started time.Time
	next    map[int32]int64 // the partitions it holds, at these offsets
	done    chan struct{}
	// Set when done is closed.
	uri   string
	bytes int
	took  time.Duration
	err   error
}

// startCheckpoint copies the state of ids out of their partitions and
// writes it in the background.
func (p *Pipeline) startCheckpoint(ctx context.Context, ids []int32) {
	bc := &backgroundCheckpoint{started: time.Now(), next: make(map[int32]int64, len(ids)), done: make(chan struct{})}
	entries := make([]partitionCheckpoint, 0, len(ids))
	for _, id := range ids {
		e := p.parts[id].checkpointEntry()
		entries = append(entries, e)
		bc.next[id] = e.next
	}
	name := p.checkpointName()
	p.background = bc
	if ctx == nil {
		ctx = context.Background() // a Pipeline not started by Run (tests)
	}
	go func() {
		defer close(bc.done)
		bc.uri, bc.bytes, bc.err = p.writeCheckpoint(ctx, name, entries)
		bc.took = time.Since(bc.started)
	}()
}

// adoptCheckpoint, once the background checkpoint is written, makes it the
// one the commits of its partitions name. A failed one is logged and
// forgotten: the next due commit starts another.
func (p *Pipeline) adoptCheckpoint() {
	bc := p.background
	if bc == nil {
		return
	}
	select {
	case <-bc.done:
	default:
		return // still being written
	}
	p.background = nil
	if bc.err != nil {
		p.cfg.Logger.Warn("writing a checkpoint in the background failed; the commits go on naming the one before, and the next is tried at the next commit",
			"error", bc.err)
		return
	}
	p.cfg.Metrics.Checkpoint(bc.bytes, bc.took)
	for id, next := range bc.next {
		// Only forward, and never past what the partition has processed
		// (it may have been given up and taken again since): a commit
		// names a checkpoint at or below the offsets it commits.
		if part := p.parts[id]; part != nil && !part.replaying() && part.ckptNext <= next && next <= part.next {
			part.ckptURI, part.ckptNext, part.ckptAt = bc.uri, next, bc.started
			part.ckptBytes = bc.bytes / len(bc.next)
		}
	}
}

// stalestCheckpoint returns, of ids, the partition whose checkpoint is the
// oldest, and whether it is --checkpoint-interval old.
func (p *Pipeline) stalestCheckpoint(ids []int32) (int32, bool) {
	var oldest *partition
	for _, id := range ids {
		if part := p.parts[id]; oldest == nil || part.ckptAt.Before(oldest.ckptAt) {
			oldest = part
		}
	}
	if oldest == nil || time.Since(oldest.ckptAt) < p.cfg.CheckpointInterval {
		return 0, false
	}
	return oldest.id, true
}
