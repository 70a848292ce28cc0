package session

// userTable finds a Stream's open users by uuid. It is an open-addressing
// table (linear probing, at most half full) over the uuid's xxhash, which
// Add computes anyway for the duplicate key: a Go map would hash the uuid
// a second time and probe its own groups, together a tenth of Add's time.
// A slot holds the hash beside the user, so a probe that misses reads no
// user, and a hit reads the user Add goes on to use anyway.
type userTable struct {
	slots []userEntry
	n     int
}

type userEntry struct {
	h uint64
	u *streamUser // nil: empty
}

func (t *userTable) len() int { return t.n }

// get returns the user with uuid, whose hash is h, or nil.
func (t *userTable) get(h uint64, uuid string) *streamUser {
	if t.n == 0 {
		return nil
	}
	mask := uint64(len(t.slots) - 1)
	for i := h & mask; ; i = (i + 1) & mask {
		e := &t.slots[i]
		if e.u == nil {
			return nil
		}
		if e.h == h && e.u.uuid == uuid {
			return e.u
		}
	}
}

// put adds u, which must not be in the table, under its hash u.uh.
func (t *userTable) put(u *streamUser) {
	if 2*(t.n+1) > len(t.slots) {
		t.grow()
	}
	t.insert(userEntry{u.uh, u})
	t.n++
}

func (t *userTable) insert(e userEntry) {
	mask := uint64(len(t.slots) - 1)
	i := e.h & mask
	for t.slots[i].u != nil {
		i = (i + 1) & mask
	}
	t.slots[i] = e
}

// remove takes u out of the table. Linear probing needs no tombstones:
// the entries after the hole that may not stay where they are (their home
// is not cyclically within (hole, their slot]) move back into it.
func (t *userTable) remove(u *streamUser) {
	mask := uint64(len(t.slots) - 1)
	i := u.uh & mask
	for t.slots[i].u != u {
		if t.slots[i].u == nil {
			return
		}
		i = (i + 1) & mask
	}
	for j := (i + 1) & mask; t.slots[j].u != nil; j = (j + 1) & mask {
		home := t.slots[j].h & mask
		// Does home lie cyclically in (i, j]? Then the entry stays.
		if (j-home)&mask < (j-i)&mask {
			continue
		}
		t.slots[i] = t.slots[j]
		i = j
	}
	t.slots[i] = userEntry{}
	t.n--
}

// each calls fn for every user, in no particular order.
func (t *userTable) each(fn func(*streamUser)) {
	for i := range t.slots {
		if u := t.slots[i].u; u != nil {
			fn(u)
		}
	}
}

// all returns the users, in no particular order.
func (t *userTable) all() []*streamUser {
	us := make([]*streamUser, 0, t.n)
	t.each(func(u *streamUser) { us = append(us, u) })
	return us
}

func (t *userTable) clear() {
	clear(t.slots)
	t.n = 0
}

func (t *userTable) grow() {
	old := t.slots
	t.slots = make([]userEntry, max(2*len(old), 256))
	for _, e := range old {
		if e.u != nil {
			t.insert(e)
		}
	}
}
