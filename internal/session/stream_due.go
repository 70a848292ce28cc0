package session

// dueQueue files users by due time (when the watermark passing it means
// the user needs attention) in buckets of dueBucketMs of event time: a
// user's due time moves on with nearly every event and every Advance,
// and a move is a swap-remove from one bucket and an append to another,
// where a heap sifted the user through about ten levels of a tree of all
// open users, a cache miss each (a 4-ary heap was 7% of the job's CPU in
// bench/freshness, 80% of it re-filing users after Advance folded their
// events). Advance visits the buckets below the watermark in key order;
// within a bucket the order is the order of filing, which the same
// sequence of calls repeats, so a run and its replay still visit users
// alike. (Users' work in Advance is independent of each other's: the
// order only decides the order of the emitted sessions.)
type dueQueue struct {
	buckets map[int64]*dueBucket
	keys    keyHeap // keys of buckets; an emptied bucket stays until it is the first
	n       int     // users filed
	free    []*dueBucket
}

// dueBucketMs is the event time one bucket covers. Advance looks at every
// user of the bucket the watermark is in, so it must not hold too many;
// 4.5M open users spread over the half hour of the inactivity timeout are
// 2,500 a second.
const dueBucketMs = 1000

type dueBucket struct{ users []*streamUser }

func dueKey(ms int64) int64 {
	k := ms / dueBucketMs
	if ms%dueBucketMs < 0 {
		k--
	}
	return k
}

// set files u under dueMs: moved if it is filed under another bucket,
// else only its due time changes.
func (q *dueQueue) set(u *streamUser, dueMs int64) {
	if u.dueIdx >= 0 {
		if dueKey(u.dueMs) == dueKey(dueMs) {
			u.dueMs = dueMs
			return
		}
		q.remove(u)
	}
	u.dueMs = dueMs
	k := dueKey(dueMs)
	b := q.buckets[k]
	if b == nil {
		if q.buckets == nil {
			q.buckets = map[int64]*dueBucket{}
		}
		if n := len(q.free); n > 0 {
			b, q.free = q.free[n-1], q.free[:n-1]
		} else {
			b = &dueBucket{}
		}
		q.buckets[k] = b
		q.keys.push(k)
	}
	u.dueIdx = len(b.users)
	b.users = append(b.users, u)
	q.n++
}

// remove takes u, which must be filed, out of the queue.
func (q *dueQueue) remove(u *streamUser) {
	b := q.buckets[dueKey(u.dueMs)]
	i, last := u.dueIdx, len(b.users)-1
	if i != last {
		b.users[i] = b.users[last]
		b.users[i].dueIdx = i
	}
	b.users[last] = nil
	b.users = b.users[:last]
	u.dueIdx = -1
	q.n--
}

// each calls fn for every user due before w, bucket by bucket; fn must
// file the user again at w or later, or remove it.
func (q *dueQueue) each(w int64, fn func(*streamUser)) {
	for len(q.keys) > 0 {
		k := q.keys[0]
		b := q.buckets[k]
		if len(b.users) == 0 {
			delete(q.buckets, k)
			q.keys.pop()
			q.free = append(q.free, b)
			continue
		}
		if k*dueBucketMs >= w {
			return // every user here and after is due at w or later
		}
		for i := 0; i < len(b.users); {
			u := b.users[i]
			if u.dueMs >= w {
				i++
				continue
			}
			fn(u)
			if i < len(b.users) && b.users[i] == u {
				i++ // still here, due at w or later
			}
		}
		if len(b.users) > 0 {
			return // the bucket w is in: the rest are due at w or later
		}
	}
}

// len is the number of users filed.
func (q *dueQueue) len() int { return q.n }

// reset empties the queue (the users are dropped with it).
func (q *dueQueue) reset() { *q = dueQueue{free: q.free} }

// keyHeap is a binary min-heap of bucket keys: a few thousand at most.
type keyHeap []int64

func (h *keyHeap) push(k int64) {
	*h = append(*h, k)
	s := *h
	for i := len(s) - 1; i > 0; {
		p := (i - 1) / 2
		if s[p] <= s[i] {
			break
		}
		s[p], s[i] = s[i], s[p]
		i = p
	}
}

func (h *keyHeap) pop() {
	s := *h
	n := len(s) - 1
	s[0] = s[n]
	s = s[:n]
	for i := 0; ; {
		m, l, r := i, 2*i+1, 2*i+2
		if l < n && s[l] < s[m] {
			m = l
		}
		if r < n && s[r] < s[m] {
			m = r
		}
		if m == i {
			break
		}
		s[i], s[m] = s[m], s[i]
		i = m
	}
	*h = s
}
