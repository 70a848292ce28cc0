package event

import (
	"bytes"
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
	sc       scanner
	maxBytes int
	asm      *Assembler
	vals     Values
	targets  []target
	all      uint32 // one bit per target
	// byFirst[d][c] are the targets whose name at depth d starts with
	// byte c: most keys match none, and this says so with one load
	// instead of a compare per target.
	byFirst [indexedDepths][256]uint32
}

// indexedDepths is how deep byFirst indexes paths; names deeper in are
// compared one by one.
const indexedDepths = 4

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
	body := bytes.TrimPrefix(rec, utf8BOM)
	if len(bytes.TrimSpace(body)) == 0 {
		return EmptyRecord
	}
	for i := range ps.targets {
		*ps.targets[i].val = Value{}
	}
	sc := &ps.sc
	sc.b, sc.i, sc.scratch = body, 0, sc.scratch[:0]
	sc.ws()
	ok := sc.i < len(sc.b) && sc.b[sc.i] == '{' && ps.object(0, ps.all) && sc.end()
	sc.b = nil
	if !ok {
		*f = Fields{}
		return InvalidJSON
	}
	return ps.asm.Assemble(&ps.vals, rec, f)
}

// object parses the object at sc.i (its '{'), whose members are at path
// depth depth, storing the values of the targets in mask whose paths
// lead through it.
func (ps *Parser) object(depth int, mask uint32) bool {
	sc := &ps.sc
	sc.i++
	sc.ws()
	if sc.i < len(sc.b) && sc.b[sc.i] == '}' {
		sc.i++
		return true
	}
	for {
		sc.ws()
		key, esc, ok := sc.rawString()
		if !ok {
			return false
		}
		sc.ws()
		if sc.i >= len(sc.b) || sc.b[sc.i] != ':' {
			return false
		}
		sc.i++
		sc.ws()
		if sc.i >= len(sc.b) {
			return false
		}
		var leaf, inner uint32
		if mask != 0 && esc {
			key = sc.unescape(key)
		}
		if mask != 0 && len(key) > 0 {
			cand := mask
			if depth < indexedDepths {
				cand &= ps.byFirst[depth][key[0]]
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
		}
		if leaf|inner == 0 {
			if !ps.value(depth + 1) {
				return false
			}
		} else if !ps.member(depth, leaf, inner) {
			return false
		}
		sc.ws()
		if sc.i >= len(sc.b) {
			return false
		}
		switch sc.b[sc.i] {
		case ',':
			sc.i++
		case '}':
			sc.i++
			return true
		default:
			return false
		}
	}
}

// member parses one member value that targets want: the value of those in
// leaf, or an object holding those in inner.
func (ps *Parser) member(depth int, leaf, inner uint32) bool {
	sc := &ps.sc
	var v Value
	start := sc.i
	switch c := sc.b[sc.i]; {
	case c == '"':
		raw, esc, ok := sc.rawString()
		if !ok {
			return false
		}
		if esc && leaf != 0 {
			raw = sc.unescape(raw)
		}
		v = Value{Kind: String, Text: raw}
	case c == '-' || (c >= '0' && c <= '9'):
		if !sc.number() {
			return false
		}
		v = Value{Kind: Number, Text: sc.b[start:sc.i]}
	case c == 'n':
		if !sc.literal("null") {
			return false
		}
		v = Value{Kind: Null}
	case c == '{' && inner != 0:
		if !ps.object(depth+1, inner) {
			return false
		}
		v = Value{Kind: Other, Text: sc.b[start:sc.i]}
	default:
		if !ps.value(depth + 1) {
			return false
		}
		v = Value{Kind: Other, Text: sc.b[start:sc.i]}
	}
	for m := leaf; m != 0; m &= m - 1 {
		*ps.targets[bits.TrailingZeros32(m)].val = v
	}
	return true
}

// value skips any JSON value, validating it: objects by the same loop
// that finds the schema's fields (object, with no targets), the rest here.
func (ps *Parser) value(depth int) bool {
	sc := &ps.sc
	if depth > maxDepth || sc.i >= len(sc.b) {
		return false
	}
	switch c := sc.b[sc.i]; {
	case c == '"':
		_, _, ok := sc.rawString()
		return ok
	case c == '{':
		return ps.object(depth, 0)
	case c == '[':
		sc.i++
		sc.ws()
		if sc.i < len(sc.b) && sc.b[sc.i] == ']' {
			sc.i++
			return true
		}
		for {
			sc.ws()
			if !ps.value(depth + 1) {
				return false
			}
			sc.ws()
			if sc.i >= len(sc.b) {
				return false
			}
			if sc.b[sc.i] == ']' {
				sc.i++
				return true
			}
			if sc.b[sc.i] != ',' {
				return false
			}
			sc.i++
		}
	case c == '-' || (c >= '0' && c <= '9'):
		return sc.number()
	case c == 't':
		return sc.literal("true")
	case c == 'f':
		return sc.literal("false")
	case c == 'n':
		return sc.literal("null")
	}
	return false
}
