package pipeline

import (
	"context"
)

// The poll loop does not wait for its commits: writing one (encoding its
// Parquet files above all, about a third of the job's time in a drain)
// runs on a goroutine of its own while the loop processes the records
// that follow (startCommit). One commit is in flight at a time: the next
// one, and everything that must see the tables as our commits left them
// (a rebalance, a stop, a commit outside the loop), first waits for it
// and applies it (awaitCommit). What a commit writes was taken out of the
// partitions before it started, so the records processed meanwhile go to
// the next one, and offsets never pass rows not yet written.

// startCommit starts a commit of the loop: it waits for the one in flight,
// if any, takes the output out of the partitions and writes it in the
// background. A stop while it runs lets it finish (commitContext); if it
// does not within the grace, stop is told (interrupted).
func (p *Pipeline) startCommit(ctx context.Context) {
	p.awaitCommit(ctx)
	c, _ := p.prepareCommit()
	if c == nil {
		return // nothing to commit, or fenced: the loop sees p.fenced
	}
	cctx, release := commitContext(ctx, p.stopGrace())
	c.done = make(chan struct{})
	p.inflight = c
	go func() {
		defer close(c.done)
		defer release()
		c.err = p.writeCommit(cctx, c)
		c.cancelled = ctx.Err() != nil
	}()
}

// collectCommit applies the commit in flight if it has finished, without
// waiting.
func (p *Pipeline) collectCommit(ctx context.Context) {
	if c := p.inflight; c != nil {
		select {
		case <-c.done:
			p.awaitCommit(ctx)
		default:
		}
	}
}

// awaitCommit waits for the commit in flight, if any, and applies it
// (finishCommit). A failure is kept in commitErr for the loop to return,
// as the failure of a commit it had waited for; one that a stop cut short
// in interrupted too.
func (p *Pipeline) awaitCommit(ctx context.Context) {
	c := p.inflight
	if c == nil {
		return
	}
	<-c.done
	p.inflight = nil
	err := p.finishCommit(ctx, c)
	if err == nil || isContested(err) {
		return
	}
	if c.cancelled {
		p.interrupted = err
	}
	if p.commitErr == nil {
		p.commitErr = err
	}
}
