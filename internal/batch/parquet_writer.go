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

// parquetSessionSchema returns the output schema: session.Columns (the
// JSON lines fields), all required, so readers need no null handling, and
// then the attributes.
func parquetSessionSchema(attrs ...arrow.Field) *arrow.Schema {
	var fields []arrow.Field
	for _, c := range session.Columns() {
		var t arrow.DataType
		switch c.Type {
		case session.TypeString:
			t = arrow.BinaryTypes.String
		case session.TypeInt64:
			t = arrow.PrimitiveTypes.Int64
		case session.TypeFloat64:
			t = arrow.PrimitiveTypes.Float64
		case session.TypeBool:
			t = arrow.FixedWidthTypes.Boolean
		case session.TypeStringList:
			t = arrow.ListOfNonNullable(arrow.BinaryTypes.String)
		default:
			panic(fmt.Sprintf("session column %s: type %d has no Arrow type", c.Name, c.Type))
		}
		fields = append(fields, arrow.Field{Name: c.Name, Type: t})
	}
	return arrow.NewSchema(append(fields, attrs...), nil)
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
	pr, err := newParquetRows(w, parquetSessionSchema(attrFields(set)...), "sessions", session.ColSessionID, session.ColStartMs, session.ColEndMs)
	if err != nil {
		return nil, err
	}
	rb := pr.rb
	field := func(name string) array.Builder { return rb.Field(rb.Schema().FieldIndices(name)[0]) }
	pages := field(session.ColPages).(*array.ListBuilder)
	var attrs []array.Builder
	for i := range set.Attrs() {
		attrs = append(attrs, rb.Field(len(session.Columns())+i))
	}
	return &parquetSessionWriter{
		set:         set,
		attrs:       attrs,
		parquetRows: pr,
		sessionID:   field(session.ColSessionID).(*array.StringBuilder),
		uuid:        field(session.ColUUID).(*array.StringBuilder),
		start:       field(session.ColStartMs).(*array.Int64Builder),
		end:         field(session.ColEndMs).(*array.Int64Builder),
		duration:    field(session.ColDuration).(*array.Float64Builder),
		count:       field(session.ColEventCount).(*array.Int64Builder),
		pages:       pages,
		page:        pages.ValueBuilder().(*array.StringBuilder),
		truncated:   field(session.ColPagesTruncated).(*array.BooleanBuilder),
		entry:       field(session.ColEntryPage).(*array.StringBuilder),
		exit:        field(session.ColExitPage).(*array.StringBuilder),
		reason:      field(session.ColEndReason).(*array.StringBuilder),
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
