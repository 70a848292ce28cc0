package session

import (
	"hash/maphash"
	"slices"
)

// orderer puts one user's events into session order and drops duplicates.
// Its scratch space is reused across users so the hot path does not allocate.
type orderer struct {
	seed  maphash.Seed
	table []int32 // open-addressing set of event indexes, by event_id
}

func newOrderer() orderer { return orderer{seed: maphash.MakeSeed()} }

// sortDedupe sorts evs by (time, event_id, arrival) in place and removes
// duplicates (same event_id), keeping the earliest arrival. It returns the
// kept prefix and the number of duplicates removed.
func (o *orderer) sortDedupe(evs []Event) ([]Event, int) {
	if len(evs) < 2 {
		return evs, 0
	}
	// Input is mostly in time order already; checking is far cheaper
	// than sorting.
	if !slices.IsSortedFunc(evs, cmpEvents) {
		slices.SortFunc(evs, cmpEvents)
	}
	// Exact redeliveries (same time and id) are now adjacent; the first
	// of a run has the lowest Seq.
	n := 1
	for i := 1; i < len(evs); i++ {
		if evs[i].TimeMs == evs[n-1].TimeMs && evs[i].ID == evs[n-1].ID {
			continue
		}
		evs[n] = evs[i]
		n++
	}
	dups := len(evs) - n
	kept, more := o.dedupeByID(evs[:n])
	return kept, dups + more
}

// dedupeByID removes events whose id was seen at another time: a producer
// that re-sent an event with a different timestamp. Rare, but "counts once"
// must hold for it too.
func (o *orderer) dedupeByID(evs []Event) ([]Event, int) {
	if len(evs) < 2 {
		return evs, 0
	}
	size := 4
	for size < 2*len(evs) {
		size <<= 1
	}
	if cap(o.table) < size {
		o.table = make([]int32, size)
	}
	t := o.table[:size]
	for i := range t {
		t[i] = -1
	}
	mask := uint64(size - 1)
	drop := 0
	for i := range evs {
		h := maphash.String(o.seed, evs[i].ID) & mask
		for {
			j := t[h]
			if j < 0 {
				t[h] = int32(i)
				break
			}
			if evs[j].ID == evs[i].ID {
				// Keep the earlier arrival; mark the other by
				// clearing its ID (real IDs are never empty).
				if evs[i].Seq < evs[j].Seq {
					evs[j].ID = ""
					t[h] = int32(i)
				} else {
					evs[i].ID = ""
				}
				drop++
				break
			}
			h = (h + 1) & mask
		}
	}
	if drop == 0 {
		return evs, 0
	}
	n := 0
	for i := range evs {
		if evs[i].ID != "" {
			evs[n] = evs[i]
			n++
		}
	}
	return evs[:n], drop
}

func cmpEvents(a, b Event) int {
	switch {
	case less(&a, &b):
		return -1
	case less(&b, &a):
		return 1
	}
	return 0
}
