// Package swar tests the eight bytes of a word at once (SIMD within a
// register), for the code that scans or writes JSON strings: the
// parser's string scan and the writers' check for text that needs no
// escaping.
package swar

// Ones has a 1 in each byte lane, High the high bit of each.
const (
	Ones = 0x0101010101010101
	High = 0x8080808080808080
)

// JSONStops has the high bit set in the lowest lane of x holding '"', '\\'
// or a byte below 0x20: the bytes a JSON string scan stops at. Lanes above
// the lowest such may be set wrongly (a borrow runs up from it), so
// callers use only the lowest, or only whether any is set, which is exact.
// One test finds both the quote and the control bytes: x^0x02 is below
// 0x21 exactly when x is below 0x20 (flipping bit 1 keeps a byte below
// 0x20 there) or is 0x22, the quote (which becomes 0x20).
func JSONStops(x uint64) uint64 {
	v := x ^ (Ones * 0x02)
	s := x ^ (Ones * '\\')
	return ((v-Ones*0x21)&^v | (s-Ones)&^s) & High
}
