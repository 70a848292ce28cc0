package event

import (
	"encoding/binary"
	"encoding/json"
	"strconv"
	"time"
	"unicode/utf8"

	"github.com/sessionize/sessionize/internal/swar"
)

// Kind is what a decoder found at one of the schema's paths.
type Kind uint8

const (
	Absent Kind = iota // no such field (or a name on the way is not an object)
	Null
	String // Value.Text is the decoded string
	Number // Value.Text is the number's literal text, e.g. 42 or 1.5e3
	Int    // Value.Int holds it (Avro long, Parquet integer column)
	Millis // Value.Int is already epoch milliseconds (a typed timestamp column, Avro timestamp-millis)
	Other  // bool, array, object, or a type the role cannot use; Text is its JSON text (true, [1,2]) where the decoder keeps it
)

// Value is one field's value as a decoder found it. Text aliases the
// decoder's memory.
type Value struct {
	Kind Kind
	Text []byte
	Int  int64
}

// Present reports whether the field has a value: not absent, not null.
func (v Value) Present() bool { return v.Kind != Absent && v.Kind != Null }

// AppendText appends v as text, as the session rules compare it: a string
// decoded, a number as written, an integer in decimal, another value as
// its JSON text when the decoder kept it.
func (v Value) AppendText(b []byte) []byte {
	switch v.Kind {
	case Int, Millis:
		return strconv.AppendInt(b, v.Int, 10)
	}
	return append(b, v.Text...)
}

// StringValue, IntValue and NumberValue are shorthands for decoders.
func StringValue(b []byte) Value { return Value{Kind: String, Text: b} }
func IntValue(n int64) Value     { return Value{Kind: Int, Int: n} }
func NumberValue(b []byte) Value { return Value{Kind: Number, Text: b} }
func MillisValue(ms int64) Value { return Value{Kind: Millis, Int: ms} }

// ValueOf converts a generically decoded value (Avro, encoding/json) to a
// Value. Integers of any Go type are Int; float64 (encoding/json numbers)
// is Number when whole, else Other.
func ValueOf(x any) Value {
	switch v := x.(type) {
	case nil:
		return Value{Kind: Null}
	case string:
		return StringValue([]byte(v))
	case []byte:
		return StringValue(v)
	case json.Number:
		return NumberValue([]byte(v))
	case int:
		return IntValue(int64(v))
	case int32:
		return IntValue(int64(v))
	case int64:
		return IntValue(v)
	case time.Time:
		return MillisValue(v.UnixMilli())
	case bool:
		return Value{Kind: Other, Text: strconv.AppendBool(nil, v)}
	case float64:
		if v == float64(int64(v)) {
			return IntValue(int64(v))
		}
		return Value{Kind: Number, Text: strconv.AppendFloat(nil, v, 'g', -1, 64)}
	}
	return Value{Kind: Other}
}

// Values are what a decoder found at each of a Schema's paths; User has
// one entry per Schema.User, in order.
type Values struct {
	User    [MaxUserFields]Value
	EventID Value
	Time    Value
	Page    Value
	Extra   []Value // one per Schema.Extra; the decoder sizes it (see Assembler.Values)
}

// Reset clears v for the next record, keeping Extra's memory.
func (v *Values) Reset() {
	extra := v.Extra
	clear(extra)
	*v = Values{Extra: extra}
}

// EventIDHashLen is the length of the event id made for a schema without
// one: 16 hex digits of the record's 64-bit FNV-1a hash.
const EventIDHashLen = 16

// Assembler applies the rules every input format shares to Values: which
// values are missing or of the wrong type, how ids and times are read, and
// UTF-8 validity. It is not safe for concurrent use. The slices it puts in
// Fields alias the Values or its own buffer until the next Assemble.
type Assembler struct {
	schema Schema
	buf    []byte // ids formatted from integers, the hashed event id; append-only within Assemble
	key    []byte // a composite user key
}

// NewAssembler returns an Assembler for s (zero: DefaultSchema).
func NewAssembler(s Schema) *Assembler { return &Assembler{schema: s.OrDefault()} }

// Schema is the schema the assembler applies.
func (a *Assembler) Schema() *Schema { return &a.schema }

// Values returns empty Values for the schema: Extra has a slot per
// Schema.Extra.
func (a *Assembler) Values() Values {
	if len(a.schema.Extra) == 0 {
		return Values{}
	}
	return Values{Extra: make([]Value, len(a.schema.Extra))}
}

// Assemble fills f from v. raw is the record (hashed into the event id when
// the schema has none).
func (a *Assembler) Assemble(v *Values, raw []byte, f *Fields) Reason {
	s := &a.schema
	a.buf, a.key = a.buf[:0], a.key[:0]
	*f = Fields{Extra: v.Extra}
	var r Reason
	if f.UUID, r = a.userKey(v); r != OK {
		return r
	}
	if s.HasEventID() {
		if f.EventID, r = a.id(v.EventID, MissingEventID, EventIDNotString); r != OK {
			return r
		}
	}
	if f.TimestampMs, r = a.time(v.Time); r != OK {
		return r
	}
	if v.Page.Kind == String {
		f.PageName = v.Page.Text
	}
	if !allASCII(f.UUID, f.EventID, f.PageName) && (!utf8.Valid(f.UUID) || !utf8.Valid(f.EventID) || !utf8.Valid(f.PageName)) {
		// These become string columns; Parquet and Iceberg readers
		// require UTF-8, and silently rewriting a uuid would merge users.
		return InvalidUTF8
	}
	if !s.HasEventID() {
		start := len(a.buf)
		a.buf = appendHex64(a.buf, fnv1a(raw))
		f.EventID = a.buf[start:len(a.buf):len(a.buf)]
	}
	return OK
}

// UserKey returns the user key of v alone (what produce keys Kafka records
// by, even when the rest of the record is rejected). It aliases v or the
// assembler's memory until the next call.
func (a *Assembler) UserKey(v *Values) ([]byte, Reason) {
	a.buf, a.key = a.buf[:0], a.key[:0]
	return a.userKey(v)
}

func (a *Assembler) userKey(v *Values) ([]byte, Reason) {
	s := &a.schema
	if len(s.User) == 1 {
		return a.id(v.User[0], MissingUser, UserNotString)
	}
	// A composite key is the parts as a JSON array of strings: unambiguous
	// (no separator can collide with a part) and still one string column
	// in every output.
	a.key = append(a.key, '[')
	for i := range s.User {
		part, r := a.id(v.User[i], MissingUser, UserNotString)
		if r != OK {
			return nil, r
		}
		if orBytes(part)&swar.High != 0 && !utf8.Valid(part) {
			return nil, InvalidUTF8
		}
		if i > 0 {
			a.key = append(a.key, ',')
		}
		a.key = appendJSONString(a.key, part)
	}
	a.key = append(a.key, ']')
	return a.key, OK
}

// FromMap fills v from a generically decoded record (Avro, encoding/json
// with UseNumber), looking up each of the schema's paths.
func (a *Assembler) FromMap(m map[string]any, v *Values) {
	s := &a.schema
	get := func(p Path) Value {
		if p.IsZero() {
			return Value{}
		}
		x, ok := p.Lookup(m)
		if !ok {
			return Value{}
		}
		return ValueOf(x)
	}
	for i, u := range s.User {
		v.User[i] = get(u)
	}
	v.EventID, v.Time, v.Page = get(s.EventID), get(s.Time), get(s.Page)
	if len(v.Extra) != len(s.Extra) {
		v.Extra = make([]Value, len(s.Extra))
	}
	for i, p := range s.Extra {
		v.Extra[i] = get(p)
	}
}

// id reads a user or event id: a non-empty string, or an integer taken as
// its text.
func (a *Assembler) id(v Value, missing, wrongType Reason) ([]byte, Reason) {
	switch v.Kind {
	case Absent, Null:
		return nil, missing
	case String:
		if len(v.Text) == 0 {
			return nil, missing
		}
		return v.Text, OK
	case Number:
		if isInteger(v.Text) {
			return v.Text, OK
		}
	case Int:
		start := len(a.buf)
		a.buf = strconv.AppendInt(a.buf, v.Int, 10)
		return a.buf[start:len(a.buf):len(a.buf)], OK
	}
	return nil, wrongType
}

func (a *Assembler) time(v Value) (int64, Reason) {
	switch v.Kind {
	case Absent, Null:
		return 0, MissingTime
	case String:
		return a.schema.Format.FromText(v.Text)
	case Number:
		return a.schema.Format.FromNumber(v.Text)
	case Int:
		return a.schema.Format.FromInt(v.Int)
	case Millis:
		if v.Int < 0 || v.Int > maxMs {
			return 0, TimeOutOfRange
		}
		return v.Int, OK
	}
	if a.schema.Format.kind == timeRFC3339 || a.schema.Format.kind == timeLayout {
		return 0, BadTimeFormat
	}
	return 0, TimeNotNumber
}

// allASCII reports whether a, b and c hold only ASCII bytes (so are valid
// UTF-8): the usual case, told with a word at a time and no call per
// slice.
func allASCII(a, b, c []byte) bool {
	return (orBytes(a)|orBytes(b)|orBytes(c))&swar.High == 0
}

// orBytes ORs b's bytes into the lanes of a word (which lane a byte lands
// in does not matter to allASCII, nor does ORing a byte twice). The bytes
// past the last whole word are taken as one more word ending at b's end,
// overlapping the one before, and a slice of 4 to 7 bytes as two such
// halves: a page name is usually shorter than a word, and its byte-by-byte
// loop was most of allASCII's time (7% of the parser's in batch).
func orBytes(b []byte) uint64 {
	n := len(b)
	switch {
	case n >= 8:
		var acc uint64
		for i := 0; i < n-8; i += 8 {
			acc |= binary.LittleEndian.Uint64(b[i:])
		}
		return acc | binary.LittleEndian.Uint64(b[n-8:])
	case n >= 4:
		return uint64(binary.LittleEndian.Uint32(b) | binary.LittleEndian.Uint32(b[n-4:]))
	}
	var acc uint64
	for _, c := range b {
		acc |= uint64(c)
	}
	return acc
}

// isInteger reports whether a JSON number literal is a whole number
// written without fraction or exponent: -?[0-9]+.
func isInteger(b []byte) bool {
	if len(b) > 0 && b[0] == '-' {
		b = b[1:]
	}
	return allDigits(b)
}

func appendJSONString(b, s []byte) []byte {
	const hex = "0123456789abcdef"
	b = append(b, '"')
	for len(s) > 0 {
		// The bytes to escape are the ones a string scan stops at: copy
		// the run before the next one whole.
		j := stringStop(s, 0)
		b = append(b, s[:j]...)
		if j == len(s) {
			break
		}
		switch c := s[j]; {
		case c == '"' || c == '\\':
			b = append(b, '\\', c)
		default: // c < 0x20
			b = append(b, '\\', 'u', '0', '0', hex[c>>4], hex[c&15])
		}
		s = s[j+1:]
	}
	return append(b, '"')
}

func fnv1a(b []byte) uint64 {
	h := uint64(14695981039346656037)
	for _, c := range b {
		h ^= uint64(c)
		h *= 1099511628211
	}
	return h
}

func appendHex64(b []byte, v uint64) []byte {
	const hex = "0123456789abcdef"
	for shift := 60; shift >= 0; shift -= 4 {
		b = append(b, hex[(v>>uint(shift))&15])
	}
	return b
}
