package session

import (
	"fmt"
	"math/rand/v2"
	"testing"
)

// TestDueQueue: random filings, moves and removals keep every user in the
// bucket of its due time at the index it holds; each visits exactly the
// users due before the watermark, once each, while they are filed again
// at or after it, and leaves the others.
func TestDueQueue(t *testing.T) {
	for _, spread := range []int64{3, 5_000, 200_000} { // all in one bucket (ties), a few buckets, many
		t.Run(fmt.Sprint("spread=", spread), func(t *testing.T) {
			rng := rand.New(rand.NewPCG(uint64(spread), 2))
			var q dueQueue
			users := make([]*streamUser, 300)
			for i := range users {
				users[i] = &streamUser{dueIdx: -1}
			}
			check := func(step int) {
				t.Helper()
				filed := 0
				for k, b := range q.buckets {
					for i, u := range b.users {
						if u.dueIdx != i || dueKey(u.dueMs) != k {
							t.Fatalf("step %d: bucket %d index %d holds a user with index %d due %d", step, k, i, u.dueIdx, u.dueMs)
						}
					}
					filed += len(b.users)
				}
				if filed != q.len() {
					t.Fatalf("step %d: %d users in buckets, len %d", step, filed, q.len())
				}
			}
			base := int64(-spread / 2) // negative due times too
			w := base
			for step := range 20_000 {
				u := users[rng.IntN(len(users))]
				switch r := rng.IntN(10); {
				case r == 0 && u.dueIdx >= 0:
					q.remove(u)
					if u.dueIdx != -1 {
						t.Fatalf("step %d: removed user has index %d", step, u.dueIdx)
					}
				case r == 1:
					// Advance: every user due before w is visited once and
					// filed at or after w (or removed).
					w += rng.Int64N(spread/10 + 1)
					want := map[*streamUser]bool{}
					for _, u := range users {
						if u.dueIdx >= 0 && u.dueMs < w {
							want[u] = true
						}
					}
					seen := map[*streamUser]bool{}
					q.each(w, func(u *streamUser) {
						if seen[u] || !want[u] {
							t.Fatalf("step %d: visited user due %d at watermark %d (seen before: %t)", step, u.dueMs, w, seen[u])
						}
						seen[u] = true
						if rng.IntN(4) == 0 {
							q.remove(u)
						} else {
							q.set(u, w+rng.Int64N(spread))
						}
					})
					if len(seen) != len(want) {
						t.Fatalf("step %d: visited %d users due before %d, want %d", step, len(seen), w, len(want))
					}
				default:
					q.set(u, w+rng.Int64N(spread))
				}
				check(step)
			}
		})
	}
}
