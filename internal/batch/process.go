package batch

import (
	"context"
	"fmt"
	"slices"
	"sync"

	"github.com/sessionize/sessionize/internal/session"
)

// partResult is what one partition turned into.
type partResult struct {
	sessions []session.Session
	carried  []carriedUser
	res      session.Result
	err      error
	// encoded holds, by writer, the output multiWriter.encode made of
	// sessions on the fold worker; encodeErr is its failure.
	encoded   [][]byte
	encodeErr error
}

// foldPartition runs the engine over one partition's events. endMs is the
// latest event time of the whole input; with keepOpen, sessions that may
// still continue are carried instead of emitted.
func foldPartition(p *session.Partition, slabs [][]byte, endMs int64, keepOpen bool) *partResult {
	keepEvents := p.KeepsEvents()
	var size int
	for _, slab := range slabs {
		size += len(slab)
	}
	// An encoded event takes ~60 bytes, of which about half is id and page.
	p.Grow(size/48, size/2)
	for _, slab := range slabs {
		if err := decodeSlab(slab, p.Add); err != nil {
			return &partResult{err: err}
		}
	}
	r := &partResult{}
	var carry func(string, []session.Event)
	if keepOpen {
		carry = func(uuid string, evs []session.Event) {
			r.carried = append(r.carried, carriedUser{uuid: uuid, events: slices.Clone(evs)})
		}
	}
	// Pages (and events) of all sessions share one backing array; the
	// engine reuses its own between callbacks. No session has more pages
	// or events than the partition has events, so they never grow.
	n := p.Len()
	pages := make([]string, 0, n)
	var events []session.Event
	if keepEvents {
		events = make([]session.Event, 0, n)
	}
	r.sessions = make([]session.Session, 0, n/4+1)
	var attrs []byte
	r.res = p.Close(endMs, carry, func(s *session.Session) {
		start := len(pages)
		pages = append(pages, s.Pages...)
		out := *s
		out.Pages = pages[start:len(pages):len(pages)]
		if len(s.Attrs) > 0 {
			start := len(attrs)
			attrs = append(attrs, s.Attrs...)
			out.Attrs = attrs[start:len(attrs):len(attrs)]
		}
		if keepEvents {
			start := len(events)
			events = append(events, s.Events...)
			out.Events = events[start:len(events):len(events)]
		}
		r.sessions = append(r.sessions, out)
	})
	return r
}

// foldAll folds partitions on cfg.Workers goroutines, calls prepare (if
// not nil) on each result on the worker that made it, and hands results to
// write in partition order, so output is deterministic. At most a few
// partitions are in flight, which bounds memory when they were spilled.
func foldAll(ctx context.Context, cfg *Config, store *partitionStore, endMs int64, prepare func(*partResult), write func(*partResult) error) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	type job struct {
		slabs [][]byte
		res   chan *partResult
	}
	jobs := make(chan job)
	ordered := make(chan chan *partResult, cfg.Workers)
	var wg sync.WaitGroup
	for w := 0; w < cfg.Workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			p := session.NewPartition(cfg.Rules)
			p.KeepEvents(cfg.keepsEvents())
			p.SetAttrs(cfg.RuleSet.Fold())
			for j := range jobs {
				r := foldPartition(p, j.slabs, endMs, cfg.CarryOpen != "")
				if r.err == nil && prepare != nil {
					prepare(r)
				}
				j.res <- r
			}
		}()
	}
	go func() {
		defer close(ordered)
		defer close(jobs)
		for i := range store.parts {
			if ctx.Err() != nil {
				return
			}
			res := make(chan *partResult, 1)
			ordered <- res
			slabs, err := store.take(i)
			if err != nil {
				res <- &partResult{err: err}
				continue
			}
			jobs <- job{slabs: slabs, res: res}
		}
	}()
	var firstErr error
	i := 0
	for res := range ordered {
		r := <-res
		if firstErr == nil {
			if r.err != nil {
				firstErr = fmt.Errorf("fold partition %d: %w", i, r.err)
			} else {
				firstErr = write(r)
			}
			if firstErr != nil {
				cancel()
			}
		}
		i++
	}
	wg.Wait()
	if firstErr == nil {
		firstErr = ctx.Err()
	}
	return firstErr
}
