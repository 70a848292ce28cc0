package session

import (
	"bytes"
	"cmp"
	"encoding/binary"
	"strings"

	"github.com/cespare/xxhash/v2"
)

// pendingEvent is an accepted event waiting for the watermark to fold it
// into its user's session. It holds no pointers (see stream_refs.go): 64
// bytes, a cache line, with the id inline.
type pendingEvent struct {
	timeMs int64
	seq    uint64
	page   strRef
	// ext is 0 unless the Stream has rules, attributes or tags events,
	// else a handle in Stream.extras.
	ext uint32
	id  eventID
}

// pendingExtra is what a pending event needs beyond the plain engine.
type pendingExtra struct {
	raw   string // only while tagging events
	attrs string // only with session attributes
	mark  Mark
}

// maxInlineID is the longest event id held inline: a UUID's 36 characters
// fit, as do the generator's 16; longer ones are in Stream.longIDs.
const maxInlineID = 39

// eventID is an event id, inline if it fits. n is its length; longID
// means b's first four bytes are its handle in Stream.longIDs.
type eventID struct {
	n byte
	b [maxInlineID]byte
}

const longID = 0xff

// newID holds id for a pending event; releaseID gives it up.
func (s *Stream) newID(id string) eventID {
	var e eventID
	if len(id) <= maxInlineID {
		e.n = byte(len(id))
		copy(e.b[:], id)
		return e
	}
	e.n = longID
	binary.LittleEndian.PutUint32(e.b[:], s.longIDs.add(strings.Clone(id)))
	return e
}

func (s *Stream) releaseID(e *eventID) {
	if e.n == longID {
		s.longIDs.release(binary.LittleEndian.Uint32(e.b[:]))
	}
}

// idString is e as a string of its own.
func (s *Stream) idString(e *eventID) string {
	if e.n == longID {
		return s.longIDs.get(binary.LittleEndian.Uint32(e.b[:]))
	}
	return string(e.b[:e.n])
}

// idIs reports whether e is id, without allocating.
func (s *Stream) idIs(e *eventID, id string) bool {
	if e.n == longID {
		return s.idString(e) == id
	}
	return string(e.b[:e.n]) == id
}

// idHash is the xxhash of e's id, the id half of its pendingKey.
func (s *Stream) idHash(e *eventID) uint64 {
	if e.n == longID {
		return xxhash.Sum64String(s.idString(e))
	}
	return xxhash.Sum64(e.b[:e.n])
}

func (s *Stream) cmpID(a, b *eventID) int {
	if a.n != longID && b.n != longID {
		return bytes.Compare(a.b[:a.n], b.b[:b.n])
	}
	return strings.Compare(s.idString(a), s.idString(b))
}

// cmpPending orders pending events by (time, id, seq), as recCmp orders
// batch's records.
func (s *Stream) cmpPending(a, b *pendingEvent) int {
	if c := cmp.Compare(a.timeMs, b.timeMs); c != 0 {
		return c
	}
	if c := s.cmpID(&a.id, &b.id); c != 0 {
		return c
	}
	return cmp.Compare(a.seq, b.seq)
}

// extra is p's extra part, zero if none.
func (s *Stream) extra(p *pendingEvent) pendingExtra { return s.extras.get(p.ext) }

// needsExtra reports whether pending events carry a pendingExtra.
func (s *Stream) needsExtra() bool {
	return s.onEvent != nil || s.attrFold != nil || s.rules.hasBoundaries()
}

func (u *streamUser) hasPending(s *Stream, id string) bool {
	for i := range u.pending {
		if s.idIs(&u.pending[i].id, id) {
			return true
		}
	}
	return false
}
