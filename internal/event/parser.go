package event

import (
	"bytes"
	"encoding/binary"
	"math/bits"
)

// DefaultMaxRecordBytes is the default cap on one raw record.
const DefaultMaxRecordBytes = 1 << 20

// utf8BOM starts files written by some Windows tools; it is not JSON, and
// a user would not see it, so a record starting with it is read without it.
var utf8BOM = []byte("\xef\xbb\xbf")

// Parser turns one raw JSON record into Fields by a Schema. It is not safe
// for concurrent use; give each goroutine its own. It validates the whole
// record strictly (so "invalid_json" is honest) but decodes only the fields
// the schema names, descending only into the objects on their paths,
// without building a tree or allocating.
type Parser struct {
	maxBytes int
	asm      *Assembler
	vals     Values
	targets  []target
	all      uint32 // one bit per target
	scratch  []byte // unescaped strings, reused across records
	// byFirst[d][c] are the targets whose name at depth d starts with
	// byte c, byLen[d][n] those whose name there is n bytes long (the
	// last slot: that long or longer): most keys match none, and two
	// loads say so instead of a compare per target.
	byFirst [indexedDepths][256]uint32
	byLen   [indexedDepths][indexedLens + 1]uint32
	// plain[d] are the targets whose name at depth d has no quote,
	// backslash or control byte (a key spells it only as its bytes),
	// leafAt[d] those whose path ends at depth d.
	plain  [indexedDepths]uint32
	leafAt [indexedDepths]uint32
	// names[d][t] is target t's name at depth d, laid out for key.
	names [indexedDepths][32]nameKey
}

// nameKey is a name as key compares keys with it: its first 16 bytes as
// two little-endian words and masks of the bits that are the name's (two
// compares instead of a call to memequal for most names), in one place
// with its length rather than two pointers away.
type nameKey struct {
	n    int
	w, m [2]uint64
	name []byte
}

// indexedDepths is how deep byFirst and byLen index paths; names deeper in
// are compared one by one.
const indexedDepths = 4

// indexedLens is the longest name length byLen tells apart.
const indexedLens = 31

// target is one schema path and where its value goes.
type target struct {
	parts [][]byte
	val   *Value
}

// NewParser returns a Parser for schema s (zero: DefaultSchema) that
// rejects records longer than maxBytes (<= 0 means DefaultMaxRecordBytes).
func NewParser(s Schema, maxBytes int) *Parser {
	if maxBytes <= 0 {
		maxBytes = DefaultMaxRecordBytes
	}
	ps := &Parser{maxBytes: maxBytes, asm: NewAssembler(s)}
	ps.vals = ps.asm.Values()
	sch := ps.asm.Schema()
	add := func(p Path, v *Value) {
		if p.IsZero() {
			return
		}
		t := target{val: v}
		for _, name := range p.parts {
			t.parts = append(t.parts, []byte(name))
		}
		bit := uint32(1) << len(ps.targets)
		for d, name := range p.parts {
			if d < indexedDepths {
				ps.byFirst[d][name[0]] |= bit
				ps.byLen[d][min(len(name), indexedLens)] |= bit
				if stringStop([]byte(name), 0) == len(name) {
					ps.plain[d] |= bit
				}
				k := &ps.names[d][len(ps.targets)]
				k.n, k.name = len(name), []byte(name)
				for j := 0; j < min(len(name), 16); j++ {
					k.w[j/8] |= uint64(name[j]) << (8 * (j % 8))
					k.m[j/8] |= 0xff << (8 * (j % 8))
				}
				if d == len(p.parts)-1 {
					ps.leafAt[d] |= bit
				}
			}
		}
		ps.all |= bit
		ps.targets = append(ps.targets, t)
	}
	for i, u := range sch.User {
		add(u, &ps.vals.User[i])
	}
	add(sch.EventID, &ps.vals.EventID)
	add(sch.Time, &ps.vals.Time)
	add(sch.Page, &ps.vals.Page)
	for i, p := range sch.Extra[:min(len(sch.Extra), MaxExtraFields)] {
		add(p, &ps.vals.Extra[i])
	}
	return ps
}

// Schema is the schema the parser reads by.
func (ps *Parser) Schema() *Schema { return ps.asm.Schema() }

// Parse validates rec and fills f. On rejection f is unspecified. The slices
// in f alias rec or the parser's memory until the next Parse. Like
// encoding/json, a repeated key takes its last value.
func (ps *Parser) Parse(rec []byte, f *Fields) Reason {
	if len(rec) > ps.maxBytes {
		return LineTooLong
	}
	b := rec
	if len(b) >= 3 && b[0] == 0xef && b[1] == 0xbb && b[2] == 0xbf { // utf8BOM, without a call to compare 3 bytes
		b = b[3:]
	}
	i := ws(b, 0)
	if i == len(b) {
		return EmptyRecord
	}
	if b[i] != '{' {
		// Not an object, or blank by Unicode's idea of space (a lone
		// U+00A0): the second is empty_record, as it always was.
		if len(bytes.TrimSpace(b)) == 0 {
			return EmptyRecord
		}
		*f = Fields{}
		return InvalidJSON
	}
	for t := range ps.targets {
		*ps.targets[t].val = Value{}
	}
	ps.scratch = ps.scratch[:0]
	if i = ps.object(b, i, 0, ps.all); i < 0 || ws(b, i) != len(b) {
		*f = Fields{}
		return InvalidJSON
	}
	return ps.asm.Assemble(&ps.vals, rec, f)
}

// object parses the object whose '{' is at i, whose members are at path
// depth depth, storing the values of the targets in mask whose paths lead
// through it. It returns the index after its '}', or -1.
func (ps *Parser) object(b []byte, i, depth int, mask uint32) int {
	i = ws(b, i+1)
	if i < len(b) && b[i] == '}' {
		return i + 1
	}
	for {
		i = ws(b, i)
		if i >= len(b) || b[i] != '"' {
			return -1
		}
		var end int
		var leaf, inner uint32
		if mask != 0 {
			end, leaf, inner = ps.key(b, i, depth, mask)
		} else {
			end, _ = str(b, i)
		}
		if end < 0 {
			return -1
		}
		if i = ws(b, end); i >= len(b) || b[i] != ':' {
			return -1
		}
		if i = ws(b, i+1); i >= len(b) {
			return -1
		}
		switch {
		case leaf|inner != 0:
			i = ps.member(b, i, depth, leaf, inner)
		case b[i] == '"' && depth < maxDepth:
			// The commonest value no one wants, skipped here rather
			// than through value's switch (which would refuse it
			// past maxDepth).
			i, _ = str(b, i)
		default:
			i = ps.value(b, i, depth+1)
		}
		if i < 0 {
			return -1
		}
		if i = ws(b, i); i >= len(b) {
			return -1
		}
		switch b[i] {
		case ',':
			i++
		case '}':
			return i + 1
		default:
			return -1
		}
	}
}

// key reads the key whose opening quote is at i, in an object at depth
// where the targets in mask may be, and returns the index after it and
// the targets it names, whose value it is (leaf) or whose paths go on
// inside it (inner).
func (ps *Parser) key(b []byte, i, depth int, mask uint32) (end int, leaf, inner uint32) {
	ks := i + 1
	if depth < indexedDepths && ks < len(b) {
		// A key that is a name: its bytes and then the closing quote,
		// compared without scanning for the quote first. A name with a
		// quote, backslash or control byte takes the general path.
		var hits uint32
		names := &ps.names[depth]
		for m := mask & ps.byFirst[depth][b[ks]] & ps.plain[depth]; m != 0; m &= m - 1 {
			t := bits.TrailingZeros32(m)
			k := &names[t]
			e := ks + k.n
			if e >= len(b) || b[e] != '"' {
				continue
			}
			if ks+16 <= len(b) {
				if binary.LittleEndian.Uint64(b[ks:])&k.m[0] != k.w[0] ||
					binary.LittleEndian.Uint64(b[ks+8:])&k.m[1] != k.w[1] ||
					k.n > 16 && string(b[ks+16:e]) != string(k.name[16:]) {
					continue
				}
			} else if string(b[ks:e]) != string(k.name) {
				continue
			}
			hits |= 1 << t
			end = e + 1
		}
		if hits != 0 {
			leaf = hits & ps.leafAt[depth]
			return end, leaf, hits &^ leaf
		}
	}
	end, esc := str(b, i)
	if end < 0 {
		return -1, 0, 0
	}
	key := b[ks : end-1]
	if len(key) == 0 {
		return end, 0, 0
	}
	if esc {
		// An escaped key may spell a name: compare it decoded.
		start := len(ps.scratch)
		ps.scratch = unescape(ps.scratch, key)
		key = ps.scratch[start:]
	}
	cand := mask
	if depth < indexedDepths {
		cand &= ps.byFirst[depth][key[0]] & ps.byLen[depth][min(len(key), indexedLens)]
	}
	for m := cand; m != 0; m &= m - 1 {
		t := bits.TrailingZeros32(m)
		p := ps.targets[t].parts
		if string(p[depth]) == string(key) {
			if len(p) == depth+1 {
				leaf |= 1 << t
			} else {
				inner |= 1 << t
			}
		}
	}
	return end, leaf, inner
}

// member parses one member value at i that targets want: the value of
// those in leaf, or an object holding those in inner.
func (ps *Parser) member(b []byte, i, depth int, leaf, inner uint32) int {
	var v Value
	start := i
	switch c := b[i]; {
	case c == '"':
		end, esc := str(b, i)
		if end < 0 {
			return -1
		}
		raw := b[i+1 : end-1]
		if esc && leaf != 0 {
			s := len(ps.scratch)
			ps.scratch = unescape(ps.scratch, raw)
			raw = ps.scratch[s:]
		}
		v, i = Value{Kind: String, Text: raw}, end
	case c == '-' || (c >= '0' && c <= '9'):
		if i = number(b, i); i < 0 {
			return -1
		}
		v = Value{Kind: Number, Text: b[start:i]}
	case c == 'n':
		if i = literal(b, i, "null"); i < 0 {
			return -1
		}
		v = Value{Kind: Null}
	case c == '{' && inner != 0:
		if i = ps.object(b, i, depth+1, inner); i < 0 {
			return -1
		}
		v = Value{Kind: Other, Text: b[start:i]}
	default:
		if i = ps.value(b, i, depth+1); i < 0 {
			return -1
		}
		v = Value{Kind: Other, Text: b[start:i]}
	}
	for m := leaf; m != 0; m &= m - 1 {
		*ps.targets[bits.TrailingZeros32(m)].val = v
	}
	return i
}

// value skips any JSON value at i, validating it: objects by the same
// loop that finds the schema's fields (object, with no targets), the rest
// here. It returns the index after it, or -1.
func (ps *Parser) value(b []byte, i, depth int) int {
	if depth > maxDepth || i >= len(b) {
		return -1
	}
	switch c := b[i]; {
	case c == '"':
		i, _ = str(b, i)
		return i
	case c == '{':
		return ps.object(b, i, depth, 0)
	case c == '[':
		i = ws(b, i+1)
		if i < len(b) && b[i] == ']' {
			return i + 1
		}
		for {
			if i = ps.value(b, ws(b, i), depth+1); i < 0 {
				return -1
			}
			if i = ws(b, i); i >= len(b) {
				return -1
			}
			if b[i] == ']' {
				return i + 1
			}
			if b[i] != ',' {
				return -1
			}
			i++
		}
	case c == '-' || (c >= '0' && c <= '9'):
		return number(b, i)
	case c == 't':
		return literal(b, i, "true")
	case c == 'f':
		return literal(b, i, "false")
	case c == 'n':
		return literal(b, i, "null")
	}
	return -1
}
