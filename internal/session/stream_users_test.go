package session

import (
	"fmt"
	"math/rand/v2"
	"testing"
)

// TestUserTable: random puts and removes against a Go map, with hashes
// from a small range so that probe runs are long, wrap around the end of
// the table and removals must shift entries back across them.
func TestUserTable(t *testing.T) {
	for _, hashes := range []uint64{1, 7, 64, 1 << 40} {
		t.Run(fmt.Sprint("hashes=", hashes), func(t *testing.T) {
			rng := rand.New(rand.NewPCG(hashes, 1))
			var tab userTable
			want := map[string]*streamUser{}
			for step := 0; step < 20_000; step++ {
				uuid := fmt.Sprint("u", rng.IntN(600))
				h := rng.Uint64N(hashes)
				if hashes == 1<<40 {
					h = uint64(len(uuid)) * 0x9e3779b97f4a7c15 // any fixed function of the uuid
					for _, c := range uuid {
						h = h*31 + uint64(c)
					}
				}
				if u, ok := want[uuid]; ok {
					if got := tab.get(u.uh, uuid); got != u {
						t.Fatalf("step %d: get(%s) = %p, want %p", step, uuid, got, u)
					}
					if rng.IntN(2) == 0 {
						tab.remove(u)
						delete(want, uuid)
					}
				} else if tab.get(h, uuid) != nil {
					t.Fatalf("step %d: get(%s) found a user never put", step, uuid)
				} else {
					u := &streamUser{uuid: uuid, uh: h}
					tab.put(u)
					want[uuid] = u
				}
				if tab.len() != len(want) {
					t.Fatalf("step %d: len %d, want %d", step, tab.len(), len(want))
				}
			}
			for uuid, u := range want {
				if tab.get(u.uh, uuid) != u {
					t.Fatalf("at the end: %s lost", uuid)
				}
			}
			if n := len(tab.all()); n != len(want) {
				t.Fatalf("all: %d users, want %d", n, len(want))
			}
		})
	}
}
