package iceberg

import (
	"context"
	"fmt"
	"slices"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/iceberg-go"
	"github.com/apache/iceberg-go/table"
)

// Session attributes (batch/run --session-attr) are extra, optional
// columns of the sessions table after its own. A writer opens the
// warehouse with the attributes it writes (Config.SessionAttrs): one the
// table lacks is added (a schema evolution, a new field ID); one the
// table has with another type, or a column the table has that the writer
// does not give, is refused: dropping or retyping a column would break
// the readers of the rows already written.

// AttrColumn is one attribute column: its name and type, one of
// AttrString, AttrLong, AttrDouble, AttrBool.
type AttrColumn struct {
	Name string
	Kind string
}

// The attribute column kinds.
const (
	AttrString = "string"
	AttrLong   = "long"
	AttrDouble = "double"
	AttrBool   = "boolean"
)

// AttrValue is one attribute of a SessionRow, in Config.SessionAttrs
// order; the field of its column's kind holds the value.
type AttrValue struct {
	Null  bool
	Str   string
	Long  int64
	Float float64
	Bool  bool
}

func attrType(kind string) (iceberg.Type, error) {
	switch kind {
	case AttrString:
		return iceberg.PrimitiveTypes.String, nil
	case AttrLong:
		return iceberg.PrimitiveTypes.Int64, nil
	case AttrDouble:
		return iceberg.PrimitiveTypes.Float64, nil
	case AttrBool:
		return iceberg.PrimitiveTypes.Bool, nil
	}
	return nil, fmt.Errorf("iceberg: unknown attribute kind %q", kind)
}

// IsAttrColumn reports whether name is a session attribute's column: one
// that is not among the sessions table's own (sessionsSchema), in the
// table, a scan of it, or a session file or line written by batch.
func IsAttrColumn(name string) bool {
	return !slices.ContainsFunc(sessionsSchema().Fields(), func(f iceberg.NestedField) bool { return f.Name == name })
}

// BoolAttrColumns returns the boolean attribute columns (any(...)) of a
// sessions record's schema, a scan's or a batch Parquet file's, in schema
// order.
func BoolAttrColumns(sc *arrow.Schema) []string {
	var out []string
	for _, f := range sc.Fields() {
		if f.Type.ID() == arrow.BOOL && IsAttrColumn(f.Name) {
			out = append(out, f.Name)
		}
	}
	return out
}

// SessionBoolAttrColumns returns the boolean attribute columns of the
// sessions table, for a scan to select.
func (w *Warehouse) SessionBoolAttrColumns(ctx context.Context) ([]string, error) {
	tbl, err := w.load(w.ioContext(ctx), TableSessions)
	if err != nil {
		return nil, err
	}
	sc, err := table.SchemaToArrowSchema(tbl.Schema(), nil, false, false)
	if err != nil {
		return nil, fmt.Errorf("iceberg: schema of %s: %w", TableSessions, err)
	}
	return BoolAttrColumns(sc), nil
}

// bindAttrs returns an appender of a row's attributes into their columns.
func bindAttrs(c *columns, attrs []AttrColumn) func(*SessionRow) {
	appenders := make([]func(*AttrValue), len(attrs))
	for i, a := range attrs {
		switch a.Kind {
		case AttrString:
			b := column[*array.StringBuilder](c, a.Name)
			appenders[i] = func(v *AttrValue) { b.Append(v.Str) }
		case AttrLong:
			b := column[*array.Int64Builder](c, a.Name)
			appenders[i] = func(v *AttrValue) { b.Append(v.Long) }
		case AttrDouble:
			b := column[*array.Float64Builder](c, a.Name)
			appenders[i] = func(v *AttrValue) { b.Append(v.Float) }
		default:
			b := column[*array.BooleanBuilder](c, a.Name)
			appenders[i] = func(v *AttrValue) { b.Append(v.Bool) }
		}
	}
	names := make([]string, len(attrs))
	for i, a := range attrs {
		names[i] = a.Name
	}
	return func(r *SessionRow) {
		for i := range appenders {
			if i >= len(r.Attrs) || r.Attrs[i].Null {
				c.rb.Field(c.schema.FieldIndices(names[i])[0]).AppendNull()
				continue
			}
			appenders[i](&r.Attrs[i])
		}
	}
}

// evolveSessionAttrs makes the sessions table's attribute columns those
// of attrs (adding the missing ones) and returns the table's schema.
func (w *Warehouse) evolveSessionAttrs(ctx context.Context, attrs []AttrColumn) (*iceberg.Schema, error) {
	tbl, err := w.load(ctx, TableSessions)
	if err != nil {
		return nil, err
	}
	sc := tbl.Schema()
	var missing []AttrColumn
	for _, a := range attrs {
		want, err := attrType(a.Kind)
		if err != nil {
			return nil, err
		}
		f, ok := sc.FindFieldByName(a.Name)
		switch {
		case !ok:
			missing = append(missing, a)
		case !f.Type.Equals(want):
			return nil, fmt.Errorf("iceberg: the sessions table has the attribute %s as %s; --session-attr %s gives %s: retyping a column is refused "+
				"(its rows would no longer read); give it another name or use another --namespace", a.Name, f.Type, a.Name, want)
		}
	}
	for _, f := range sc.Fields() {
		if !IsAttrColumn(f.Name) {
			continue
		}
		if !slices.ContainsFunc(attrs, func(a AttrColumn) bool { return a.Name == f.Name }) {
			return nil, fmt.Errorf("iceberg: the sessions table has the attribute column %s (%s), which this run does not write: removing an attribute is refused "+
				"(its rows would lose it); give its --session-attr again, or use another --namespace", f.Name, f.Type)
		}
	}
	if len(missing) == 0 {
		return sc, nil
	}
	tx := tbl.NewTransaction()
	up := tx.UpdateSchema(true, false)
	for _, a := range missing {
		t, _ := attrType(a.Kind)
		up.AddColumn([]string{a.Name}, t, "session attribute (--session-attr)", false, nil)
	}
	if err := up.Commit(); err != nil {
		return nil, fmt.Errorf("iceberg: add attribute columns to the sessions table: %w", err)
	}
	tbl2, cerr := tx.Commit(ctx)
	if cerr != nil {
		// Another writer may have added them at the same time: look again.
		if tbl2, err = w.load(ctx, TableSessions); err != nil {
			return nil, err
		}
		for _, a := range missing {
			if _, ok := tbl2.Schema().FindFieldByName(a.Name); !ok {
				return nil, fmt.Errorf("iceberg: add attribute columns to the sessions table: %w", cerr)
			}
		}
	}
	w.logger.InfoContext(ctx, "added session attribute columns", "table", TableSessions, "columns", len(missing))
	return tbl2.Schema(), nil
}
