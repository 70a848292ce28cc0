package avro

import (
	"math"
	"slices"
	"strconv"
	"time"

	hamba "github.com/hamba/avro/v2"

	"github.com/sessionize/sessionize/internal/event"
)

// A plan decodes one writer schema's records: compiled once per schema id
// from the schema and the event.Schema's paths, it reads the values at
// those paths into event.Values and skips everything else, so a record
// costs a walk over its bytes and no allocation.
type plan struct {
	root  op
	bound [numSlots]bool // slots some path of the writer schema can fill
}

// op reads (or skips) one value of its schema.
type op func(s *state)

// state is one record's decoding: hamba's binary reader over the body,
// and the bounds that keep a corrupt body from looping or allocating.
type state struct {
	r       *hamba.Reader
	n       int // body length: no string, count or skip can be longer
	items   int // array and map items skipped so far, at most n
	depth   int // nesting of recursive records
	bad     bool
	vals    *event.Values
	scratch []byte // the record's decoded strings and numbers
	loc     *time.Location
}

func (s *state) fail() { s.bad = true; s.r.ReportError("avro", "corrupt") }

// failed reports whether decoding must stop.
func (s *state) failed() bool { return s.bad || s.r.Error != nil }

// maxRecursion bounds the nesting of recursive record types (a linked
// list in the schema): deeper data is taken for corrupt, rather than
// growing the stack.
const maxRecursion = 64

// Slots number the event.Values a path fills: the user fields, then the
// event id, the time and the page; the schema's extra fields (the session
// rules') follow, numSlots + their index.
const (
	slotEventID = event.MaxUserFields + iota
	slotTime
	slotPage
	numSlots
)

func slotOf(v *event.Values, k int) *event.Value {
	switch k {
	case slotEventID:
		return &v.EventID
	case slotTime:
		return &v.Time
	case slotPage:
		return &v.Page
	}
	if k >= numSlots {
		return &v.Extra[k-numSlots]
	}
	return &v.User[k]
}

// target is the trie of the event.Schema's paths below one name.
type target struct {
	slots    []int // the path ends here
	children map[string]*target
}

func targets(es *event.Schema) *target {
	root := &target{}
	add := func(p event.Path, slot int) {
		if p.IsZero() {
			return
		}
		t := root
		for _, name := range p.Parts() {
			if t.children == nil {
				t.children = map[string]*target{}
			}
			c := t.children[name]
			if c == nil {
				c = &target{}
				t.children[name] = c
			}
			t = c
		}
		t.slots = append(t.slots, slot)
	}
	for i, u := range es.User {
		add(u, i)
	}
	add(es.EventID, slotEventID)
	add(es.Time, slotTime)
	add(es.Page, slotPage)
	for i, p := range es.Extra {
		add(p, numSlots+i)
	}
	return root
}

// compiler builds a plan; skips memoises the skipping op of each named
// record, which is also what lets a recursive type compile.
type compiler struct {
	skips map[string]*op
	bound [numSlots]bool
}

func compile(sch hamba.Schema, es *event.Schema) *plan {
	c := &compiler{skips: map[string]*op{}}
	root := c.read(sch, targets(es))
	return &plan{root: root, bound: c.bound}
}

// read is the op for a value of sch at target t: nil t skips it, slots
// take it, children descend into a record.
func (c *compiler) read(sch hamba.Schema, t *target) op {
	if ref, ok := sch.(*hamba.RefSchema); ok {
		sch = ref.Schema()
	}
	switch {
	case t == nil:
		return c.skip(sch)
	case len(t.slots) > 0:
		return c.leaf(sch, t.slots)
	}
	switch sch := sch.(type) {
	case *hamba.RecordSchema:
		fields := sch.Fields()
		ops := make([]op, len(fields))
		for i, f := range fields {
			ops[i] = c.read(f.Type(), t.children[f.Name()])
		}
		return func(s *state) {
			for _, o := range ops {
				if o(s); s.failed() {
					return
				}
			}
		}
	case *hamba.UnionSchema:
		return c.union(sch, func(b hamba.Schema) op { return c.read(b, t) })
	}
	// A name on the way is not a record: the paths below stay Absent.
	return c.skip(sch)
}

func (c *compiler) union(u *hamba.UnionSchema, branch func(hamba.Schema) op) op {
	types := u.Types()
	ops := make([]op, len(types))
	for i, b := range types {
		ops[i] = branch(b)
	}
	return func(s *state) {
		i := s.r.ReadLong()
		if i < 0 || i >= int64(len(ops)) {
			s.fail()
			return
		}
		ops[i](s)
	}
}

// leaf is the op that stores a value of sch in slots.
func (c *compiler) leaf(sch hamba.Schema, slots []int) op {
	if ref, ok := sch.(*hamba.RefSchema); ok {
		sch = ref.Schema()
	}
	if u, ok := sch.(*hamba.UnionSchema); ok {
		return c.union(u, func(b hamba.Schema) op { return c.leaf(b, slots) })
	}
	for _, k := range slots {
		if k < numSlots {
			c.bound[k] = true
		}
	}
	set := func(s *state, v event.Value) {
		for _, k := range slots {
			*slotOf(s.vals, k) = v
		}
	}
	switch sch := sch.(type) {
	case *hamba.NullSchema:
		return func(s *state) { set(s, event.Value{Kind: event.Null}) }
	case *hamba.PrimitiveSchema:
		var logical hamba.LogicalType
		if l := sch.Logical(); l != nil {
			logical = l.Type()
		}
		switch sch.Type() {
		case hamba.Boolean:
			// No role takes a boolean; a rule compares its text.
			yes, no := []byte("true"), []byte("false") // per plan, not per record
			return func(s *state) {
				text := no
				if s.r.ReadBool() {
					text = yes
				}
				set(s, event.Value{Kind: event.Other, Text: text})
			}
		case hamba.String, hamba.Bytes:
			return func(s *state) {
				if b, ok := s.readBytes(); ok {
					set(s, event.StringValue(b))
				}
			}
		case hamba.Int:
			if logical == hamba.Date {
				return func(s *state) { set(s, event.MillisValue(int64(s.r.ReadInt())*86_400_000)) }
			}
			return func(s *state) { set(s, event.IntValue(int64(s.r.ReadInt()))) }
		case hamba.Long:
			if unit := timestampUnit(logical); unit != 0 {
				local := logical == hamba.LocalTimestampMillis || logical == hamba.LocalTimestampMicros
				return func(s *state) {
					ms := floorDiv(s.r.ReadLong(), unit)
					if local {
						ms = inZone(ms, s.loc)
					}
					set(s, event.MillisValue(ms))
				}
			}
			return func(s *state) { set(s, event.IntValue(s.r.ReadLong())) }
		case hamba.Float, hamba.Double:
			bits := 64
			if sch.Type() == hamba.Float {
				bits = 32
			}
			return func(s *state) {
				var f float64
				if bits == 32 {
					f = float64(s.r.ReadFloat())
				} else {
					f = s.r.ReadDouble()
				}
				if math.IsNaN(f) || math.IsInf(f, 0) {
					set(s, event.Value{Kind: event.Other})
					return
				}
				start := len(s.scratch)
				s.scratch = strconv.AppendFloat(s.scratch, f, 'f', -1, bits)
				set(s, event.NumberValue(s.scratch[start:len(s.scratch):len(s.scratch)]))
			}
		}
	case *hamba.EnumSchema:
		symbols := sch.Symbols()
		return func(s *state) {
			i := s.r.ReadInt()
			if i < 0 || int(i) >= len(symbols) {
				s.fail()
				return
			}
			set(s, event.StringValue([]byte(symbols[i]))) // the symbols outlive the record
		}
	}
	// Booleans, records, arrays, maps, fixed: no role can use them.
	skip := c.skip(sch)
	return func(s *state) {
		if skip(s); !s.failed() {
			set(s, event.Value{Kind: event.Other})
		}
	}
}

// skip is the op that reads past a value of sch.
func (c *compiler) skip(sch hamba.Schema) op {
	if ref, ok := sch.(*hamba.RefSchema); ok {
		sch = ref.Schema()
	}
	switch sch := sch.(type) {
	case *hamba.NullSchema:
		return func(*state) {}
	case *hamba.PrimitiveSchema:
		switch sch.Type() {
		case hamba.Boolean:
			return func(s *state) { s.r.SkipBool() }
		case hamba.Int:
			return func(s *state) { s.r.SkipInt() }
		case hamba.Long:
			return func(s *state) { s.r.SkipLong() }
		case hamba.Float:
			return func(s *state) { s.r.SkipNBytes(4) }
		case hamba.Double:
			return func(s *state) { s.r.SkipNBytes(8) }
		case hamba.String, hamba.Bytes:
			return (*state).skipBytes
		}
	case *hamba.FixedSchema:
		n := sch.Size()
		return func(s *state) { s.r.SkipNBytes(n) }
	case *hamba.EnumSchema:
		n := int32(len(sch.Symbols()))
		return func(s *state) {
			if i := s.r.ReadInt(); i < 0 || i >= n {
				s.fail()
			}
		}
	case *hamba.UnionSchema:
		return c.union(sch, c.skip)
	case *hamba.ArraySchema:
		return c.blocks(nil, sch.Items())
	case *hamba.MapSchema:
		return c.blocks((*state).skipBytes, sch.Values())
	case *hamba.RecordSchema:
		return c.skipRecord(sch)
	}
	return func(s *state) { s.fail() } // a type this version of Avro lacks
}

func (c *compiler) skipRecord(sch *hamba.RecordSchema) op {
	if p, ok := c.skips[sch.FullName()]; ok {
		return func(s *state) { // a recursive use: the op is complete by the time it runs
			if s.depth++; s.depth > maxRecursion {
				s.fail()
				return
			}
			(*p)(s)
			s.depth--
		}
	}
	p := new(op)
	c.skips[sch.FullName()] = p
	fields := sch.Fields()
	ops := make([]op, 0, len(fields))
	for _, f := range fields {
		ops = append(ops, c.skip(f.Type()))
	}
	*p = func(s *state) {
		for _, o := range ops {
			if o(s); s.failed() {
				return
			}
		}
	}
	return *p
}

// blocks skips an array (key nil) or a map: blocks of items until a zero
// count; a negative count is followed by the block's size in bytes.
func (c *compiler) blocks(key op, items hamba.Schema) op {
	item := c.skip(items)
	empty := key == nil && encodesEmpty(items)
	return func(s *state) {
		for !s.failed() {
			count := s.r.ReadLong()
			switch {
			case count == 0:
				return
			case count < 0:
				size := s.r.ReadLong()
				if size < 0 || size > int64(s.n) {
					s.fail()
					return
				}
				s.r.SkipNBytes(int(size))
				continue
			case empty:
				continue // items of no bytes: nothing to read however many
			}
			if count > int64(s.n-s.items) {
				s.fail() // each item takes a byte at least
				return
			}
			s.items += int(count)
			for range count {
				if key != nil {
					key(s)
				}
				if item(s); s.failed() {
					return
				}
			}
		}
	}
}

// encodesEmpty reports whether every value of sch is zero bytes long.
func encodesEmpty(sch hamba.Schema) bool {
	switch sch := sch.(type) {
	case *hamba.NullSchema:
		return true
	case *hamba.RecordSchema:
		return !slices.ContainsFunc(sch.Fields(), func(f *hamba.Field) bool { return !encodesEmpty(f.Type()) })
	}
	return false
}

// readBytes reads a string or bytes value into the record's scratch.
func (s *state) readBytes() ([]byte, bool) {
	n := s.r.ReadLong()
	if n < 0 || n > int64(s.n) {
		s.fail()
		return nil, false
	}
	start := len(s.scratch)
	s.scratch = slices.Grow(s.scratch, int(n))[:start+int(n)]
	s.r.Read(s.scratch[start:])
	return s.scratch[start:len(s.scratch):len(s.scratch)], s.r.Error == nil
}

func (s *state) skipBytes() {
	n := s.r.ReadLong()
	if n < 0 || n > int64(s.n) {
		s.fail()
		return
	}
	s.r.SkipNBytes(int(n))
}

// timestampUnit is how many of a timestamp logical type's units make a
// millisecond (0: not a timestamp).
func timestampUnit(l hamba.LogicalType) int64 {
	switch l {
	case hamba.TimestampMillis, hamba.LocalTimestampMillis:
		return 1
	case hamba.TimestampMicros, hamba.LocalTimestampMicros:
		return 1000
	}
	return 0
}

func floorDiv(a, b int64) int64 {
	q := a / b
	if a%b != 0 && a < 0 {
		q--
	}
	return q
}

// inZone reads a local-timestamp's wall clock (as if UTC) in loc.
func inZone(ms int64, loc *time.Location) int64 {
	if loc == nil || loc == time.UTC {
		return ms
	}
	t := time.UnixMilli(ms).UTC()
	return time.Date(t.Year(), t.Month(), t.Day(), t.Hour(), t.Minute(), t.Second(), t.Nanosecond(), loc).UnixMilli()
}
