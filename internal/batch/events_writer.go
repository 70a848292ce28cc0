package batch

import (
	"io"
	"strconv"
	"strings"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/klauspost/compress/gzip"

	"github.com/sessionize/sessionize/internal/session"
)

// The events output (--output-events) has one row per accepted event of an
// emitted session, tagged with the session it belongs to: the row's
// session_id is the session row's, event_index its 0-based position in the
// session (session order: time, then event id), and raw the record as read.
// The writers are sessionWriters that write a session's Events, so they sit
// beside the sessions writers in one multiWriter.

// newEventsWriter picks the events format from the file name, as
// newOutputWriter does for sessions.
func newEventsWriter(path string, w io.Writer) (sessionWriter, error) {
	p := strings.ToLower(path)
	switch {
	case strings.HasSuffix(p, ".parquet") || strings.HasSuffix(p, ".pq"):
		return newParquetEventsWriter(w)
	case strings.HasSuffix(p, ".gz"):
		zw := gzip.NewWriter(w)
		return &gzipSessionWriter{jsonlWriter: newJSONLWriterFunc(zw, appendEventsJSON), zw: zw}, nil
	}
	return newJSONLWriterFunc(w, appendEventsJSON), nil
}

// appendEventsJSON appends one JSON line per event of s.
func appendEventsJSON(b []byte, s *session.Session) ([]byte, error) {
	id := s.ID()
	for i := range s.Events {
		b = AppendEventJSON(b, s, id, i)
		b = append(b, '\n')
	}
	return b, nil
}

// AppendEventJSON appends event i of s (whose id is sessionID) as a JSON
// object with the events output's field names.
func AppendEventJSON(b []byte, s *session.Session, sessionID string, i int) []byte {
	e := &s.Events[i]
	b = append(b, `{"session_id":"`...)
	b = append(b, sessionID...)
	b = append(b, `","event_index":`...)
	b = strconv.AppendInt(b, int64(i), 10)
	b = append(b, `,"session_start_time_ms":`...)
	b = strconv.AppendInt(b, s.StartMs, 10)
	b = append(b, `,"uuid":`...)
	b = appendJSONString(b, s.UUID)
	b = append(b, `,"event_id":`...)
	b = appendJSONString(b, e.ID)
	b = append(b, `,"event_timestamp":`...)
	b = strconv.AppendInt(b, e.TimeMs, 10)
	b = append(b, `,"page_name":`...)
	b = appendJSONString(b, e.Page)
	b = append(b, `,"raw":`...)
	b = appendJSONString(b, e.Raw)
	return append(b, '}')
}

// parquetEventsSchema is the events output's Parquet schema: the JSON lines
// fields, all required.
func parquetEventsSchema() *arrow.Schema {
	str := arrow.BinaryTypes.String
	i64 := arrow.PrimitiveTypes.Int64
	return arrow.NewSchema([]arrow.Field{
		{Name: "session_id", Type: str},
		{Name: "event_index", Type: i64},
		{Name: "session_start_time_ms", Type: i64},
		{Name: "uuid", Type: str},
		{Name: "event_id", Type: str},
		{Name: "event_timestamp", Type: i64},
		{Name: "page_name", Type: str},
		{Name: "raw", Type: str},
	}, nil)
}

// parquetEventsWriter buffers events in Arrow builders and writes a row
// group every parquetSessionBatch events.
type parquetEventsWriter struct {
	parquetRows

	sessionID, uuid, eventID, page, raw *array.StringBuilder
	index, start, ts                    *array.Int64Builder
}

func newParquetEventsWriter(w io.Writer) (sessionWriter, error) {
	pr, err := newParquetRows(w, parquetEventsSchema(), "events", "event_id", "event_timestamp", "raw")
	if err != nil {
		return nil, err
	}
	rb := pr.rb
	return &parquetEventsWriter{
		parquetRows: pr,
		sessionID:   rb.Field(0).(*array.StringBuilder),
		index:       rb.Field(1).(*array.Int64Builder),
		start:       rb.Field(2).(*array.Int64Builder),
		uuid:        rb.Field(3).(*array.StringBuilder),
		eventID:     rb.Field(4).(*array.StringBuilder),
		ts:          rb.Field(5).(*array.Int64Builder),
		page:        rb.Field(6).(*array.StringBuilder),
		raw:         rb.Field(7).(*array.StringBuilder),
	}, nil
}

func (p *parquetEventsWriter) Write(s *session.Session) error {
	if err := p.check(); err != nil {
		return err
	}
	id := s.ID()
	for i := range s.Events {
		e := &s.Events[i]
		p.sessionID.Append(id)
		p.index.Append(int64(i))
		p.start.Append(s.StartMs)
		p.uuid.Append(s.UUID)
		p.eventID.Append(e.ID)
		p.ts.Append(e.TimeMs)
		p.page.Append(e.Page)
		p.raw.Append(e.Raw)
	}
	return p.added(len(s.Events))
}
