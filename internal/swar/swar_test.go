package swar

import (
	"encoding/binary"
	"math/bits"
	"testing"
)

func isStop(c byte) bool { return c == '"' || c == '\\' || c < 0x20 }

// Every byte value in every lane, behind a lane of every value: JSONStops
// is set exactly when a lane is a stop, and its lowest flag is the first.
func TestJSONStopsEveryByteInEveryLane(t *testing.T) {
	for lane := 0; lane < 8; lane++ {
		for c := 0; c < 256; c++ {
			for later := 0; later < 256; later += 17 {
				var w [8]byte
				for i := range w {
					w[i] = 'a'
				}
				w[lane] = byte(c)
				if lane < 7 {
					w[7] = byte(later)
				}
				first := -1
				for i, b := range w {
					if isStop(b) {
						first = i
						break
					}
				}
				m := JSONStops(binary.LittleEndian.Uint64(w[:]))
				switch {
				case first < 0 && m != 0:
					t.Fatalf("% x: flagged %#x, no stop", w, m)
				case first >= 0 && (m == 0 || bits.TrailingZeros64(m)>>3 != first):
					t.Fatalf("% x: flags %#x, first stop in lane %d", w, m, first)
				}
			}
		}
	}
}
