package session

// pendingPool holds the pending arrays of users with nothing pending, for
// the next user whose events arrive. A user's pending events come in
// bursts (a visit) that the watermark folds a lateness later; between
// bursts, and for the rest of its open session, the user had kept the
// array its last burst grew. In bench/freshness with 4.5M users those idle
// arrays were a third of the live heap (313 MB of 915, about nine slots in
// ten empty), and since pending events then held strings the GC scanned
// every byte of them in each mark, the mark that the slow commits
// overlapped. (They hold no pointers now, see stream_refs.go; the pool
// still keeps idle arrays from holding memory.)
// Shared and bounded instead, the arrays are still reused (growing them
// again from nothing, event by event, was a fifth of Add's time), but the
// heap holds only as many as bursts need at once, plus the pool.
type pendingPool struct {
	arrays [][]pendingEvent // each empty, with its elements zeroed
	slots  int              // total capacity of arrays
}

const (
	// maxPooledSlots bounds the pool's arrays' total capacity: 256k slots
	// of 64 bytes are 16 MiB.
	maxPooledSlots = 1 << 18
	// Arrays outside [minPooledCap, maxPooledCap] are dropped: smaller
	// ones are cheaper to grow again than to keep, larger ones belong to a
	// rare burst.
	minPooledCap = 4
	maxPooledCap = 64
)

// put takes a, whose elements must be zeroed (slices.Delete does), if
// there is room.
func (p *pendingPool) put(a []pendingEvent) {
	c := cap(a)
	if c < minPooledCap || c > maxPooledCap || p.slots+c > maxPooledSlots {
		return
	}
	p.arrays = append(p.arrays, a[:0])
	p.slots += c
}

// get returns an empty array from the pool, or nil if it has none.
func (p *pendingPool) get() []pendingEvent {
	n := len(p.arrays)
	if n == 0 {
		return nil
	}
	a := p.arrays[n-1]
	p.arrays[n-1] = nil
	p.arrays = p.arrays[:n-1]
	p.slots -= cap(a)
	return a
}
