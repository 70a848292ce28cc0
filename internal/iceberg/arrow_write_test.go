package iceberg

import (
	"testing"

	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
)

// TestSessionsReserveCoversTheRows: after the sessions binding's reserve,
// appending the same rows regrows no string buffer. A column reserve
// forgets, or sizes short, grows by doubling again.
func TestSessionsReserveCoversTheRows(t *testing.T) {
	sc, err := arrowSchema(sessionsSchema())
	if err != nil {
		t.Fatal(err)
	}
	rb := array.NewRecordBuilder(memory.NewGoAllocator(), sc)
	defer rb.Release()
	c := &columns{rb: rb, schema: sc}
	bound := bindSessions(nil)(c)
	if c.err != nil {
		t.Fatal(c.err)
	}
	rows := sampleSessions(5000, "reserve")
	rb.Reserve(len(rows))
	bound.reserve(rows)

	strs := map[string]*array.StringBuilder{}
	for i, f := range sc.Fields() {
		switch b := rb.Field(i).(type) {
		case *array.StringBuilder:
			strs[f.Name] = b
		case *array.ListBuilder:
			if v, ok := b.ValueBuilder().(*array.StringBuilder); ok {
				strs[f.Name+".element"] = v
			}
		}
	}
	if len(strs) < 6 {
		t.Fatalf("found %d string columns, want the sessions' 6 at least", len(strs))
	}
	reserved := map[string]int{}
	for name, b := range strs {
		reserved[name] = b.DataCap()
	}
	for i := range rows {
		bound.add(&rows[i])
	}
	for name, b := range strs {
		if b.DataLen() == 0 {
			t.Errorf("%s: nothing appended", name)
		}
		if b.DataCap() != reserved[name] {
			t.Errorf("%s: data capacity %d after reserve, %d after appending %d bytes: reserve was short", name, reserved[name], b.DataCap(), b.DataLen())
		}
	}
	rec := rb.NewRecordBatch()
	defer rec.Release()
	if rec.NumRows() != int64(len(rows)) {
		t.Errorf("record has %d rows, want %d", rec.NumRows(), len(rows))
	}
}
