package batch

import (
	"github.com/sessionize/sessionize/internal/event"
	"github.com/sessionize/sessionize/internal/session"
)

// rowVisitor receives one record of a structured input (CSV, Parquet). raw is
// the record as the user would recognise it (the CSV line, the row as JSON)
// for the rejected output; f holds the fields the schema's rules extracted
// when reason is OK (nil for a row that is not parseable CSV). line is
// 1-based within the file. The slices in raw and f are only valid during
// the call.
type rowVisitor func(raw []byte, f *event.Fields, reason event.Reason, line int64) error

// sessionWriter writes output sessions in one file format. Write must not
// keep s or its Pages after returning. Close flushes and finishes the
// format but does not close the underlying io.Writer.
type sessionWriter interface {
	Write(s *session.Session) error
	Close() error
}
