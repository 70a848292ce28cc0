package iceberg

import (
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
)

// TestSessionAttrColumns: a writer's attributes become optional columns of
// the sessions table, with their values and nulls; a later writer with one
// more attribute evolves the schema (old rows read null); dropping or
// retyping an attribute is refused; readers open the table as before.
func TestSessionAttrColumns(t *testing.T) {
	dir := t.TempDir()
	w2, two := attrsAddedLater(t, dir)
	got := map[string]string{}
	if _, err := w2.Scan(testCtx(t), TableSessions, ScanOptions{}, func(rec arrow.RecordBatch) error {
		col := func(name string) arrow.Array { return rec.Column(rec.Schema().FieldIndices(name)[0]) }
		for i := range int(rec.NumRows()) {
			id := col("session_id").(*array.String).Value(i)
			got[id] = col("converted").ValueStr(i) + "|" + col("revenue").ValueStr(i) + "|" + col("product").ValueStr(i)
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	want := map[string]string{
		"a-session-000000": "false|0|(null)", "a-session-000001": "true|10.5|(null)", "a-session-000002": "false|(null)|(null)",
		"b-session-000000": "true|1|hotel",
	}
	for id, v := range want {
		if got[id] != v {
			t.Errorf("%s: %q, want %q", id, got[id], v)
		}
	}
	w2.Close()

	for _, c := range []struct {
		attrs []AttrColumn
		want  string
	}{
		{two, "the attribute column product (string), which this run does not write: removing an attribute is refused"},
		{nil, "removing an attribute is refused"},
		{[]AttrColumn{{"converted", AttrBool}, {"revenue", AttrLong}, {"product", AttrString}}, "has the attribute revenue as double; --session-attr revenue gives long: retyping a column is refused"},
	} {
		_, err := Open(testCtx(t), Config{Warehouse: dir, WritesSessionAttrs: true, SessionAttrs: c.attrs}, testLogger(t))
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("attributes %v: %v, want %q", c.attrs, err, c.want)
		}
	}
	// A reader does not care.
	r := openWarehouse(t, Config{Warehouse: dir})
	rows, err := r.ReadSessions(testCtx(t))
	if err != nil || len(rows) != 4 {
		t.Fatalf("read %d rows: %v", len(rows), err)
	}
	// ... and sees the boolean attributes for report's rates.
	if cols, err := r.SessionBoolAttrColumns(testCtx(t)); err != nil || strings.Join(cols, ",") != "converted" {
		t.Errorf("SessionBoolAttrColumns = %v, %v; want [converted]", cols, err)
	}
	for _, row := range rows {
		want := row.SessionID == "a-session-000001" || row.SessionID == "b-session-000000"
		if len(row.BoolAttrs) != 1 || row.BoolAttrs[0] != (BoolAttr{Name: "converted", Value: want}) {
			t.Errorf("%s: BoolAttrs %v, want converted=%v", row.SessionID, row.BoolAttrs, want)
		}
	}
}

// attrsAddedLater writes three sessions with two attributes into dir,
// then one more from a warehouse opened with a third: the sessions table's
// schema evolves. It returns that warehouse and the first two attributes.
// Their values: a-session-000000 false|0|null, -000001 true|10.5|null,
// -000002 false|null|null, b-session-000000 true|1|hotel.
func attrsAddedLater(t *testing.T, dir string) (*Warehouse, []AttrColumn) {
	t.Helper()
	two := []AttrColumn{{"converted", AttrBool}, {"revenue", AttrDouble}}
	w := openWarehouse(t, Config{Warehouse: dir, WritesSessionAttrs: true, SessionAttrs: two})
	rows := sampleSessions(3, "a")
	for i := range rows {
		rows[i].Attrs = []AttrValue{{Bool: i == 1}, {Float: 10.5 * float64(i), Null: i == 2}}
	}
	if _, err := w.Commit(testCtx(t), Commit{Table: TableSessions, Sessions: rows, ExpectParentSnapshotID: NoSnapshot}); err != nil {
		t.Fatal(err)
	}
	w.Close()

	three := append(slices.Clone(two), AttrColumn{"product", AttrString})
	w2 := openWarehouse(t, Config{Warehouse: dir, WritesSessionAttrs: true, SessionAttrs: three})
	more := sampleSessions(1, "b")
	more[0].Attrs = []AttrValue{{Bool: true}, {Float: 1}, {Str: "hotel"}}
	if _, err := w2.Commit(testCtx(t), Commit{Table: TableSessions, Sessions: more, ExpectParentSnapshotID: mustCurrentID(t, w2, TableSessions)}); err != nil {
		t.Fatal(err)
	}
	return w2, two
}

// TestVisitSessionsBoolAttrs: a sessions record's boolean attribute
// columns reach SessionRow.BoolAttrs, in schema order and without their
// nulls (rows written before the column was added); the session's own
// boolean (pages_truncated) and non-boolean attributes do not.
func TestVisitSessionsBoolAttrs(t *testing.T) {
	sc := arrow.NewSchema([]arrow.Field{
		{Name: "session_id", Type: arrow.BinaryTypes.String},
		{Name: "pages_truncated", Type: arrow.FixedWidthTypes.Boolean},
		{Name: "converted", Type: arrow.FixedWidthTypes.Boolean, Nullable: true},
		{Name: "revenue", Type: arrow.PrimitiveTypes.Float64, Nullable: true},
		{Name: "mobile", Type: arrow.FixedWidthTypes.Boolean, Nullable: true},
	}, nil)
	if got := BoolAttrColumns(sc); strings.Join(got, ",") != "converted,mobile" {
		t.Fatalf("BoolAttrColumns = %v, want [converted mobile]", got)
	}
	b := array.NewRecordBuilder(memory.NewGoAllocator(), sc)
	defer b.Release()
	b.Field(0).(*array.StringBuilder).AppendValues([]string{"a", "b", "c"}, nil)
	b.Field(1).(*array.BooleanBuilder).AppendValues([]bool{true, false, true}, nil)
	b.Field(2).(*array.BooleanBuilder).AppendValues([]bool{true, false, false}, []bool{true, true, false})
	b.Field(3).(*array.Float64Builder).AppendValues([]float64{1, 2, 3}, nil)
	b.Field(4).(*array.BooleanBuilder).AppendValues([]bool{false, true, false}, []bool{true, false, true})
	rec := b.NewRecordBatch()
	defer rec.Release()
	got := map[string]string{}
	if err := VisitSessions(rec, []string{"session_id"}, func(r *SessionRow) {
		var parts []string
		for _, a := range r.BoolAttrs {
			parts = append(parts, a.Name+"="+strconv.FormatBool(a.Value))
		}
		got[r.SessionID] = strings.Join(parts, " ")
	}); err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"a": "converted=true mobile=false", "b": "converted=false", "c": "mobile=false"}
	for id, w := range want {
		if got[id] != w {
			t.Errorf("%s: BoolAttrs %q, want %q", id, got[id], w)
		}
	}
}
