package session

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"unsafe"
)

// checkRefs verifies that the Stream's tables hold exactly what its open
// state refers to: each page name's count is its references, and every
// long id and extra belongs to a pending event.
func checkRefs(t *testing.T, s *Stream) {
	t.Helper()
	refs := make([]uint32, s.pages.handles())
	longIDs, extras := 0, 0
	s.users.each(func(u *streamUser) {
		for i := range u.pending {
			p := &u.pending[i]
			refs[p.page]++
			if p.id.n == longID {
				longIDs++
			}
			if p.ext != 0 {
				extras++
			}
		}
		if u.cur.count > 0 {
			for _, r := range u.cur.pages {
				refs[r]++
			}
			refs[u.cur.exitPage]++
		} else if len(u.cur.pages) != 0 || u.cur.exitPage != 0 {
			t.Fatalf("user %s: no open session but %d pages, exit page %d", u.uuid, len(u.cur.pages), u.cur.exitPage)
		}
	})
	names := 0
	for h := 1; h < len(refs); h++ {
		var held uint32
		if h < len(s.pages.refs) {
			held = s.pages.refs[h]
		}
		if held != refs[h] {
			t.Fatalf("page %q: %d references counted, %d held", s.pages.str(strRef(h)), held, refs[h])
		}
		if refs[h] > 0 {
			names++
			if s.pages.index[s.pages.str(strRef(h))] != strRef(h) {
				t.Fatalf("page %q is not indexed under its handle %d", s.pages.str(strRef(h)), h)
			}
		}
	}
	if got := s.pages.strs.live(); got != names || len(s.pages.index) != names {
		t.Fatalf("%d page names held, %d indexed; %d referred to", got, len(s.pages.index), names)
	}
	if got := s.longIDs.live(); got != longIDs {
		t.Fatalf("%d long ids held; %d pending", got, longIDs)
	}
	if got := s.extras.live(); got != extras {
		t.Fatalf("%d extras held; %d pending", got, extras)
	}
}

// refsEvents reshapes randomEvents so that the Stream's tables are
// exercised at their edges: ids around the inline bound that share
// prefixes (so a long and a short id tie on time and order by their
// bytes), times on whole minutes (many ties), pages of a large vocabulary,
// and empty pages.
func refsEvents(r *rand.Rand, n int) []ev {
	evs := randomEvents(r, n, false)
	ids := map[string]string{}
	for i := range evs {
		e := &evs[i]
		long, ok := ids[e.id]
		if !ok {
			pad := []int{0, maxInlineID - 3, maxInlineID - 2, maxInlineID + 1, 70}[r.IntN(5)]
			long = "x" + strings.Repeat("a", pad) + e.id
			ids[e.id] = long
		}
		e.id = long
		e.t -= e.t % min_
		switch r.IntN(6) {
		case 0:
			e.page = ""
		case 1, 2:
			e.page = fmt.Sprintf("/product/%d", r.IntN(1000))
		}
	}
	return evs
}

func TestStreamRefsEqualBatchAndBalance(t *testing.T) {
	r := rand.New(rand.NewPCG(14, 14))
	for iter := 0; iter < 200; iter++ {
		rules := DefaultRules()
		rules.MaxPages = 1 + r.IntN(5)
		if iter%2 == 1 {
			rules = boundaryRules() // pending events carry extras
		}
		lateness := []int64{0, 10 * min_, hour}[iter%3]
		evs := refsEvents(r, 1+r.IntN(300))
		if iter%2 == 1 {
			evs = withBoundaryPages(r, evs)
		}

		s := NewStream(rules, lateness)
		tagged := map[string]bool{}
		if iter%4 == 3 {
			s.TagEvents(func(e *TaggedEvent) { tagged[e.UUID+"|"+e.ID] = true })
		}
		var got []string
		collect := func(x *Session) { got = append(got, sessionKey(x)) }
		var onTime []ev
		accepted := map[string]bool{}
		cut := r.IntN(len(evs))
		for i, e := range evs {
			if i == cut {
				checkRefs(t, s)
				restored, err := RestoreStream(rules, lateness, s.AppendState(nil))
				if err != nil {
					t.Fatalf("iteration %d: %v", iter, err)
				}
				checkRefs(t, restored)
				if iter%4 == 3 {
					restored.TagEvents(s.onEvent)
				}
				s = restored
			}
			o := s.Add(e.uuid, &Event{TimeMs: e.t, Seq: uint64(i), ID: e.id, Page: e.page, Mark: testMark(e.page), Raw: "raw"})
			if o != Late {
				onTime = append(onTime, e)
			}
			if o == Accepted {
				accepted[e.uuid+"|"+e.id] = true
			}
			if i%7 == 0 {
				s.Advance(collect)
				checkRefs(t, s)
			}
		}
		s.Drain(s.MaxSeenMs(), collect)
		checkRefs(t, s)
		if n := s.pages.strs.live() + s.longIDs.live() + s.extras.live(); n != 0 {
			t.Fatalf("iteration %d: %d strings or extras held after the drain", iter, n)
		}
		slices.Sort(got)
		if want := batchSessions(rules, onTime); !slices.Equal(got, want) {
			t.Fatalf("iteration %d: stream and batch differ\n got %v\nwant %v", iter, got, want)
		}
		if iter%4 == 3 && len(tagged) != len(accepted) {
			t.Fatalf("iteration %d: %d events tagged, %d accepted", iter, len(tagged), len(accepted))
		}
		for k := range tagged {
			if !accepted[k] {
				t.Fatalf("iteration %d: tagged %q, which was not accepted", iter, k)
			}
		}
	}
}

// TestPendingEventSize: the pending event is a cache line, as its comment says.
func TestPendingEventSize(t *testing.T) {
	if n := unsafe.Sizeof(pendingEvent{}); n != 64 {
		t.Fatalf("pendingEvent is %d bytes, want 64", n)
	}
}
