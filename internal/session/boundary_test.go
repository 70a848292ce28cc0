package session

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"sort"
	"testing"
)

// The tests' boundary rules are marks by page: "end" ends a session,
// "start" starts one, "both" does both. (The predicates that set marks in
// production are internal/rule's; the engine sees only marks.)
func testMark(page string) Mark {
	switch page {
	case "end":
		return EndsSession
	case "start":
		return StartsSession
	case "both":
		return StartsSession | EndsSession
	}
	return 0
}

func boundaryRules() Rules {
	r := DefaultRules()
	r.StartOn, r.EndOn = `page_name in ("start", "both")`, `page_name in ("end", "both")`
	return r
}

// naiveBoundarySessions is the reference with rules, written out plainly:
// cut on gap, duration, an end-marked previous event or a start-marked
// one; the reason is the session's own deadline's if the next event is
// past it, else the rule.
func naiveBoundarySessions(rules Rules, evs []ev, endMs int64) []string {
	seen := map[[2]string]bool{}
	byUser := map[string][]ev{}
	for _, e := range evs {
		if k := [2]string{e.uuid, e.id}; !seen[k] {
			seen[k] = true
			byUser[e.uuid] = append(byUser[e.uuid], e)
		}
	}
	var out []string
	for u, list := range byUser {
		sort.SliceStable(list, func(i, j int) bool {
			if list[i].t != list[j].t {
				return list[i].t < list[j].t
			}
			return list[i].id < list[j].id
		})
		var cur []ev
		timeDeadline := func() (int64, string) {
			gap, dur := cur[len(cur)-1].t+rules.InactivityMs, cur[0].t+rules.MaxDurationMs
			if gap <= dur {
				return gap, "inactivity"
			}
			return dur, "max_duration"
		}
		flush := func(reason string) {
			var pages []string
			for _, e := range cur {
				pages = append(pages, e.page)
			}
			out = append(out, fmt.Sprintf("%s|%d|%d|%d|%v|%s", u, cur[0].t, cur[len(cur)-1].t, len(cur), pages, reason))
			cur = nil
		}
		for _, e := range list {
			if len(cur) > 0 {
				last := cur[len(cur)-1]
				dl, why := timeDeadline()
				switch {
				case testMark(last.page)&EndsSession != 0:
					flush("rule")
				case e.t > dl:
					flush(why)
				case testMark(e.page)&StartsSession != 0:
					flush("rule")
				}
			}
			cur = append(cur, e)
		}
		dl, why := timeDeadline()
		switch {
		case testMark(cur[len(cur)-1].page)&EndsSession != 0:
			flush("rule")
		case endMs > dl:
			flush(why)
		default:
			flush("end_of_input")
		}
	}
	slices.Sort(out)
	return out
}

func shortKey(s *Session) string {
	return fmt.Sprintf("%s|%d|%d|%d|%v|%s", s.UUID, s.StartMs, s.EndMs, s.EventCount, s.Pages, s.EndReason)
}

// withBoundaryPages relabels some pages start, end or both.
func withBoundaryPages(r *rand.Rand, evs []ev) []ev {
	out := slices.Clone(evs)
	for i := range out {
		switch r.IntN(12) {
		case 0:
			out[i].page = "end"
		case 1:
			out[i].page = "start"
		case 2:
			out[i].page = "both"
		}
	}
	return out
}

// TestBoundaryRules: batch with boundary marks equals the plain reference,
// and the stream equals batch over the events that were not late, for
// random inputs, lateness and advance points. Without the rules' texts
// the same marks change nothing.
func TestBoundaryRules(t *testing.T) {
	r := rand.New(rand.NewPCG(21, 21))
	reasons := map[string]int{}
	for iter := 0; iter < 300; iter++ {
		rules := boundaryRules()
		evs := withBoundaryPages(r, randomEvents(r, 1+r.IntN(300), false))
		endMs := int64(-1 << 63)
		for _, e := range evs {
			endMs = max(endMs, e.t)
		}
		var batch []string
		ids := map[string]bool{}
		p := NewPartition(rules)
		for i, e := range evs {
			p.Add(e.uuid, &Event{TimeMs: e.t, Seq: uint64(i), ID: e.id, Page: e.page, Mark: testMark(e.page)})
		}
		p.Close(endMs, nil, func(s *Session) {
			if ids[s.ID()] {
				t.Fatalf("iteration %d: session id %s twice (%s)", iter, s.ID(), shortKey(s))
			}
			ids[s.ID()] = true
			batch = append(batch, shortKey(s))
			reasons[s.EndReason.String()]++
		})
		slices.Sort(batch)
		if want := naiveBoundarySessions(rules, evs, endMs); !slices.Equal(batch, want) {
			t.Fatalf("iteration %d: batch differs from the reference\n got %v\nwant %v", iter, batch, want)
		}

		lateness := []int64{0, 10 * min_, hour}[iter%3]
		st := runStream(rules, lateness, evs, 1+r.IntN(40))
		late := map[int]bool{}
		for _, i := range st.late {
			late[i] = true
		}
		var onTime []ev
		for i, e := range evs {
			if !late[i] {
				onTime = append(onTime, e)
			}
		}
		if want := batchSessions(rules, onTime); !slices.Equal(st.sessions, want) {
			t.Fatalf("iteration %d: stream and batch differ with boundary rules\n got %v\nwant %v", iter, st.sessions, want)
		}
		if plain := DefaultRules(); !slices.Equal(batchSessions(plain, evs), runStream(plain, hour*1000, evs, 0).sessions) {
			t.Fatalf("iteration %d: without rules, marks must not matter", iter)
		}
	}
	if reasons["rule"] == 0 || reasons["inactivity"] == 0 {
		t.Fatalf("end reasons %v: the test did not exercise the rules", reasons)
	}
}

// TestBoundaryRulesEdgeCases pins the semantics on small inputs.
func TestBoundaryRulesEdgeCases(t *testing.T) {
	rules := boundaryRules()
	for _, c := range []struct {
		name string
		evs  []ev
		want []string
	}{
		{"end rule ends at once, also for an event at the same millisecond", []ev{
			{"u", "a", t0, "end"}, {"u", "b", t0, "home"}},
			[]string{"u|1700000000000|1700000000000|1|[end]|rule", "u|1700000000000|1700000000000|1|[home]|end_of_input"}},
		{"start rule cuts the session before it", []ev{
			{"u", "a", t0, "home"}, {"u", "b", t0 + min_, "start"}, {"u", "c", t0 + 2*min_, "home"}},
			[]string{"u|1700000000000|1700000000000|1|[home]|rule", "u|1700000060000|1700000120000|2|[start home]|end_of_input"}},
		{"start rule on the first event changes nothing", []ev{
			{"u", "a", t0, "start"}, {"u", "b", t0 + min_, "home"}},
			[]string{"u|1700000000000|1700000060000|2|[start home]|end_of_input"}},
		{"a gap before a start event is inactivity", []ev{
			{"u", "a", t0, "home"}, {"u", "b", t0 + hour, "start"}},
			[]string{"u|1700000000000|1700000000000|1|[home]|inactivity", "u|1700003600000|1700003600000|1|[start]|end_of_input"}},
		{"both: a session of its own", []ev{
			{"u", "a", t0, "home"}, {"u", "b", t0 + min_, "both"}, {"u", "c", t0 + 2*min_, "home"}},
			[]string{"u|1700000000000|1700000000000|1|[home]|rule", "u|1700000060000|1700000060000|1|[both]|rule", "u|1700000120000|1700000120000|1|[home]|end_of_input"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			got := batchSessionsShort(rules, c.evs)
			if !slices.Equal(got, c.want) {
				t.Fatalf("got  %v\nwant %v", got, c.want)
			}
			// The stream agrees, drained at the last event like batch.
			s := NewStream(rules, hour)
			var st []string
			for i, e := range c.evs {
				s.Add(e.uuid, &Event{TimeMs: e.t, Seq: uint64(i), ID: e.id, Page: e.page, Mark: testMark(e.page)})
			}
			s.Drain(s.MaxSeenMs(), func(x *Session) { st = append(st, shortKey(x)) })
			slices.Sort(st)
			if !slices.Equal(st, c.want) {
				t.Fatalf("stream got %v\nwant %v", st, c.want)
			}
		})
	}
}

func batchSessionsShort(rules Rules, evs []ev) []string { return batchKeys(rules, evs, shortKey) }

// TestBoundaryCheckpoint: a Stream checkpointed and restored mid-way
// keeps its marks (open sessions' last marks, pending events' marks), and
// a checkpoint refuses other rules.
func TestBoundaryCheckpoint(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 5))
	rules := boundaryRules()
	for iter := 0; iter < 50; iter++ {
		evs := withBoundaryPages(r, randomEvents(r, 50+r.IntN(200), false))
		want := runStream(rules, 10*min_, evs, 7).sessions
		s := NewStream(rules, 10*min_)
		var got []string
		collect := func(x *Session) { got = append(got, sessionKey(x)) }
		cut := len(evs) / 2
		for i, e := range evs[:cut] {
			s.Add(e.uuid, &Event{TimeMs: e.t, Seq: uint64(i), ID: e.id, Page: e.page, Mark: testMark(e.page)})
			if i%7 == 0 {
				s.Advance(collect)
			}
		}
		state := s.AppendState(nil)
		s2, err := RestoreStream(rules, 10*min_, state)
		if err != nil {
			t.Fatal(err)
		}
		for i, e := range evs[cut:] {
			s2.Add(e.uuid, &Event{TimeMs: e.t, Seq: uint64(cut + i), ID: e.id, Page: e.page, Mark: testMark(e.page)})
			if (cut+i)%7 == 0 {
				s2.Advance(collect)
			}
		}
		s2.Drain(s2.MaxSeenMs(), collect)
		slices.Sort(got)
		if !slices.Equal(got, want) {
			t.Fatalf("iteration %d: restored stream differs\n got %v\nwant %v", iter, got, want)
		}
		other := rules
		other.EndOn = `page_name = "logout"`
		if _, err := RestoreStream(other, 10*min_, state); err == nil {
			t.Fatal("a checkpoint restored under other boundary rules")
		}
		if _, err := RestoreStream(DefaultRules(), 10*min_, state); err == nil {
			t.Fatal("a checkpoint with rules restored without them")
		}
	}
}

// TestAttrsStreamEqualsBatch: the attribute state the Stream folds (also
// across a checkpoint) equals the Partition's, for an order-sensitive
// fold (the inputs in session order).
func TestAttrsStreamEqualsBatch(t *testing.T) {
	fold := func(state []byte, in string) []byte { return append(append(state, in...), ';') }
	r := rand.New(rand.NewPCG(3, 3))
	for iter := 0; iter < 100; iter++ {
		rules := boundaryRules()
		rules.Attrs = "pages=test(page)"
		evs := withBoundaryPages(r, randomEvents(r, 1+r.IntN(200), false))
		key := func(s *Session) string { return shortKey(s) + "|" + string(s.Attrs) }
		p := NewPartition(rules)
		p.SetAttrs(fold)
		end := int64(-1 << 63)
		for i, e := range evs {
			p.Add(e.uuid, &Event{TimeMs: e.t, Seq: uint64(i), ID: e.id, Page: e.page, Mark: testMark(e.page), Attrs: e.page + e.id})
			end = max(end, e.t)
		}
		var want []string
		p.Close(end, nil, func(s *Session) { want = append(want, key(s)) })
		slices.Sort(want)

		s := NewStream(rules, 1000*hour) // nothing late
		s.SetAttrs(fold)
		var got []string
		collect := func(x *Session) { got = append(got, key(x)) }
		for i, e := range evs {
			if i == len(evs)/2 {
				var err error
				if s, err = RestoreStream(rules, 1000*hour, s.AppendState(nil)); err != nil {
					t.Fatal(err)
				}
				s.SetAttrs(fold)
			}
			s.Add(e.uuid, &Event{TimeMs: e.t, Seq: uint64(i), ID: e.id, Page: e.page, Mark: testMark(e.page), Attrs: e.page + e.id})
			if i%5 == 0 {
				s.Advance(collect)
			}
		}
		s.Drain(end, collect)
		slices.Sort(got)
		if !slices.Equal(got, want) {
			t.Fatalf("iteration %d: stream attributes differ\n got %v\nwant %v", iter, got, want)
		}
		other := rules
		other.Attrs = ""
		if _, err := RestoreStream(other, 1000*hour, s.AppendState(nil)); err == nil {
			t.Fatal("a checkpoint with attributes restored without them")
		}
	}
}
