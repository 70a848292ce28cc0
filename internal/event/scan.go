package event

import (
	"encoding/binary"
	"math/bits"
	"unicode/utf16"
	"unicode/utf8"

	"github.com/sessionize/sessionize/internal/swar"
)

// maxDepth bounds nesting so hostile input cannot exhaust the stack.
const maxDepth = 512

// The strict JSON primitives of the Parser (whitespace, strings, numbers,
// literals, unescaping). Each takes the record and the index where its
// token starts and returns the index after it, or -1 when the token is not
// valid JSON. The index lives in a register that way: as a field of a
// struct behind a pointer, every step of a scan was a load and a store.

// ws skips JSON whitespace. Most tokens follow none or one space, so the
// first test (any byte above ' ' is not whitespace) usually ends it.
func ws(b []byte, i int) int {
	for i < len(b) {
		c := b[i]
		if c > ' ' || (c != ' ' && c != '\t' && c != '\n' && c != '\r') {
			return i
		}
		i++
	}
	return i
}

// literal checks lit (true, false, null) at i.
func literal(b []byte, i int, lit string) int {
	if len(b)-i < len(lit) || string(b[i:i+len(lit)]) != lit {
		return -1
	}
	return i + len(lit)
}

// number validates -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)? at i.
func number(b []byte, i int) int {
	if i < len(b) && b[i] == '-' {
		i++
	}
	switch {
	case i < len(b) && b[i] == '0':
		i++
	case i < len(b) && b[i] >= '1' && b[i] <= '9':
		i = digits(b, i+1)
	default:
		return -1
	}
	if i < len(b) && b[i] == '.' {
		d := i + 1
		if i = digits(b, d); i == d {
			return -1
		}
	}
	if i < len(b) && (b[i] == 'e' || b[i] == 'E') {
		i++
		if i < len(b) && (b[i] == '+' || b[i] == '-') {
			i++
		}
		d := i
		if i = digits(b, d); i == d {
			return -1
		}
	}
	return i
}

// digits returns the index of the first byte at or after i that is not an
// ASCII digit.
func digits(b []byte, i int) int {
	for i < len(b) && b[i]-'0' <= 9 {
		i++
	}
	return i
}

// str validates the string whose opening quote is at i (the caller has
// checked it) and returns the index after its closing quote, and whether
// it contains escapes (its contents b[i+1:end-1] are then still escaped).
// The search for the next quote, backslash or control byte is inline
// (stringStop's loop): most strings are short, and a call per string
// was a good part of their cost.
func str(b []byte, i int) (end int, escaped bool) {
	i++
	for {
		for i+8 <= len(b) {
			if m := swar.JSONStops(binary.LittleEndian.Uint64(b[i:])); m != 0 {
				i += bits.TrailingZeros64(m) >> 3
				goto stop
			}
			i += 8
		}
		if i = stringStop(b, i); i >= len(b) {
			return -1, false
		}
	stop:
		switch c := b[i]; {
		case c == '"':
			return i + 1, escaped
		case c < 0x20:
			return -1, false
		}
		// A backslash.
		escaped = true
		if i+1 >= len(b) {
			return -1, false
		}
		switch b[i+1] {
		case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
			i += 2
		case 'u':
			if i+5 >= len(b) || !isHex4(b[i+2:i+6]) {
				return -1, false
			}
			i += 6
		default:
			return -1, false
		}
	}
}

// stringStop returns the index of the first '"', '\\' or control byte
// (< 0x20) at or after i, or len(b): eight bytes per step, the bytes of a
// string between those being all a scan has to get past.
func stringStop(b []byte, i int) int {
	for ; i+8 <= len(b); i += 8 {
		if m := swar.JSONStops(binary.LittleEndian.Uint64(b[i:])); m != 0 {
			return i + bits.TrailingZeros64(m)>>3
		}
	}
	if r := len(b) - i; r > 0 && len(b) >= 8 {
		// The last r < 8 bytes: the record's last word, shifted so
		// they are its low bytes; the zero bytes shifted in above them
		// count as stops but only above the real ones, and a lane's
		// flag depends only on the lanes below it.
		x := binary.LittleEndian.Uint64(b[len(b)-8:]) >> (8 * (8 - r))
		if m := swar.JSONStops(x); m != 0 {
			return min(i+bits.TrailingZeros64(m)>>3, len(b))
		}
		return len(b)
	}
	for ; i < len(b); i++ {
		if c := b[i]; c == '"' || c == '\\' || c < 0x20 {
			return i
		}
	}
	return i
}

func isHex4(b []byte) bool {
	for _, c := range b[:4] {
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F') {
			return false
		}
	}
	return true
}

func hexVal(b []byte) rune {
	var r rune
	for _, c := range b[:4] {
		r <<= 4
		switch {
		case c >= '0' && c <= '9':
			r |= rune(c - '0')
		case c >= 'a' && c <= 'f':
			r |= rune(c-'a') + 10
		default:
			r |= rune(c-'A') + 10
		}
	}
	return r
}

// unescape decodes an already validated escaped string onto out, as
// encoding/json would (lone surrogates become U+FFFD).
func unescape(out, raw []byte) []byte {
	for i := 0; i < len(raw); i++ {
		c := raw[i]
		if c != '\\' {
			out = append(out, c)
			continue
		}
		i++
		switch raw[i] {
		case 'b':
			out = append(out, '\b')
		case 'f':
			out = append(out, '\f')
		case 'n':
			out = append(out, '\n')
		case 'r':
			out = append(out, '\r')
		case 't':
			out = append(out, '\t')
		case 'u':
			r := hexVal(raw[i+1:])
			i += 4
			if utf16.IsSurrogate(r) {
				if i+6 < len(raw) && raw[i+1] == '\\' && raw[i+2] == 'u' {
					if r2 := hexVal(raw[i+3:]); utf16.DecodeRune(r, r2) != utf8.RuneError {
						r = utf16.DecodeRune(r, r2)
						i += 6
						out = utf8.AppendRune(out, r)
						continue
					}
				}
				r = utf8.RuneError
			}
			out = utf8.AppendRune(out, r)
		default: // " \ /
			out = append(out, raw[i])
		}
	}
	return out
}
