package batch

import (
	"encoding/binary"
	"errors"
	"unsafe"

	"github.com/sessionize/sessionize/internal/session"
)

// A slab is a run of encoded events of one partition:
//
//	uvarint seq | varint time | uvarint len, uuid | uvarint len, id | uvarint len, page |
//	uvarint len<<3|hasAttrs<<2|mark, raw | if hasAttrs: uvarint len, attrs
//
// raw, the original record, is empty unless the run writes events
// (--output-events); mark is the session.Mark of the boundary rules and
// attrs the event's input to the session attributes. One byte per event
// without any of them.
//
// The same bytes live in memory or in a spill file, and decoding points the
// engine's strings into the slab instead of copying millions of small strings.

func appendSlabEvent(b []byte, seq uint64, timeMs int64, uuid, id, page, raw []byte, mark session.Mark, attrs []byte) []byte {
	b = binary.AppendUvarint(b, seq)
	b = binary.AppendVarint(b, timeMs)
	b = binary.AppendUvarint(b, uint64(len(uuid)))
	b = append(b, uuid...)
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
	return b
}

var errCorruptSlab = errors.New("corrupt partition data")

// decodeSlab feeds every event in slab to add. The strings alias slab, which
// must therefore not be modified afterwards.
func decodeSlab(slab []byte, add func(uuid string, ev *session.Event)) error {
	var ev session.Event // one for the slab: add does not keep it
	for len(slab) > 0 {
		seq, n := binary.Uvarint(slab)
		if n <= 0 {
			return errCorruptSlab
		}
		slab = slab[n:]
		ts, n := binary.Varint(slab)
		if n <= 0 {
			return errCorruptSlab
		}
		slab = slab[n:]
		var uuid, id, page, raw string
		var ok bool
		if uuid, slab, ok = slabString(slab); !ok {
			return errCorruptSlab
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
		add(uuid, &ev)
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
