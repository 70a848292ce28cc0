package event

import (
	"bytes"
	"testing"
)

// allASCII reads whole words, overlapping ones and half words: a byte
// above 0x7f must be seen at every position of every length, in each of
// its three slices.
func TestAllASCIIEveryLengthAndPosition(t *testing.T) {
	for n := 0; n <= 40; n++ {
		plain := bytes.Repeat([]byte{'a'}, n)
		if !allASCII(plain, plain, plain) {
			t.Fatalf("%d ASCII bytes: not ASCII", n)
		}
		for pos := 0; pos < n; pos++ {
			b := bytes.Clone(plain)
			b[pos] = 0x80
			for arg, args := range [][3][]byte{{b, plain, plain}, {plain, b, plain}, {plain, plain, b}} {
				if allASCII(args[0], args[1], args[2]) {
					t.Errorf("length %d, byte 0x80 at %d of slice %d: taken for ASCII", n, pos, arg)
				}
			}
		}
	}
}

// A slice is only read within its length: the record's bytes after it,
// which its capacity reaches, do not count.
func TestAllASCIIReadsOnlyItsSlice(t *testing.T) {
	rec := bytes.Repeat([]byte{0xff}, 64)
	for n := 0; n <= 20; n++ {
		for start := 8; start+n <= 56; start += 3 {
			s := rec[start : start+n]
			copy(s, bytes.Repeat([]byte{'z'}, n))
			if !allASCII(s, nil, nil) {
				t.Fatalf("length %d at %d: the bytes around it were read", n, start)
			}
			copy(s, bytes.Repeat([]byte{0xff}, n))
		}
	}
}

// BenchmarkAllASCII checks the default schema's three strings as Assemble
// does: a uuid, the generator's 16-character event id and a page name.
func BenchmarkAllASCII(b *testing.B) {
	uuid := []byte("05efe8ea-e3e9-4740-8661-d3d7520ba4b4")
	id := []byte("28e8d3b40776f70c")
	pages := [][]byte{[]byte("home"), []byte("search"), []byte("results"), []byte("details"), []byte("booking")}
	n := 0
	for i := 0; b.Loop(); i++ {
		if allASCII(uuid, id, pages[i%len(pages)]) {
			n++
		}
	}
	if n != b.N {
		b.Fatalf("%d of %d taken for ASCII", n, b.N)
	}
}
