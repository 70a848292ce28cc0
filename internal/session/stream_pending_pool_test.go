package session

import (
	"fmt"
	"testing"
)

// TestIdleUsersHoldNoPendingArrays: once the watermark has folded a
// user's burst of events, the user, whose session is still open, holds no
// pending array; the arrays wait in the bounded pool for the next burst.
// Before the pool, each of these 5,000 users kept the 36-slot array its
// burst grew (180k idle slots; at 4.5M users a third of the live heap).
func TestIdleUsersHoldNoPendingArrays(t *testing.T) {
	const users, burst = 5_000, 20
	s := NewStream(DefaultRules(), 10*60_000)
	s.SetDedup(DefaultDedup())
	t0 := int64(1_700_000_000_000)
	for i := 0; i < users; i++ {
		for j := 0; j < burst; j++ {
			ev := Event{TimeMs: t0 + int64(j)*1000, ID: fmt.Sprintf("e%d-%d", i, j), Page: "/p"}
			if got := s.Add(fmt.Sprint("u", i), &ev); got != Accepted {
				t.Fatalf("user %d event %d: %v", i, j, got)
			}
		}
	}
	// An event 15 minutes on moves the watermark past every burst, not
	// past the sessions' 30-minute inactivity deadlines.
	s.Add("other", &Event{TimeMs: t0 + 15*60_000, ID: "x", Page: "/p"})
	var sessions int
	s.Advance(func(*Session) { sessions++ })
	if sessions != 0 {
		t.Fatalf("%d sessions closed; want none yet", sessions)
	}
	held, open := 0, 0
	s.users.each(func(u *streamUser) {
		if len(u.pending) == 0 {
			held += cap(u.pending)
		}
		if u.cur.count > 0 {
			open++
		}
	})
	if open != users {
		t.Fatalf("%d open sessions, want %d", open, users)
	}
	if held != 0 {
		t.Errorf("users with nothing pending hold %d pending slots; want 0", held)
	}
	if s.arrays.slots > maxPooledSlots || len(s.arrays.arrays) == 0 {
		t.Errorf("pool: %d arrays, %d slots (bound %d); want some, within the bound", len(s.arrays.arrays), s.arrays.slots, maxPooledSlots)
	}
	// The next burst reuses a pooled array, and the sessions come out whole.
	before := len(s.arrays.arrays)
	s.Add("u0", &Event{TimeMs: t0 + 16*60_000, ID: "late-visit", Page: "/q"})
	if len(s.arrays.arrays) != before-1 {
		t.Errorf("pool went from %d to %d arrays on a new burst; want one taken", before, len(s.arrays.arrays))
	}
	var events int64
	s.Drain(s.MaxSeenMs(), func(sess *Session) { events += sess.EventCount })
	if want := int64(users*burst + 2); events != want {
		t.Errorf("drained sessions hold %d events, want %d", events, want)
	}
}
