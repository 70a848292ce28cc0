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
	"github.com/sessionize/sessionize/internal/session"
)

// parquetSessionBatch is how many sessions are buffered per record batch;
// each batch becomes one row group.
const parquetSessionBatch = 64 << 10

// parquetSessionSchema returns the output schema: the JSON lines fields, all
// required, so readers need no null handling.
func parquetSessionSchema() *arrow.Schema {
	str := arrow.BinaryTypes.String
	return arrow.NewSchema([]arrow.Field{
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
	}, nil)
}

// parquetSessionWriter buffers sessions in Arrow builders and writes a row
// group every parquetSessionBatch sessions.
type parquetSessionWriter struct {
	fw *pqarrow.FileWriter
	rb *array.RecordBuilder
	n  int // sessions buffered in rb

	sessionID, uuid, entry, exit, reason *array.StringBuilder
	start, end, count                    *array.Int64Builder
	duration                             *array.Float64Builder
	pages                                *array.ListBuilder
	page                                 *array.StringBuilder
	truncated                            *array.BooleanBuilder
	closed                               bool
}

// parquetNopCloser hides w's Close: pqarrow closes its sink if it can, and
// the sessionWriter contract leaves w to the caller.
type parquetNopCloser struct{ io.Writer }

func newParquetSessionWriter(w io.Writer) (sessionWriter, error) {
	sc := parquetSessionSchema()
	props := parquet.NewWriterProperties(
		parquet.WithCompression(compress.Codecs.Zstd),
		parquet.WithAllocator(memory.DefaultAllocator),
		// Unique per session: a dictionary would only be built to be
		// abandoned once it outgrows the page.
		parquet.WithDictionaryFor("session_id", false),
		parquet.WithDictionaryFor("session_start_time_ms", false),
		parquet.WithDictionaryFor("session_end_time_ms", false),
	)
	fw, err := pqarrow.NewFileWriter(sc, parquetNopCloser{w}, props, pqarrow.DefaultWriterProps())
	if err != nil {
		return nil, fmt.Errorf("create parquet writer: %w", err)
	}
	rb := array.NewRecordBuilder(memory.DefaultAllocator, sc)
	pages := rb.Field(6).(*array.ListBuilder)
	return &parquetSessionWriter{
		fw:        fw,
		rb:        rb,
		sessionID: rb.Field(0).(*array.StringBuilder),
		uuid:      rb.Field(1).(*array.StringBuilder),
		start:     rb.Field(2).(*array.Int64Builder),
		end:       rb.Field(3).(*array.Int64Builder),
		duration:  rb.Field(4).(*array.Float64Builder),
		count:     rb.Field(5).(*array.Int64Builder),
		pages:     pages,
		page:      pages.ValueBuilder().(*array.StringBuilder),
		truncated: rb.Field(7).(*array.BooleanBuilder),
		entry:     rb.Field(8).(*array.StringBuilder),
		exit:      rb.Field(9).(*array.StringBuilder),
		reason:    rb.Field(10).(*array.StringBuilder),
	}, nil
}

func (p *parquetSessionWriter) Write(s *session.Session) error {
	if p.closed {
		return fmt.Errorf("write parquet session: writer is closed")
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
	p.n++
	if p.n >= parquetSessionBatch {
		return p.flush()
	}
	return nil
}

func (p *parquetSessionWriter) flush() error {
	if p.n == 0 {
		return nil
	}
	rec := p.rb.NewRecordBatch()
	defer rec.Release()
	p.n = 0
	if err := p.fw.Write(rec); err != nil {
		return fmt.Errorf("write parquet sessions: %w", err)
	}
	return nil
}

// Close writes the buffered sessions and the footer. Without it the file
// is not valid Parquet.
func (p *parquetSessionWriter) Close() error {
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
		return fmt.Errorf("finish parquet file: %w", err)
	}
	return nil
}
