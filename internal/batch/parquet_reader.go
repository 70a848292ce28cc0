package batch

import (
	"context"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"unsafe"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/arrow-go/v18/parquet"
	"github.com/apache/arrow-go/v18/parquet/file"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"
	"github.com/sessionize/sessionize/internal/event"
)

// parquetBatchRows is the record batch size: large enough to amortise the
// per-batch decoding overhead, small enough to keep a batch of a few
// columns within a few MiB.
const parquetBatchRows = 64 << 10

// readParquet reads the event columns of a Parquet file batch by batch and
// calls visit for each row. The schema's user, event id and time columns
// are required (a dotted path names a nested column, as Parquet does), the
// page column is optional, other columns are not read at all. String
// columns may be string, large_string or binary (also dictionary encoded);
// any of them may also be an integer column (ids are taken as their text,
// times read by the schema's format) and the time a timestamp column.
// raw is the row as a compact JSON object and line the 1-based row number.
func readParquet(ctx context.Context, path string, sch event.Schema, visit rowVisitor) error {
	asm := event.NewAssembler(sch)
	props := parquet.NewReaderProperties(memory.DefaultAllocator)
	// Stream column chunks instead of loading whole row groups: files with
	// one huge row group would otherwise need it all in memory.
	props.BufferedStreamEnabled = true
	props.BufferSize = 1 << 20
	pf, err := file.OpenParquetFile(path, false, file.WithReadProps(props))
	if err != nil {
		return fmt.Errorf("read parquet %s: %w", path, err)
	}
	defer pf.Close()

	cols, err := parquetEventLeaves(pf, asm.Schema())
	if err != nil {
		return fmt.Errorf("read parquet %s: %w", path, err)
	}
	leaves := make([]int, len(cols))
	for i, c := range cols {
		leaves[i] = c.leaf
	}
	fr, err := pqarrow.NewFileReader(pf, pqarrow.ArrowReadProperties{BatchSize: parquetBatchRows}, memory.DefaultAllocator)
	if err != nil {
		return fmt.Errorf("read parquet %s: %w", path, err)
	}
	rr, err := fr.GetRecordReader(ctx, leaves, nil)
	if err != nil {
		return fmt.Errorf("read parquet %s: %w", path, err)
	}
	defer rr.Release()
	if err := checkParquetEventTypes(rr.Schema(), cols); err != nil {
		return fmt.Errorf("read parquet %s: %w", path, err)
	}

	var (
		f    event.Fields
		vals = asm.Values()
		raw  []byte
		row  int64
	)
	for rr.Next() {
		if err := ctx.Err(); err != nil {
			return err
		}
		rec := rr.RecordBatch()
		for i := range cols {
			cols[i].col.reset(rec.Column(i))
		}
		for i := 0; i < int(rec.NumRows()); i++ {
			row++
			raw = append(raw[:0], '{')
			for k := range cols {
				c := &cols[k]
				v := c.col.value(i)
				for _, x := range c.extras {
					vals.Extra[x] = v
				}
				if c.val == nil {
					continue // a rule field alone: not in raw, whose hash may be the event id
				}
				*c.val(&vals) = v
				if len(raw) > 1 {
					raw = append(raw, ',')
				}
				raw = appendJSONString(raw, c.name)
				raw = append(raw, ':')
				raw = c.col.appendJSON(raw, i)
			}
			raw = append(raw, '}')
			r := asm.Assemble(&vals, raw, &f)
			if err := visit(raw, &f, r, row); err != nil {
				return err
			}
		}
	}
	if err := rr.Err(); err != nil {
		return fmt.Errorf("read parquet %s: row %d: %w", path, row+1, err)
	}
	return nil
}

// pqEventColumn is one of the schema's fields in the file.
type pqEventColumn struct {
	name   string
	leaf   int
	isTime bool
	val    func(*event.Values) *event.Value // nil for a column only rules read
	extras []int                            // the schema's extra fields (rule fields) the column also fills
	col    pqColumn
}

// parquetEventLeaves finds the leaf columns of the schema's fields: the
// user fields, the event id, the page when present, and the time (the
// order of the rejected output's JSON, as in the generator's records).
func parquetEventLeaves(pf *file.Reader, sch *event.Schema) ([]pqEventColumn, error) {
	sc := pf.MetaData().Schema
	var cols []pqEventColumn
	var missing []string
	add := func(p event.Path, required, isTime bool, val func(*event.Values) *event.Value) {
		i := sc.ColumnIndexByName(p.String())
		if i < 0 {
			if required {
				missing = append(missing, p.String())
			}
			return
		}
		cols = append(cols, pqEventColumn{name: p.String(), leaf: i, isTime: isTime, val: val})
	}
	for u := range sch.User {
		add(sch.User[u], true, false, func(v *event.Values) *event.Value { return &v.User[u] })
	}
	if sch.HasEventID() {
		add(sch.EventID, true, false, func(v *event.Values) *event.Value { return &v.EventID })
	}
	if !sch.Page.IsZero() {
		add(sch.Page, false, false, func(v *event.Values) *event.Value { return &v.Page })
	}
	add(sch.Time, true, true, func(v *event.Values) *event.Value { return &v.Time })
	for x, p := range sch.Extra {
		// A rule field without a column is missing from every row.
		i := sc.ColumnIndexByName(p.String())
		if i < 0 {
			continue
		}
		k := slices.IndexFunc(cols, func(c pqEventColumn) bool { return c.leaf == i })
		if k < 0 {
			k = len(cols)
			cols = append(cols, pqEventColumn{name: p.String(), leaf: i})
		}
		cols[k].extras = append(cols[k].extras, x)
	}
	if len(missing) > 0 {
		found := make([]string, sc.NumColumns())
		for i := range found {
			found[i] = sc.Column(i).Path()
		}
		return nil, fmt.Errorf("missing required column(s) %s (fields: %s); found: %s",
			strings.Join(missing, ", "), sch.Describe(), strings.Join(found, ", "))
	}
	return cols, nil
}

// checkParquetEventTypes rejects unusable column types up front, so a wrong
// file fails with one clear message instead of mid-read.
func checkParquetEventTypes(sc *arrow.Schema, cols []pqEventColumn) error {
	for i, fld := range sc.Fields() {
		if cols[i].val == nil {
			continue // rules read a column of any type (see pqColumn)
		}
		if pqIsBytesType(fld.Type) || pqIsIntType(fld.Type) && (cols[i].isTime || fld.Type.ID() != arrow.TIMESTAMP) {
			continue
		}
		want := "string, binary or integer"
		if cols[i].isTime {
			want = "an integer, timestamp, string or binary"
		}
		return fmt.Errorf("column %s has type %s, want %s", cols[i].name, fld.Type, want)
	}
	return nil
}

// pqColumn is one batch of a string, binary, integer or timestamp column,
// or, for a column only rules read, of any other type (other).
type pqColumn struct {
	bytes   pqBytesColumn
	ints    pqIntColumn
	isBytes bool
	other   arrow.Array // nil unless neither bytes nor integers
}

func (c *pqColumn) reset(a arrow.Array) {
	c.other = nil
	if c.isBytes = c.bytes.reset(a); c.isBytes {
		return
	}
	if !pqIsIntType(a.DataType()) {
		c.other = a
		return
	}
	c.ints.reset(a)
}

func (c *pqColumn) value(i int) event.Value {
	if c.other != nil {
		// Doubles, booleans, ...: their text, which is what rules
		// compare (an allocation per value, only for such columns).
		if c.other.IsNull(i) {
			return event.Value{Kind: event.Null}
		}
		return event.Value{Kind: event.Other, Text: []byte(c.other.ValueStr(i))}
	}
	if c.isBytes {
		if c.bytes.arr.IsNull(i) {
			return event.Value{Kind: event.Null}
		}
		return event.StringValue(c.bytes.value(i))
	}
	return c.ints.value(i)
}

func (c *pqColumn) appendJSON(b []byte, i int) []byte {
	if c.isBytes {
		return c.bytes.appendJSON(b, i)
	}
	return c.ints.appendJSON(b, i)
}

func pqIsBytesType(t arrow.DataType) bool {
	if d, ok := t.(*arrow.DictionaryType); ok {
		t = d.ValueType
	}
	switch t.ID() {
	case arrow.STRING, arrow.LARGE_STRING, arrow.BINARY, arrow.LARGE_BINARY:
		return true
	}
	return false
}

func pqIsIntType(t arrow.DataType) bool {
	switch t.ID() {
	case arrow.INT32, arrow.INT64, arrow.UINT32, arrow.UINT64, arrow.TIMESTAMP:
		return true
	}
	return false
}

// pqBytesColumn reads a string or binary column of one batch without a copy
// or an allocation per value: the offsets and data buffers are indexed
// directly. The zero value is an absent column: every value is nil.
type pqBytesColumn struct {
	arr   arrow.Array // the column as read, for nulls; nil when absent
	dict  *array.Dictionary
	off32 []int32
	off64 []int64
	data  []byte
}

// reset points c at a new batch's column; it reports false, leaving c
// absent, when a is not a string or binary column.
func (c *pqBytesColumn) reset(a arrow.Array) bool {
	*c = pqBytesColumn{}
	vals := a
	if d, ok := a.(*array.Dictionary); ok {
		c.dict, vals = d, d.Dictionary()
	}
	switch v := vals.(type) {
	case *array.String:
		c.off32, c.data = v.ValueOffsets(), v.ValueBytes()
	case *array.Binary:
		c.off32, c.data = v.ValueOffsets(), v.ValueBytes()
	case *array.LargeString:
		c.off64, c.data = v.ValueOffsets(), v.ValueBytes()
	case *array.LargeBinary:
		c.off64, c.data = v.ValueOffsets(), v.ValueBytes()
	default:
		return false
	}
	c.arr = a
	return true
}

func (c *pqBytesColumn) value(i int) []byte {
	if c.arr == nil || c.arr.IsNull(i) {
		return nil
	}
	if c.dict != nil {
		i = c.dict.GetValueIndex(i)
	}
	// ValueBytes starts at the first offset, so offsets are rebased on it.
	if c.off32 != nil {
		base := c.off32[0]
		return c.data[c.off32[i]-base : c.off32[i+1]-base]
	}
	base := c.off64[0]
	return c.data[c.off64[i]-base : c.off64[i+1]-base]
}

func (c *pqBytesColumn) appendJSON(b []byte, i int) []byte {
	if c.arr.IsNull(i) {
		return append(b, "null"...)
	}
	v := c.value(i)
	// appendJSONString only reads v during the call, so the zero-copy view
	// is safe and spares an allocation per value.
	return appendJSONString(b, unsafe.String(unsafe.SliceData(v), len(v)))
}

// pqIntColumn holds one batch of an integer or timestamp column. Integers
// go to the schema's rules as they are; timestamps carry their unit and
// are converted to epoch milliseconds here.
type pqIntColumn struct {
	arr      arrow.Array
	raw      []int64 // as stored; -1 for a uint64 past int64
	scale    int64   // timestamps: divisor to reach milliseconds; 0 for integers
	hasNulls bool
}

func (c *pqIntColumn) reset(a arrow.Array) {
	n := a.Len()
	c.arr = a
	c.raw = pqResize(c.raw, n)
	c.scale = 0
	c.hasNulls = a.NullN() > 0
	switch v := a.(type) {
	case *array.Int64:
		copy(c.raw, v.Int64Values())
	case *array.Int32:
		for i, x := range v.Int32Values() {
			c.raw[i] = int64(x)
		}
	case *array.Uint64:
		for i, x := range v.Uint64Values() {
			c.raw[i] = int64(x)
			if x > math.MaxInt64 {
				c.raw[i] = -1 // not an int64: out of range
			}
		}
	case *array.Uint32:
		for i, x := range v.Uint32Values() {
			c.raw[i] = int64(x)
		}
	case *array.Timestamp:
		for i, x := range v.TimestampValues() {
			c.raw[i] = int64(x)
		}
		// Parquet has no seconds unit: pqarrow stores timestamp[s] as ms.
		c.scale = 1
		switch a.DataType().(*arrow.TimestampType).Unit {
		case arrow.Microsecond:
			c.scale = 1000
		case arrow.Nanosecond:
			c.scale = 1000_000
		}
	}
}

func (c *pqIntColumn) value(i int) event.Value {
	if c.hasNulls && c.arr.IsNull(i) {
		return event.Value{Kind: event.Null}
	}
	x := c.raw[i]
	if c.scale == 0 {
		if x < 0 && c.arr.DataType().ID() == arrow.UINT64 {
			return event.Value{Kind: event.Other} // past int64
		}
		return event.IntValue(x)
	}
	if x < 0 {
		return event.MillisValue(-1) // before 1970: out of range, as in JSON input
	}
	return event.MillisValue(x / c.scale)
}

func (c *pqIntColumn) appendJSON(b []byte, i int) []byte {
	if c.arr.IsNull(i) {
		return append(b, "null"...)
	}
	if u, ok := c.arr.(*array.Uint64); ok {
		return strconv.AppendUint(b, u.Value(i), 10)
	}
	return strconv.AppendInt(b, c.raw[i], 10)
}

func pqResize[T any](s []T, n int) []T {
	if cap(s) < n {
		return make([]T, n)
	}
	return s[:n]
}
