package session

import (
	"bytes"
	"slices"
)

// rec is an event as the Partition stores it: no pointers (see span).
type rec struct {
	time int64
	seq  uint64
	id   span
	idh  uint32  // hash of the id, taken while its bytes are hot in cache
	page pageRef // 32 bytes in all: two to a cache line, none across two
}

// orderer puts one user's events into session order and drops duplicates.
// Its scratch space is reused across users so the hot path does not allocate.
type orderer struct {
	// table is an open-addressing set of record indexes by id hash. Each
	// slot holds gen<<32 | index+1, so a new user starts with a fresh
	// generation instead of clearing the table.
	table []uint64
	gen   uint64
}

// sortDedupe sorts rs by (time, event_id, arrival) in place and removes
// duplicates (same event_id), keeping the earliest arrival. It returns the
// kept prefix and the number of duplicates removed.
func (o *orderer) sortDedupe(a *arena, rs []rec) ([]rec, int) {
	if len(rs) < 2 {
		return rs, 0
	}
	sortRecs(a, rs)
	// Exact redeliveries (same time and id) are now adjacent; the first
	// of a run has the lowest seq.
	n := 1
	for i := 1; i < len(rs); i++ {
		if rs[i].time == rs[n-1].time && rs[i].idh == rs[n-1].idh && bytes.Equal(a.bytes(rs[i].id), a.bytes(rs[n-1].id)) {
			continue
		}
		rs[n] = rs[i]
		n++
	}
	dups := len(rs) - n
	kept, more := o.dedupeByID(a, rs[:n])
	return kept, dups + more
}

// dedupeByID removes events whose id was seen at another time: a producer
// that re-sent an event with a different timestamp. Rare, but "counts once"
// must hold for it too.
func (o *orderer) dedupeByID(a *arena, rs []rec) ([]rec, int) {
	if len(rs) < 2 {
		return rs, 0
	}
	size := 4
	for size < 2*len(rs) {
		size <<= 1
	}
	if len(o.table) < size {
		o.table = make([]uint64, size)
		o.gen = 0
	}
	o.gen++
	t, gen := o.table[:size], o.gen<<32
	const dropped = ^uint64(0)
	mask := uint64(size - 1)
	drop := 0
	for i := range rs {
		h := uint64(rs[i].idh) & mask
		for {
			slot := t[h]
			if slot&^0xffffffff != gen {
				t[h] = gen | uint64(i+1)
				break
			}
			j := int(slot&0xffffffff) - 1
			if rs[j].idh == rs[i].idh && bytes.Equal(a.bytes(rs[j].id), a.bytes(rs[i].id)) {
				// Keep the earlier arrival.
				if rs[i].seq < rs[j].seq {
					rs[j].seq = dropped
					t[h] = gen | uint64(i+1)
				} else {
					rs[i].seq = dropped
				}
				drop++
				break
			}
			h = (h + 1) & mask
		}
	}
	if drop == 0 {
		return rs, 0
	}
	n := 0
	for i := range rs {
		if rs[i].seq != dropped {
			rs[n] = rs[i]
			n++
		}
	}
	return rs[:n], drop
}

// sortRecs sorts rs by (time, id, seq). Input is mostly in time order
// already: an insertion sort costs one pass plus the distance each late
// event moves, far less than a general sort (whose comparisons go through
// a closure). Past a budget of moves, the disorder is not small and
// pdqsort finishes the job.
func sortRecs(a *arena, rs []rec) {
	budget := 4*len(rs) + 64
	for i := 1; i < len(rs); i++ {
		if !recLess(a, &rs[i], &rs[i-1]) {
			continue
		}
		x := rs[i]
		j := i - 1
		for j > 0 && recLess(a, &x, &rs[j-1]) {
			j--
		}
		copy(rs[j+1:i+1], rs[j:i])
		rs[j] = x
		if budget -= i - j; budget < 0 {
			slices.SortFunc(rs, func(x, y rec) int { return recCmp(a, &x, &y) })
			return
		}
	}
}

// recLess orders by (time, id, seq); ids are compared only on equal
// times, which are rare.
func recLess(a *arena, x, y *rec) bool {
	if x.time != y.time {
		return x.time < y.time
	}
	return recCmp(a, x, y) < 0
}

func recCmp(a *arena, x, y *rec) int {
	if x.time != y.time {
		if x.time < y.time {
			return -1
		}
		return 1
	}
	if c := bytes.Compare(a.bytes(x.id), a.bytes(y.id)); c != 0 {
		return c
	}
	switch {
	case x.seq < y.seq:
		return -1
	case x.seq > y.seq:
		return 1
	}
	return 0
}
