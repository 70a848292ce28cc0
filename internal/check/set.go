package check

// hashSet is a set of 64-bit hashes: open addressing with linear probing
// in one flat slice, at most 3/4 full. For millions of keys it is about
// 2.5 times as fast as map[uint64]struct{} (one cache miss per add instead
// of several) and takes 11 to 21 bytes per key. The keys are already
// uniform hashes, so their low bits pick the slot. Key 0 marks an empty
// slot and is stored as 1, a merge no more likely than any other hash
// collision.
type hashSet struct {
	slots []uint64
	n     int
	mask  uint64
}

const hashSetMinSlots = 1 << 12

func newHashSet() *hashSet {
	return &hashSet{slots: make([]uint64, hashSetMinSlots), mask: hashSetMinSlots - 1}
}

// add adds k and reports whether it was new.
func (s *hashSet) add(k uint64) bool {
	k |= nonZero(k)
	for i := k & s.mask; ; i = (i + 1) & s.mask {
		switch s.slots[i] {
		case k:
			return false
		case 0:
			s.slots[i] = k
			s.n++
			if uint64(s.n)*4 > s.mask*3 {
				s.grow()
			}
			return true
		}
	}
}

func (s *hashSet) len() int { return s.n }

func (s *hashSet) grow() {
	old := s.slots
	s.slots = make([]uint64, 2*len(old))
	s.mask = uint64(len(s.slots) - 1)
	for _, k := range old {
		if k != 0 {
			i := k & s.mask
			for s.slots[i] != 0 {
				i = (i + 1) & s.mask
			}
			s.slots[i] = k
		}
	}
}

// nonZero is 1 for k == 0, else 0.
func nonZero(k uint64) uint64 {
	if k == 0 {
		return 1
	}
	return 0
}

// hashCounts counts per 64-bit hash (events per user), laid out like
// hashSet with the counts beside the keys.
type hashCounts struct {
	keys   []uint64
	counts []uint32
	n      int
	mask   uint64
	// where is, per key, the Kafka partition its events came from, plus
	// one, or spreadOver when they came from several (nil until incAt:
	// files have no partitions); several counts those keys.
	where   []int32
	several int
}

// spreadOver marks a key seen in more than one partition.
const spreadOver = -1

func newHashCounts() *hashCounts {
	return &hashCounts{keys: make([]uint64, hashSetMinSlots), counts: make([]uint32, hashSetMinSlots), mask: hashSetMinSlots - 1}
}

// inc adds one to k's count.
func (h *hashCounts) inc(k uint64) { h.slot(k) }

// incAt adds one to k's count, from Kafka partition p, and reports whether
// that made k a key of several partitions.
func (h *hashCounts) incAt(k uint64, p int32) bool {
	if h.where == nil {
		h.where = make([]int32, len(h.keys))
	}
	i := h.slot(k)
	switch w := h.where[i]; {
	case w == 0:
		h.where[i] = p + 1
	case w != spreadOver && w != p+1:
		h.where[i] = spreadOver
		h.several++
		return true
	}
	return false
}

// slot adds one to k's count and returns its slot.
func (h *hashCounts) slot(k uint64) uint64 {
	k |= nonZero(k)
	for i := k & h.mask; ; i = (i + 1) & h.mask {
		switch h.keys[i] {
		case k:
			if h.counts[i] < ^uint32(0) {
				h.counts[i]++
			}
			return i
		case 0:
			h.keys[i], h.counts[i] = k, 1
			h.n++
			if uint64(h.n)*4 > h.mask*3 {
				h.grow()
				return h.find(k)
			}
			return i
		}
	}
}

// find returns the slot holding k (which is in the table).
func (h *hashCounts) find(k uint64) uint64 {
	i := k & h.mask
	for h.keys[i] != k {
		i = (i + 1) & h.mask
	}
	return i
}

func (h *hashCounts) len() int { return h.n }

// each calls f with every count.
func (h *hashCounts) each(f func(uint32)) {
	for i, k := range h.keys {
		if k != 0 {
			f(h.counts[i])
		}
	}
}

func (h *hashCounts) grow() {
	oldK, oldC, oldW := h.keys, h.counts, h.where
	h.keys = make([]uint64, 2*len(oldK))
	h.counts = make([]uint32, 2*len(oldK))
	if oldW != nil {
		h.where = make([]int32, 2*len(oldK))
	}
	h.mask = uint64(len(h.keys) - 1)
	for j, k := range oldK {
		if k != 0 {
			i := k & h.mask
			for h.keys[i] != 0 {
				i = (i + 1) & h.mask
			}
			h.keys[i], h.counts[i] = k, oldC[j]
			if oldW != nil {
				h.where[i] = oldW[j]
			}
		}
	}
}
