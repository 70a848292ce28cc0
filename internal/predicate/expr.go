package predicate

import (
	"slices"
	"strconv"
	"strings"
)

// node is the parsed form of an expression.
type node interface {
	// compile returns the evaluator, looking fields up in fs.
	compile(fs *Fields) Func
	// write appends the canonical text.
	write(b *strings.Builder)
	fields(add func(string))
}

type (
	orNode     struct{ l, r node }
	andNode    struct{ l, r node }
	notNode    struct{ n node }
	existsNode struct{ field string }
	eqNode     struct{ field, value string }
	inNode     struct {
		field  string
		values []string
	}
)

// Func is a compiled expression: it reads the values of the fields it
// was compiled against.
type Func func(vals []Value) bool

// Value is one field of one event: its text if present (not missing, not
// null).
type Value struct {
	Text    string
	Present bool
}

// Expr is a parsed expression.
type Expr struct{ root node }

// String is the canonical text: one space between tokens, keywords lower
// case, values quoted, parentheses where they group. Two expressions with
// the same String mean the same; it is what state fingerprints record.
func (e *Expr) String() string {
	var b strings.Builder
	e.root.write(&b)
	return b.String()
}

// Fields are the dotted paths e reads, in first-use order.
func (e *Expr) Fields() []string {
	var out []string
	e.root.fields(func(f string) {
		if !slices.Contains(out, f) {
			out = append(out, f)
		}
	})
	return out
}

// Compile binds e to fs, adding the fields it reads.
func (e *Expr) Compile(fs *Fields) Func { return e.root.compile(fs) }

// Fields numbers the dotted paths of a set of compiled expressions, so an
// event's fields are decoded once for all of them (event.Schema.Extra,
// see Values).
type Fields struct {
	paths []string
}

// Add returns the index of path, adding it if new.
func (fs *Fields) Add(path string) int {
	if i := slices.Index(fs.paths, path); i >= 0 {
		return i
	}
	fs.paths = append(fs.paths, path)
	return len(fs.paths) - 1
}

// Paths are the fields in index order.
func (fs *Fields) Paths() []string { return fs.paths }

func (n orNode) compile(fs *Fields) Func {
	l, r := n.l.compile(fs), n.r.compile(fs)
	return func(v []Value) bool { return l(v) || r(v) }
}

func (n andNode) compile(fs *Fields) Func {
	l, r := n.l.compile(fs), n.r.compile(fs)
	return func(v []Value) bool { return l(v) && r(v) }
}

func (n notNode) compile(fs *Fields) Func {
	f := n.n.compile(fs)
	return func(v []Value) bool { return !f(v) }
}

func (n existsNode) compile(fs *Fields) Func {
	i := fs.Add(n.field)
	return func(v []Value) bool { return v[i].Present }
}

func (n eqNode) compile(fs *Fields) Func {
	i, want := fs.Add(n.field), n.value
	return func(v []Value) bool { return v[i].Present && v[i].Text == want }
}

func (n inNode) compile(fs *Fields) Func {
	i := fs.Add(n.field)
	set := make(map[string]struct{}, len(n.values))
	for _, s := range n.values {
		set[s] = struct{}{}
	}
	return func(v []Value) bool {
		if !v[i].Present {
			return false
		}
		_, ok := set[v[i].Text]
		return ok
	}
}

func (n orNode) fields(add func(string))     { n.l.fields(add); n.r.fields(add) }
func (n andNode) fields(add func(string))    { n.l.fields(add); n.r.fields(add) }
func (n notNode) fields(add func(string))    { n.n.fields(add) }
func (n existsNode) fields(add func(string)) { add(n.field) }
func (n eqNode) fields(add func(string))     { add(n.field) }
func (n inNode) fields(add func(string))     { add(n.field) }

func (n orNode) write(b *strings.Builder) {
	n.l.write(b)
	b.WriteString(" or ")
	n.r.write(b)
}

func (n andNode) write(b *strings.Builder) {
	group(b, n.l)
	b.WriteString(" and ")
	group(b, n.r)
}

// group parenthesises an or inside an and or a not, where it binds looser.
func group(b *strings.Builder, n node) {
	if _, ok := n.(orNode); ok {
		b.WriteByte('(')
		n.write(b)
		b.WriteByte(')')
		return
	}
	n.write(b)
}

func (n notNode) write(b *strings.Builder) {
	if eq, ok := n.n.(eqNode); ok {
		b.WriteString(eq.field)
		b.WriteString(" != ")
		b.WriteString(strconv.Quote(eq.value))
		return
	}
	b.WriteString("not ")
	switch n.n.(type) {
	case orNode, andNode:
		b.WriteByte('(')
		n.n.write(b)
		b.WriteByte(')')
	default:
		n.n.write(b)
	}
}

func (n existsNode) write(b *strings.Builder) {
	b.WriteString("exists ")
	b.WriteString(n.field)
}

func (n eqNode) write(b *strings.Builder) {
	b.WriteString(n.field)
	b.WriteString(" = ")
	b.WriteString(strconv.Quote(n.value))
}

func (n inNode) write(b *strings.Builder) {
	b.WriteString(n.field)
	b.WriteString(" in (")
	for i, v := range n.values {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(strconv.Quote(v))
	}
	b.WriteByte(')')
}
