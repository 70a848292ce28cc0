package event

import (
	"fmt"
	"strings"
)

// The field names of the default schema: today's event files.
const (
	DefaultUserField    = "uuid"
	DefaultEventIDField = "event_id"
	DefaultTimeField    = "event_timestamp"
	DefaultPageField    = "page_name"
)

// MaxUserFields bounds a composite user key, so parsers can keep the parts
// in fixed arrays.
const MaxUserFields = 8

// Schema says where a record keeps what the sessionizer needs: the user
// key (one or more fields), the event id (optional), the event time and its
// format, and the page (optional). It is the one owner of those names;
// every reader (JSON lines, CSV, Parquet, Kafka JSON or Avro) takes a
// Schema. The zero value means DefaultSchema (see OrDefault).
type Schema struct {
	User    []Path
	EventID Path // zero: the records have no event id
	Time    Path
	Page    Path // zero: no page
	Format  TimeFormat
	// Extra are further fields decoded in the same pass into
	// Fields.Extra, in order: what the session rules read (rule.Set
	// sets them). They are never required and take no role, so Describe,
	// IsDefault and the advice ignore them.
	Extra []Path
}

// MaxExtraFields bounds Schema.Extra: the JSON parser tracks every path in
// one 32-bit mask.
const MaxExtraFields = 32 - MaxUserFields - 3

// WithExtra returns s (zero: DefaultSchema) with paths, dotted field names,
// as its Extra fields.
func (s Schema) WithExtra(paths []string) (Schema, error) {
	s = s.OrDefault()
	if len(paths) > MaxExtraFields {
		return Schema{}, fmt.Errorf("the session rules read %d fields: at most %d", len(paths), MaxExtraFields)
	}
	s.Extra = nil
	for _, name := range paths {
		p, err := ParsePath(name)
		if err != nil || p.IsZero() {
			return Schema{}, fmt.Errorf("rule field %q: %v", name, orEmpty(err))
		}
		s.Extra = append(s.Extra, p)
	}
	return s, nil
}

// Path is a field name, or a dotted path into nested objects ("page.path").
// The zero Path means "no such field".
type Path struct {
	dotted string
	parts  []string
}

// ParsePath reads a field name or dotted path; "" is the zero Path.
func ParsePath(s string) (Path, error) {
	if s == "" {
		return Path{}, nil
	}
	parts := strings.Split(s, ".")
	for _, p := range parts {
		if p == "" {
			return Path{}, fmt.Errorf("field path %q: empty name between dots", s)
		}
	}
	return Path{dotted: s, parts: parts}, nil
}

// MustPath is ParsePath for constants in code and tests.
func MustPath(s string) Path {
	p, err := ParsePath(s)
	if err != nil {
		panic(err)
	}
	return p
}

// String is the path as written, "a.b".
func (p Path) String() string { return p.dotted }

// Parts are the names from the outermost object in.
func (p Path) Parts() []string { return p.parts }

// IsZero reports whether p names no field.
func (p Path) IsZero() bool { return len(p.parts) == 0 }

// Lookup finds p in decoded nested maps (Avro, generic JSON): ok is false
// when a name along the way is absent or not a map.
func (p Path) Lookup(m map[string]any) (any, bool) {
	var v any = m
	for _, name := range p.parts {
		mm, isMap := v.(map[string]any)
		if !isMap {
			return nil, false
		}
		if v, isMap = mm[name]; !isMap {
			return nil, false
		}
	}
	return v, len(p.parts) > 0
}

// DefaultSchema is today's event shape: uuid, event_id, event_timestamp
// (auto: epoch milliseconds stay milliseconds) and page_name.
func DefaultSchema() Schema {
	return Schema{
		User:    []Path{MustPath(DefaultUserField)},
		EventID: MustPath(DefaultEventIDField),
		Time:    MustPath(DefaultTimeField),
		Page:    MustPath(DefaultPageField),
	}
}

// NewSchema builds a Schema from flag values: user fields (none: uuid),
// the event id field ("" or "none": no event id), the time field, its
// format, and the page field ("" or "none": no page).
func NewSchema(user []string, eventID, timeField, page string, format TimeFormat) (Schema, error) {
	s := Schema{Format: format}
	if len(user) == 0 {
		user = []string{DefaultUserField}
	}
	if len(user) > MaxUserFields {
		return Schema{}, fmt.Errorf("%d user fields: at most %d", len(user), MaxUserFields)
	}
	for _, u := range user {
		p, err := ParsePath(u)
		if err != nil || p.IsZero() {
			return Schema{}, fmt.Errorf("user field %q: %v", u, orEmpty(err))
		}
		s.User = append(s.User, p)
	}
	var err error
	if s.EventID, err = parseOptionalPath(eventID); err != nil {
		return Schema{}, fmt.Errorf("event id field: %w", err)
	}
	if timeField == "" {
		return Schema{}, fmt.Errorf("time field: empty; every event needs a time")
	}
	if s.Time, err = ParsePath(timeField); err != nil {
		return Schema{}, fmt.Errorf("time field: %w", err)
	}
	if s.Page, err = parseOptionalPath(page); err != nil {
		return Schema{}, fmt.Errorf("page field: %w", err)
	}
	seen := map[string]string{}
	for role, p := range s.roles() {
		if prev, dup := seen[p.dotted]; dup {
			return Schema{}, fmt.Errorf("field %q is both the %s and the %s", p.dotted, prev, role)
		}
		seen[p.dotted] = role
	}
	return s, nil
}

func orEmpty(err error) any {
	if err == nil {
		return "empty name"
	}
	return err
}

func parseOptionalPath(s string) (Path, error) {
	if strings.EqualFold(s, "none") {
		return Path{}, nil
	}
	return ParsePath(s)
}

// roles lists the configured paths by role name, for messages.
func (s *Schema) roles() map[string]Path {
	m := map[string]Path{"time field": s.Time}
	for i, u := range s.User {
		m[fmt.Sprintf("user field %d", i+1)] = u
	}
	if !s.EventID.IsZero() {
		m["event id field"] = s.EventID
	}
	if !s.Page.IsZero() {
		m["page field"] = s.Page
	}
	return m
}

// OrDefault returns s, or DefaultSchema when s is the zero value, so
// configs that never set a schema read today's files.
func (s Schema) OrDefault() Schema {
	if len(s.User) == 0 {
		d := DefaultSchema()
		d.Format, d.Extra = s.Format, s.Extra
		return d
	}
	return s
}

// IsDefault reports whether s reads today's field names in auto format.
func (s Schema) IsDefault() bool { return s.Describe() == DefaultSchema().Describe() }

// HasEventID reports whether records carry an event id. Without one, the
// event id is a hash of the record (see EventIDHashLen): only a
// byte-identical copy of a record is a duplicate.
func (s *Schema) HasEventID() bool { return !s.EventID.IsZero() }

// UserNames are the user fields as written.
func (s *Schema) UserNames() []string {
	names := make([]string, len(s.User))
	for i, u := range s.User {
		names[i] = u.dotted
	}
	return names
}

// Describe names the configured fields for summaries and errors:
// "user uuid, event id event_id, time event_timestamp (auto), page page_name".
func (s Schema) Describe() string {
	var b strings.Builder
	b.WriteString("user ")
	b.WriteString(strings.Join(s.UserNames(), "+"))
	b.WriteString(", event id ")
	if s.HasEventID() {
		b.WriteString(s.EventID.dotted)
	} else {
		b.WriteString("none (hash of the record)")
	}
	fmt.Fprintf(&b, ", time %s (%s", s.Time.dotted, s.Format)
	if loc := s.Format.Location(); loc.String() != "UTC" {
		fmt.Fprintf(&b, ", %s", loc)
	}
	b.WriteString("), page ")
	if s.Page.IsZero() {
		b.WriteString("none")
	} else {
		b.WriteString(s.Page.dotted)
	}
	return b.String()
}

// FieldNames is Describe as a map, for JSON summaries.
func (s Schema) FieldNames() map[string]any {
	m := map[string]any{"user": s.UserNames(), "time": s.Time.dotted, "time_format": s.Format.String()}
	if loc := s.Format.Location(); loc.String() != "UTC" {
		m["timezone"] = loc.String()
	}
	if s.HasEventID() {
		m["event_id"] = s.EventID.dotted
	}
	if !s.Page.IsZero() {
		m["page"] = s.Page.dotted
	}
	return m
}
