package session

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
	"unsafe"
)

// TestStreamAddKeepsNoViews: Add copies every string it keeps, so a caller
// (the pipeline) may pass views of a buffer it overwrites right after.
// The sessions must be those of the same events given as plain strings.
func TestStreamAddKeepsNoViews(t *testing.T) {
	t.Parallel()
	r := rand.New(rand.NewPCG(3, 4))
	var evs []ev
	for i := range 3000 {
		evs = append(evs, ev{uuid: fmt.Sprintf("user-%03d", r.IntN(40)), t: t0 + int64(i)*min_/7 + r.Int64N(3*min_),
			id: fmt.Sprintf("e%05d", r.IntN(2800)), page: fmt.Sprintf("page-%d", r.IntN(9))})
	}
	want := runStream(DefaultRules(), 10*min_, evs, 50).sessions

	s := NewStream(DefaultRules(), 10*min_)
	var got []string
	collect := func(x *Session) { got = append(got, sessionKey(x)) }
	buf := make([]byte, 0, 64)
	view := func(from int, n int) string { return unsafe.String(&buf[from], n) }
	for i, e := range evs {
		buf = append(append(append(buf[:0], e.uuid...), e.id...), e.page...)
		s.Add(view(0, len(e.uuid)), &Event{TimeMs: e.t, Seq: uint64(i), ID: view(len(e.uuid), len(e.id)),
			Page: view(len(e.uuid)+len(e.id), len(e.page)), Mark: testMark(e.page)})
		for j := range buf {
			buf[j] = '#' // what the next record would leave there
		}
		if i%50 == 0 {
			s.Advance(collect)
		}
	}
	s.Drain(s.MaxSeenMs(), collect)
	slices.Sort(got)
	if !slices.Equal(got, want) {
		t.Fatalf("%d sessions from views, %d from strings; first: %v vs %v", len(got), len(want), got[:min(2, len(got))], want[:min(2, len(want))])
	}
}
