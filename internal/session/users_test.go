package session

import (
	"fmt"
	"testing"

	"github.com/cespare/xxhash/v2"
)

// TestUserIndexSpreadsOnePartitionsUsers: batch gives a Partition the
// users whose xxhash is equal modulo its partition count, a power of two.
// Their table must still spread them: slotted by the hash's low bits,
// 3,000 such users shared two home slots and a lookup walked up to
// thousands of slots.
func TestUserIndexSpreadsOnePartitionsUsers(t *testing.T) {
	const parts, users = 1024, 3000
	var ix userIndex
	for i := 0; len(ix.uuids) < users; i++ {
		uuid := fmt.Sprintf("user-%d", i)
		if xxhash.Sum64String(uuid)%parts != 7 {
			continue
		}
		h, first := ix.start(uuid)
		if u := ix.finish(uuid, h, first); int(u) != len(ix.uuids)-1 {
			t.Fatalf("%s: user %d, want %d", uuid, u, len(ix.uuids)-1)
		}
	}
	mask := uint64(len(ix.slots) - 1)
	longest := uint64(0)
	for i := range ix.slots {
		if s := &ix.slots[i]; s.u != 0 {
			longest = max(longest, (uint64(i)-ix.home(s.h))&mask)
		}
	}
	if longest > 64 {
		t.Fatalf("a user is %d slots past its home in a table of %d for %d users", longest, len(ix.slots), users)
	}
}
