package rule

import (
	"encoding/binary"
	"fmt"
	"math"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/cespare/xxhash/v2"

	"github.com/sessionize/sessionize/internal/iceberg"
	"github.com/sessionize/sessionize/internal/predicate"
	"github.com/sessionize/sessionize/internal/session"
)

// Session attributes (--session-attr NAME=AGG(ARG)): extra, typed columns
// of a session, each an aggregate over its events:
//
//	first(field), last(field)  string: the field's value at the session's first (last) event that has it
//	count(), count(field)      long: events (that have the field)
//	count_distinct(field)      long: distinct values of the field
//	sum(field), min(field), max(field)  double: over the values that are numbers
//	any(predicate)             boolean: some event matched
//
// An event's inputs to every attribute are extracted where it is parsed
// and encoded (AttrInput), the engine folds them into an opaque per-session
// state (AttrFold), and writers read the final state (AttrValues).

// Type is an attribute's column type.
type Type uint8

const (
	String Type = iota
	Long
	Double
	Bool
)

func (t Type) String() string { return [...]string{"string", "long", "double", "boolean"}[t] }

type aggKind uint8

const (
	aggFirst aggKind = iota
	aggLast
	aggCount
	aggCountDistinct
	aggSum
	aggMin
	aggMax
	aggAny
)

var aggNames = map[string]aggKind{"first": aggFirst, "last": aggLast, "count": aggCount, "count_distinct": aggCountDistinct,
	"sum": aggSum, "min": aggMin, "max": aggMax, "any": aggAny}

// Attr is one parsed --session-attr.
type Attr struct {
	Name string
	Type Type
	kind aggKind
	arg  string // the field, or the predicate's canonical text for any
	pred *predicate.Expr
	fn   predicate.Func
	idx  int // field index in the Set's Fields (not for any, count())
}

// Spec is the attribute's canonical form, NAME=AGG(ARG).
func (a *Attr) Spec() string {
	for n, k := range aggNames {
		if k == a.kind {
			return fmt.Sprintf("%s=%s(%s)", a.Name, n, a.arg)
		}
	}
	return ""
}

// IsAny reports whether the attribute is an any(predicate): a yes/no per
// session whose rate report shows.
func (a *Attr) IsAny() bool { return a.kind == aggAny }

var attrName = regexp.MustCompile(`^[a-z_][a-z0-9_]*$`)

// reserved reports whether name is one of the sessions' own columns
// (those of every output, and the table's derived one).
func reserved(name string) bool {
	return name == iceberg.SessionStartColumn || slices.Contains(session.ColumnNames(), name)
}

func parseAttr(spec string, fs *predicate.Fields) (*Attr, error) {
	name, rest, ok := strings.Cut(spec, "=")
	name = strings.TrimSpace(name)
	if !ok || !attrName.MatchString(name) {
		return nil, fmt.Errorf("%q: want NAME=AGG(ARG) with NAME in lower case letters, digits and _ (e.g. revenue=sum(booking_details.amount))", spec)
	}
	if reserved(name) {
		return nil, fmt.Errorf("%q: %s is a column of every session; pick another name", spec, name)
	}
	rest = strings.TrimSpace(rest)
	open := strings.IndexByte(rest, '(')
	if open < 0 || !strings.HasSuffix(rest, ")") {
		return nil, fmt.Errorf("%q: want AGG(ARG) after %s=, AGG one of first, last, count, count_distinct, sum, min, max, any", spec, name)
	}
	agg, arg := strings.ToLower(strings.TrimSpace(rest[:open])), strings.TrimSpace(rest[open+1:len(rest)-1])
	kind, ok := aggNames[agg]
	if !ok {
		return nil, fmt.Errorf("%q: unknown aggregate %q: want first, last, count, count_distinct, sum, min, max or any", spec, agg)
	}
	a := &Attr{Name: name, kind: kind, arg: arg, idx: -1}
	switch kind {
	case aggAny:
		e, err := predicate.Parse(arg)
		if err != nil {
			return nil, fmt.Errorf("%s=any(...): %w", name, err)
		}
		a.pred, a.fn, a.arg, a.Type = e, e.Compile(fs), e.String(), Bool
		return a, nil
	case aggCount:
		a.Type = Long
		if arg == "" {
			return a, nil
		}
	case aggCountDistinct:
		a.Type = Long
	case aggSum, aggMin, aggMax:
		a.Type = Double
	default:
		a.Type = String
	}
	if _, err := predicate.Parse("exists " + arg); err != nil || arg == "" || strings.ContainsAny(arg, " ()'\"") {
		return nil, fmt.Errorf("%q: %s(...) takes one field name or dotted path, got %q", spec, agg, arg)
	}
	a.idx = fs.Add(arg)
	return a, nil
}

// Input encodes one event's inputs to the attributes: per attribute a
// tag byte (0: nothing) and, for strings, a length and the text, for
// numbers 8 bytes.
func appendInput(b []byte, attrs []*Attr, vals []predicate.Value) []byte {
	for _, a := range attrs {
		switch a.kind {
		case aggAny:
			if a.fn(vals) {
				b = append(b, 1)
			} else {
				b = append(b, 0)
			}
		case aggCount:
			if a.idx < 0 || vals[a.idx].Present {
				b = append(b, 1)
			} else {
				b = append(b, 0)
			}
		case aggSum, aggMin, aggMax:
			f, err := strconv.ParseFloat(vals[a.idx].Text, 64)
			if !vals[a.idx].Present || err != nil || math.IsNaN(f) {
				b = append(b, 0)
				continue
			}
			b = append(b, 1)
			b = binary.LittleEndian.AppendUint64(b, math.Float64bits(f))
		default: // first, last, count_distinct
			if !vals[a.idx].Present {
				b = append(b, 0)
				continue
			}
			b = append(b, 1)
			b = binary.AppendUvarint(b, uint64(len(vals[a.idx].Text)))
			b = append(b, vals[a.idx].Text...)
		}
	}
	return b
}

// The state of a session's attributes: per attribute a tag byte (0: no
// value yet) and its value: strings with a length, counts as uvarints,
// numbers as 8 bytes, any as the tag; count_distinct as a uvarint n and n
// sorted 64-bit hashes of the values (exact unless two values collide).
type reader struct {
	b   []byte
	bad bool
}

func (r *reader) byte() byte {
	if len(r.b) < 1 {
		r.bad = true
		return 0
	}
	v := r.b[0]
	r.b = r.b[1:]
	return v
}

func (r *reader) uvarint() uint64 {
	v, n := binary.Uvarint(r.b)
	if n <= 0 {
		r.bad = true
		return 0
	}
	r.b = r.b[n:]
	return v
}

func (r *reader) bytes(n uint64) []byte {
	if uint64(len(r.b)) < n {
		r.bad = true
		return nil
	}
	v := r.b[:n]
	r.b = r.b[n:]
	return v
}

func (r *reader) f64() float64 { return math.Float64frombits(binary.LittleEndian.Uint64(r.bytes(8))) }

// fold adds one event's input to state and returns the new state.
func fold(attrs []*Attr, state []byte, input string) []byte {
	in := reader{b: []byte(input)}
	st := reader{b: state}
	out := make([]byte, 0, len(state)+len(input))
	for _, a := range attrs {
		has := in.byte() == 1
		cur := len(state) > 0 && st.byte() == 1
		switch a.kind {
		case aggAny:
			out = append(out, boolByte(has || cur))
		case aggCount:
			n := uint64(0)
			if cur {
				n = st.uvarint()
			}
			if has {
				n++
			}
			out = append(out, 1)
			out = binary.AppendUvarint(out, n)
		case aggSum, aggMin, aggMax:
			var v, x float64
			if cur {
				v = st.f64()
			}
			if has {
				x = in.f64()
			}
			switch {
			case !has && !cur:
				out = append(out, 0)
				continue
			case has && !cur:
				v = x
			case has && a.kind == aggSum:
				v += x
			case has && a.kind == aggMin:
				v = min(v, x)
			case has && a.kind == aggMax:
				v = max(v, x)
			}
			out = append(out, 1)
			out = binary.LittleEndian.AppendUint64(out, math.Float64bits(v))
		case aggFirst, aggLast:
			var curText, text []byte
			if cur {
				curText = st.bytes(st.uvarint())
			}
			if has {
				text = in.bytes(in.uvarint())
			}
			keep := curText
			if has && (!cur || a.kind == aggLast) {
				keep = text
			}
			if !has && !cur {
				out = append(out, 0)
				continue
			}
			out = append(out, 1)
			out = binary.AppendUvarint(out, uint64(len(keep)))
			out = append(out, keep...)
		case aggCountDistinct:
			var hashes []uint64
			if cur {
				n := st.uvarint()
				for i := uint64(0); i < n && !st.bad; i++ {
					hashes = append(hashes, binary.LittleEndian.Uint64(st.bytes(8)))
				}
			}
			if has {
				h := xxhash.Sum64(in.bytes(in.uvarint()))
				if i, found := slices.BinarySearch(hashes, h); !found {
					hashes = slices.Insert(hashes, i, h)
				}
			}
			out = append(out, 1)
			out = binary.AppendUvarint(out, uint64(len(hashes)))
			for _, h := range hashes {
				out = binary.LittleEndian.AppendUint64(out, h)
			}
		}
	}
	return out
}

func boolByte(b bool) byte {
	if b {
		return 1
	}
	return 0
}

// Value is one attribute of one session; Null when no event gave it one.
type Value struct {
	Null  bool
	Str   string
	Long  int64
	Float float64
	Bool  bool
}

// values decodes a session's final state (nil: no events folded).
func values(attrs []*Attr, state []byte) ([]Value, error) {
	out := make([]Value, len(attrs))
	st := reader{b: state}
	for i, a := range attrs {
		cur := len(state) > 0 && st.byte() == 1
		v := &out[i]
		switch a.kind {
		case aggAny:
			v.Bool = cur
		case aggCount:
			if cur {
				v.Long = int64(st.uvarint())
			}
		case aggCountDistinct:
			if cur {
				n := st.uvarint()
				st.bytes(8 * n)
				v.Long = int64(n)
			}
		case aggSum, aggMin, aggMax:
			if v.Null = !cur; cur {
				v.Float = st.f64()
			}
		default:
			if v.Null = !cur; cur {
				v.Str = string(st.bytes(st.uvarint()))
			}
		}
	}
	if st.bad {
		return nil, fmt.Errorf("corrupt session attribute state")
	}
	return out, nil
}
