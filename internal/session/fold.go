package session

// folder cuts one user's ordered, deduplicated events into sessions.
type folder struct {
	rules Rules
	pages []string // scratch reused for every session's pages
}

// fold emits every session of evs that is closed by endMs (the latest time
// the data covers) and returns the index where the still-open last session
// begins. If flush is set the open session is emitted too, as EndOfInput,
// and len(evs) is returned.
func (f *folder) fold(uuid string, evs []Event, endMs int64, flush bool, emit func(*Session)) int {
	if len(evs) == 0 {
		return 0
	}
	begin := 0
	start, last := evs[0].TimeMs, evs[0].TimeMs
	for i := 1; i < len(evs); i++ {
		t := evs[i].TimeMs
		if t-last > f.rules.InactivityMs || t-start > f.rules.MaxDurationMs {
			f.emit(uuid, evs[begin:i], true, emit)
			begin, start = i, t
		}
		last = t
	}
	deadline, _ := f.rules.closeDeadline(start, last)
	if endMs > deadline {
		f.emit(uuid, evs[begin:], true, emit)
		return len(evs)
	}
	if flush {
		f.emit(uuid, evs[begin:], false, emit)
		return len(evs)
	}
	return begin
}

func (f *folder) emit(uuid string, evs []Event, closed bool, emit func(*Session)) {
	first, last := &evs[0], &evs[len(evs)-1]
	s := Session{
		UUID:       uuid,
		StartMs:    first.TimeMs,
		EndMs:      last.TimeMs,
		EventCount: int64(len(evs)),
		EntryPage:  first.Page,
		ExitPage:   last.Page,
		EndReason:  EndOfInput,
	}
	if closed {
		_, s.EndReason = f.rules.closeDeadline(s.StartMs, s.EndMs)
	}
	n := len(evs)
	if n > f.rules.MaxPages {
		n = f.rules.MaxPages
		s.PagesTruncated = true
	}
	f.pages = f.pages[:0]
	for i := 0; i < n; i++ {
		f.pages = append(f.pages, evs[i].Page)
	}
	s.Pages = f.pages
	emit(&s)
}
