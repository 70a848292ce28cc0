package batch

import (
	"fmt"
	"io"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/arrow-go/v18/parquet"
	"github.com/apache/arrow-go/v18/parquet/compress"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"
	"github.com/sessionize/sessionize/internal/rule"
	"github.com/sessionize/sessionize/internal/session"
)

// parquetSessionBatch is how many sessions are buffered per record batch;
// each batch becomes one row group.
const parquetSessionBatch = 64 << 10

// parquetSessionSchema returns the output schema: the JSON lines fields, all
// required, so readers need no null handling.
func parquetSessionSchema(attrs ...arrow.Field) *arrow.Schema {
	str := arrow.BinaryTypes.String
	return arrow.NewSchema(append([]arrow.Field{
		{Name: "session_id", Type: str},
		{Name: "uuid", Type: str},
		{Name: "session_start_time_ms", Type: arrow.PrimitiveTypes.Int64},
		{Name: "session_end_time_ms", Type: arrow.PrimitiveTypes.Int64},
		{Name: "session_duration_seconds", Type: arrow.PrimitiveTypes.Float64},
		{Name: "event_count", Type: arrow.PrimitiveTypes.Int64},
		{Name: "pages_visited", Type: arrow.ListOfNonNullable(str)},
		{Name: "pages_truncated", Type: arrow.FixedWidthTypes.Boolean},
		{Name: "entry_page", Type: str},
		{Name: "exit_page", Type: str},
		{Name: "end_reason", Type: str},
	}, attrs...), nil)
}

// parquetSessionWriter buffers sessions in Arrow builders and writes a row
// group every parquetSessionBatch sessions.
type parquetSessionWriter struct {
	parquetRows

	sessionID, uuid, entry, exit, reason *array.StringBuilder
	start, end, count                    *array.Int64Builder
	duration                             *array.Float64Builder
	pages                                *array.ListBuilder
	page                                 *array.StringBuilder
	truncated                            *array.BooleanBuilder
	set                                  *rule.Set
	attrs                                []array.Builder
}

// parquetNopCloser hides w's Close: pqarrow closes its sink if it can, and
// the sessionWriter contract leaves w to the caller.
type parquetNopCloser struct{ io.Writer }

func newParquetSessionWriter(w io.Writer, set *rule.Set) (sessionWriter, error) {
	pr, err := newParquetRows(w, parquetSessionSchema(attrFields(set)...), "sessions", "session_id", "session_start_time_ms", "session_end_time_ms")
	if err != nil {
		return nil, err
	}
	rb := pr.rb
	pages := rb.Field(6).(*array.ListBuilder)
	var attrs []array.Builder
	for i := range set.Attrs() {
		attrs = append(attrs, rb.Field(11+i))
	}
	return &parquetSessionWriter{
		set:         set,
		attrs:       attrs,
		parquetRows: pr,
		sessionID:   rb.Field(0).(*array.StringBuilder),
		uuid:        rb.Field(1).(*array.StringBuilder),
		start:       rb.Field(2).(*array.Int64Builder),
		end:         rb.Field(3).(*array.Int64Builder),
		duration:    rb.Field(4).(*array.Float64Builder),
		count:       rb.Field(5).(*array.Int64Builder),
		pages:       pages,
		page:        pages.ValueBuilder().(*array.StringBuilder),
		truncated:   rb.Field(7).(*array.BooleanBuilder),
		entry:       rb.Field(8).(*array.StringBuilder),
		exit:        rb.Field(9).(*array.StringBuilder),
		reason:      rb.Field(10).(*array.StringBuilder),
	}, nil
}

func (p *parquetSessionWriter) Write(s *session.Session) error {
	if err := p.check(); err != nil {
		return err
	}
	p.sessionID.Append(s.ID())
	p.uuid.Append(s.UUID)
	p.start.Append(s.StartMs)
	p.end.Append(s.EndMs)
	p.duration.Append(s.DurationSeconds())
	p.count.Append(s.EventCount)
	p.pages.Append(true)
	for _, pg := range s.Pages {
		p.page.Append(pg)
	}
	p.truncated.Append(s.PagesTruncated)
	p.entry.Append(s.EntryPage)
	p.exit.Append(s.ExitPage)
	p.reason.Append(s.EndReason.String())
	if len(p.attrs) > 0 {
		if err := appendAttrs(p.attrs, p.set, s.Attrs); err != nil {
			return err
		}
	}
	return p.added(1)
}

// parquetRows is a Parquet file being written from Arrow builders: what
// the sessions and events writers share. what names the rows in errors.
type parquetRows struct {
	fw     *pqarrow.FileWriter
	rb     *array.RecordBuilder
	n      int // rows buffered in rb
	closed bool
	what   string
}

func newParquetRows(w io.Writer, sc *arrow.Schema, what string, noDict ...string) (parquetRows, error) {
	opts := []parquet.WriterProperty{
		parquet.WithCompression(compress.Codecs.Zstd),
		parquet.WithAllocator(memory.DefaultAllocator),
	}
	// Columns unique per row: a dictionary would only be built to be
	// abandoned once it outgrows the page.
	for _, c := range noDict {
		opts = append(opts, parquet.WithDictionaryFor(c, false))
	}
	fw, err := pqarrow.NewFileWriter(sc, parquetNopCloser{w}, parquet.NewWriterProperties(opts...), pqarrow.DefaultWriterProps())
	if err != nil {
		return parquetRows{}, fmt.Errorf("create parquet %s writer: %w", what, err)
	}
	return parquetRows{fw: fw, rb: array.NewRecordBuilder(memory.DefaultAllocator, sc), what: what}, nil
}

func (p *parquetRows) check() error {
	if p.closed {
		return fmt.Errorf("write parquet %s: writer is closed", p.what)
	}
	return nil
}

// added counts rows appended to the builders, writing a row group every
// parquetSessionBatch rows.
func (p *parquetRows) added(rows int) error {
	p.n += rows
	if p.n >= parquetSessionBatch {
		return p.flush()
	}
	return nil
}

func (p *parquetRows) flush() error {
	if p.n == 0 {
		return nil
	}
	rec := p.rb.NewRecordBatch()
	defer rec.Release()
	p.n = 0
	if err := p.fw.Write(rec); err != nil {
		return fmt.Errorf("write parquet %s: %w", p.what, err)
	}
	return nil
}

// Close writes the buffered rows and the footer. Without it the file is
// not valid Parquet.
func (p *parquetRows) Close() error {
	if p.closed {
		return nil
	}
	p.closed = true
	defer p.rb.Release()
	if err := p.flush(); err != nil {
		p.fw.Close()
		return err
	}
	if err := p.fw.Close(); err != nil {
		return fmt.Errorf("finish parquet %s file: %w", p.what, err)
	}
	return nil
}
