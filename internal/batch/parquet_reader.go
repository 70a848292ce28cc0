package batch

import (
	"context"
	"fmt"
	"math"
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
// calls visit for each row. uuid, event_id and event_timestamp are
// required, page_name is optional, other columns are not read at all.
// String columns may be string, large_string or binary (also dictionary
// encoded); event_timestamp may also be an integer or timestamp column.
// Nulls read as empty values. raw is the row as a compact JSON object and
// line the 1-based row number.
func readParquet(ctx context.Context, path string, visit rowVisitor) error {
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

	leaves, hasPage, err := parquetEventLeaves(pf)
	if err != nil {
		return fmt.Errorf("read parquet %s: %w", path, err)
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
	if err := checkParquetEventTypes(rr.Schema()); err != nil {
		return fmt.Errorf("read parquet %s: %w", path, err)
	}

	var (
		uuid, eventID, page, tsText pqBytesColumn
		ts                          pqIntColumn
		f                           event.Fields
		raw                         []byte
		row                         int64
	)
	for rr.Next() {
		if err := ctx.Err(); err != nil {
			return err
		}
		rec := rr.RecordBatch()
		uuid.reset(rec.Column(0))
		eventID.reset(rec.Column(1))
		tsIsText := tsText.reset(rec.Column(2))
		if !tsIsText {
			ts.reset(rec.Column(2))
		}
		if hasPage {
			page.reset(rec.Column(3))
		}
		for i := 0; i < int(rec.NumRows()); i++ {
			row++
			f = event.Fields{UUID: uuid.value(i), EventID: eventID.value(i), PageName: page.value(i)}
			raw = append(raw[:0], `{"uuid":`...)
			raw = uuid.appendJSON(raw, i)
			raw = append(raw, `,"event_id":`...)
			raw = eventID.appendJSON(raw, i)
			if hasPage {
				raw = append(raw, `,"page_name":`...)
				raw = page.appendJSON(raw, i)
			}
			raw = append(raw, `,"event_timestamp":`...)
			var tsOK bool
			if tsIsText {
				f.TimestampMs, tsOK = event.ParseTimestampDigits(tsText.value(i))
				raw = tsText.appendJSON(raw, i)
			} else {
				f.TimestampMs, tsOK = ts.ms[i], ts.ok[i]
				raw = ts.appendJSON(raw, i)
			}
			raw = append(raw, '}')
			if err := visit(raw, &f, tsOK, row); err != nil {
				return err
			}
		}
	}
	if err := rr.Err(); err != nil {
		return fmt.Errorf("read parquet %s: row %d: %w", path, row+1, err)
	}
	return nil
}

// parquetEventLeaves returns the leaf column indexes of uuid, event_id,
// event_timestamp and, when present, page_name, in that order.
func parquetEventLeaves(pf *file.Reader) ([]int, bool, error) {
	sc := pf.MetaData().Schema
	var leaves []int
	var missing []string
	for _, name := range []string{"uuid", "event_id", "event_timestamp"} {
		i := sc.ColumnIndexByName(name)
		if i < 0 {
			missing = append(missing, name)
		}
		leaves = append(leaves, i)
	}
	if len(missing) > 0 {
		found := make([]string, sc.NumColumns())
		for i := range found {
			found[i] = sc.Column(i).Path()
		}
		return nil, false, fmt.Errorf("missing required column(s) %s; found: %s",
			strings.Join(missing, ", "), strings.Join(found, ", "))
	}
	if i := sc.ColumnIndexByName("page_name"); i >= 0 {
		return append(leaves, i), true, nil
	}
	return leaves, false, nil
}

// checkParquetEventTypes rejects unusable column types up front, so a wrong
// file fails with one clear message instead of mid-read.
func checkParquetEventTypes(sc *arrow.Schema) error {
	for i, fld := range sc.Fields() {
		if pqIsBytesType(fld.Type) || (i == 2 && pqIsIntType(fld.Type)) {
			continue
		}
		want := "string or binary"
		if i == 2 {
			want = "an integer, timestamp, string or binary"
		}
		return fmt.Errorf("column %s has type %s, want %s", fld.Name, fld.Type, want)
	}
	return nil
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

// pqIntColumn holds one batch of an integer or timestamp event_timestamp
// column converted to epoch milliseconds. Negative values and values out of
// range are not well formed, as in JSON input.
type pqIntColumn struct {
	arr arrow.Array
	raw []int64 // as stored, for the rejected output; unused for uint64
	ms  []int64
	ok  []bool
}

func (c *pqIntColumn) reset(a arrow.Array) {
	n := a.Len()
	c.arr = a
	c.raw = pqResize(c.raw, n)
	c.ms = pqResize(c.ms, n)
	c.ok = pqResize(c.ok, n)
	scale := int64(1) // divisor to reach milliseconds
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
				c.raw[i] = -1 // not an int64 timestamp: rejected below
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
		switch a.DataType().(*arrow.TimestampType).Unit {
		case arrow.Microsecond:
			scale = 1000
		case arrow.Nanosecond:
			scale = 1000_000
		}
	}
	hasNulls := a.NullN() > 0
	for i, x := range c.raw {
		ok := x >= 0 && !(hasNulls && a.IsNull(i))
		if !ok {
			x = 0
		}
		c.ms[i], c.ok[i] = x/scale, ok
	}
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
