package predicate

import (
	"strings"
	"unsafe"

	"github.com/valyala/fastjson"
)

// Extractor pulls a set of fields out of JSON records. It uses
// valyala/fastjson: one parse per record into a reused arena, then path
// look-ups without allocations, which a decode into maps (encoding/json)
// would cost several times over. Not safe for concurrent use: one per
// goroutine.
type Extractor struct {
	paths [][]string
	p     fastjson.Parser
	vals  []Value
}

// NewExtractor extracts fs's fields (as they are now: add every field
// before).
func NewExtractor(fs *Fields) *Extractor {
	e := &Extractor{}
	for _, p := range fs.Paths() {
		e.paths = append(e.paths, strings.Split(p, "."))
	}
	e.vals = make([]Value, len(e.paths))
	return e
}

// Extract returns the fields of the JSON record raw, by index. A record
// that is not a JSON object has none of them. The texts are valid until
// the next call.
func (e *Extractor) Extract(raw []byte) []Value {
	v, err := e.p.ParseBytes(raw)
	for i, path := range e.paths {
		e.vals[i] = Value{}
		if err != nil {
			continue
		}
		f := v.Get(path...)
		if f == nil {
			continue
		}
		switch f.Type() {
		case fastjson.TypeNull:
			continue
		case fastjson.TypeString:
			e.vals[i] = Value{Text: view(f.GetStringBytes()), Present: true}
		default:
			// Numbers as written, true, false; objects and arrays as
			// compact JSON.
			e.vals[i] = Value{Text: f.String(), Present: true}
		}
	}
	return e.vals
}

// view is b as a string without a copy: b lives in the parser's memory,
// which stays put until the next Extract.
func view(b []byte) string {
	if len(b) == 0 {
		return ""
	}
	return unsafe.String(&b[0], len(b))
}
