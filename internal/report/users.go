package report

import (
	"math"
	"slices"

	"github.com/cespare/xxhash/v2"
)

// userCounter counts distinct users and sessions per user in about 12
// bytes per user (15 with the room left to grow), however many sessions
// there are: it keeps the sorted, distinct 64-bit hashes (xxhash, already
// a dependency) of the uuids seen, each with its session count. New
// hashes are buffered in a chunk (8 MiB); a full chunk is sorted and
// merged in place, from the back, in O(users). A map from uuid to count
// would cost about 100 bytes per user (the string, its header, the map's
// slots and growth).
//
// Two distinct uuids with the same 64-bit hash would count as one user:
// for 10M users the chance that any pair collides is about 3 in a million
// (n²/2⁶⁵).
type userCounter struct {
	hashes []uint64 // sorted, distinct
	counts []uint32 // sessions of hashes[i]
	// big holds the sessions of a user beyond what its uint32 count holds.
	big map[uint64]int64

	chunk       []uint64 // hashes not merged yet
	chunkCounts []uint32 // scratch for the chunk's distinct hashes' counts
	chunkSize   int      // 0 means userChunk (tests set it small)
}

const userChunk = 1 << 20

func (u *userCounter) add(uuid string) {
	if u.chunkSize == 0 {
		u.chunkSize = userChunk
	}
	if len(u.chunk) == u.chunkSize {
		u.merge()
	}
	if len(u.chunk) == cap(u.chunk) {
		// Double up to exactly one chunk, not past it as append would.
		u.chunk = slices.Grow(u.chunk, min(max(2*cap(u.chunk), 1024), u.chunkSize)-len(u.chunk))
	}
	u.chunk = append(u.chunk, xxhash.Sum64String(uuid))
}

// merge sorts the chunk, folds repeated hashes into counts, and merges it
// into hashes and counts in place.
func (u *userCounter) merge() {
	slices.Sort(u.chunk)
	u.chunkCounts = slices.Grow(u.chunkCounts[:0], len(u.chunk))[:0]
	distinct := u.chunk[:0]
	for i, h := range u.chunk {
		if i > 0 && h == u.chunk[i-1] {
			u.chunkCounts[len(u.chunkCounts)-1]++
			continue
		}
		distinct = append(distinct, h)
		u.chunkCounts = append(u.chunkCounts, 1)
	}
	b, c := len(u.hashes), len(distinct)
	if cap(u.hashes) < b+c {
		grow := b + c + (b+c)/4
		u.hashes = append(make([]uint64, 0, grow), u.hashes...)
		u.counts = append(make([]uint32, 0, grow), u.counts...)
	}
	u.hashes, u.counts = u.hashes[:b+c], u.counts[:b+c]
	// From the back: k stays ahead of i, so no unread base is overwritten.
	i, j, k := b-1, c-1, b+c-1
	for ; j >= 0; k-- {
		switch {
		case i >= 0 && u.hashes[i] > distinct[j]:
			u.hashes[k], u.counts[k] = u.hashes[i], u.counts[i]
			i--
		case i >= 0 && u.hashes[i] == distinct[j]:
			u.hashes[k], u.counts[k] = u.hashes[i], u.sum(u.hashes[i], u.counts[i], u.chunkCounts[j])
			i--
			j--
		default:
			u.hashes[k], u.counts[k] = distinct[j], u.chunkCounts[j]
			j--
		}
	}
	// Each hash already known left a gap of one between the untouched
	// base [0, i] and the merged tail (k, b+c).
	if gap := k - i; gap > 0 {
		copy(u.hashes[i+1:], u.hashes[k+1:])
		copy(u.counts[i+1:], u.counts[k+1:])
		u.hashes, u.counts = u.hashes[:b+c-gap], u.counts[:b+c-gap]
	}
	u.chunk = u.chunk[:0]
}

// sum adds two counts of hash, keeping what a uint32 cannot hold in big.
func (u *userCounter) sum(hash uint64, a, b uint32) uint32 {
	s := uint64(a) + uint64(b)
	if s <= math.MaxUint32 {
		return uint32(s)
	}
	if u.big == nil {
		u.big = map[uint64]int64{}
	}
	u.big[hash] += int64(s - math.MaxUint32)
	return math.MaxUint32
}

// perUser returns how many users have each number of sessions.
func (u *userCounter) perUser() *intCounts {
	u.merge()
	out := newIntCounts()
	for i, h := range u.hashes {
		out.add(int64(u.counts[i])+u.big[h], 1)
	}
	return out
}
