// Package rule is the user's session rules, compiled from the flags: the
// boundary predicates (--start-session-on, --end-session-on) that mark
// events for the engine, and the session attributes (--session-attr, see
// attr.go). The fields the rules read are decoded with the event's own
// fields, in the same pass (Schema adds them to the event schema, the
// decoders put them in event.Fields.Extra), whatever the input format;
// the rules are evaluated once per event where records are parsed
// (batch's parse workers, the pipeline's partitions), so the engine only
// sees each event's session.Mark.
package rule

import (
	"fmt"
	"strings"

	"github.com/sessionize/sessionize/internal/event"
	"github.com/sessionize/sessionize/internal/predicate"
	"github.com/sessionize/sessionize/internal/session"
)

// Set is a compiled set of rules; the zero Set has none. It is immutable:
// each goroutine takes its own Marker.
type Set struct {
	startOn, endOn *predicate.Expr
	start, end     predicate.Func
	attrs          []*Attr
	fields         predicate.Fields
}

// Parse compiles the boundary flags ("" means no such rule) and the
// attribute specs. Errors name the flag and point at the bad token.
func Parse(startOn, endOn string, attrs ...string) (*Set, error) {
	s := &Set{}
	names := map[string]bool{}
	for _, spec := range attrs {
		a, err := parseAttr(spec, &s.fields)
		if err != nil {
			return nil, fmt.Errorf("--session-attr %w", err)
		}
		if names[a.Name] {
			return nil, fmt.Errorf("--session-attr %q: %s is given twice", spec, a.Name)
		}
		names[a.Name] = true
		s.attrs = append(s.attrs, a)
	}
	var err error
	if startOn != "" {
		if s.startOn, err = predicate.Parse(startOn); err != nil {
			return nil, fmt.Errorf("--start-session-on: %w", err)
		}
		s.start = s.startOn.Compile(&s.fields)
	}
	if endOn != "" {
		if s.endOn, err = predicate.Parse(endOn); err != nil {
			return nil, fmt.Errorf("--end-session-on: %w", err)
		}
		s.end = s.endOn.Compile(&s.fields)
	}
	return s, nil
}

// Empty reports whether the set has no rules (nil is empty too).
func (s *Set) Empty() bool { return s == nil || s.start == nil && s.end == nil && len(s.attrs) == 0 }

// Attrs are the session attributes in flag order.
func (s *Set) Attrs() []*Attr {
	if s == nil {
		return nil
	}
	return s.attrs
}

// Fold is the engine's session.AttrFold for s's attributes; nil without
// attributes.
func (s *Set) Fold() session.AttrFold {
	if len(s.Attrs()) == 0 {
		return nil
	}
	return func(state []byte, input string) []byte { return fold(s.attrs, state, input) }
}

// Values are a session's attributes from its state (Session.Attrs), in
// flag order.
func (s *Set) Values(state []byte) ([]Value, error) { return values(s.Attrs(), state) }

// Apply returns base with the rules' canonical texts, which the engine's
// fingerprints (checkpoints, state files, run ids) include.
func (s *Set) Apply(base session.Rules) session.Rules {
	base.StartOn, base.EndOn, base.Attrs = "", "", ""
	if s == nil {
		return base
	}
	var specs []string
	for _, a := range s.attrs {
		specs = append(specs, a.Spec())
	}
	base.Attrs = strings.Join(specs, "\n")
	if s.startOn != nil {
		base.StartOn = s.startOn.String()
	}
	if s.endOn != nil {
		base.EndOn = s.endOn.String()
	}
	return base
}

// Fields are the record fields the rules read.
func (s *Set) Fields() []string {
	if s == nil {
		return nil
	}
	return s.fields.Paths()
}

// Schema returns base (zero: event.DefaultSchema) with the rules' fields
// as its extra fields, in the order a Marker reads them: the schema every
// decoder of a run with these rules must be built with.
func (s *Set) Schema(base event.Schema) (event.Schema, error) {
	return base.WithExtra(s.Fields())
}

// Marker evaluates a Set on events; one per goroutine.
type Marker struct {
	set     *Set
	vals    []predicate.Value
	scratch []byte
}

// NewMarker returns a Marker of s, or nil if s is empty (Eval on nil
// returns no mark and no input).
func (s *Set) NewMarker() *Marker {
	if s.Empty() {
		return nil
	}
	return &Marker{set: s}
}

// Eval evaluates the boundary rules on an event's rule fields (its
// event.Fields.Extra, decoded by a schema from Set.Schema) and appends its
// attribute input (session.Event.Attrs) to buf.
func (m *Marker) Eval(fields []event.Value, buf []byte) (session.Mark, []byte) {
	if m == nil {
		return 0, buf
	}
	if n := len(m.set.fields.Paths()); len(fields) != n {
		// A decoder built without Set.Schema: the rules would silently
		// never match.
		panic(fmt.Sprintf("rule: %d field values for %d rule fields: build the decoder's schema with Set.Schema", len(fields), n))
	}
	var vals []predicate.Value
	vals, m.scratch = predicate.Values(m.vals, fields, m.scratch)
	m.vals = vals
	if len(m.set.attrs) > 0 {
		buf = appendInput(buf, m.set.attrs, vals)
	}
	var mk session.Mark
	if m.set.start != nil && m.set.start(vals) {
		mk |= session.StartsSession
	}
	if m.set.end != nil && m.set.end(vals) {
		mk |= session.EndsSession
	}
	return mk, buf
}
