package session

import "strings"

// A Stream's open state (the pending events, the open sessions' page
// lists) refers to its strings by uint32 handles into the tables below,
// not by string headers, so the arrays that hold them have no pointers and
// the GC does not scan them. In bench/freshness with 4.5M open users those
// arrays were 300 MB of an 830 MB live heap, scanned in every mark; the
// marks overlapped the slow commits. The tables themselves hold as many
// strings as the open state refers to: a page vocabulary, and the rare
// event id too long to keep inline (see eventID).

// slots is a table of values addressed by handles from 1 up (0 is none),
// reusing the handles of released values.
type slots[T any] struct {
	vals []T // vals[0] is unused
	free []uint32
}

// add stores v and returns its handle.
func (t *slots[T]) add(v T) uint32 {
	if n := len(t.free); n > 0 {
		h := t.free[n-1]
		t.free = t.free[:n-1]
		t.vals[h] = v
		return h
	}
	if len(t.vals) == 0 {
		t.vals = make([]T, 1, 64)
	}
	t.vals = append(t.vals, v)
	return uint32(len(t.vals) - 1)
}

// get returns the value under h, the zero value for 0.
func (t *slots[T]) get(h uint32) T {
	if h == 0 {
		var zero T
		return zero
	}
	return t.vals[h]
}

// release drops the value under h (nothing for 0); h may be reused.
func (t *slots[T]) release(h uint32) {
	if h == 0 {
		return
	}
	var zero T
	t.vals[h] = zero
	t.free = append(t.free, h)
}

// live is the number of values held.
func (t *slots[T]) live() int { return max(len(t.vals)-1, 0) - len(t.free) }

// strRef is a handle to a string in a pageNames; 0 is "".
type strRef uint32

// pageNames interns page names and counts the references to each, so a
// name is dropped with its last reference: pages are a small vocabulary
// for most sites but not for all (one URL per product is millions), and
// the table holds only the names the open state refers to.
type pageNames struct {
	strs  slots[string]
	refs  []uint32 // by handle; fits: each reference is 4 bytes of memory
	index map[string]strRef
}

// intern returns a reference to name, which the caller owns.
func (t *pageNames) intern(name string) strRef {
	if name == "" {
		return 0
	}
	if r, ok := t.index[name]; ok {
		t.refs[r]++
		return r
	}
	if t.index == nil {
		t.index = make(map[string]strRef)
	}
	name = strings.Clone(name)
	r := strRef(t.strs.add(name))
	if int(r) >= len(t.refs) {
		t.refs = append(t.refs, make([]uint32, int(r)+1-len(t.refs))...)
	}
	t.refs[r] = 1
	t.index[name] = r
	return r
}

// hold adds a reference to r, which the caller owns.
func (t *pageNames) hold(r strRef) {
	if r != 0 {
		t.refs[r]++
	}
}

// release gives up one reference to r.
func (t *pageNames) release(r strRef) {
	if r == 0 {
		return
	}
	if t.refs[r]--; t.refs[r] == 0 {
		delete(t.index, t.strs.get(uint32(r)))
		t.strs.release(uint32(r))
	}
}

// str is the name r refers to.
func (t *pageNames) str(r strRef) string { return t.strs.get(uint32(r)) }

// handles is one more than the highest handle given out, for tables
// indexed by handle.
func (t *pageNames) handles() int { return max(len(t.strs.vals), 1) }
