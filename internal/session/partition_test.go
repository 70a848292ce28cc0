package session

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"sort"
	"testing"
	"unsafe"
)

const (
	min_ = int64(60_000)
	hour = 60 * min_
	t0   = int64(1_700_000_000_000)
)

type ev struct {
	uuid string
	id   string
	t    int64
	page string
}

type got struct {
	uuid       string
	start, end int64
	count      int64
	pages      string
	reason     string
	truncated  bool
}

func run(t *testing.T, rules Rules, evs []ev) ([]got, Result) {
	t.Helper()
	return runOn(NewPartition(rules), evs)
}

func runOn(p *Partition, evs []ev) ([]got, Result) {
	var endMs int64 = -1 << 63
	for i, e := range evs {
		p.Add(e.uuid, &Event{TimeMs: e.t, Seq: uint64(i), ID: e.id, Page: e.page, Mark: testMark(e.page)})
		endMs = max(endMs, e.t)
	}
	var out []got
	res := p.Close(endMs, nil, func(s *Session) {
		out = append(out, got{s.UUID, s.StartMs, s.EndMs, s.EventCount, fmt.Sprint(s.Pages), s.EndReason.String(), s.PagesTruncated})
	})
	return out, res
}

func TestPartitionEdgeCases(t *testing.T) {
	def := DefaultRules()
	cases := []struct {
		name  string
		rules Rules
		evs   []ev
		want  []got
		dups  int64
	}{
		{
			name: "gap of exactly the timeout stays, one ms more splits",
			evs:  []ev{{"u", "a", t0, "h"}, {"u", "b", t0 + 30*min_, "h"}, {"u", "c", t0 + 60*min_ + 1, "h"}},
			want: []got{
				{"u", t0, t0 + 30*min_, 2, "[h h]", "inactivity", false},
				{"u", t0 + 60*min_ + 1, t0 + 60*min_ + 1, 1, "[h]", "end_of_input", false},
			},
		},
		{
			name: "exactly max duration stays, greedy split after",
			evs: []ev{{"u", "a", t0, "1"}, {"u", "b", t0 + 25*min_, "2"}, {"u", "c", t0 + 50*min_, "3"},
				{"u", "d", t0 + 75*min_, "4"}, {"u", "e", t0 + 100*min_, "5"}, {"u", "f", t0 + 120*min_, "6"},
				{"u", "g", t0 + 120*min_ + 1, "7"}},
			want: []got{
				{"u", t0, t0 + 120*min_, 6, "[1 2 3 4 5 6]", "max_duration", false},
				{"u", t0 + 120*min_ + 1, t0 + 120*min_ + 1, 1, "[7]", "end_of_input", false},
			},
		},
		{
			name: "out of order input is ordered by time then event_id",
			evs:  []ev{{"u", "z", t0, "z"}, {"u", "b", t0 + 5, "late"}, {"u", "a", t0, "a"}},
			want: []got{{"u", t0, t0 + 5, 3, "[a z late]", "end_of_input", false}},
		},
		{
			name: "duplicates count once, also with another timestamp; first arrival wins",
			evs:  []ev{{"u", "a", t0, "first"}, {"u", "a", t0, "again"}, {"u", "b", t0 + 10, "b"}, {"u", "a", t0 + 5, "moved"}},
			want: []got{{"u", t0, t0 + 10, 2, "[first b]", "end_of_input", false}},
			dups: 2,
		},
		{
			name: "first arrival wins even when it has the later time",
			evs:  []ev{{"u", "a", t0 + 7, "first"}, {"u", "a", t0, "second"}},
			want: []got{{"u", t0 + 7, t0 + 7, 1, "[first]", "end_of_input", false}},
			dups: 1,
		},
		{
			name: "users are independent",
			evs:  []ev{{"u1", "a", t0, "x"}, {"u2", "a", t0 + hour, "y"}, {"u1", "b", t0 + 2*hour, "z"}},
			want: []got{
				{"u1", t0, t0, 1, "[x]", "inactivity", false},
				{"u1", t0 + 2*hour, t0 + 2*hour, 1, "[z]", "end_of_input", false},
				// The input runs on an hour past u2's only event: u2 was
				// seen to go quiet, so the session is closed, not cut off.
				{"u2", t0 + hour, t0 + hour, 1, "[y]", "inactivity", false},
			},
		},
		{
			name:  "pages are capped but event_count stays exact",
			rules: Rules{InactivityMs: def.InactivityMs, MaxDurationMs: def.MaxDurationMs, MaxPages: 2},
			evs:   []ev{{"u", "a", t0, "1"}, {"u", "b", t0 + 1, "2"}, {"u", "c", t0 + 2, "3"}},
			want:  []got{{"u", t0, t0 + 2, 3, "[1 2]", "end_of_input", true}},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			rules := tc.rules
			if rules == (Rules{}) {
				rules = def
			}
			out, res := run(t, rules, tc.evs)
			sort.SliceStable(out, func(i, j int) bool { return out[i].uuid < out[j].uuid })
			if !slices.Equal(out, tc.want) {
				t.Fatalf("sessions:\n got %+v\nwant %+v", out, tc.want)
			}
			if res.Duplicates != tc.dups {
				t.Fatalf("duplicates = %d, want %d", res.Duplicates, tc.dups)
			}
			if res.Events+res.Duplicates != int64(len(tc.evs)) {
				t.Fatalf("events %d + duplicates %d != input %d", res.Events, res.Duplicates, len(tc.evs))
			}
		})
	}
}

func TestExitAndEntryPages(t *testing.T) {
	p := NewPartition(Rules{InactivityMs: hour, MaxDurationMs: hour, MaxPages: 1})
	p.Add("u", &Event{TimeMs: 2, ID: "b", Page: "exit", Seq: 0})
	p.Add("u", &Event{TimeMs: 1, ID: "a", Page: "entry", Seq: 1})
	p.Close(2, nil, func(s *Session) {
		if s.EntryPage != "entry" || s.ExitPage != "exit" || !s.PagesTruncated || len(s.Pages) != 1 {
			t.Fatalf("got %+v", s)
		}
	})
}

func TestSessionIDDeterministicAndUnique(t *testing.T) {
	a := Session{UUID: "u1", StartMs: t0}
	b := Session{UUID: "u1", StartMs: t0 + 1}
	c := Session{UUID: "u1\x001", StartMs: t0} // must not collide with a different split of the bytes
	if a.ID() != (&Session{UUID: "u1", StartMs: t0}).ID() {
		t.Fatal("id not deterministic")
	}
	if a.ID() == b.ID() || a.ID() == c.ID() {
		t.Fatal("ids collide")
	}
}

// naiveSessions is a deliberately simple reference: dedupe by first
// arrival with a map, sort, and cut with the rules written out plainly.
func naiveSessions(rules Rules, evs []ev) []got {
	seen := map[[2]string]bool{}
	byUser := map[string][]ev{}
	var users []string
	for _, e := range evs {
		k := [2]string{e.uuid, e.id}
		if seen[k] {
			continue
		}
		seen[k] = true
		if byUser[e.uuid] == nil {
			users = append(users, e.uuid)
		}
		byUser[e.uuid] = append(byUser[e.uuid], e)
	}
	var out []got
	for _, u := range users {
		list := byUser[u]
		sort.SliceStable(list, func(i, j int) bool {
			if list[i].t != list[j].t {
				return list[i].t < list[j].t
			}
			return list[i].id < list[j].id
		})
		var cur []ev
		flush := func() {
			pages := []string{}
			for _, e := range cur {
				pages = append(pages, e.page)
			}
			out = append(out, got{u, cur[0].t, cur[len(cur)-1].t, int64(len(cur)), fmt.Sprint(pages), "", false})
		}
		for _, e := range list {
			if len(cur) > 0 && (e.t-cur[len(cur)-1].t > rules.InactivityMs || e.t-cur[0].t > rules.MaxDurationMs) {
				flush()
				cur = nil
			}
			cur = append(cur, e)
		}
		flush()
	}
	return out
}

// randomEvents makes n events of a few users. With reusedIDs, ids repeat
// at other times (a producer re-sending with a new timestamp); exact
// redeliveries happen either way.
func randomEvents(r *rand.Rand, n int, reusedIDs bool) []ev {
	users := 1 + r.IntN(20)
	evs := make([]ev, 0, n)
	clock := make([]int64, users)
	for i := range clock {
		clock[i] = t0 + r.Int64N(hour)
	}
	for i := 0; i < n; i++ {
		u := r.IntN(users)
		switch r.IntN(10) {
		case 0:
			clock[u] += 30*min_ + r.Int64N(3) - 1 // around the gap boundary
		case 1:
			clock[u] += r.Int64N(3 * hour)
		default:
			clock[u] += r.Int64N(10 * min_)
		}
		t := clock[u]
		if r.IntN(8) == 0 {
			t -= r.Int64N(20 * min_) // out of order
		}
		id := fmt.Sprintf("e%d", i)
		if reusedIDs {
			id = fmt.Sprintf("e%d", r.IntN(n*2))
		}
		if r.IntN(10) == 0 && len(evs) > 0 {
			prev := evs[r.IntN(len(evs))]
			evs = append(evs, prev) // exact redelivery
			continue
		}
		evs = append(evs, ev{fmt.Sprintf("u%d", u), id, t, fmt.Sprintf("p%d", r.IntN(5))})
	}
	return evs
}

func TestPartitionMatchesNaiveReference(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	// Partitions are reused across Close, as batch workers do.
	long := NewPartition(Rules{InactivityMs: 30 * min_, MaxDurationMs: 2 * hour, MaxPages: 1 << 20})
	short := NewPartition(Rules{InactivityMs: 5 * min_, MaxDurationMs: 30 * min_, MaxPages: 1 << 20})
	for iter := 0; iter < 300; iter++ {
		p := long
		if iter%3 == 0 {
			p = short
		}
		rules := p.rules
		evs := randomEvents(r, 1+r.IntN(300), true)
		out, res := runOn(p, evs)
		for i := range out {
			out[i].reason = ""
		}
		want := naiveSessions(rules, evs)
		key := func(a, b got) int {
			if a.uuid != b.uuid {
				if a.uuid < b.uuid {
					return -1
				}
				return 1
			}
			return int(a.start - b.start)
		}
		slices.SortFunc(out, key)
		slices.SortFunc(want, key)
		if !slices.Equal(out, want) {
			t.Fatalf("iteration %d: engine and reference differ\n got %v\nwant %v", iter, out, want)
		}
		if res.Events+res.Duplicates != int64(len(evs)) {
			t.Fatalf("iteration %d: lost events", iter)
		}
	}
}

// TestPartitionPageNames: page names come back as given, whether found in
// the small table of recent names, in the map, or past maxPageNames
// stored with their event, and whatever the caller does with its buffer
// after Add.
func TestPartitionPageNames(t *testing.T) {
	rules := DefaultRules()
	rules.MaxPages = 10_000
	p := NewPartition(rules)
	buf := make([]byte, 0, 16)
	var want []string
	for i := 0; i < 6_000; i++ {
		var name string
		switch {
		case i%3 == 0:
			name = []string{"home", "search", "results", "details", "booking", "h", "hh"}[i%7]
		default:
			name = fmt.Sprintf("page-%d", i) // 4,000 distinct: the map fills up
		}
		want = append(want, name)
		buf = append(buf[:0], name...)
		p.Add("u", &Event{TimeMs: t0 + int64(i)*1000, Seq: uint64(i), ID: fmt.Sprint(i), Page: unsafe.String(&buf[0], len(buf))})
		for j := range buf {
			buf[j] = '#' // Add must have copied what it keeps
		}
	}
	var got []string
	p.Close(t0+10*hour, nil, func(s *Session) { got = append(got, s.Pages...) })
	if !slices.Equal(got, want) {
		for i := range min(len(got), len(want)) {
			if got[i] != want[i] {
				t.Fatalf("page %d: %q, want %q (%d pages, want %d)", i, got[i], want[i], len(got), len(want))
			}
		}
		t.Fatalf("%d pages, want %d", len(got), len(want))
	}
}

// TestPartitionReusedAfterGrowth: Close keeps the user table for the next
// partition, cleared; a partition after a much bigger one (whose users
// filled a grown table) must not see any of them.
func TestPartitionReusedAfterGrowth(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	reused := NewPartition(DefaultRules())
	big := make([]ev, 0, 20_000)
	for i := range 20_000 {
		big = append(big, ev{fmt.Sprintf("u%d", i%5000), fmt.Sprintf("e%d", i), t0 + int64(i)*1000, "p"})
	}
	if _, res := runOn(reused, big); res.Users != 5000 {
		t.Fatalf("big partition: %d users, want 5000", res.Users)
	}
	for iter := range 50 {
		evs := randomEvents(r, 1+r.IntN(300), true)
		got, gotRes := runOn(reused, evs)
		want, wantRes := runOn(NewPartition(DefaultRules()), evs)
		if !slices.Equal(got, want) || gotRes != wantRes {
			t.Fatalf("iteration %d: a reused partition differs from a new one\n got %v %+v\nwant %v %+v", iter, got, gotRes, want, wantRes)
		}
	}
}

// TestPartitionReusesHandedBackArena: the arena TakeArena returns, handed
// back with ReuseArena once its strings are no longer used, holds the next
// partition's strings (no new memory), and that partition's sessions equal
// a new Partition's; a smaller arena than the one it has is not taken.
func TestPartitionReusesHandedBackArena(t *testing.T) {
	r := rand.New(rand.NewPCG(8, 1))
	p := NewPartition(DefaultRules())
	var arena []byte
	for iter := range 30 {
		evs := randomEvents(r, 50+r.IntN(400), true)
		p.ReuseArena(arena)
		if iter > 0 && unsafe.SliceData(p.arena.b) != unsafe.SliceData(arena) {
			t.Fatalf("iteration %d: the handed-back arena was not used", iter)
		}
		p.Grow(len(evs), 64)
		got, gotRes := runOn(p, evs)
		arena = p.TakeArena()
		if len(arena) != 0 || cap(arena) == 0 {
			t.Fatalf("iteration %d: TakeArena gave len %d cap %d, want an emptied arena", iter, len(arena), cap(arena))
		}
		want, wantRes := runOn(NewPartition(DefaultRules()), evs)
		if !slices.Equal(got, want) || gotRes != wantRes {
			t.Fatalf("iteration %d: a partition in a reused arena differs from a new one\n got %v %+v\nwant %v %+v", iter, got, gotRes, want, wantRes)
		}
		if again := p.TakeArena(); cap(again) != 0 {
			t.Fatalf("iteration %d: TakeArena twice gave the arena twice", iter)
		}
	}
	small := make([]byte, 0, 1)
	p.Grow(10, 1<<10)
	p.ReuseArena(small) // the Partition has more: kept
	runOn(p, []ev{{"u", "a", t0, "h"}})
	if cap(p.TakeArena()) < 1<<10 {
		t.Fatal("ReuseArena replaced a bigger arena with a smaller one")
	}
}
