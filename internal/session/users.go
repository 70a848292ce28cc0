package session

import (
	"hash/maphash"
	"math/bits"
	"strings"
)

// userIndex numbers users in order of first appearance and counts their
// events. It is an open-addressing table over 64-bit hashes whose slots
// are one cache line each and hold the uuid itself when it is short (a
// UUID's 36 bytes are): looking a user up is then one hash and, for the
// common hit, one cache miss. With the uuid kept apart (a []string) a
// lookup cost three misses (slot, string header, bytes), which made it
// the largest cost of the engine once a partition has more users than
// fit in cache.
type userIndex struct {
	slots []userSlot
	uuids []string     // by user number
	shift uint8        // 64 - log2(len(slots)): see home
	seed  maphash.Seed // drawn with the first table; the slots keep hashes of it
}

// home is the first slot to look for a user of hash h in: the hash's top
// bits. The hash is the runtime's (maphash, AES-based where the CPU has
// it: 4 ns for a UUID against xxhash's 7), seeded per table, so it owes
// nothing to the xxhash batch routes users to partitions by: slotted by
// that hash's bottom bits, equal within a partition (modulo a power of
// two), the table had one home slot in 64 (or in 4,096, with as many
// partitions), and lookups walked runs of hundreds of slots.
func (ix *userIndex) home(h uint64) uint64 { return h >> ix.shift }

// slotInline is how many bytes of uuid a slot holds; longer uuids are
// compared against uuids (a second miss, only for them).
const slotInline = 44

// userSlot is 64 bytes: hash, user number, event count and the uuid.
type userSlot struct {
	h     uint64
	u     uint32 // user number + 1; 0 is empty
	count uint32 // events of the user
	n     uint32 // length of the uuid
	b     [slotInline]byte
}

// start begins counting one event of uuid: it returns the uuid's hash
// and the user number in its first slot, for finish. Reading the slot
// starts loading it, and the caller does work that does not need the user
// before it calls finish, overlapping that load: the slots outgrow the
// cache with a few tens of thousands of users, and that one miss per event
// was a third of BenchmarkEngine while it was waited for at once.
func (ix *userIndex) start(uuid string) (h uint64, first uint32) {
	if 2*(len(ix.uuids)+1) > len(ix.slots) {
		ix.grow()
	}
	h = maphash.String(ix.seed, uuid)
	return h, ix.slots[ix.home(h)].u
}

// finish completes what start began and returns uuid's user number; first
// is start's second result, and no other lookup may come between them.
func (ix *userIndex) finish(uuid string, h uint64, first uint32) uint32 {
	mask := uint64(len(ix.slots) - 1)
	i := ix.home(h)
	if first == 0 {
		return ix.insert(&ix.slots[i], uuid, h)
	}
	for ; ; i = (i + 1) & mask {
		s := &ix.slots[i]
		if s.u == 0 {
			return ix.insert(s, uuid, h)
		}
		if s.h == h && int(s.n) == len(uuid) && ix.same(s, uuid) {
			s.count++
			return s.u - 1
		}
	}
}

// insert numbers uuid, new, in the empty slot s.
func (ix *userIndex) insert(s *userSlot, uuid string, h uint64) uint32 {
	u := uint32(len(ix.uuids))
	s.h, s.u, s.count, s.n = h, u+1, 1, uint32(len(uuid))
	copy(s.b[:], uuid)
	ix.uuids = append(ix.uuids, strings.Clone(uuid))
	return u
}

// same reports whether slot s, whose hash and length match, holds uuid.
func (ix *userIndex) same(s *userSlot, uuid string) bool {
	if len(uuid) <= slotInline {
		return string(s.b[:len(uuid)]) == uuid
	}
	return ix.uuids[s.u-1] == uuid
}

// counts returns the events per user, by user number.
func (ix *userIndex) counts(into []uint32) []uint32 {
	if cap(into) < len(ix.uuids) {
		into = make([]uint32, len(ix.uuids))
	}
	into = into[:len(ix.uuids)]
	for i := range ix.slots {
		if s := &ix.slots[i]; s.u != 0 {
			into[s.u-1] = s.count
		}
	}
	return into
}

// reset empties the index and keeps its table, cleared: the next partition
// is likely as big, and growing the table again rehashed every user at
// each doubling. The uuids were handed out and stay with their owners.
func (ix *userIndex) reset() {
	clear(ix.slots)
	clear(ix.uuids)
	ix.uuids = ix.uuids[:0]
}

func (ix *userIndex) grow() {
	n := 2 * len(ix.slots)
	if n < 1024 {
		n = 1024
	}
	old := ix.slots
	if old == nil {
		ix.seed = maphash.MakeSeed()
	}
	ix.slots = make([]userSlot, n)
	mask := uint64(n - 1)
	ix.shift = uint8(64 - bits.TrailingZeros(uint(n)))
	for j := range old {
		if old[j].u == 0 {
			continue
		}
		i := ix.home(old[j].h)
		for ix.slots[i].u != 0 {
			i = (i + 1) & mask
		}
		ix.slots[i] = old[j]
	}
}
