package session

import (
	"encoding/binary"
	"unsafe"
)

// span locates bytes in an arena. Records refer to their strings by span
// rather than by string header so that millions of them hold no pointers:
// the garbage collector never scans them and copying them needs no write
// barriers, which otherwise cost more than the sessionizing itself.
type span struct{ off, len uint32 }

// arena is an append-only byte store for event ids and page names.
type arena struct{ b []byte }

func (a *arena) add(s string) span {
	if len(s) == 0 {
		return span{}
	}
	off := len(a.b)
	if off+len(s) > 1<<32-1 {
		panic("session: partition arena over 4 GiB; use more partitions")
	}
	a.b = append(a.b, s...)
	return span{uint32(off), uint32(len(s))}
}

// addExtras adds id followed by an event's extras, its mark and (if keep)
// its raw record, and returns id's span; see extras.
func (a *arena) addExtras(id string, mark Mark, raw string, keepRaw bool) span {
	off := len(a.b)
	if off+len(id)+len(raw)+11 > 1<<32-1 {
		panic("session: partition arena over 4 GiB; use more partitions")
	}
	a.b = append(a.b, id...)
	a.b = append(a.b, byte(mark))
	if keepRaw {
		a.b = binary.AppendUvarint(a.b, uint64(len(raw)))
		a.b = append(a.b, raw...)
	}
	return span{uint32(off), uint32(len(id))}
}

// extras reads what addExtras put after the id at s: records stay 40
// bytes whether or not a run has rules or keeps events, and only such
// runs pay for the extras.
func (a *arena) extras(s span, keepRaw bool) (Mark, string) {
	at := int(s.off + s.len)
	mark := Mark(a.b[at])
	if !keepRaw {
		return mark, ""
	}
	n, w := binary.Uvarint(a.b[at+1:])
	start := at + 1 + w
	if n == 0 {
		return mark, ""
	}
	return mark, unsafe.String(&a.b[start], int(n))
}

func (a *arena) bytes(s span) []byte { return a.b[s.off : s.off+s.len] }

// str returns the bytes as a string without copying. The arena must not
// grow while such strings are in use; the Partition only hands them out
// from Close, after the last add.
func (a *arena) str(s span) string {
	if s.len == 0 {
		return ""
	}
	return unsafe.String(&a.b[s.off], int(s.len))
}
