package iceberg

import (
	"fmt"
	"slices"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"

	"github.com/sessionize/sessionize/internal/session"
)

// stringValues is satisfied by both Arrow string layouts, so reading does
// not depend on whether the scan chose large types.
type stringValues interface {
	arrow.Array
	Value(int) string
}

// recordColumns looks up a scanned record's columns by name with a type
// check, remembering the first error so callers check once.
type recordColumns struct {
	rec arrow.RecordBatch
	err error
}

func col[T arrow.Array](c *recordColumns, name string) T {
	var zero T
	if c.err != nil {
		return zero
	}
	idx := c.rec.Schema().FieldIndices(name)
	if len(idx) != 1 {
		c.err = fmt.Errorf("scanned record has %d columns named %q", len(idx), name)
		return zero
	}
	a, ok := c.rec.Column(idx[0]).(T)
	if !ok {
		c.err = fmt.Errorf("scanned column %q is %s, not the expected type", name, c.rec.Column(idx[0]).DataType())
	}
	return a
}

// optCol is col for a column the record may lack: the zero T (nil) when
// it has none.
func optCol[T arrow.Array](c *recordColumns, name string) T {
	var zero T
	if c.err != nil || len(c.rec.Schema().FieldIndices(name)) == 0 {
		return zero
	}
	return col[T](c, name)
}

func optionalInt64(a *array.Int64, i int) *int64 {
	if a.IsNull(i) {
		return nil
	}
	v := a.Value(i)
	return &v
}

// SessionColumns are the sessions table's columns that SessionRow carries
// (every column but the derived session_start), in table order.
func SessionColumns() []string { return session.ColumnNames() }

// SessionsFromRecord appends the rows of an Arrow record with the sessions
// columns (a table scan, or a Parquet file written by batch) to out.
func SessionsFromRecord(rec arrow.RecordBatch, out []SessionRow) ([]SessionRow, error) {
	err := VisitSessions(rec, SessionColumns(), func(r *SessionRow) {
		row := *r
		row.PagesVisited = slices.Clone(r.PagesVisited)
		if row.PagesVisited == nil {
			row.PagesVisited = []string{}
		}
		row.BoolAttrs = slices.Clone(r.BoolAttrs)
		out = append(out, row)
	})
	return out, err
}

// VisitSessions calls fn with each row of rec, a record with some of the
// sessions columns: a scan that selected only the columns it needs, or a
// Parquet file. Every column in required must be in rec; a column that is
// not leaves its field zero. The record's boolean attribute columns
// (BoolAttrColumns) are in BoolAttrs, but for their null values. fn gets
// the same *SessionRow every time, and its strings, PagesVisited and
// BoolAttrs point into rec and reused buffers: copy what outlives the call. Nothing is allocated per row, so a scan of
// millions of sessions costs no garbage.
func VisitSessions(rec arrow.RecordBatch, required []string, fn func(*SessionRow)) error {
	c := &recordColumns{rec: rec}
	for _, name := range required {
		if len(rec.Schema().FieldIndices(name)) == 0 {
			return fmt.Errorf("record has no column %q", name)
		}
	}
	sessionID := optCol[stringValues](c, session.ColSessionID)
	uuid := optCol[stringValues](c, session.ColUUID)
	startMs := optCol[*array.Int64](c, session.ColStartMs)
	endMs := optCol[*array.Int64](c, session.ColEndMs)
	duration := optCol[*array.Float64](c, session.ColDuration)
	events := optCol[*array.Int64](c, session.ColEventCount)
	pages := optCol[array.ListLike](c, session.ColPages)
	truncated := optCol[*array.Boolean](c, session.ColPagesTruncated)
	entry := optCol[stringValues](c, session.ColEntryPage)
	exit := optCol[stringValues](c, session.ColExitPage)
	reason := optCol[stringValues](c, session.ColEndReason)
	boolNames := BoolAttrColumns(rec.Schema())
	bools := make([]*array.Boolean, len(boolNames))
	for j, name := range boolNames {
		bools[j] = col[*array.Boolean](c, name)
	}
	if c.err != nil {
		return c.err
	}
	var pageValues stringValues
	if pages != nil {
		var ok bool
		if pageValues, ok = pages.ListValues().(stringValues); !ok {
			return fmt.Errorf("scanned pages_visited elements are %s, not strings", pages.ListValues().DataType())
		}
	}
	var (
		row     SessionRow
		visited []string
	)
	for i := range int(rec.NumRows()) {
		if sessionID != nil {
			row.SessionID = sessionID.Value(i)
		}
		if uuid != nil {
			row.UUID = uuid.Value(i)
		}
		if startMs != nil {
			row.SessionStartTimeMs = startMs.Value(i)
		}
		if endMs != nil {
			row.SessionEndTimeMs = endMs.Value(i)
		}
		if duration != nil {
			row.SessionDurationSeconds = duration.Value(i)
		}
		if events != nil {
			row.EventCount = events.Value(i)
		}
		if pages != nil {
			lo, hi := pages.ValueOffsets(i)
			visited = visited[:0]
			for j := lo; j < hi; j++ {
				visited = append(visited, pageValues.Value(int(j)))
			}
			row.PagesVisited = visited
		}
		if truncated != nil {
			row.PagesTruncated = truncated.Value(i)
		}
		if entry != nil {
			row.EntryPage = entry.Value(i)
		}
		if exit != nil {
			row.ExitPage = exit.Value(i)
		}
		if reason != nil {
			row.EndReason = reason.Value(i)
		}
		if len(bools) > 0 {
			row.BoolAttrs = row.BoolAttrs[:0]
			for j, b := range bools {
				if !b.IsNull(i) {
					row.BoolAttrs = append(row.BoolAttrs, BoolAttr{Name: boolNames[j], Value: b.Value(i)})
				}
			}
		}
		fn(&row)
	}
	return nil
}

func lateFromRecord(rec arrow.RecordBatch, out []LateRow) ([]LateRow, error) {
	c := &recordColumns{rec: rec}
	raw := col[stringValues](c, "raw")
	topic := col[stringValues](c, "topic")
	partition := col[*array.Int32](c, "partition")
	offset := col[*array.Int64](c, "offset")
	kafkaMs := col[*array.Int64](c, "kafka_timestamp_ms")
	watermark := col[*array.Int64](c, "watermark_ms")
	eventID := col[stringValues](c, "event_id")
	uuid := col[stringValues](c, "uuid")
	eventMs := col[*array.Int64](c, "event_timestamp_ms")
	if c.err != nil {
		return out, c.err
	}
	for i := range int(rec.NumRows()) {
		out = append(out, LateRow{
			Raw:              raw.Value(i),
			Topic:            topic.Value(i),
			Partition:        partition.Value(i),
			Offset:           offset.Value(i),
			KafkaTimestampMs: kafkaMs.Value(i),
			WatermarkMs:      optionalInt64(watermark, i),
			EventID:          eventID.Value(i),
			UUID:             uuid.Value(i),
			EventTimestampMs: eventMs.Value(i),
		})
	}
	return out, nil
}

func rejectedFromRecord(rec arrow.RecordBatch, out []RejectedRow) ([]RejectedRow, error) {
	c := &recordColumns{rec: rec}
	raw := col[stringValues](c, "raw")
	reason := col[stringValues](c, "reason")
	topic := col[stringValues](c, "topic")
	partition := col[*array.Int32](c, "partition")
	offset := col[*array.Int64](c, "offset")
	kafkaMs := col[*array.Int64](c, "kafka_timestamp_ms")
	watermark := col[*array.Int64](c, "watermark_ms")
	if c.err != nil {
		return out, c.err
	}
	for i := range int(rec.NumRows()) {
		out = append(out, RejectedRow{
			Raw:              raw.Value(i),
			Reason:           reason.Value(i),
			Topic:            topic.Value(i),
			Partition:        partition.Value(i),
			Offset:           offset.Value(i),
			KafkaTimestampMs: kafkaMs.Value(i),
			WatermarkMs:      optionalInt64(watermark, i),
		})
	}
	return out, nil
}

func eventsFromRecord(rec arrow.RecordBatch, out []EventRow) ([]EventRow, error) {
	c := &recordColumns{rec: rec}
	sessionID := col[stringValues](c, "session_id")
	index := col[*array.Int64](c, "event_index")
	startMs := col[*array.Int64](c, "session_start_time_ms")
	uuid := col[stringValues](c, "uuid")
	eventID := col[stringValues](c, "event_id")
	eventMs := col[*array.Int64](c, "event_timestamp_ms")
	page := col[stringValues](c, "page_name")
	raw := col[stringValues](c, "raw")
	partition := col[*array.Int32](c, "partition")
	offset := col[*array.Int64](c, "offset")
	if c.err != nil {
		return out, c.err
	}
	for i := range int(rec.NumRows()) {
		out = append(out, EventRow{
			SessionID: sessionID.Value(i), EventIndex: index.Value(i), SessionStartTimeMs: startMs.Value(i),
			UUID: uuid.Value(i), EventID: eventID.Value(i), EventTimestampMs: eventMs.Value(i), PageName: page.Value(i),
			Raw: raw.Value(i), Partition: partition.Value(i), Offset: offset.Value(i),
		})
	}
	return out, nil
}
