package session

import "unsafe"

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
