package session

// dueHeap is a min-heap of users by due time that knows each user's
// position, so a user whose due time changes is moved rather than added
// again. Each entry holds its due time beside the user: comparisons, most
// of a heap's work, then read the heap's own array instead of one user
// (a cache miss each, once there are more users than fit in cache) per
// comparison; a move still writes the user's heapIdx.
//
// The heap is 4-ary: a node's four children are 64 adjacent bytes, and
// the tree is half as deep as a binary one, so a user that moves down
// (its due time moved on after its events were folded, most of the
// heap's work) displaces half as many other users, whose heapIdx each
// costs a cache miss to update. Sifting moves a hole rather than
// swapping, so each level writes one heapIdx.
type dueHeap []dueEntry

type dueEntry struct {
	dueMs int64
	u     *streamUser
}

// set files u under dueMs: a push if it is not in the heap, else a move
// (none if its due time is unchanged, the common case of an event that
// joins a user's pending events behind the first).
func (h *dueHeap) set(u *streamUser, dueMs int64) {
	if i := u.heapIdx; i >= 0 {
		if (*h)[i].dueMs == dueMs {
			return
		}
		(*h)[i].dueMs = dueMs
		h.fix(i)
		return
	}
	*h = append(*h, dueEntry{dueMs, u})
	h.up(len(*h) - 1)
}

func (h *dueHeap) remove(i int) {
	n := len(*h) - 1
	(*h)[i].u.heapIdx = -1
	if i != n {
		(*h)[i] = (*h)[n]
	}
	(*h)[n] = dueEntry{}
	*h = (*h)[:n]
	if i != n {
		h.fix(i)
	}
}

// fix restores the heap after the entry at i changed its due time.
func (h dueHeap) fix(i int) {
	if !h.down(i) {
		h.up(i)
	}
}

// up moves the entry at i towards the root while it is due before its
// parent, and records its final position.
func (h dueHeap) up(i int) {
	e := h[i]
	for i > 0 {
		p := (i - 1) / 4
		if h[p].dueMs <= e.dueMs {
			break
		}
		h[i] = h[p]
		h[i].u.heapIdx = i
		i = p
	}
	h[i] = e
	e.u.heapIdx = i
}

// down moves the entry at i towards the leaves while a child is due
// before it; it reports whether it moved.
func (h dueHeap) down(i int) bool {
	start := i
	e := h[i]
	n := len(h)
	for {
		c := 4*i + 1
		if c >= n {
			break
		}
		m := c
		for k := c + 1; k < min(c+4, n); k++ {
			if h[k].dueMs < h[m].dueMs {
				m = k
			}
		}
		if h[m].dueMs >= e.dueMs {
			break
		}
		h[i] = h[m]
		h[i].u.heapIdx = i
		i = m
	}
	h[i] = e
	e.u.heapIdx = i
	return i > start
}
