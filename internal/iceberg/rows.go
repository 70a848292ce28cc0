package iceberg

import "github.com/sessionize/sessionize/internal/session"

// SessionRow is one row of the sessions table; its JSON form is the line
// batch writes. The table also has a
// session_start timestamp column; it is derived from SessionStartTimeMs on
// write (it only exists to partition by day) and so has no field here.
type SessionRow struct {
	SessionID              string   `json:"session_id"`
	UUID                   string   `json:"uuid"`
	SessionStartTimeMs     int64    `json:"session_start_time_ms"`
	SessionEndTimeMs       int64    `json:"session_end_time_ms"`
	SessionDurationSeconds float64  `json:"session_duration_seconds"`
	EventCount             int64    `json:"event_count"`
	PagesVisited           []string `json:"pages_visited"`
	PagesTruncated         bool     `json:"pages_truncated"`
	EntryPage              string   `json:"entry_page"`
	ExitPage               string   `json:"exit_page"`
	EndReason              string   `json:"end_reason"`
	// BoolAttrs are the session's boolean attributes (--session-attr
	// NAME=any(...)) as a reader found them (VisitSessions, report's JSON
	// lines reader), for report's rates; writers write Attrs.
	BoolAttrs []BoolAttr `json:"-"`
	// Attrs are the session attributes a writer writes, in the order of
	// its Config.SessionAttrs.
	Attrs []AttrValue `json:"-"`
}

// BoolAttr is one boolean session attribute.
type BoolAttr struct {
	Name  string
	Value bool
}

// LateRow is one row of the late_events table: an event that was valid but
// arrived after its session had been closed by the watermark. Its reason
// column is always "late" (LateReason). The derived kafka_timestamp column
// is computed from KafkaTimestampMs on write.
type LateRow struct {
	// Raw is the Kafka record value. Bytes that are not valid UTF-8 are
	// stored as U+FFFD.
	Raw              string
	Topic            string
	Partition        int32
	Offset           int64
	KafkaTimestampMs int64
	// WatermarkMs is nil when the partition had no watermark yet.
	WatermarkMs      *int64
	EventID          string
	UUID             string
	EventTimestampMs int64
}

// EventRow is one row of the events table. The derived session_start
// column is computed from SessionStartTimeMs on write.
type EventRow struct {
	SessionID          string
	EventIndex         int64
	SessionStartTimeMs int64
	UUID               string
	EventID            string
	EventTimestampMs   int64
	PageName           string
	// Raw is the Kafka record value; bytes that are not valid UTF-8 are
	// stored as U+FFFD.
	Raw       string
	Partition int32
	Offset    int64
}

// LateReason is the reason column of every late_events row.
const LateReason = "late"

// RejectedRow is one row of the rejected_events table: a record that could
// not be used (unparsable, missing fields, bad timestamp). The derived
// kafka_timestamp column is computed from KafkaTimestampMs on write.
type RejectedRow struct {
	// Raw is the Kafka record value. Bytes that are not valid UTF-8 are
	// stored as U+FFFD.
	Raw              string
	Reason           string
	Topic            string
	Partition        int32
	Offset           int64
	KafkaTimestampMs int64
	// WatermarkMs is nil when the partition had no watermark yet.
	WatermarkMs *int64
}

// NewSessionRow converts an engine session into a table row. The row shares
// s.Pages; copy it if the engine reuses the slice.
func NewSessionRow(s *session.Session) SessionRow {
	return SessionRow{
		SessionID: s.ID(), UUID: s.UUID, SessionStartTimeMs: s.StartMs, SessionEndTimeMs: s.EndMs,
		SessionDurationSeconds: s.DurationSeconds(), EventCount: s.EventCount, PagesVisited: s.Pages,
		PagesTruncated: s.PagesTruncated, EntryPage: s.EntryPage, ExitPage: s.ExitPage, EndReason: s.EndReason.String(),
	}
}
