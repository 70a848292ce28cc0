package iceberg

import (
	"fmt"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
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

func optionalInt64(a *array.Int64, i int) *int64 {
	if a.IsNull(i) {
		return nil
	}
	v := a.Value(i)
	return &v
}

// SessionsFromRecord appends the rows of an Arrow record with the sessions
// columns (a table scan, or a Parquet file written by batch) to out.
func SessionsFromRecord(rec arrow.RecordBatch, out []SessionRow) ([]SessionRow, error) {
	c := &recordColumns{rec: rec}
	sessionID := col[stringValues](c, "session_id")
	uuid := col[stringValues](c, "uuid")
	startMs := col[*array.Int64](c, "session_start_time_ms")
	endMs := col[*array.Int64](c, "session_end_time_ms")
	duration := col[*array.Float64](c, "session_duration_seconds")
	events := col[*array.Int64](c, "event_count")
	pages := col[array.ListLike](c, "pages_visited")
	truncated := col[*array.Boolean](c, "pages_truncated")
	entry := col[stringValues](c, "entry_page")
	exit := col[stringValues](c, "exit_page")
	reason := col[stringValues](c, "end_reason")
	if c.err != nil {
		return out, c.err
	}
	pageValues, ok := pages.ListValues().(stringValues)
	if !ok {
		return out, fmt.Errorf("scanned pages_visited elements are %s, not strings", pages.ListValues().DataType())
	}
	for i := range int(rec.NumRows()) {
		lo, hi := pages.ValueOffsets(i)
		visited := make([]string, 0, hi-lo)
		for j := lo; j < hi; j++ {
			visited = append(visited, pageValues.Value(int(j)))
		}
		out = append(out, SessionRow{
			SessionID:              sessionID.Value(i),
			UUID:                   uuid.Value(i),
			SessionStartTimeMs:     startMs.Value(i),
			SessionEndTimeMs:       endMs.Value(i),
			SessionDurationSeconds: duration.Value(i),
			EventCount:             events.Value(i),
			PagesVisited:           visited,
			PagesTruncated:         truncated.Value(i),
			EntryPage:              entry.Value(i),
			ExitPage:               exit.Value(i),
			EndReason:              reason.Value(i),
		})
	}
	return out, nil
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
