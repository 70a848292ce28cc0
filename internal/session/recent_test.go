package session

import (
	"math"
	"math/rand/v2"
	"os"
	"slices"
	"strconv"
	"testing"
)

var testDedup = Dedup{WindowMs: hour, MaxKeys: 1000}

// TestStreamRedeliveryAfterCommit: a copy of an event whose session was
// already emitted (drained, or closed by the watermark) is a duplicate
// while its key is remembered, also across a checkpoint and restore, and
// never makes a second session. What happens once the key is forgotten is
// stated too.
func TestStreamRedeliveryAfterCommit(t *testing.T) {
	type step struct {
		uuid, id string
		t        int64
	}
	first := []step{{"u", "a", t0}, {"u", "b", t0 + min_}, {"v", "c", t0 + 2*min_}}
	cases := []struct {
		name    string
		dedup   Dedup
		close   string // "drain" or "advance": how the first session ends
		restore bool   // checkpoint and restore before the copy
		before  []step // accepted after the close, before the copy
		copy    step
		want    Outcome
	}{
		{name: "drained, exact copy", dedup: testDedup, close: "drain", copy: step{"u", "b", t0 + min_}, want: Duplicate},
		{name: "drained, exact copy, restored", dedup: testDedup, close: "drain", restore: true, copy: step{"u", "a", t0}, want: Duplicate},
		{name: "drained, copy with a later timestamp", dedup: testDedup, close: "drain", copy: step{"u", "a", t0 + 5*min_}, want: Duplicate},
		{name: "closed by the watermark, exact copy", dedup: testDedup, close: "advance", copy: step{"u", "a", t0}, want: Duplicate},
		{name: "closed by the watermark, exact copy, restored", dedup: testDedup, close: "advance", restore: true, copy: step{"u", "b", t0 + min_}, want: Duplicate},
		{name: "closed by the watermark, copy re-stamped now", dedup: testDedup, close: "advance", restore: true, copy: step{"u", "a", t0 + 3*hour}, want: Duplicate},
		// Forgotten keys.
		{name: "window passed: an exact copy is late", dedup: Dedup{WindowMs: 5 * min_, MaxKeys: 1000}, close: "advance",
			before: []step{{"w", "x", t0 + 3*hour}}, copy: step{"u", "a", t0}, want: Late},
		{name: "window passed: a copy re-stamped now is new", dedup: Dedup{WindowMs: 5 * min_, MaxKeys: 1000}, close: "advance",
			before: []step{{"w", "x", t0 + 3*hour}}, copy: step{"u", "a", t0 + 3*hour}, want: Accepted},
		{name: "pushed out by MaxKeys after a drain: an exact copy above the watermark is new", dedup: Dedup{WindowMs: hour, MaxKeys: 2}, close: "drain",
			before: []step{{"w", "x", t0 + 2*min_}, {"w", "y", t0 + 2*min_}}, copy: step{"u", "b", t0 + min_}, want: Accepted},
		{name: "no dedup: a drained exact copy is new", close: "drain", copy: step{"u", "b", t0 + min_}, want: Accepted},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			s := NewStream(DefaultRules(), 10*min_)
			s.SetDedup(c.dedup)
			uSessions, added := 0, 0
			collect := func(x *Session) {
				if x.UUID == "u" {
					uSessions++
				}
			}
			add := func(st step, want Outcome) {
				t.Helper()
				added++
				if got := s.Add(st.uuid, &Event{TimeMs: st.t, ID: st.id, Page: "home"}); got != want {
					t.Fatalf("%v: %v, want %v", st, got, want)
				}
			}
			for _, st := range first {
				add(st, Accepted)
			}
			switch c.close {
			case "drain":
				s.Drain(s.MaxSeenMs(), collect)
			case "advance":
				add(step{"v", "z", t0 + hour}, Accepted) // watermark t0+50m closes u's session
				s.Advance(collect)
			}
			if uSessions != 1 {
				t.Fatalf("user u has %d sessions before the copy, want 1", uSessions)
			}
			for _, st := range c.before {
				add(st, Accepted)
			}
			if c.restore {
				state := s.AppendState(nil)
				r, err := RestoreStream(DefaultRules(), 10*min_, state)
				if err != nil {
					t.Fatal(err)
				}
				r.SetDedup(c.dedup)
				if r.DedupStats().Keys != s.DedupStats().Keys {
					t.Fatalf("restored %d keys, had %d", r.DedupStats().Keys, s.DedupStats().Keys)
				}
				s = r
			}
			stats := s.Stats()
			add(c.copy, c.want)
			s.Drain(s.MaxSeenMs()+10*hour, collect)
			wantU := 1
			if c.want == Accepted {
				wantU = 2
			}
			if uSessions != wantU {
				t.Fatalf("user u has %d sessions, want %d", uSessions, wantU)
			}
			after := s.Stats()
			if c.want == Duplicate && (after.Duplicates != stats.Duplicates+1 || after.Accepted != stats.Accepted) {
				t.Fatalf("counts %+v after %+v: the copy must count as one duplicate", after, stats)
			}
			if after.Accepted+after.Duplicates+after.Late != int64(added) || after.Accepted != after.SessionEvents {
				t.Fatalf("counts %+v do not add up to %d events", after, added)
			}
		})
	}
}

// TestStreamEqualsBatchWithDedup: with every key remembered, the stream's
// sessions are batch's without the late events even when ids are re-sent
// with other timestamps, long after their sessions closed.
func TestStreamEqualsBatchWithDedup(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 5))
	dups := 0
	for iter := 0; iter < 200; iter++ {
		rules := DefaultRules()
		lateness := []int64{0, 10 * min_, hour}[iter%3]
		evs := randomEvents(r, 1+r.IntN(400), true)
		got := runStreamDedup(rules, lateness, Dedup{WindowMs: 1 << 50, MaxKeys: len(evs)}, evs, 1+r.IntN(50))
		late := map[int]bool{}
		for _, i := range got.late {
			late[i] = true
		}
		var onTime []ev
		for i, e := range evs {
			if !late[i] {
				onTime = append(onTime, e)
			}
		}
		dups += got.outcomes[Duplicate]
		// Batch ends its input at the latest event time, duplicates
		// included; the stream at the latest it accepted.
		if want := batchSessionsUntil(rules, onTime, got.endMs); !slices.Equal(got.sessions, want) {
			t.Fatalf("iteration %d: stream and batch differ\n got %v\nwant %v", iter, got.sessions, want)
		}
	}
	if dups == 0 {
		t.Fatal("no duplicates generated: the test exercised nothing")
	}
}

type dedupRun struct {
	streamRun
	endMs int64
}

func runStreamDedup(rules Rules, latenessMs int64, d Dedup, evs []ev, advanceEvery int) dedupRun {
	s := NewStream(rules, latenessMs)
	s.SetDedup(d)
	r := feedStream(s, evs, advanceEvery)
	return dedupRun{r, s.MaxSeenMs()}
}

func batchSessionsUntil(rules Rules, evs []ev, endMs int64) []string {
	p := NewPartition(rules)
	for i, e := range evs {
		p.Add(e.uuid, &Event{TimeMs: e.t, Seq: uint64(i), ID: e.id, Page: e.page})
	}
	var out []string
	p.Close(endMs, nil, func(s *Session) { out = append(out, sessionKey(s)) })
	slices.Sort(out)
	return out
}

// TestStreamCheckpointRestoreWithDedup: cut anywhere, checkpoint, restore:
// the same outcomes for every event, the same sessions and byte-identical
// checkpoints, with a bound small enough to evict on the way.
func TestStreamCheckpointRestoreWithDedup(t *testing.T) {
	r := rand.New(rand.NewPCG(6, 6))
	for iter := 0; iter < 150; iter++ {
		rules := DefaultRules()
		d := Dedup{WindowMs: r.Int64N(hour), MaxKeys: 1 + r.IntN(64)}
		evs := randomEvents(r, 2+r.IntN(300), iter%2 == 0)
		run := func(cut int) ([]Outcome, []string, []byte) {
			s := NewStream(rules, 10*min_)
			s.SetDedup(d)
			var outs []Outcome
			var sessions []string
			collect := func(x *Session) { sessions = append(sessions, sessionKey(x)) }
			var state []byte
			for i, e := range evs {
				if i == cut {
					state = s.AppendState(nil)
					var err error
					if s, err = RestoreStream(rules, 10*min_, state); err != nil {
						t.Fatal(err)
					}
					s.SetDedup(d)
					if again := s.AppendState(nil); string(again) != string(state) {
						t.Fatalf("iteration %d: checkpoint of the restored stream differs", iter)
					}
				}
				outs = append(outs, s.Add(e.uuid, &Event{TimeMs: e.t, Seq: uint64(i), ID: e.id, Page: e.page}))
				if i%7 == 0 {
					s.Advance(collect)
				}
				if i%61 == 60 {
					s.Drain(s.MaxSeenMs(), collect)
				}
			}
			return outs, sessions, s.AppendState(nil)
		}
		wantOuts, wantSessions, wantState := run(-1)
		cut := r.IntN(len(evs))
		outs, sessions, state := run(cut)
		if !slices.Equal(outs, wantOuts) || !slices.Equal(sessions, wantSessions) || string(state) != string(wantState) {
			t.Fatalf("iteration %d (cut at %d, %+v): restored run differs\n outcomes %v\n     want %v", iter, cut, d, outs, wantOuts)
		}
	}
}

// TestRestoreFormat1: a checkpoint written before remembered keys existed
// (testdata, written by that version) restores as a Stream without keys
// and goes on remembering from there.
func TestRestoreFormat1(t *testing.T) {
	data, err := os.ReadFile("testdata/stream_state_v1.bin")
	if err != nil {
		t.Fatal(err)
	}
	s, err := RestoreStream(DefaultRules(), 10*min_, data)
	if err != nil {
		t.Fatal(err)
	}
	s.SetDedup(testDedup)
	if st := s.Stats(); st.Accepted != 4 || s.OpenSessions() != 2 || s.DedupStats().Keys != 0 {
		t.Fatalf("restored stats %+v, open %d, keys %d", st, s.OpenSessions(), s.DedupStats().Keys)
	}
	if s.Add("u1", &Event{TimeMs: t0 + 21*min_, ID: "d"}) != Duplicate {
		t.Fatal("a pending event's copy is not a duplicate")
	}
	if s.Add("u1", &Event{TimeMs: t0 + 22*min_, ID: "e"}) != Accepted || s.Add("u1", &Event{TimeMs: t0 + 22*min_, ID: "e"}) != Duplicate {
		t.Fatal("keys are not remembered after restoring format 1")
	}
	if _, err := RestoreStream(DefaultRules(), 10*min_, s.AppendState(nil)); err != nil {
		t.Fatal(err)
	}
}

// TestRecentKeys checks the set against a map and a slice: membership,
// oldest-first eviction by window and by count, and its memory.
func TestRecentKeys(t *testing.T) {
	r := rand.New(rand.NewPCG(8, 8))
	for iter := 0; iter < 50; iter++ {
		d := Dedup{WindowMs: r.Int64N(1000), MaxKeys: 1 + r.IntN(3000)}
		var set recentKeys
		set.setBound(d, math.MinInt64)
		var model []recentEntry
		w := int64(0)
		for i := 0; i < 5000; i++ {
			// Few distinct hashes, so probe runs collide and wrap.
			k := pendingKey{user: r.Uint64N(50) << 40, id: r.Uint64N(200) << 50}
			inModel := slices.ContainsFunc(model, func(e recentEntry) bool { return e.key == k })
			if set.has(k) != inModel {
				t.Fatalf("iteration %d step %d: has(%v) = %v, model %v", iter, i, k, !inModel, inModel)
			}
			if inModel {
				continue
			}
			tm := w + r.Int64N(100) - 20
			w = max(w, tm-10)
			set.add(k, tm, w, math.MinInt64)
			for len(model) > 0 && model[0].timeMs < w-d.WindowMs {
				model = model[1:]
			}
			if len(model) >= d.MaxKeys {
				model = model[1:]
			}
			model = append(model, recentEntry{k, tm})
			if set.n != len(model) {
				t.Fatalf("iteration %d step %d: %d keys, model %d", iter, i, set.n, len(model))
			}
		}
		var got []recentEntry
		set.each(func(_ int, e recentEntry) { got = append(got, e) })
		if !slices.Equal(got, model) {
			t.Fatalf("iteration %d: keys differ from the model", iter)
		}
		if b := set.memBytes(); b < int64(set.n)*(recentEntryBytes+16) || b > int64(max(d.MaxKeys, 1024))*(recentEntryBytes+4*8)+16 {
			t.Fatalf("iteration %d: %d bytes for %d keys (max %d)", iter, b, set.n, d.MaxKeys)
		}
	}
}

// TestStreamSkipsPendingMapSafely: skipping the pending map while every
// pending event's key is remembered changes no outcome: the same events
// through a Stream that keeps the map always give the same outcomes,
// sessions and checkpoints, with bounds small enough to forget pending
// keys, drains, checkpoints and restores on the way.
func TestStreamSkipsPendingMapSafely(t *testing.T) {
	r := rand.New(rand.NewPCG(11, 11))
	skipped := 0
	for iter := 0; iter < 200; iter++ {
		d := Dedup{WindowMs: r.Int64N(hour), MaxKeys: 1 + r.IntN(80)}
		evs := randomEvents(r, 2+r.IntN(300), iter%2 == 0)
		cut := r.IntN(len(evs))
		run := func(keepMap bool) ([]Outcome, []string, []byte) {
			s := NewStream(DefaultRules(), 10*min_)
			s.keepMap = keepMap
			s.SetDedup(d)
			var outs []Outcome
			var sessions []string
			collect := func(x *Session) { sessions = append(sessions, sessionKey(x)) }
			for i, e := range evs {
				if i == cut {
					var err error
					if s, err = RestoreStream(DefaultRules(), 10*min_, s.AppendState(nil)); err != nil {
						t.Fatal(err)
					}
					s.keepMap = keepMap
					if keepMap {
						s.keepPending()
					}
					s.SetDedup(d)
				}
				outs = append(outs, s.Add(e.uuid, &Event{TimeMs: e.t, Seq: uint64(i), ID: e.id, Page: e.page}))
				if !s.needPending {
					skipped++
				}
				if i%5 == 0 {
					s.Advance(collect)
				}
				if i%53 == 52 {
					s.Drain(s.MaxSeenMs(), collect)
				}
			}
			return outs, sessions, s.AppendState(nil)
		}
		o1, s1, c1 := run(false)
		o2, s2, c2 := run(true)
		if !slices.Equal(o1, o2) || !slices.Equal(s1, s2) || string(c1) != string(c2) {
			t.Fatalf("iteration %d (%+v): skipping the pending map changed the outcomes\n skip %v\n keep %v", iter, d, o1, o2)
		}
	}
	if skipped == 0 {
		t.Fatal("the map was never skipped: the test exercised nothing")
	}
}

// TestStreamDropsPendingMapAgain: a key forgotten while it may be pending
// (here before the first Advance, when every key is at or above the
// floor) keeps the pending map only until the events pending then are
// folded; before, the map stayed for the rest of the stream.
func TestStreamDropsPendingMapAgain(t *testing.T) {
	s := NewStream(DefaultRules(), 10*min_)
	s.SetDedup(Dedup{WindowMs: hour, MaxKeys: 1 << 20})
	// Three hours of one user's events, every minute, before any Advance:
	// the window forgets the first ones.
	for i := 0; i < 180; i++ {
		s.Add("u", &Event{TimeMs: t0 + int64(i)*min_, ID: "a" + strconv.Itoa(i)})
	}
	if !s.needPending {
		t.Fatal("the map is not kept after forgetting keys above the floor: the test exercises nothing")
	}
	s.Advance(func(*Session) {})
	if !s.needPending {
		t.Fatal("the map was dropped while events pending at the forgetting are still pending")
	}
	for i := 180; i < 200; i++ {
		s.Add("u", &Event{TimeMs: t0 + int64(i)*min_, ID: "a" + strconv.Itoa(i)})
	}
	s.Advance(func(*Session) {})
	if s.needPending {
		t.Fatalf("the map is still kept with the watermark (%d) past every event pending when it was kept (%d)", s.Watermark(), s.pendingUntil)
	}
	// A copy of a pending event is still a duplicate, now through the
	// remembered keys.
	if got := s.Add("u", &Event{TimeMs: t0 + 199*min_, ID: "a199"}); got != Duplicate {
		t.Fatalf("copy of a pending event: %v, want duplicate", got)
	}
}

// TestStreamAdvanceDueKeepsPendingMapOff: on a sparse stream, where the
// watermark moves more than the dedup window between a caller's Advances
// (a Kafka poll batch can span hours of event time), the window forgets
// keys of pending events and Add keeps the pending map most of the time;
// advancing whenever AdvanceDue says so, it never needs the map.
func TestStreamAdvanceDueKeepsPendingMapOff(t *testing.T) {
	run := func(advance func(i int, s *Stream) bool) (withMap int) {
		s := NewStream(DefaultRules(), 10*min_)
		s.SetDedup(Dedup{WindowMs: hour, MaxKeys: 1 << 20})
		for i := 0; i < 5000; i++ {
			// 40 users, an event every 2 minutes, a little disorder.
			at := t0 + int64(i)*2*min_ - int64(i%3)*min_
			s.Add("u"+strconv.Itoa(i%40), &Event{TimeMs: at, Seq: uint64(i), ID: "e" + strconv.Itoa(i)})
			if s.needPending {
				withMap++
			}
			if advance(i, s) {
				s.Advance(func(*Session) {})
			}
		}
		return withMap
	}
	every := run(func(i int, _ *Stream) bool { return i%100 == 99 }) // 200 minutes a "batch"
	if every < 2500 {
		t.Fatalf("advancing every 100 events, %d of 5000 events needed the pending map: the test exercises nothing", every)
	}
	if due := run(func(_ int, s *Stream) bool { return s.AdvanceDue() }); due > 0 {
		t.Fatalf("advancing when AdvanceDue, %d of 5000 events needed the pending map; want 0 (%d advancing every 100)", due, every)
	}
}
