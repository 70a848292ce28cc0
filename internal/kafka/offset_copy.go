package kafka

import (
	"context"
	"log/slog"
	"maps"
	"sync"
	"time"
)

// offsetCopier copies offsets to the consumer group in the background, one
// copy at a time: the group's offsets are for monitoring only, so a caller
// never waits for them, and only the newest offset of a partition matters.
// While a copy is in flight, newer offers are merged into one pending copy
// that is sent when it returns.
type offsetCopier struct {
	send   func(context.Context, map[int32]int64) error
	logger *slog.Logger
	ctx    context.Context
	cancel context.CancelFunc
	wake   chan struct{} // capacity 1
	done   chan struct{}

	mu      sync.Mutex
	pending map[int32]int64 // nil: nothing to send
	busy    bool            // a copy is in flight
	stopped bool
}

func (c *offsetCopier) start(send func(context.Context, map[int32]int64) error, logger *slog.Logger) {
	c.send, c.logger = send, logger
	c.ctx, c.cancel = context.WithCancel(context.Background())
	c.wake, c.done = make(chan struct{}, 1), make(chan struct{})
	go c.loop()
}

// offer queues next for copying; it never blocks.
func (c *offsetCopier) offer(next map[int32]int64) {
	if len(next) == 0 {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.stopped {
		return
	}
	if c.pending == nil {
		c.pending = make(map[int32]int64, len(next))
	}
	maps.Copy(c.pending, next)
	select {
	case c.wake <- struct{}{}:
	default:
	}
}

// forget drops pending offsets of partitions this member no longer owns:
// copied late, they could overwrite the new owner's.
func (c *offsetCopier) forget(parts []int32) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, p := range parts {
		delete(c.pending, p)
	}
	if len(c.pending) == 0 {
		c.pending = nil
	}
}

func (c *offsetCopier) loop() {
	defer close(c.done)
	for {
		select {
		case <-c.ctx.Done():
			return
		case <-c.wake:
		}
		c.mu.Lock()
		next := c.pending
		c.pending, c.busy = nil, next != nil
		c.mu.Unlock()
		if next == nil {
			continue
		}
		ctx, cancel := context.WithTimeout(c.ctx, copyTimeout)
		err := c.send(ctx, next)
		cancel()
		if err != nil && c.ctx.Err() == nil {
			c.logger.Debug("copying offsets to the group for lag monitoring failed; the next commit copies them again", "error", err)
		}
		c.mu.Lock()
		c.busy = false
		c.mu.Unlock()
	}
}

// stop waits up to wait for the pending copy to be made, then ends the
// copying; later offers are dropped.
func (c *offsetCopier) stop(wait time.Duration) {
	if c.cancel == nil {
		return
	}
	deadline := time.Now().Add(wait)
	for time.Now().Before(deadline) {
		c.mu.Lock()
		idle := c.pending == nil && !c.busy
		c.mu.Unlock()
		if idle {
			break
		}
		time.Sleep(5 * time.Millisecond)
	}
	c.mu.Lock()
	c.stopped, c.pending = true, nil
	c.mu.Unlock()
	c.cancel()
	<-c.done
}
