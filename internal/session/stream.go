package session

import (
	"math"
	"slices"
	"sort"
	"strings"

	"github.com/cespare/xxhash/v2"
)

// Outcome is what the stream engine did with one event.
type Outcome uint8

const (
	Accepted Outcome = iota
	Duplicate
	Late
)

func (o Outcome) String() string {
	return [...]string{"accepted", "duplicate", "late"}[o]
}

// Stream sessionizes one ordered source of events, such as a Kafka
// partition, as they arrive. Its watermark is the highest event time seen
// minus the allowed lateness; an event below it is late and never joins a
// session. A session is emitted once the watermark passes its close
// deadline, so no event that can still arrive could change it: the sessions
// equal batch mode's over the same events without the late ones.
//
// Events at or above the watermark wait in a per-user pending list in
// (time, event_id) order, since an earlier one may still arrive. Once the
// watermark passes them their order is final and they are folded into the
// user's current session, keeping only what the output needs; so open
// state grows with the lateness window, not with session length.
//
// Duplicates: a copy of an event (same user and event id, whatever its
// timestamp) is a duplicate while the first copy is pending, or while its
// key is among those the Dedup bound keeps (see Dedup): its session may be
// closed, drained and committed. A copy whose key was forgotten is late if
// below the watermark; at or above it, it is taken for a new event. That
// needs a copy with another timestamp than its original's, or an original
// that a drain closed above the watermark and MaxKeys newer keys pushed out
// before the watermark passed it. Batch, which sees everything at once,
// recognises every copy.
type Stream struct {
	rules      Rules
	latenessMs int64
	maxSeenMs  int64

	users   userTable
	spare   []*streamUser // forgotten users, for reuse (see newUser)
	arrays  pendingPool   // pending arrays of users with none pending
	due     dueQueue      // users by the time at which they need attention
	pending map[pendingKey]struct{}
	recent  recentKeys // keys of recently accepted events, see Dedup
	// The pending map is kept only while a pending event's key may be
	// missing from recent (no remembered keys, or one that may be pending
	// was forgotten); otherwise a miss in recent means "not pending", and
	// the map, a third of Add's time, is skipped. pendingFloor is at or
	// below every pending event's time, so a key older is not pending.
	// Once kept, the map is needed only until the events pending then are
	// folded: those after have their keys remembered (until one is
	// forgotten, which keeps the map again). pendingUntil is the highest
	// time such an event can have; Advance drops the map once the
	// watermark is past it.
	needPending  bool
	pendingFloor int64
	pendingUntil int64
	keepMap      bool // tests: keep the pending map always, to compare
	// What the pending events and open sessions refer to (stream_refs.go).
	pages   pageNames
	longIDs slots[string]
	extras  slots[pendingExtra]
	// onEvent, if set, gets every event as it is folded into its session
	// (TagEvents); events then keep their Raw while pending.
	onEvent func(*TaggedEvent)
	// attrFold folds the session attributes; nil without them.
	attrFold AttrFold
	// pageScratch backs the emitted Sessions' Pages.
	pageScratch []string

	stats StreamStats
}

// StreamStats counts a Stream's work since it was created (restored
// streams continue their counts).
type StreamStats struct {
	Accepted, Duplicates, Late int64
	Sessions, SessionEvents    int64
}

// pendingKey identifies a pending event for duplicate checks; a hit is
// confirmed against the user's pending events, so hash collisions cannot
// drop an event.
type pendingKey struct{ user, id uint64 }

type streamUser struct {
	uuid    string
	uh      uint64         // xxhash of uuid
	pending []pendingEvent // sorted by (time, id, seq); all >= watermark
	cur     current        // the session the folded events belong to
	dueMs   int64          // when filed in Stream.due
	dueIdx  int            // in its bucket of Stream.due; -1 if not filed
}

// current accumulates the folded part of a user's open session.
type current struct {
	count     int64
	startMs   int64
	lastMs    int64
	lastMark  Mark
	firstID   string   // under boundary rules, for the session id
	attrs     []byte   // the session attributes' state
	pages     []strRef // at most rules.MaxPages; each holds a reference
	truncated bool
	exitPage  strRef // holds a reference while count > 0
}

// NewStream returns an empty Stream.
func NewStream(rules Rules, allowedLatenessMs int64) *Stream {
	return &Stream{
		rules:        rules,
		latenessMs:   allowedLatenessMs,
		maxSeenMs:    math.MinInt64,
		pending:      make(map[pendingKey]struct{}),
		needPending:  true,
		pendingFloor: math.MinInt64,
		pendingUntil: math.MinInt64,
	}
}

// Watermark is the lowest event time still on time; math.MinInt64 before
// the first event.
func (s *Stream) Watermark() int64 {
	if s.maxSeenMs == math.MinInt64 {
		return math.MinInt64
	}
	return s.maxSeenMs - s.latenessMs
}

// MaxSeenMs is the highest event time accepted so far.
func (s *Stream) MaxSeenMs() int64 { return s.maxSeenMs }

// Stats returns the counts so far.
func (s *Stream) Stats() StreamStats { return s.stats }

// SetDedup sets how many keys of accepted events the Stream remembers (see
// Dedup); keys beyond the new bound are forgotten, oldest first. A
// NewStream remembers none until this is called; a restored one keeps the
// bound it was checkpointed with.
func (s *Stream) SetDedup(d Dedup) {
	if s.recent.setBound(d, s.pendingFloor) || d.MaxKeys <= 0 {
		s.keepPending()
	} else {
		s.dropPendingIfCovered()
	}
}

// keepPending starts keeping the pending map, from every pending event,
// at least until the watermark passes the events pending now.
func (s *Stream) keepPending() {
	s.pendingUntil = max(s.pendingUntil, s.maxSeenMs)
	if s.needPending {
		return
	}
	s.needPending = true
	s.users.each(func(u *streamUser) {
		for i := range u.pending {
			s.pending[pendingKey{u.uh, s.idHash(&u.pending[i].id)}] = struct{}{}
		}
	})
}

// dropPendingIfCovered stops keeping the pending map if every pending
// event's key is remembered.
func (s *Stream) dropPendingIfCovered() {
	if !s.needPending || s.recent.d.MaxKeys <= 0 || s.keepMap {
		return
	}
	for k := range s.pending {
		if !s.recent.has(k) {
			s.pendingUntil = max(s.pendingUntil, s.maxSeenMs)
			return
		}
	}
	s.dropPending()
}

// dropPending stops keeping the pending map.
func (s *Stream) dropPending() {
	s.needPending = false
	clear(s.pending)
}

// TagEvents hands every accepted event to fn at the moment it is folded
// into its session, with the session's start and its index there. That
// moment is when the event's place is final (the watermark passed it, or
// a Drain), so it never changes afterwards: event-level output needs no
// buffer beyond the pending events the Stream keeps anyway (with their
// Raw, in the checkpoint too). fn must not keep the *TaggedEvent.
func (s *Stream) TagEvents(fn func(*TaggedEvent)) { s.onEvent = fn }

// SetAttrs folds the session attributes with fold (nil: none): emitted
// Sessions carry them, and the open sessions' states are checkpointed.
func (s *Stream) SetAttrs(fold AttrFold) { s.attrFold = fold }

// Dedup is the current bound.
func (s *Stream) Dedup() Dedup { return s.recent.d }

// DedupStats describes the remembered keys.
func (s *Stream) DedupStats() DedupStats {
	return DedupStats{Keys: s.recent.n, Bytes: s.recent.memBytes(), EvictedEarly: s.recent.evictedEarly}
}

// Add takes one event. Accepted events wait for Advance to close their
// sessions; duplicates and late events are only counted. Add keeps none
// of the strings it is given (uuid and ev's): it copies what it holds, so
// a caller may pass views of a buffer it reuses. ev is a pointer for the
// reason Partition.Add's is.
func (s *Stream) Add(uuid string, ev *Event) Outcome {
	key := pendingKey{xxhash.Sum64String(uuid), xxhash.Sum64String(ev.ID)}
	if s.recent.has(key) {
		s.stats.Duplicates++
		return Duplicate
	}
	if ev.TimeMs < s.Watermark() {
		s.stats.Late++
		return Late
	}
	u := s.users.get(key.user, uuid)
	if u != nil {
		if s.needPending {
			if _, ok := s.pending[key]; ok && u.hasPending(s, ev.ID) {
				s.stats.Duplicates++
				return Duplicate
			}
		}
	} else {
		u = s.newUser(strings.Clone(uuid), key.user)
		s.users.put(u)
	}
	if s.needPending {
		s.pending[key] = struct{}{}
	}
	p := pendingEvent{timeMs: ev.TimeMs, seq: ev.Seq, id: s.newID(ev.ID), page: s.pages.intern(ev.Page)}
	if s.needsExtra() {
		var x pendingExtra
		if s.rules.hasBoundaries() { // as Partition: marks count only under rules
			x.mark = ev.Mark
		}
		if s.attrFold != nil {
			x.attrs = strings.Clone(ev.Attrs)
		}
		if s.onEvent != nil {
			x.raw = strings.Clone(ev.Raw)
		}
		if x != (pendingExtra{}) {
			p.ext = s.extras.add(x)
		}
	}
	if n := len(u.pending); n == 0 || s.cmpPending(&u.pending[n-1], &p) < 0 {
		if u.pending == nil {
			u.pending = s.arrays.get()
		}
		u.pending = append(u.pending, p) // in order, the common case
	} else {
		i := sort.Search(n, func(i int) bool { return s.cmpPending(&u.pending[i], &p) >= 0 })
		u.pending = slices.Insert(u.pending, i, p)
	}
	if ev.TimeMs > s.maxSeenMs {
		s.maxSeenMs = ev.TimeMs
	}
	if s.recent.add(key, ev.TimeMs, s.Watermark(), s.pendingFloor) {
		s.keepPending()
	}
	s.stats.Accepted++
	s.schedule(u)
	return Accepted
}

// AdvanceDue reports whether the watermark has moved more than half the
// dedup window since the last Advance. A caller should Advance then, which
// changes no outcome and keeps Add fast: the pending floor moves only at
// an Advance, and once the window forgets keys at or above it (they may be
// pending events') Add keeps the pending map, a fifth of its time, until
// the events pending then are folded. Advancing once per Kafka poll batch
// was not enough when a batch spans hours of event time: the map was kept
// for 95% of a sparse topic's events.
func (s *Stream) AdvanceDue() bool {
	w := s.Watermark()
	switch {
	case s.recent.d.MaxKeys <= 0 || w == math.MinInt64:
		return false
	case s.pendingFloor == math.MinInt64:
		return true
	}
	return w-s.pendingFloor > s.recent.d.WindowMs/2
}

// Advance emits every session the watermark has closed.
func (s *Stream) Advance(emit func(*Session)) {
	w := s.Watermark()
	// Every pending event below w is folded below, and later ones are
	// accepted at or above the watermark.
	defer func() { s.pendingFloor = max(s.pendingFloor, w) }()
	s.due.each(w, func(u *streamUser) {
		s.settle(u, w, emit)
		if deadline, reason := s.rules.closeDeadline(u.cur.startMs, u.cur.lastMs, u.cur.lastMark); u.cur.count > 0 && w > deadline {
			s.emit(u, reason, emit)
		}
		s.schedule(u) // at w or later: its events below w are folded
	})
	// Every event pending when the map was last kept is folded now: the
	// pending ones have their keys remembered. Without this, one key
	// forgotten early (before the first Advance every key is at or above
	// the floor) kept the map, a fifth of Add's time, for the whole run.
	if s.needPending && w > s.pendingUntil && s.recent.d.MaxKeys > 0 && !s.keepMap {
		s.dropPending()
	}
}

// Drain emits every open session, as batch does at the end of its input:
// endMs is the latest event time the data covers (for a stream, the
// highest seen over all its partitions); sessions whose deadline it passed
// are closed, the rest end as EndOfInput. The Stream is empty afterwards
// but keeps its watermark, counts and remembered keys (so a copy of a
// drained event re-sent later is still a duplicate).
func (s *Stream) Drain(endMs int64, emit func(*Session)) {
	users := s.users.all()
	// A deterministic emit order, whatever the map did.
	slices.SortFunc(users, func(a, b *streamUser) int { return strings.Compare(a.uuid, b.uuid) })
	for _, u := range users {
		s.settle(u, math.MaxInt64, emit)
		if u.cur.count > 0 {
			reason := EndOfInput
			if deadline, r := s.rules.closeDeadline(u.cur.startMs, u.cur.lastMs, u.cur.lastMark); endMs > deadline {
				reason = r
			}
			s.emit(u, reason, emit)
		}
	}
	s.users.clear()
	s.due.reset()
	clear(s.pending)
	s.pendingFloor = s.Watermark()
	s.needPending = s.recent.d.MaxKeys <= 0 || s.keepMap
}

// settle folds u's pending events below w into its current session in
// their final order, emitting the sessions they split off.
func (s *Stream) settle(u *streamUser, w int64, emit func(*Session)) {
	n := 0
	for n < len(u.pending) && u.pending[n].timeMs < w {
		p := &u.pending[n]
		c := &u.cur
		if c.count > 0 && s.rules.startsNew(c.startMs, c.lastMs, c.lastMark, p.timeMs, s.extra(p).mark) {
			s.emit(u, s.rules.cutReason(c.startMs, c.lastMs, c.lastMark, p.timeMs), emit)
		}
		if s.needPending {
			delete(s.pending, pendingKey{u.uh, s.idHash(&p.id)})
		}
		s.foldIn(u, p)
		n++
	}
	u.pending = slices.Delete(u.pending, 0, n)
	if len(u.pending) == 0 && u.pending != nil {
		s.arrays.put(u.pending)
		u.pending = nil
	}
}

// foldIn adds p to u's current session, taking over what p holds.
func (s *Stream) foldIn(u *streamUser, p *pendingEvent) {
	c := &u.cur
	x := s.extra(p)
	if c.count == 0 {
		c.startMs = p.timeMs
		c.pages = c.pages[:0]
		c.truncated = false
		if s.rules.hasBoundaries() {
			c.firstID = s.idString(&p.id)
		}
		c.attrs = nil
	}
	if s.attrFold != nil {
		c.attrs = s.attrFold(c.attrs, x.attrs)
	}
	c.count++
	c.lastMs = p.timeMs
	c.lastMark = x.mark
	if len(c.pages) < s.rules.MaxPages {
		s.pages.hold(p.page)
		c.pages = append(c.pages, p.page)
	} else {
		c.truncated = true
	}
	s.pages.release(c.exitPage)
	c.exitPage = p.page // p's reference
	if s.onEvent != nil {
		s.onEvent(&TaggedEvent{UUID: u.uuid, SessionStartMs: c.startMs, SessionFirstID: c.firstID, Index: c.count - 1,
			Event: Event{TimeMs: p.timeMs, Seq: p.seq, ID: s.idString(&p.id), Page: s.pages.str(p.page), Raw: x.raw, Mark: x.mark}})
	}
	s.releaseID(&p.id)
	s.extras.release(p.ext)
}

// emit hands out u's current session, ended for reason, and starts an
// empty one.
func (s *Stream) emit(u *streamUser, reason EndReason, emit func(*Session)) {
	c := &u.cur
	s.pageScratch = s.pageScratch[:0]
	for _, r := range c.pages {
		s.pageScratch = append(s.pageScratch, s.pages.str(r))
	}
	sess := Session{
		UUID:           u.uuid,
		StartMs:        c.startMs,
		EndMs:          c.lastMs,
		EventCount:     c.count,
		Pages:          s.pageScratch,
		PagesTruncated: c.truncated,
		ExitPage:       s.pages.str(c.exitPage),
		EndReason:      reason,
		FirstEventID:   c.firstID,
		Attrs:          c.attrs,
	}
	if len(c.pages) > 0 {
		sess.EntryPage = s.pageScratch[0]
	}
	s.stats.Sessions++
	s.stats.SessionEvents += c.count
	emit(&sess)
	for _, r := range c.pages {
		s.pages.release(r)
	}
	s.pages.release(c.exitPage)
	c.pages, c.exitPage = c.pages[:0], 0
	c.count = 0
}

// schedule files u under the next time it needs attention: when the
// watermark passes its first pending event (to fold it) or its current
// session's deadline (to close it). A user with neither is forgotten.
func (s *Stream) schedule(u *streamUser) {
	due := int64(math.MaxInt64)
	if len(u.pending) > 0 {
		due = u.pending[0].timeMs
	}
	if u.cur.count > 0 {
		deadline, _ := s.rules.closeDeadline(u.cur.startMs, u.cur.lastMs, u.cur.lastMark)
		due = min(due, deadline)
	}
	if due == math.MaxInt64 {
		if u.dueIdx >= 0 {
			s.due.remove(u)
		}
		s.users.remove(u)
		s.forget(u)
		return
	}
	s.due.set(u, due)
}

// Forgotten users are kept for reuse, with their pages slices (their
// pending arrays go back to Stream.arrays when they empty): most users
// come back for another session, and growing those slices again from
// nothing, event by event, was a fifth of Add's and foldIn's time and much
// of the garbage the GC collected in a stream drain.
const (
	maxSpareUsers = 1 << 16
	maxSpareCap   = 64 // slices longer than this are dropped, not kept
)

// newUser returns an empty user for uuid, whose hash is uh.
func (s *Stream) newUser(uuid string, uh uint64) *streamUser {
	n := len(s.spare)
	if n == 0 {
		return &streamUser{uuid: uuid, uh: uh, dueIdx: -1}
	}
	u := s.spare[n-1]
	s.spare[n-1] = nil
	s.spare = s.spare[:n-1]
	u.uuid, u.uh = uuid, uh
	return u
}

// forget keeps u, no longer in the table or the due queue, for newUser.
func (s *Stream) forget(u *streamUser) {
	if len(s.spare) >= maxSpareUsers {
		return
	}
	// u has nothing pending: settle gave its pending array to s.arrays.
	pages := u.cur.pages[:0] // emit released their references
	if cap(pages) > maxSpareCap {
		pages = nil
	}
	*u = streamUser{cur: current{pages: pages}, dueIdx: -1}
	s.spare = append(s.spare, u)
}

// OpenSessions is the number of users with events not yet in an emitted
// session.
func (s *Stream) OpenSessions() int { return s.users.len() }
