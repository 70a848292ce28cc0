package batch

import (
	"context"
	"fmt"
	"slices"
	"sync"

	"github.com/sessionize/sessionize/internal/session"
)

// partResult is what one partition turned into. Once written, it is
// reused for a later partition (see foldAll): nothing may keep its
// sessions, their page lists, events or attributes, or its encoded output.
type partResult struct {
	sessions []session.Session
	carried  []carriedUser
	res      session.Result
	err      error
	// encoded holds, by writer, the output multiWriter.encode made of
	// sessions on the fold worker; encodeErr is its failure.
	encoded   [][]byte
	encodeErr error
	// What the sessions' page lists, events and attribute states are
	// slices of.
	pages  []string
	events []session.Event
	attrs  []byte
	// arena is the engine's memory the sessions' strings point into, kept
	// with them until they are written; nil if it must not be reused.
	arena []byte
}

// reuse empties r for another partition, keeping its buffers.
func (r *partResult) reuse() {
	*r = partResult{sessions: r.sessions[:0], encoded: r.encoded, pages: r.pages[:0],
		events: r.events[:0], attrs: r.attrs[:0], arena: r.arena}
	for k := range r.encoded {
		r.encoded[k] = r.encoded[k][:0]
	}
}

// foldPartition runs the engine over one partition's events into r, a
// fresh or a reused partResult. endMs is the latest event time of the
// whole input; with keepOpen, sessions that may still continue are
// carried instead of emitted.
func foldPartition(p *session.Partition, slabs [][]byte, endMs int64, keepOpen bool, r *partResult) {
	keepEvents := p.KeepsEvents()
	var size int
	for _, slab := range slabs {
		size += len(slab)
	}
	if size > maxFoldBytes {
		r.err = fmt.Errorf("%.1f GiB of encoded events, more than one partition can fold (4 GiB): "+
			"some user has that much data; without --output-events the raw records are not kept", float64(size)/(1<<30))
		return
	}
	p.ReuseArena(r.arena)
	r.arena = nil
	// An encoded event takes ~39 bytes (the bench input's), of which about
	// half is its id and page name.
	p.Grow(size/32, size/2)
	var dec slabDecoder
	for _, slab := range slabs {
		if err := dec.decode(slab, p.Add); err != nil {
			r.err = err
			return
		}
	}
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
	pages := reserve(r.pages, n)
	var events []session.Event
	if keepEvents {
		events = reserve(r.events, n)
	}
	r.sessions = reserve(r.sessions, n/4+1)
	attrs := r.attrs
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
	r.pages, r.events, r.attrs = pages, events, attrs
	r.arena = p.TakeArena()
}

// maxFoldBytes bounds a partition's encoded events: the engine's arena
// (session.Partition) panics past 4 GiB, and it holds no more bytes than
// the events' encoding (their ids, page names, marks, kept records and
// attribute inputs, each with a length no longer than the slab's).
const maxFoldBytes = 1<<32 - 1

// reserve returns s emptied, with room for n elements: s's own memory if
// it has that much, else new memory with an eighth more, so that the
// partitions after, of about the same size, fit in it too.
func reserve[T any](s []T, n int) []T {
	if cap(s) < n {
		return make([]T, 0, n+n/8)
	}
	return s[:0]
}

// foldAll folds partitions on cfg.Workers goroutines, calls prepare (if
// not nil) on each result on the worker that made it, and hands results to
// write in partition order, so output is deterministic. At most a few
// partitions are in flight, which bounds memory when they were spilled.
//
// A result that write has written is folded into again, buffers and all:
// over the 5M-event bench input the fold allocated 680 MB before (the
// session lists, page lists, the engine's arenas, the encoded output),
// more than the input's encoded events (then 367 MB); since, the whole
// run allocates 336 MB, 191 of them those events (as slabs are now). Its
// arena is reused only with reuseArenas: write must then keep no string
// of its sessions, and no open session may be carried.
func foldAll(ctx context.Context, cfg *Config, store *partitionStore, endMs int64, reuseArenas bool,
	prepare func(*partResult), write func(*partResult) error) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	type job struct {
		slabs [][]byte
		res   chan *partResult
	}
	jobs := make(chan job)
	ordered := make(chan chan *partResult, cfg.Workers)
	// written holds results written, for reuse; it has room for all that
	// can be in flight (ordered's, the workers', the one being written).
	written := make(chan *partResult, 2*cfg.Workers+1)
	var wg sync.WaitGroup
	for w := 0; w < cfg.Workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			p := session.NewPartition(cfg.Rules)
			p.KeepEvents(cfg.keepsEvents())
			p.SetAttrs(cfg.RuleSet.Fold())
			for j := range jobs {
				var r *partResult
				select {
				case r = <-written:
				default:
					r = &partResult{}
				}
				foldPartition(p, j.slabs, endMs, cfg.CarryOpen != "", r)
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
			} else {
				if !reuseArenas {
					r.arena = nil
				}
				r.reuse()
				select {
				case written <- r:
				default:
				}
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
