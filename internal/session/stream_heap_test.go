package session

import (
	"fmt"
	"math/rand/v2"
	"testing"
)

// TestDueHeap: random pushes, moves and removals keep the heap ordered
// and every user's heapIdx pointing at its entry; popping the root until
// empty yields the due times in order.
func TestDueHeap(t *testing.T) {
	for _, spread := range []int64{3, 1000} { // few distinct due times (ties), many
		t.Run(fmt.Sprint("spread=", spread), func(t *testing.T) {
			rng := rand.New(rand.NewPCG(uint64(spread), 2))
			var h dueHeap
			users := make([]*streamUser, 300)
			for i := range users {
				users[i] = &streamUser{heapIdx: -1}
			}
			check := func(step int) {
				t.Helper()
				for i, e := range h {
					if e.u.heapIdx != i {
						t.Fatalf("step %d: entry %d's user has heapIdx %d", step, i, e.u.heapIdx)
					}
					if p := (i - 1) / 4; i > 0 && h[p].dueMs > e.dueMs {
						t.Fatalf("step %d: entry %d (due %d) under parent %d (due %d)", step, i, e.dueMs, p, h[p].dueMs)
					}
				}
			}
			for step := 0; step < 5000; step++ {
				u := users[rng.IntN(len(users))]
				if u.heapIdx >= 0 && rng.IntN(3) == 0 {
					h.remove(u.heapIdx)
					if u.heapIdx != -1 {
						t.Fatalf("step %d: removed user has heapIdx %d", step, u.heapIdx)
					}
				} else {
					h.set(u, rng.Int64N(spread))
				}
				check(step)
			}
			last := int64(-1)
			for len(h) > 0 {
				if h[0].dueMs < last {
					t.Fatalf("popped due %d after %d", h[0].dueMs, last)
				}
				last = h[0].dueMs
				h.remove(0)
				check(-1)
			}
		})
	}
}
