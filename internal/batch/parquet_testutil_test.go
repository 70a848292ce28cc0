package batch

import (
	"context"
	"fmt"
	"os"
	"slices"
	"strconv"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/arrow-go/v18/parquet"
	"github.com/apache/arrow-go/v18/parquet/compress"
	"github.com/apache/arrow-go/v18/parquet/file"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"
	"github.com/sessionize/sessionize/internal/event"
	"github.com/sessionize/sessionize/internal/session"
)

// testEventRow is one input row for writeParquetEvents. TS is the
// event_timestamp as text; integer columns get it parsed. Nulls names the
// columns that are null in this row.
type testEventRow struct {
	UUID, EventID, PageName, TS string
	Nulls                       []string
}

// testEventSchema is the usual input schema with the given event_timestamp
// type, every column nullable, and booking_details present but ignored by
// the readers.
func testEventSchema(tsType arrow.DataType) *arrow.Schema {
	str := arrow.BinaryTypes.String
	return arrow.NewSchema([]arrow.Field{
		{Name: "event_id", Type: str, Nullable: true},
		{Name: "page_name", Type: str, Nullable: true},
		{Name: "event_timestamp", Type: tsType, Nullable: true},
		{Name: "booking_details", Type: str, Nullable: true},
		{Name: "uuid", Type: str, Nullable: true},
	}, nil)
}

// writeParquetEvents writes rows with testEventSchema(int64).
func writeParquetEvents(path string, rows []testEventRow) error {
	return writeParquetEventsSchema(path, testEventSchema(arrow.PrimitiveTypes.Int64), rows, 0)
}

// writeParquetEventsSchema writes rows with any schema whose columns are
// named like the input fields; rowGroup > 0 caps the rows per row group.
func writeParquetEventsSchema(path string, sc *arrow.Schema, rows []testEventRow, rowGroup int64) error {
	rb := array.NewRecordBuilder(memory.DefaultAllocator, sc)
	defer rb.Release()
	for _, r := range rows {
		for i, fld := range sc.Fields() {
			if err := appendTestValue(rb.Field(i), fld.Name, r); err != nil {
				return err
			}
		}
	}
	rec := rb.NewRecordBatch()
	defer rec.Release()
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	opts := []parquet.WriterProperty{parquet.WithCompression(compress.Codecs.Snappy)}
	if rowGroup > 0 {
		opts = append(opts, parquet.WithMaxRowGroupLength(rowGroup))
	}
	fw, err := pqarrow.NewFileWriter(sc, f, parquet.NewWriterProperties(opts...), pqarrow.DefaultWriterProps())
	if err != nil {
		f.Close()
		return err
	}
	if err := fw.Write(rec); err != nil {
		fw.Close()
		return err
	}
	return fw.Close() // also closes f
}

func appendTestValue(b array.Builder, name string, r testEventRow) error {
	if slices.Contains(r.Nulls, name) {
		b.AppendNull()
		return nil
	}
	v := map[string]string{"uuid": r.UUID, "event_id": r.EventID, "page_name": r.PageName,
		"event_timestamp": r.TS, "booking_details": "{}"}[name]
	switch b := b.(type) {
	case *array.StringBuilder:
		b.Append(v)
	case *array.LargeStringBuilder:
		b.Append(v)
	case *array.BinaryBuilder:
		b.AppendString(v)
	case *array.BinaryDictionaryBuilder:
		return b.AppendString(v)
	case *array.Int64Builder:
		n, err := strconv.ParseInt(v, 10, 64)
		b.Append(n)
		return err
	case *array.Int32Builder:
		n, err := strconv.ParseInt(v, 10, 32)
		b.Append(int32(n))
		return err
	case *array.Uint64Builder:
		n, err := strconv.ParseUint(v, 10, 64)
		b.Append(n)
		return err
	case *array.TimestampBuilder:
		n, err := strconv.ParseInt(v, 10, 64)
		b.Append(arrow.Timestamp(n))
		return err
	default:
		return fmt.Errorf("test helper: no support for %T", b)
	}
	return nil
}

// parquetRow is what readParquet passed to the visitor for one row, copied.
type parquetRow struct {
	Raw    string
	Fields event.Fields
	TSOK   bool
	Reason event.Reason
	Line   int64
}

func collectParquet(path string) ([]parquetRow, error) {
	var out []parquetRow
	// Strict milliseconds: the tests' small numbers stay milliseconds.
	sch := event.Schema{Format: event.MustTimeFormat("ms", "")}
	err := readParquet(context.Background(), path, sch, func(raw []byte, f *event.Fields, reason event.Reason, line int64) error {
		cp := *f
		cp.UUID, cp.EventID, cp.PageName = cloneKeepNil(f.UUID), cloneKeepNil(f.EventID), cloneKeepNil(f.PageName)
		out = append(out, parquetRow{Raw: string(raw), Fields: cp, TSOK: !reason.IsTimeReason(), Reason: reason, Line: line})
		return nil
	})
	return out, err
}

// cloneKeepNil keeps nil as nil, so tests can tell an absent field from an
// empty one.
func cloneKeepNil(b []byte) []byte {
	if b == nil {
		return nil
	}
	return append([]byte{}, b...)
}

// readParquetSessions reads a sessions file written by the Parquet session
// writer back, with the session ids in the same order.
func readParquetSessions(path string) ([]session.Session, []string, error) {
	pf, err := file.OpenParquetFile(path, false)
	if err != nil {
		return nil, nil, err
	}
	defer pf.Close()
	fr, err := pqarrow.NewFileReader(pf, pqarrow.ArrowReadProperties{BatchSize: 1000}, memory.DefaultAllocator)
	if err != nil {
		return nil, nil, err
	}
	rr, err := fr.GetRecordReader(context.Background(), nil, nil)
	if err != nil {
		return nil, nil, err
	}
	defer rr.Release()
	reasons := map[string]session.EndReason{}
	for r := session.EndOfInput; r <= session.Rule; r++ {
		reasons[r.String()] = r
	}
	var (
		out []session.Session
		ids []string
	)
	for rr.Next() {
		rec := rr.RecordBatch()
		col := func(name string) arrow.Array {
			idx := rec.Schema().FieldIndices(name)
			if len(idx) != 1 {
				panic("no column " + name)
			}
			return rec.Column(idx[0])
		}
		pages := col("pages_visited").(*array.List)
		pageVals := pages.ListValues().(*array.String)
		for i := 0; i < int(rec.NumRows()); i++ {
			s := session.Session{
				UUID:           col("uuid").(*array.String).Value(i),
				StartMs:        col("session_start_time_ms").(*array.Int64).Value(i),
				EndMs:          col("session_end_time_ms").(*array.Int64).Value(i),
				EventCount:     col("event_count").(*array.Int64).Value(i),
				PagesTruncated: col("pages_truncated").(*array.Boolean).Value(i),
				EntryPage:      col("entry_page").(*array.String).Value(i),
				ExitPage:       col("exit_page").(*array.String).Value(i),
			}
			reason, ok := reasons[col("end_reason").(*array.String).Value(i)]
			if !ok {
				return nil, nil, fmt.Errorf("row %d: unknown end_reason", len(out))
			}
			s.EndReason = reason
			start, end := pages.ValueOffsets(i)
			for j := start; j < end; j++ {
				s.Pages = append(s.Pages, pageVals.Value(int(j)))
			}
			if got, want := col("session_duration_seconds").(*array.Float64).Value(i), s.DurationSeconds(); got != want {
				return nil, nil, fmt.Errorf("row %d: session_duration_seconds %v, want %v", len(out), got, want)
			}
			out = append(out, s)
			ids = append(ids, col("session_id").(*array.String).Value(i))
		}
	}
	return out, ids, rr.Err()
}
