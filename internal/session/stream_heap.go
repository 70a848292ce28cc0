package session

// dueHeap is a min-heap of users by dueMs that knows each user's position,
// so a user whose due time changes is moved rather than added again.
type dueHeap []*streamUser

func (h dueHeap) less(i, j int) bool { return h[i].dueMs < h[j].dueMs }

func (h dueHeap) swap(i, j int) {
	h[i], h[j] = h[j], h[i]
	h[i].heapIdx = i
	h[j].heapIdx = j
}

func (h *dueHeap) push(u *streamUser) {
	u.heapIdx = len(*h)
	*h = append(*h, u)
	h.up(u.heapIdx)
}

func (h *dueHeap) remove(i int) {
	n := len(*h) - 1
	if i != n {
		h.swap(i, n)
	}
	(*h)[n].heapIdx = -1
	(*h)[n] = nil
	*h = (*h)[:n]
	if i != n {
		h.fix(i)
	}
}

func (h dueHeap) fix(i int) {
	if !h.down(i) {
		h.up(i)
	}
}

func (h dueHeap) up(i int) {
	for i > 0 {
		p := (i - 1) / 2
		if !h.less(i, p) {
			return
		}
		h.swap(i, p)
		i = p
	}
}

func (h dueHeap) down(i int) bool {
	start := i
	for {
		l := 2*i + 1
		if l >= len(h) {
			break
		}
		m := l
		if r := l + 1; r < len(h) && h.less(r, l) {
			m = r
		}
		if !h.less(m, i) {
			break
		}
		h.swap(i, m)
		i = m
	}
	return i > start
}
