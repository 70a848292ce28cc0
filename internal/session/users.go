package session

import (
	"strings"

	"github.com/cespare/xxhash/v2"
)

// userIndex numbers users in order of first appearance. It is an
// open-addressing table over 64-bit hashes: looking a user up is one hash of
// the uuid and usually one probe, cheaper than a Go map with string keys,
// which hashes with a slower function and chases pointers.
type userIndex struct {
	slots  []userSlot
	hashes []uint64 // by user number, for rehashing
	uuids  []string // by user number
}

// userSlot keeps the hash beside the user number so a probe touches one
// cache line; the uuid itself is compared only on a full hash match.
type userSlot struct {
	h uint64
	u uint32 // user number + 1; 0 is empty
}

// lookup returns uuid's user number, adding the user if new.
func (ix *userIndex) lookup(uuid string) (u uint32, added bool) {
	if 2*(len(ix.uuids)+1) > len(ix.slots) {
		ix.grow()
	}
	h := xxhash.Sum64String(uuid)
	mask := uint64(len(ix.slots) - 1)
	for i := h & mask; ; i = (i + 1) & mask {
		s := ix.slots[i]
		if s.u == 0 {
			u = uint32(len(ix.uuids))
			ix.slots[i] = userSlot{h: h, u: u + 1}
			ix.hashes = append(ix.hashes, h)
			ix.uuids = append(ix.uuids, strings.Clone(uuid))
			return u, true
		}
		if s.h == h && ix.uuids[s.u-1] == uuid {
			return s.u - 1, false
		}
	}
}

func (ix *userIndex) grow() {
	n := 2 * len(ix.slots)
	if n < 1024 {
		n = 1024
	}
	ix.slots = make([]userSlot, n)
	mask := uint64(n - 1)
	for u, h := range ix.hashes {
		i := h & mask
		for ix.slots[i].u != 0 {
			i = (i + 1) & mask
		}
		ix.slots[i] = userSlot{h: h, u: uint32(u) + 1}
	}
}
