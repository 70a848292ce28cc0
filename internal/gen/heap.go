package gen

// Hand-written binary min-heaps: container/heap's interface calls cost more
// than the simulation step itself.

// visitQueue orders active visits by their next event time.
type visitQueue []visitEntry

type visitEntry struct {
	at   int64
	slot int32
}

func (h *visitQueue) push(e visitEntry) {
	*h = append(*h, e)
	q := *h
	i := len(q) - 1
	for i > 0 {
		p := (i - 1) / 2
		if q[p].at <= q[i].at {
			break
		}
		q[p], q[i] = q[i], q[p]
		i = p
	}
}

// fix restores order after the root's key grew.
func (h visitQueue) fix() {
	i, n := 0, len(h)
	for {
		c := 2*i + 1
		if c >= n {
			return
		}
		if c+1 < n && h[c+1].at < h[c].at {
			c++
		}
		if h[i].at <= h[c].at {
			return
		}
		h[i], h[c] = h[c], h[i]
		i = c
	}
}

func (h *visitQueue) pop() {
	q := *h
	n := len(q) - 1
	q[0] = q[n]
	*h = q[:n]
	(*h).fix()
}

// deliveryQueue orders records held back by their arrival time, then by
// when they were queued.
type deliveryQueue []event

func deliveryLess(a, b *event) bool {
	if a.arrival != b.arrival {
		return a.arrival < b.arrival
	}
	return a.seq < b.seq
}

func (h *deliveryQueue) push(e *event) {
	*h = append(*h, *e)
	q := *h
	i := len(q) - 1
	for i > 0 {
		p := (i - 1) / 2
		if !deliveryLess(&q[i], &q[p]) {
			break
		}
		q[p], q[i] = q[i], q[p]
		i = p
	}
}

// pop moves the earliest record into dst.
func (h *deliveryQueue) pop(dst *event) {
	q := *h
	*dst = q[0]
	n := len(q) - 1
	q[0] = q[n]
	q = q[:n]
	*h = q
	i := 0
	for {
		c := 2*i + 1
		if c >= n {
			return
		}
		if c+1 < n && deliveryLess(&q[c+1], &q[c]) {
			c++
		}
		if !deliveryLess(&q[c], &q[i]) {
			return
		}
		q[i], q[c] = q[c], q[i]
		i = c
	}
}
