package predicate

import (
	"unsafe"

	"github.com/sessionize/sessionize/internal/event"
)

// Values converts the decoded fields of one event (event.Fields.Extra, in
// the order of Fields.Paths) to what compiled expressions read, reusing
// dst and scratch (for integers' text). The texts alias the decoder's
// memory and scratch: they are valid until the next record is decoded or
// Values is called again with the same scratch.
func Values(dst []Value, src []event.Value, scratch []byte) ([]Value, []byte) {
	dst = dst[:0]
	scratch = scratch[:0]
	for _, v := range src {
		switch {
		case !v.Present():
			dst = append(dst, Value{})
		case v.Kind == event.Int || v.Kind == event.Millis:
			start := len(scratch)
			scratch = v.AppendText(scratch)
			dst = append(dst, Value{Text: view(scratch[start:]), Present: true})
		default:
			dst = append(dst, Value{Text: view(v.Text), Present: true})
		}
	}
	return dst, scratch
}

// view is b as a string without a copy: b stays put until the next record
// (a grown scratch leaves the old array to the strings that point into it).
func view(b []byte) string {
	if len(b) == 0 {
		return ""
	}
	return unsafe.String(&b[0], len(b))
}
