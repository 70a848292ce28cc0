package batch

import (
	"bytes"
	"encoding/binary"
	"errors"
	"unsafe"

	"github.com/sessionize/sessionize/internal/session"
)

// A slab is the encoded events the partitioner routed to one partition
// between two takes (one unit of input), behind its length:
//
//	uvarint n | n bytes of events
//
// and each event
//
//	varint seq-prev | varint time-prev | uvarint user | if user == 0: uvarint len, uuid |
//	uvarint len, id | uvarint len, page | uvarint len<<3|hasAttrs<<2|mark, raw |
//	if hasAttrs: uvarint len, attrs
//
// prev is the slab's previous event's (0 before the first): its events
// come in input order, so the deltas are short. user 0 is a user new to
// the slab, whose uuid follows and who becomes user 1, 2, ... in order;
// a later event of that user gives only the number. A unit of input holds
// a few events of each user who appears in it (4.8 per user in a 4 MiB
// chunk of the bench input), so this halves the slabs, which hold the
// whole input until it is folded (and memory a run touches anew costs it
// CPU too: bench/README.md).
//
// raw, the original record, is empty unless the run writes events
// (--output-events); mark is the session.Mark of the boundary rules and
// attrs the event's input to the session attributes. One byte per event
// without any of them.
//
// The same bytes live in memory or, one slab after another, in a spill
// file; decoding points the engine's strings into them instead of copying
// millions of small strings.

// slabBuilder is the slab of one partition under way.
type slabBuilder struct {
	b      []byte
	seq    uint64
	timeMs int64
	users  []slabUser // by number - 1
}

// slabUser is where a user's uuid is in the slab's bytes: found again by
// comparing them, without decoding their length prefix each time.
type slabUser struct{ off, n uint32 }

// slabUsers finds the users of the slabs under way, of all partitions (a
// user's events all go to one): an open-addressing table of
// tag<<32 | user number, with the tag from the hash that chose the
// partition. Confirmed against the uuid in the slab, so a collision costs
// a compare, never a wrong user.
type slabUsers struct {
	slots []uint64
	n     int
	// maxOff is the furthest into a slab a uuid found again may end (0:
	// maxSlabOffset; tests lower it).
	maxOff uint64
}

// Users are found by where their uuid is in the slab, a uint32. Ending
// past maxSlabOffset (a slab over 4 GiB: huge records kept for --output-events)
// a new user's uuid is stored as unfindable, so every later event of it
// writes its uuid again: bigger, never wrong.
const (
	maxSlabOffset = 1<<32 - 2
	unfindable    = 1<<32 - 1
)

func (u *slabUsers) reset() {
	clear(u.slots)
	u.n = 0
}

// number returns uuid's number in s, or 0 (adding it, to be numbered
// next) if s has no event of it yet.
func (u *slabUsers) number(s *slabBuilder, uuid []byte, h uint64) uint32 {
	if 2*(u.n+1) > len(u.slots) {
		u.grow()
	}
	tag := uint32(h >> 32)
	mask := len(u.slots) - 1
	i := int(uint64(tag) * uint64(len(u.slots)) >> 32)
	for ; u.slots[i] != 0; i = (i + 1) & mask {
		e := u.slots[i]
		if uint32(e>>32) != tag {
			continue
		}
		num := uint32(e)
		if k := int(num) - 1; k < len(s.users) {
			if su := s.users[k]; su.off != unfindable && int(su.n) == len(uuid) && bytes.Equal(s.b[su.off:su.off+su.n], uuid) {
				return num
			}
		}
	}
	s.users = append(s.users, slabUser{}) // the caller stores where the uuid goes
	u.slots[i] = uint64(tag)<<32 | uint64(len(s.users))
	u.n++
	return 0
}

// grow doubles the table, placing entries by their tags alone.
func (u *slabUsers) grow() {
	old := u.slots
	u.slots = make([]uint64, max(1024, 2*len(old)))
	mask := len(u.slots) - 1
	for _, e := range old {
		if e == 0 {
			continue
		}
		i := int(uint64(uint32(e>>32)) * uint64(len(u.slots)) >> 32)
		for u.slots[i] != 0 {
			i = (i + 1) & mask
		}
		u.slots[i] = e
	}
}

// add appends an event of user uuid (h: its partitioning hash).
func (s *slabBuilder) add(u *slabUsers, h uint64, seq uint64, timeMs int64, uuid, id, page, raw []byte, mark session.Mark, attrs []byte) {
	b := s.b
	b = binary.AppendVarint(b, int64(seq-s.seq))
	b = binary.AppendVarint(b, timeMs-s.timeMs)
	s.seq, s.timeMs = seq, timeMs
	num := u.number(s, uuid, h)
	b = binary.AppendUvarint(b, uint64(num))
	if num == 0 {
		maxOff := u.maxOff
		if maxOff == 0 {
			maxOff = maxSlabOffset
		}
		b = binary.AppendUvarint(b, uint64(len(uuid)))
		su := slabUser{off: unfindable}
		if end := uint64(len(b)) + uint64(len(uuid)); end <= maxOff {
			su = slabUser{off: uint32(len(b)), n: uint32(len(uuid))}
		}
		s.users[len(s.users)-1] = su
		b = append(b, uuid...)
	}
	b = binary.AppendUvarint(b, uint64(len(id)))
	b = append(b, id...)
	b = binary.AppendUvarint(b, uint64(len(page)))
	b = append(b, page...)
	hasAttrs := uint64(0)
	if len(attrs) > 0 {
		hasAttrs = 1
	}
	b = binary.AppendUvarint(b, uint64(len(raw))<<3|hasAttrs<<2|uint64(mark&3))
	b = append(b, raw...)
	if hasAttrs == 1 {
		b = binary.AppendUvarint(b, uint64(len(attrs)))
		b = append(b, attrs...)
	}
	s.b = b
}

// take returns the slab, sized to fit, and starts the next (keeping the
// buffer); nil if it has no events.
func (s *slabBuilder) take() []byte {
	if len(s.b) == 0 {
		return nil
	}
	out := make([]byte, 0, binary.MaxVarintLen64+len(s.b))
	out = binary.AppendUvarint(out, uint64(len(s.b)))
	out = append(out, s.b...)
	*s = slabBuilder{b: s.b[:0], users: s.users[:0]}
	return out
}

var errCorruptSlab = errors.New("corrupt partition data")

// slabDecoder feeds the events of slabs to the engine; one serves many
// slabs, one after another, reusing its table of the users of each.
type slabDecoder struct {
	users []string
	ev    session.Event // one for all: add does not keep it
}

// decode feeds every event of data, one slab or several back to back, to
// add. The strings alias data, which must therefore not be modified
// afterwards.
func (d *slabDecoder) decode(data []byte, add func(uuid string, ev *session.Event)) error {
	for len(data) > 0 {
		l, n := binary.Uvarint(data)
		if n <= 0 || uint64(len(data)-n) < l {
			return errCorruptSlab
		}
		if err := d.slab(data[n:n+int(l)], add); err != nil {
			return err
		}
		data = data[n+int(l):]
	}
	return nil
}

func (d *slabDecoder) slab(slab []byte, add func(uuid string, ev *session.Event)) error {
	d.users = d.users[:0]
	var seq uint64
	var ts int64
	ev := &d.ev
	for len(slab) > 0 {
		ds, n := binary.Varint(slab)
		if n <= 0 {
			return errCorruptSlab
		}
		slab = slab[n:]
		dt, n := binary.Varint(slab)
		if n <= 0 {
			return errCorruptSlab
		}
		slab = slab[n:]
		seq += uint64(ds)
		ts += dt
		num, n := binary.Uvarint(slab)
		if n <= 0 || num > uint64(len(d.users)) {
			return errCorruptSlab
		}
		slab = slab[n:]
		var uuid, id, page, raw string
		var ok bool
		if num == 0 {
			if uuid, slab, ok = slabString(slab); !ok {
				return errCorruptSlab
			}
			d.users = append(d.users, uuid)
		} else {
			uuid = d.users[num-1]
		}
		if id, slab, ok = slabString(slab); !ok {
			return errCorruptSlab
		}
		if page, slab, ok = slabString(slab); !ok {
			return errCorruptSlab
		}
		l, n := binary.Uvarint(slab)
		if n <= 0 || uint64(len(slab)-n) < l>>3 {
			return errCorruptSlab
		}
		mark, hasAttrs := session.Mark(l&3), l&4 != 0
		if l >>= 3; l > 0 {
			raw = unsafe.String(&slab[n], int(l))
		}
		slab = slab[n+int(l):]
		var attrs string
		if hasAttrs {
			if attrs, slab, ok = slabString(slab); !ok {
				return errCorruptSlab
			}
		}
		// Field by field: a composite literal is built aside and copied
		// over, reading back stores not yet in the cache.
		ev.TimeMs, ev.Seq, ev.ID, ev.Page, ev.Raw, ev.Mark, ev.Attrs = ts, seq, id, page, raw, mark, attrs
		add(uuid, ev)
	}
	return nil
}

func slabString(b []byte) (string, []byte, bool) {
	l, n := binary.Uvarint(b)
	if n <= 0 || uint64(len(b)-n) < l {
		return "", nil, false
	}
	b = b[n:]
	if l == 0 {
		return "", b, true
	}
	return unsafe.String(&b[0], int(l)), b[l:], true
}
