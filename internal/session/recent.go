package session

// Dedup bounds the keys of accepted events a Stream remembers after they
// leave the open state, so that a copy re-sent later (a producer retry, an
// upstream replay, a re-send after a drain) is recognised as a duplicate
// instead of counting again.
//
// A key (user, event_id) is remembered from its event's acceptance, in
// record order, and forgotten oldest first: once the watermark is more than
// WindowMs past its event time, or when MaxKeys newer keys have been
// accepted. So every one of the last MaxKeys accepted events whose time is
// at or above watermark - WindowMs is recognised, whatever its copy's
// timestamp. MaxKeys 0 remembers nothing beyond the open state.
type Dedup struct {
	WindowMs int64
	MaxKeys  int
}

// DefaultDedup is sessionize run's bound: an hour of event time behind the
// watermark, at most a million keys per partition (about 40 MB of memory
// and 18 MB of checkpoint when full; up to twice the memory per key
// while the table grows by doubling). The window must exceed the
// inactivity timeout to cover closed sessions at all: a session closes
// once the watermark is that far past its last event.
func DefaultDedup() Dedup { return Dedup{WindowMs: 60 * 60_000, MaxKeys: 1_000_000} }

// recentKeys is the set behind Dedup: a ring of keys in record order (the
// eviction order, which replay reproduces exactly) indexed by an
// open-addressing table. Keys are 128-bit, the xxhash of the uuid and of
// the event id; they are not confirmed against the ids (which are gone),
// so a new event is taken for a duplicate only if both hashes match one of
// the same user's remembered events (about k/2^64 for k of its events) or
// of another user's (about n/2^128): never in practice.
//
// A Go map would do the lookups, but not report its memory; the keys are
// uniform hashes already, so a table indexed by their bits needs no
// hashing of its own, and the ring gives the eviction order for free.
type recentKeys struct {
	d     Dedup
	ring  []recentEntry // circular, oldest at head
	head  int
	n     int
	slots []uint64 // tag<<32 | ring index+1; 0 is empty. Linear probing.
	// evictedEarly counts keys MaxKeys pushed out while still inside the
	// window: the sign that MaxKeys is too small for the window.
	evictedEarly int64
}

type recentEntry struct {
	key    pendingKey
	timeMs int64
}

const recentEntryBytes = 24 // unsafe.Sizeof(recentEntry{})

func recentTag(k pendingKey) uint32 { return uint32((k.user ^ k.id) >> 32) }

// home is the slot a tag probes first (Lemire's multiply-shift range
// reduction), so deletion can find an entry's home from its slot alone.
func (r *recentKeys) home(tag uint32) int {
	return int(uint64(tag) * uint64(len(r.slots)) >> 32)
}

func (r *recentKeys) has(k pendingKey) bool {
	if r.n == 0 {
		return false
	}
	tag := recentTag(k)
	mask := len(r.slots) - 1
	for i := r.home(tag); ; i = (i + 1) & mask {
		s := r.slots[i]
		if s == 0 {
			return false
		}
		if uint32(s>>32) == tag && r.ring[uint32(s)-1].key == k {
			return true
		}
	}
}

// add remembers k, first forgetting keys the watermark w has taken out of
// the window and, if full, the oldest. k must not be in the set. It
// reports whether it forgot a key at or above floor (one that may belong
// to a pending event).
func (r *recentKeys) add(k pendingKey, timeMs, w, floor int64) (forgotPending bool) {
	if r.d.MaxKeys <= 0 {
		return false
	}
	limit := w - r.d.WindowMs
	if limit > w { // overflow
		limit = w
	}
	for r.n > 0 && r.ring[r.head].timeMs < limit {
		forgotPending = forgotPending || r.ring[r.head].timeMs >= floor
		r.evictHead()
	}
	if r.n >= r.d.MaxKeys {
		if r.ring[r.head].timeMs >= limit {
			r.evictedEarly++
		}
		forgotPending = forgotPending || r.ring[r.head].timeMs >= floor
		r.evictHead()
	}
	r.push(recentEntry{key: k, timeMs: timeMs})
	return forgotPending
}

// push appends e as the newest key, growing if full.
func (r *recentKeys) push(e recentEntry) {
	if r.n == len(r.ring) {
		r.grow()
	}
	pos := r.head + r.n
	if pos >= len(r.ring) {
		pos -= len(r.ring)
	}
	r.ring[pos] = e
	r.n++
	r.index(pos)
}

// index enters ring[pos] in the table.
func (r *recentKeys) index(pos int) {
	tag := recentTag(r.ring[pos].key)
	mask := len(r.slots) - 1
	i := r.home(tag)
	for r.slots[i] != 0 {
		i = (i + 1) & mask
	}
	r.slots[i] = uint64(tag)<<32 | uint64(pos+1)
}

func (r *recentKeys) evictHead() {
	mask := len(r.slots) - 1
	want := uint32(r.head + 1)
	i := r.home(recentTag(r.ring[r.head].key))
	for uint32(r.slots[i]) != want {
		i = (i + 1) & mask
	}
	// Backward-shift deletion: move later entries of the probe run into
	// the hole unless that would put them before their home.
	for j := (i + 1) & mask; r.slots[j] != 0; j = (j + 1) & mask {
		h := r.home(uint32(r.slots[j] >> 32))
		if (j-h)&mask >= (j-i)&mask {
			r.slots[i] = r.slots[j]
			i = j
		}
	}
	r.slots[i] = 0
	r.ring[r.head] = recentEntry{}
	r.head++
	if r.head == len(r.ring) {
		r.head = 0
	}
	r.n--
}

// grow doubles the ring (up to MaxKeys) and rebuilds the table at most
// half full.
func (r *recentKeys) grow() {
	c := max(1024, 2*len(r.ring))
	if r.d.MaxKeys > 0 {
		c = min(c, max(r.d.MaxKeys, r.n+1))
	}
	r.resize(c)
}

func (r *recentKeys) resize(c int) {
	ring := make([]recentEntry, c)
	r.each(func(i int, e recentEntry) { ring[i] = e })
	r.ring, r.head = ring, 0
	slots := 2
	for slots < 2*c {
		slots *= 2
	}
	r.slots = make([]uint64, slots)
	for pos := 0; pos < r.n; pos++ {
		r.index(pos)
	}
}

// each calls f on the keys oldest first.
func (r *recentKeys) each(f func(i int, e recentEntry)) {
	for i := 0; i < r.n; i++ {
		pos := r.head + i
		if pos >= len(r.ring) {
			pos -= len(r.ring)
		}
		f(i, r.ring[pos])
	}
}

// setBound changes the bound, forgetting the oldest keys beyond MaxKeys;
// it reports whether one of them was at or above floor (see add).
func (r *recentKeys) setBound(d Dedup, floor int64) (forgotPending bool) {
	r.d = d
	for r.n > max(d.MaxKeys, 0) {
		forgotPending = forgotPending || r.ring[r.head].timeMs >= floor
		r.evictHead()
	}
	if r.n == 0 && d.MaxKeys <= 0 {
		*r = recentKeys{d: d}
	}
	return forgotPending
}

// memBytes is the memory the set holds.
func (r *recentKeys) memBytes() int64 {
	return int64(len(r.ring))*recentEntryBytes + int64(len(r.slots))*8
}

// DedupStats describes a Stream's remembered keys.
type DedupStats struct {
	Keys  int   // keys remembered now
	Bytes int64 // memory they take
	// EvictedEarly counts keys forgotten because of MaxKeys while their
	// event was still inside the window, since the Stream was created or
	// restored: if it grows, MaxKeys is too small for the window.
	EvictedEarly int64
}
