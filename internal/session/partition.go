package session

import (
	"hash/maphash"
	"strings"
)

// Partition holds the events of a set of users, in any order, and turns them
// into sessions when the data is complete. Batch mode hashes users into
// partitions so each is folded independently (and can be spilled to disk).
// Add copies what it keeps, so callers may reuse their buffers.
type Partition struct {
	rules  Rules
	users  userIndex
	counts []uint32 // events per user
	recs   []rec
	owner  []uint32 // user number of recs[i]
	spare  []rec    // grouping buffer, kept across Close
	arena  arena
	closed []byte              // the arena bytes the last Close's strings point into
	pages  map[string]pageSlot // where each page name is in arena (see page)
	recent [16]pageSlot        // names page found last, slotted by a few of their bytes
	maxMs  int64
	seed   maphash.Seed // of the id hashes, which only find equal ids

	ord  orderer
	fold folder
}

// NewPartition returns an empty Partition that applies rules.
func NewPartition(rules Rules) *Partition {
	return &Partition{
		rules: rules,
		maxMs: -1 << 63,
		seed:  maphash.MakeSeed(),
		fold:  folder{rules: rules, extras: rules.hasBoundaries()},
	}
}

func (f *folder) setExtras() { f.extras = f.keepEvents || f.attrs != nil || f.rules.hasBoundaries() }

// KeepEvents makes every emitted Session carry its Events (with Raw), for
// event-level output; off by default, as it keeps each record's bytes.
func (p *Partition) KeepEvents(keep bool) {
	p.fold.keepEvents = keep
	p.fold.setExtras()
}

// SetAttrs makes every emitted Session carry its attributes, folded with
// fold from its events' Attrs; nil for none.
func (p *Partition) SetAttrs(fold AttrFold) {
	p.fold.attrs = fold
	p.fold.setExtras()
}

// KeepsEvents reports whether KeepEvents is on.
func (p *Partition) KeepsEvents() bool { return p.fold.keepEvents }

// Grow makes room for n more events, avoiding repeated growth when the
// caller knows roughly how many are coming. The arena gets an eighth more
// than asked, so that a partition of about the same size fits in it when
// it is reused (see ReuseArena).
func (p *Partition) Grow(events, bytes int) {
	if free := cap(p.recs) - len(p.recs); free < events {
		recs := make([]rec, len(p.recs), len(p.recs)+events)
		copy(recs, p.recs)
		p.recs = recs
		owner := make([]uint32, len(p.owner), len(p.owner)+events)
		copy(owner, p.owner)
		p.owner = owner
	}
	if free := cap(p.arena.b) - len(p.arena.b); free < bytes {
		b := make([]byte, len(p.arena.b), len(p.arena.b)+bytes+bytes/8)
		copy(b, p.arena.b)
		p.arena.b = b
	}
}

// Add records one accepted event of user uuid. It copies what it keeps of
// ev and uuid: both may be reused once it returns. ev is a pointer because
// the Event, copied at each call, made callers wait (see below).
//
// Looking up a few events' users before recording them, so that their
// cache misses overlap, was tried: BenchmarkEngine ran 10% slower.
func (p *Partition) Add(uuid string, ev *Event) {
	h, first := p.users.start(uuid)
	// The record is written in place, field by field: built on the stack
	// and appended, its 16-byte copy read back 8-byte stores still in the
	// store buffer, which cannot forward them, so every event waited for
	// all its earlier stores to reach the cache (12% of BenchmarkEngine).
	p.recs = append(p.recs, rec{})
	r := &p.recs[len(p.recs)-1]
	r.time, r.seq, r.idh = ev.TimeMs, ev.Seq, uint32(maphash.String(p.seed, ev.ID))
	if p.fold.extras {
		r.id = p.arena.addExtras(ev.ID, ev, p.fold.keepEvents, p.fold.attrs != nil)
	} else {
		r.id = p.arena.add(ev.ID)
	}
	r.page = p.page(ev.Page)
	p.owner = append(p.owner, p.users.finish(uuid, h, first))
	if ev.TimeMs > p.maxMs {
		p.maxMs = ev.TimeMs
	}
}

// maxPageNames bounds Partition.pages: past it (pages that are URLs, or
// carry ids) further names are stored with each event.
const maxPageNames = 1 << 12

// page stores name in the arena once per partition. Page names are few,
// and every event pointing at the same bytes keeps them in cache: written
// once per event, scattered over the arena, reading them to format
// pages_visited missed the cache for each (60 ns a page, 9% of a batch
// run's CPU, against 7 ns hot).
//
// A few names make most events, so a small table of the last ones found,
// slotted by length and two bytes, answers most lookups with one string
// compare before the map hashes the name (the map was 7% of
// BenchmarkEngine).
func (p *Partition) page(name string) pageRef {
	if name == "" {
		return 0
	}
	slot := &p.recent[(len(name)+int(name[0])+int(name[len(name)-1])<<1)&(len(p.recent)-1)]
	if slot.ref != 0 && slot.name == name {
		return slot.ref
	}
	if e, ok := p.pages[name]; ok {
		*slot = e
		return e.ref
	}
	ref := p.arena.addPage(p.arena.add(name))
	if len(p.pages) < maxPageNames {
		if p.pages == nil {
			p.pages = make(map[string]pageSlot)
		}
		e := pageSlot{name: strings.Clone(name), ref: ref}
		p.pages[e.name] = e
		*slot = e
	}
	return ref
}

// pageSlot is a page name the Partition owns (never the caller's bytes,
// which Add does not keep) and its reference in the arena.
type pageSlot struct {
	name string
	ref  pageRef
}

// Len is the number of events added.
func (p *Partition) Len() int { return len(p.recs) }

// MaxTimeMs is the latest event time added, or math.MinInt64 if none.
func (p *Partition) MaxTimeMs() int64 { return p.maxMs }

// Result counts what Close did with the events.
type Result struct {
	Events     int64 // events that ended in emitted sessions
	Duplicates int64
	Sessions   int64
	Carried    int64 // events of sessions handed to carry
	Users      int64
}

// Close cuts every user's events into sessions. endMs is the latest event
// time of the whole input (not just this partition): a session whose close
// deadline is before it is closed. The remaining open sessions are emitted
// as EndOfInput, or, if carry is not nil, handed to carry (ordered and
// deduplicated) so a later run can continue them. Sessions are emitted user
// by user in order of first appearance. emit's Session, with its Pages,
// Attrs and Events, is reused once emit returns: keep a copy. Strings in
// what is emitted or carried stay valid after Close, until their memory is
// reused (TakeArena); the Partition is empty afterwards.
func (p *Partition) Close(endMs int64, carry func(uuid string, evs []Event), emit func(*Session)) Result {
	var res Result
	p.counts = p.users.counts(p.counts)
	grouped := p.groupByUser()
	a := &p.arena
	var carried []Event
	off := 0
	for u, uuid := range p.users.uuids {
		rs := grouped[off : off+int(p.counts[u])]
		off += int(p.counts[u])
		rs, dups := p.ord.sortDedupe(a, rs)
		res.Duplicates += int64(dups)
		n := p.fold.fold(a, uuid, rs, endMs, carry == nil, func(s *Session) {
			res.Sessions++
			res.Events += s.EventCount
			emit(s)
		})
		if n < len(rs) {
			res.Carried += int64(len(rs) - n)
			carried = carried[:0]
			for _, r := range rs[n:] {
				carried = append(carried, p.fold.event(a, &r))
			}
			carry(uuid, carried)
		}
	}
	res.Users = int64(len(p.users.uuids))
	p.reset(grouped)
	return res
}

// TakeArena returns the bytes the strings emitted by the last Close point
// into (ids, page names, raw records), and forgets them. Once nothing
// refers to those strings any more, ReuseArena (of this Partition or
// another) can store later events in them instead of new memory.
func (p *Partition) TakeArena() []byte {
	b := p.closed
	p.closed = nil
	return b[:0]
}

// ReuseArena makes the Partition store the next events' strings in b's
// memory, overwriting it, if it is empty and b holds more than the memory
// it has. b must come from TakeArena, and no string emitted from it may be
// in use any more.
func (p *Partition) ReuseArena(b []byte) {
	if len(p.arena.b) == 0 && cap(b) > cap(p.arena.b) {
		p.arena.b = b[:0]
	}
}

// reset empties the Partition but keeps its pointer-free buffers, which
// nothing handed out refers to. The arena's bytes are replaced, not
// reused: emitted strings point into them, until the caller hands them
// back (TakeArena, ReuseArena).
func (p *Partition) reset(grouped []rec) {
	p.users.reset()
	p.counts = p.counts[:0]
	p.recs = p.recs[:0]
	p.owner = p.owner[:0]
	p.spare = grouped[:0]
	p.closed = p.arena.b
	p.arena = arena{pages: p.arena.pages[:0]}
	clear(p.pages)
	p.recent = [len(p.recent)]pageSlot{}
	p.maxMs = -1 << 63
}

// groupByUser returns the records laid out user by user (counting sort on
// the user number), keeping arrival order within a user.
func (p *Partition) groupByUser() []rec {
	starts := make([]uint32, len(p.counts))
	var sum uint32
	for u, c := range p.counts {
		starts[u] = sum
		sum += c
	}
	out := p.spare[:0]
	if cap(out) < len(p.recs) {
		out = make([]rec, len(p.recs))
	}
	out = out[:len(p.recs)]
	for i := range p.recs {
		u := p.owner[i]
		out[starts[u]] = p.recs[i]
		starts[u]++
	}
	return out
}
