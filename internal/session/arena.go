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
type arena struct {
	b     []byte
	pages []span // by pageRef; pages[0] is the empty name
}

// pageRef is a page name's index in arena.pages: 4 bytes in a record
// where a span took 8.
type pageRef uint32

// addPage records where a page name is; see Partition.page.
func (a *arena) addPage(sp span) pageRef {
	if len(a.pages) == 0 {
		a.pages = append(a.pages, span{})
	}
	if len(a.pages) > 1<<32-1 {
		panic("session: over 4G page names in a partition; use more partitions")
	}
	a.pages = append(a.pages, sp)
	return pageRef(len(a.pages) - 1)
}

// page returns the name ref refers to, as str does.
func (a *arena) page(ref pageRef) string {
	if ref == 0 {
		return ""
	}
	return a.str(a.pages[ref])
}

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

// addExtras adds id followed by an event's extras: its mark, (if
// keepRaw) its raw record and (if withAttrs) its attribute input; it
// returns id's span. See extras.
func (a *arena) addExtras(id string, ev *Event, keepRaw, withAttrs bool) span {
	off := len(a.b)
	if off+len(id)+len(ev.Raw)+len(ev.Attrs)+21 > 1<<32-1 {
		panic("session: partition arena over 4 GiB; use more partitions")
	}
	a.b = append(a.b, id...)
	a.b = append(a.b, byte(ev.Mark))
	if keepRaw {
		a.b = binary.AppendUvarint(a.b, uint64(len(ev.Raw)))
		a.b = append(a.b, ev.Raw...)
	}
	if withAttrs {
		a.b = binary.AppendUvarint(a.b, uint64(len(ev.Attrs)))
		a.b = append(a.b, ev.Attrs...)
	}
	return span{uint32(off), uint32(len(id))}
}

// extras reads what addExtras put after the id at s: records stay 32
// bytes whether or not a run has rules, attributes or keeps events, and
// only such runs pay for the extras.
func (a *arena) extras(s span, keepRaw, withAttrs bool) (mark Mark, raw, attrs string) {
	at := int(s.off + s.len)
	mark = Mark(a.b[at])
	at++
	str := func() string {
		n, w := binary.Uvarint(a.b[at:])
		at += w
		if n == 0 {
			return ""
		}
		v := unsafe.String(&a.b[at], int(n))
		at += int(n)
		return v
	}
	if keepRaw {
		raw = str()
	}
	if withAttrs {
		attrs = str()
	}
	return mark, raw, attrs
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
