package session

import (
	"bufio"
	"fmt"
	"math/rand/v2"
	"os"
	"slices"
	"testing"

	"github.com/sessionize/sessionize/internal/conformance"
	"github.com/sessionize/sessionize/internal/event"
)

func sessionKey(s *Session) string {
	return fmt.Sprintf("%s|%d|%d|%d|%v|%v|%s|%s|%s", s.UUID, s.StartMs, s.EndMs, s.EventCount, s.Pages, s.PagesTruncated, s.EntryPage, s.ExitPage, s.EndReason)
}

type streamRun struct {
	sessions []string
	late     []int // indexes of late events
	outcomes map[Outcome]int
}

// runStream feeds evs in order, advancing after every advanceEvery events,
// and drains at the end.
func runStream(rules Rules, latenessMs int64, evs []ev, advanceEvery int) streamRun {
	return feedStream(NewStream(rules, latenessMs), evs, advanceEvery)
}

// feedStream feeds evs to s in order, advancing after every advanceEvery
// events, and drains at the end.
func feedStream(s *Stream, evs []ev, advanceEvery int) streamRun {
	r := streamRun{outcomes: map[Outcome]int{}}
	collect := func(x *Session) { r.sessions = append(r.sessions, sessionKey(x)) }
	for i, e := range evs {
		o := s.Add(e.uuid, &Event{TimeMs: e.t, Seq: uint64(i), ID: e.id, Page: e.page, Mark: testMark(e.page)})
		r.outcomes[o]++
		if o == Late {
			r.late = append(r.late, i)
		}
		if advanceEvery > 0 && i%advanceEvery == 0 {
			s.Advance(collect)
		}
	}
	s.Drain(s.MaxSeenMs(), collect)
	if s.OpenSessions() != 0 {
		panic("open sessions after drain")
	}
	slices.Sort(r.sessions)
	return r
}

func batchSessions(rules Rules, evs []ev) []string { return batchKeys(rules, evs, sessionKey) }

// batchKeys sessionizes evs in one Partition and returns key of each
// session, sorted.
func batchKeys(rules Rules, evs []ev, key func(*Session) string) []string {
	p := NewPartition(rules)
	end := int64(-1 << 63)
	for i, e := range evs {
		p.Add(e.uuid, &Event{TimeMs: e.t, Seq: uint64(i), ID: e.id, Page: e.page, Mark: testMark(e.page)})
		end = max(end, e.t)
	}
	var out []string
	p.Close(end, nil, func(s *Session) { out = append(out, key(s)) })
	slices.Sort(out)
	return out
}

// TestStreamEqualsBatchWithoutLateEvents is the stream's contract: its
// sessions are batch's over the same events minus the late ones, whenever
// the watermark is advanced. Ids are unique apart from exact redeliveries:
// the stream recognises an id re-sent with another timestamp only while
// the first copy is still pending (see Stream).
func TestStreamEqualsBatchWithoutLateEvents(t *testing.T) {
	r := rand.New(rand.NewPCG(9, 9))
	lateSeen := 0
	for iter := 0; iter < 300; iter++ {
		rules := DefaultRules()
		if iter%4 == 0 {
			rules = Rules{InactivityMs: 5 * min_, MaxDurationMs: 30 * min_, MaxPages: 3}
		}
		lateness := []int64{0, 10 * min_, hour}[iter%3]
		evs := randomEvents(r, 1+r.IntN(400), false)
		got := runStream(rules, lateness, evs, 1+r.IntN(50))
		var onTime []ev
		late := map[int]bool{}
		for _, i := range got.late {
			late[i] = true
		}
		for i, e := range evs {
			if !late[i] {
				onTime = append(onTime, e)
			}
		}
		lateSeen += len(got.late)
		want := batchSessions(rules, onTime)
		if !slices.Equal(got.sessions, want) {
			t.Fatalf("iteration %d: stream and batch differ\n got %v\nwant %v", iter, got.sessions, want)
		}
		if got.outcomes[Accepted]+got.outcomes[Duplicate]+got.outcomes[Late] != len(evs) {
			t.Fatalf("outcomes %v do not add up to %d", got.outcomes, len(evs))
		}
	}
	if lateSeen == 0 {
		t.Fatal("no late events generated: the test exercised nothing")
	}
}

func TestStreamAdvanceEmitsOnlyClosedSessions(t *testing.T) {
	s := NewStream(DefaultRules(), 10*min_)
	var got []*Session
	collect := func(x *Session) { c := *x; got = append(got, &c) }
	s.Add("u", &Event{TimeMs: t0, ID: "a", Page: "home"})
	s.Add("v", &Event{TimeMs: t0 + 40*min_, ID: "b", Page: "home"}) // watermark t0+30m: not past the deadline
	s.Advance(collect)
	if len(got) != 0 {
		t.Fatalf("emitted %d sessions before the watermark passed the deadline", len(got))
	}
	s.Add("v", &Event{TimeMs: t0 + 40*min_ + 1, ID: "c", Page: "home"}) // watermark t0+30m+1 > t0+30m
	s.Advance(collect)
	if len(got) != 1 || got[0].UUID != "u" || got[0].EndReason != Inactivity {
		t.Fatalf("got %+v", got)
	}
	if s.Add("u", &Event{TimeMs: t0 + 5*min_, ID: "z"}) != Late {
		t.Fatal("event below the watermark was not late")
	}
	if s.Add("v", &Event{TimeMs: t0 + 40*min_, ID: "b"}) != Duplicate {
		t.Fatal("redelivery was not a duplicate")
	}
	if s.OpenSessions() != 1 {
		t.Fatalf("open sessions %d, want 1", s.OpenSessions())
	}
}

// TestStreamConformance runs the shared cases' stream view: one partition,
// arrival order = line order.
func TestStreamConformance(t *testing.T) {
	for _, c := range conformance.Cases(t) {
		t.Run(c.Name, func(t *testing.T) {
			f, err := os.Open(c.Input())
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			var evs []ev
			p := event.NewParser(c.MustSchema(t), 0)
			sc := bufio.NewScanner(f)
			for sc.Scan() {
				var fl event.Fields
				if p.Parse(sc.Bytes(), &fl) == event.OK {
					evs = append(evs, ev{string(fl.UUID), string(fl.EventID), fl.TimestampMs, string(fl.PageName)})
				}
			}
			rules := Rules{InactivityMs: c.InactivityMs, MaxDurationMs: c.MaxDurationMs, MaxPages: DefaultMaxPages}
			got := runStream(rules, c.AllowedLatenessMs, evs, 1)
			var lateIDs []string
			late := map[int]bool{}
			for _, i := range got.late {
				lateIDs = append(lateIDs, evs[i].id)
				late[i] = true
			}
			if !slices.Equal(lateIDs, c.StreamLateIDs) && len(lateIDs)+len(c.StreamLateIDs) > 0 {
				t.Fatalf("late %v, want %v", lateIDs, c.StreamLateIDs)
			}
			var onTime []ev
			for i, x := range evs {
				if !late[i] {
					onTime = append(onTime, x)
				}
			}
			if want := batchSessions(rules, onTime); !slices.Equal(got.sessions, want) {
				t.Fatalf("stream sessions differ from batch without late events\n got %v\nwant %v", got.sessions, want)
			}
		})
	}
}

// TestStreamCheckpointRestore: stopping at any point, checkpointing and
// restoring gives the same sessions as an uninterrupted run, and the
// checkpoint of a restored stream is byte-identical.
func TestStreamCheckpointRestore(t *testing.T) {
	r := rand.New(rand.NewPCG(4, 4))
	for iter := 0; iter < 100; iter++ {
		rules := DefaultRules()
		rules.MaxPages = 4
		evs := randomEvents(r, 2+r.IntN(300), false)
		want := runStream(rules, 10*min_, evs, 7)

		cut := r.IntN(len(evs))
		s := NewStream(rules, 10*min_)
		var got []string
		collect := func(x *Session) { got = append(got, sessionKey(x)) }
		feed := func(s *Stream, from, to int) {
			for i := from; i < to; i++ {
				e := evs[i]
				s.Add(e.uuid, &Event{TimeMs: e.t, Seq: uint64(i), ID: e.id, Page: e.page})
				if i%7 == 0 {
					s.Advance(collect)
				}
			}
		}
		feed(s, 0, cut)
		state := s.AppendState(nil)
		restored, err := RestoreStream(rules, 10*min_, state)
		if err != nil {
			t.Fatal(err)
		}
		if again := restored.AppendState(nil); string(again) != string(state) {
			t.Fatalf("iteration %d: checkpoint of the restored stream differs", iter)
		}
		if restored.Stats() != s.Stats() || restored.Watermark() != s.Watermark() || restored.OpenSessions() != s.OpenSessions() {
			t.Fatalf("iteration %d: restored stats/watermark/open differ", iter)
		}
		feed(restored, cut, len(evs))
		restored.Drain(restored.MaxSeenMs(), collect)
		slices.Sort(got)
		if !slices.Equal(got, want.sessions) {
			t.Fatalf("iteration %d (cut at %d): restored run differs\n got %v\nwant %v", iter, cut, got, want.sessions)
		}
	}
	if _, err := RestoreStream(DefaultRules(), 5*min_, NewStream(DefaultRules(), 10*min_).AppendState(nil)); err == nil {
		t.Fatal("restoring with another lateness must fail")
	}
	for _, bad := range [][]byte{nil, []byte("SZST1"), []byte("SZST1\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\x01")} {
		if _, err := RestoreStream(DefaultRules(), 10*min_, bad); err == nil {
			t.Fatalf("corrupt checkpoint %q accepted", bad)
		}
	}
}

func FuzzRestoreStream(f *testing.F) {
	s := NewStream(DefaultRules(), 10*min_)
	s.Add("u", &Event{TimeMs: t0, ID: "a", Page: "home"})
	f.Add(s.AppendState(nil))
	f.Fuzz(func(t *testing.T, b []byte) {
		RestoreStream(DefaultRules(), 10*min_, b) // must not panic or hang
	})
}

// TestStreamReusesForgottenUsersCleanly: a user whose session closed is
// kept for reuse (Stream.forget); the next user it becomes starts with
// nothing of it, and a session handed out keeps its pages until the
// callback returns.
func TestStreamReusesForgottenUsersCleanly(t *testing.T) {
	s := NewStream(DefaultRules(), 0)
	var got []Session
	collect := func(x *Session) {
		c := *x
		c.Pages = slices.Clone(x.Pages)
		got = append(got, c)
	}
	s.Add("u", &Event{TimeMs: t0, ID: "a", Page: "home"})
	s.Add("u", &Event{TimeMs: t0 + min_, ID: "b", Page: "search"})
	s.Add("w", &Event{TimeMs: t0 + 2*hour, ID: "c", Page: "x"}) // closes u's session
	s.Advance(collect)
	if len(got) != 1 || len(s.spare) != 1 {
		t.Fatalf("emitted %d, %d spare users; want u's session and u kept", len(got), len(s.spare))
	}
	s.Add("v", &Event{TimeMs: t0 + 2*hour + 1, ID: "a", Page: "booking"}) // reuses u; same event id as u's first
	s.Drain(t0+2*hour+1, collect)
	want := []struct {
		uuid  string
		pages []string
		count int64
	}{{"u", []string{"home", "search"}, 2}, {"v", []string{"booking"}, 1}, {"w", []string{"x"}, 1}}
	if len(got) != len(want) {
		t.Fatalf("got %d sessions, want %d: %+v", len(got), len(want), got)
	}
	for i, w := range want {
		g := got[i]
		if g.UUID != w.uuid || !slices.Equal(g.Pages, w.pages) || g.EventCount != w.count || g.EntryPage != w.pages[0] {
			t.Errorf("session %d: %s %v (%d events, entry %s), want %s %v (%d)", i, g.UUID, g.Pages, g.EventCount, g.EntryPage, w.uuid, w.pages, w.count)
		}
	}
}
