package session

// folder cuts one user's ordered, deduplicated events into sessions.
type folder struct {
	rules      Rules
	pages      []string // scratch reused for every session's pages
	keepEvents bool
	events     []Event // scratch reused for every session's events
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
	start, last := rs[0].time, rs[0].time
	for i := 1; i < len(rs); i++ {
		t := rs[i].time
		if f.rules.startsNew(start, last, t) {
			f.emit(a, uuid, rs[begin:i], true, emit)
			begin, start = i, t
		}
		last = t
	}
	deadline, _ := f.rules.closeDeadline(start, last)
	if endMs > deadline {
		f.emit(a, uuid, rs[begin:], true, emit)
		return len(rs)
	}
	if flush {
		f.emit(a, uuid, rs[begin:], false, emit)
		return len(rs)
	}
	return begin
}

func (f *folder) emit(a *arena, uuid string, rs []rec, closed bool, emit func(*Session)) {
	first, last := &rs[0], &rs[len(rs)-1]
	s := Session{
		UUID:       uuid,
		StartMs:    first.time,
		EndMs:      last.time,
		EventCount: int64(len(rs)),
		EntryPage:  a.str(first.page),
		ExitPage:   a.str(last.page),
		EndReason:  EndOfInput,
	}
	if closed {
		_, s.EndReason = f.rules.closeDeadline(s.StartMs, s.EndMs)
	}
	n := len(rs)
	if n > f.rules.MaxPages {
		n = f.rules.MaxPages
		s.PagesTruncated = true
	}
	f.pages = f.pages[:0]
	for i := 0; i < n; i++ {
		f.pages = append(f.pages, a.str(rs[i].page))
	}
	s.Pages = f.pages
	if f.keepEvents {
		f.events = f.events[:0]
		for i := range rs {
			f.events = append(f.events, rs[i].event(a))
		}
		s.Events = f.events
	}
	emit(&s)
}

// event is r as an Event; its strings point into a.
func (r *rec) event(a *arena) Event {
	return Event{TimeMs: r.time, Seq: r.seq, ID: a.str(r.id), Page: a.str(r.page), Raw: a.str(r.raw)}
}
