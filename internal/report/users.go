package report

import (
	"container/heap"
	"slices"

	"github.com/cespare/xxhash/v2"
)

// userCounter counts distinct users and sessions per user in 8 bytes per
// session, whatever the number of users: it keeps a 64-bit hash of each
// session's uuid (xxhash, already a dependency) in fixed-size chunks,
// sorts each chunk when it fills and merges them at the end, where equal
// hashes are one user. A map from uuid to count would cost about 100
// bytes per user (the string, its header, the map's slots and growth):
// more than the hashes as soon as users average fewer than ~10 sessions.
//
// Two distinct uuids with the same 64-bit hash would count as one user:
// for 10M users the chance that any pair collides is about 3 in a million
// (n²/2⁶⁵).
type userCounter struct {
	full  [][]uint64 // full chunks, each sorted
	last  []uint64   // the chunk being filled
	chunk int        // hashes per chunk; 0 means userChunk (tests set it small)
}

const userChunk = 1 << 20 // 8 MiB of hashes

func (u *userCounter) add(uuid string) {
	if u.chunk == 0 {
		u.chunk = userChunk
	}
	switch {
	case len(u.last) == u.chunk:
		slices.Sort(u.last)
		u.full = append(u.full, u.last)
		u.last = make([]uint64, 0, u.chunk)
	case len(u.last) == cap(u.last):
		// Double up to exactly one chunk, not past it as append would.
		u.last = slices.Grow(u.last, min(max(2*cap(u.last), 1024), u.chunk)-len(u.last))
	}
	u.last = append(u.last, xxhash.Sum64String(uuid))
}

// perUser returns how many users have each number of sessions.
func (u *userCounter) perUser() *intCounts {
	out := newIntCounts()
	slices.Sort(u.last)
	h := make(chunkHeap, 0, len(u.full)+1)
	for _, c := range append(u.full, u.last) {
		if len(c) > 0 {
			h = append(h, c)
		}
	}
	heap.Init(&h)
	var (
		cur  uint64
		runN int64
	)
	for len(h) > 0 {
		v := h[0][0]
		if h[0] = h[0][1:]; len(h[0]) == 0 {
			heap.Pop(&h)
		} else {
			heap.Fix(&h, 0)
		}
		if runN > 0 && v == cur {
			runN++
			continue
		}
		if runN > 0 {
			out.add(runN, 1)
		}
		cur, runN = v, 1
	}
	if runN > 0 {
		out.add(runN, 1)
	}
	return out
}

// chunkHeap orders sorted chunks by their first hash.
type chunkHeap [][]uint64

func (h chunkHeap) Len() int           { return len(h) }
func (h chunkHeap) Less(i, j int) bool { return h[i][0] < h[j][0] }
func (h chunkHeap) Swap(i, j int)      { h[i], h[j] = h[j], h[i] }
func (h *chunkHeap) Push(x any)        { *h = append(*h, x.([]uint64)) }
func (h *chunkHeap) Pop() any {
	old := *h
	x := old[len(old)-1]
	*h = old[:len(old)-1]
	return x
}
