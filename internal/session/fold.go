package session

// folder cuts one user's ordered, deduplicated events into sessions.
type folder struct {
	rules      Rules
	pages      []string // scratch reused for every session's pages
	keepEvents bool
	// extras: records have a mark and maybe a raw record in the arena
	// after their id (see arena.addExtras).
	extras bool
	events []Event // scratch reused for every session's events
	// session is the Session handed to emit, reused for every one: built
	// anew, it escaped to the heap through the callback, an allocation of
	// 136 bytes per session (a tenth of a batch run's).
	session Session
	attrs   AttrFold // nil without session attributes
	state   []byte   // the attributes of the session being emitted
}

func (f *folder) mark(a *arena, r *rec) Mark {
	if !f.extras {
		return 0
	}
	return Mark(a.b[r.id.off+r.id.len]) // the first of the extras
}

// fold emits every session of rs that is closed by endMs (the latest time
// the data covers) and returns the index where the still-open last session
// begins. If flush is set the open session is emitted too, as EndOfInput,
// and len(rs) is returned.
func (f *folder) fold(a *arena, uuid string, rs []rec, endMs int64, flush bool, emit func(*Session)) int {
	if len(rs) == 0 {
		return 0
	}
	begin := 0
	start, last, lastMark := rs[0].time, rs[0].time, f.mark(a, &rs[0])
	for i := 1; i < len(rs); i++ {
		t, mark := rs[i].time, f.mark(a, &rs[i])
		if f.rules.startsNew(start, last, lastMark, t, mark) {
			f.emit(a, uuid, rs[begin:i], f.rules.cutReason(start, last, lastMark, t), emit)
			begin, start = i, t
		}
		last, lastMark = t, mark
	}
	deadline, reason := f.rules.closeDeadline(start, last, lastMark)
	if endMs > deadline {
		f.emit(a, uuid, rs[begin:], reason, emit)
		return len(rs)
	}
	if flush {
		f.emit(a, uuid, rs[begin:], EndOfInput, emit)
		return len(rs)
	}
	return begin
}

func (f *folder) emit(a *arena, uuid string, rs []rec, reason EndReason, emit func(*Session)) {
	first, last := &rs[0], &rs[len(rs)-1]
	s := &f.session
	*s = Session{
		UUID:       uuid,
		StartMs:    first.time,
		EndMs:      last.time,
		EventCount: int64(len(rs)),
		EntryPage:  a.page(first.page),
		ExitPage:   a.page(last.page),
		EndReason:  reason,
	}
	if f.rules.hasBoundaries() {
		s.FirstEventID = a.str(first.id)
	}
	n := len(rs)
	if n > f.rules.MaxPages {
		n = f.rules.MaxPages
		s.PagesTruncated = true
	}
	f.pages = f.pages[:0]
	for i := 0; i < n; i++ {
		f.pages = append(f.pages, a.page(rs[i].page))
	}
	s.Pages = f.pages
	if f.attrs != nil {
		f.state = f.state[:0]
		for i := range rs {
			_, _, in := a.extras(rs[i].id, f.keepEvents, true)
			f.state = f.attrs(f.state, in)
		}
		s.Attrs = f.state
	}
	if f.keepEvents {
		f.events = f.events[:0]
		for i := range rs {
			f.events = append(f.events, f.event(a, &rs[i]))
		}
		s.Events = f.events
	}
	emit(s)
}

// event is r as an Event; its strings point into a.
func (f *folder) event(a *arena, r *rec) Event {
	e := Event{TimeMs: r.time, Seq: r.seq, ID: a.str(r.id), Page: a.page(r.page)}
	if f.extras {
		e.Mark, e.Raw, e.Attrs = a.extras(r.id, f.keepEvents, f.attrs != nil)
	}
	return e
}
