package pipeline

// Restoring a partition re-reads the records between its checkpoint and
// the sessions table's offset for it (docs/commit-protocol.md): a commit
// names the last checkpoint written, which can be up to
// --checkpoint-interval older than the offsets it commits.
//
// Replay is deterministic: the same records from the same state give the
// same sessions, late and rejected outcomes and counters. What the
// original run emitted from those records it committed: its sessions are
// those whose close the watermark had passed at its last record below the
// offset (the commit followed an Advance at that point), its late and
// rejected rows lie below the late and rejected tables' offsets, which the
// partition skips anyway (lateDone, rejectedDone), and so do its event
// rows (eventsDone). So while replaying, closed sessions are dropped, and
// at the committed offset an Advance drops the last of them; from there on
// the partition is as the original run left it at its commit.
//
// A replaying partition is not committed (its table offsets would move
// back) nor drained; the partition's state at the committed offset is in
// the tables already.

// endReplay closes, and drops, what the records up to the committed
// offset closed, and ends the replay: from here on output counts.
func (p *partition) endReplay() {
	p.stream.Advance(p.collect) // collect drops while replayTo > 0
	p.replayTo = 0
	clear(p.rejectedBy)
	p.reported = p.counters()
	p.reportedEarly = p.stream.DedupStats().EvictedEarly
}

// replaying reports whether the partition is still re-reading records its
// committed output covers.
func (p *partition) replaying() bool { return p.replayTo > 0 }
