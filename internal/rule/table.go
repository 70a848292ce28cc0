package rule

import "github.com/sessionize/sessionize/internal/iceberg"

// TableColumns are the attributes as the sessions table's columns.
func (s *Set) TableColumns() []iceberg.AttrColumn {
	var out []iceberg.AttrColumn
	for _, a := range s.Attrs() {
		kind := map[Type]string{String: iceberg.AttrString, Long: iceberg.AttrLong, Double: iceberg.AttrDouble, Bool: iceberg.AttrBool}[a.Type]
		out = append(out, iceberg.AttrColumn{Name: a.Name, Kind: kind})
	}
	return out
}

// TableValues are a session's attributes (its Session.Attrs state) as a
// sessions-table row's.
func (s *Set) TableValues(state []byte) ([]iceberg.AttrValue, error) {
	if len(s.Attrs()) == 0 {
		return nil, nil
	}
	vals, err := s.Values(state)
	if err != nil {
		return nil, err
	}
	out := make([]iceberg.AttrValue, len(vals))
	for i, v := range vals {
		out[i] = iceberg.AttrValue{Null: v.Null, Str: v.Str, Long: v.Long, Float: v.Float, Bool: v.Bool}
	}
	return out, nil
}
