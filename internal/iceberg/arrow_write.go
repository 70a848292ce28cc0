package iceberg

import (
	"fmt"
	"iter"
	"strings"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/iceberg-go"
	"github.com/apache/iceberg-go/table"

	"github.com/sessionize/sessionize/internal/session"
)

// batchRows caps the rows per Arrow record handed to the Parquet writer, so
// a large commit is streamed in pieces instead of built as one huge record.
const batchRows = 16 << 10

// arrowSchema converts a table schema to Arrow with the Iceberg field IDs
// attached, so iceberg-go matches columns by ID when it writes.
func arrowSchema(sc *iceberg.Schema) (*arrow.Schema, error) {
	s, err := table.SchemaToArrowSchema(sc, nil, true, false)
	if err != nil {
		return nil, fmt.Errorf("convert iceberg schema to arrow: %w", err)
	}
	return s, nil
}

// columns finds a record builder's field builders by column name, so the
// appenders below do not depend on column order.
type columns struct {
	rb     *array.RecordBuilder
	schema *arrow.Schema
	err    error
}

func column[T array.Builder](c *columns, name string) T {
	var zero T
	if c.err != nil {
		return zero
	}
	idx := c.schema.FieldIndices(name)
	if len(idx) != 1 {
		c.err = fmt.Errorf("arrow schema has %d columns named %q", len(idx), name)
		return zero
	}
	b, ok := c.rb.Field(idx[0]).(T)
	if !ok {
		c.err = fmt.Errorf("column %q: builder is %T, want %T", name, c.rb.Field(idx[0]), zero)
	}
	return b
}

// msToMicros converts epoch milliseconds to the microseconds of an Iceberg
// timestamptz column.
func msToMicros(ms int64) arrow.Timestamp { return arrow.Timestamp(ms * 1000) }

// validUTF8 keeps string columns readable by every engine: invalid bytes in
// a raw Kafka value become U+FFFD.
func validUTF8(s string) string { return strings.ToValidUTF8(s, "\uFFFD") }

func appendOptionalInt64(b *array.Int64Builder, v *int64) {
	if v == nil {
		b.AppendNull()
		return
	}
	b.Append(*v)
}

// rowAppender adds one row to the builders it captured.
type rowAppender[R any] func(*R)

// rowBinding is what a table's bind function returns: the appender, and
// optionally reserve, which sizes the variable-length columns' buffers for
// a batch of rows before they are appended. Without it a string builder
// grows by doubling, batch after batch: in a 5M-event stream drain, 723 MB
// of the 948 MB Arrow allocated were those regrown buffers.
type rowBinding[R any] struct {
	add     rowAppender[R]
	reserve func([]R)
}

// bindSessions returns a binding that writes SessionRows with attrs (see
// attrs.go) into rb. Only the sessions' own string columns are reserved;
// the optional attribute columns still grow as they fill.
func bindSessions(attrs []AttrColumn) func(c *columns) rowBinding[SessionRow] {
	return func(c *columns) rowBinding[SessionRow] {
		own := bindOwnSessions(c)
		if c.err != nil || len(attrs) == 0 {
			return own
		}
		withAttrs := bindAttrs(c, attrs)
		if c.err != nil {
			return rowBinding[SessionRow]{}
		}
		return rowBinding[SessionRow]{
			add: func(r *SessionRow) {
				own.add(r)
				withAttrs(r)
			},
			reserve: own.reserve,
		}
	}
}

// bindOwnSessions returns the binding of the sessions' own columns.
func bindOwnSessions(c *columns) rowBinding[SessionRow] {
	sessionID := column[*array.StringBuilder](c, session.ColSessionID)
	uuid := column[*array.StringBuilder](c, session.ColUUID)
	startMs := column[*array.Int64Builder](c, session.ColStartMs)
	endMs := column[*array.Int64Builder](c, session.ColEndMs)
	duration := column[*array.Float64Builder](c, session.ColDuration)
	events := column[*array.Int64Builder](c, session.ColEventCount)
	pages := column[*array.ListBuilder](c, session.ColPages)
	truncated := column[*array.BooleanBuilder](c, session.ColPagesTruncated)
	entry := column[*array.StringBuilder](c, session.ColEntryPage)
	exit := column[*array.StringBuilder](c, session.ColExitPage)
	reason := column[*array.StringBuilder](c, session.ColEndReason)
	start := column[*array.TimestampBuilder](c, SessionStartColumn)
	if c.err != nil {
		return rowBinding[SessionRow]{}
	}
	page, ok := pages.ValueBuilder().(*array.StringBuilder)
	if !ok {
		c.err = fmt.Errorf("%s element builder is %T, want string", session.ColPages, pages.ValueBuilder())
		return rowBinding[SessionRow]{}
	}
	reserve := func(rows []SessionRow) {
		var ids, uuids, pageN, pageBytes, entries, exits, reasons int
		for i := range rows {
			r := &rows[i]
			ids += len(r.SessionID)
			uuids += len(r.UUID)
			pageN += len(r.PagesVisited)
			for _, p := range r.PagesVisited {
				pageBytes += len(p)
			}
			entries += len(r.EntryPage)
			exits += len(r.ExitPage)
			reasons += len(r.EndReason)
		}
		sessionID.ReserveData(ids)
		uuid.ReserveData(uuids)
		page.Reserve(pageN)
		page.ReserveData(pageBytes)
		entry.ReserveData(entries)
		exit.ReserveData(exits)
		reason.ReserveData(reasons)
	}
	add := func(r *SessionRow) {
		sessionID.Append(r.SessionID)
		uuid.Append(r.UUID)
		startMs.Append(r.SessionStartTimeMs)
		endMs.Append(r.SessionEndTimeMs)
		duration.Append(r.SessionDurationSeconds)
		events.Append(r.EventCount)
		pages.Append(true)
		for _, p := range r.PagesVisited {
			page.Append(p)
		}
		truncated.Append(r.PagesTruncated)
		entry.Append(r.EntryPage)
		exit.Append(r.ExitPage)
		reason.Append(r.EndReason)
		start.Append(msToMicros(r.SessionStartTimeMs))
	}
	return rowBinding[SessionRow]{add: add, reserve: reserve}
}

func bindLate(c *columns) rowBinding[LateRow] {
	raw := column[*array.StringBuilder](c, "raw")
	topic := column[*array.StringBuilder](c, "topic")
	partition := column[*array.Int32Builder](c, "partition")
	offset := column[*array.Int64Builder](c, "offset")
	kafkaMs := column[*array.Int64Builder](c, "kafka_timestamp_ms")
	watermark := column[*array.Int64Builder](c, "watermark_ms")
	reason := column[*array.StringBuilder](c, "reason")
	eventID := column[*array.StringBuilder](c, "event_id")
	uuid := column[*array.StringBuilder](c, "uuid")
	eventMs := column[*array.Int64Builder](c, "event_timestamp_ms")
	kafkaTs := column[*array.TimestampBuilder](c, "kafka_timestamp")
	if c.err != nil {
		return rowBinding[LateRow]{}
	}
	return rowBinding[LateRow]{add: func(r *LateRow) {
		raw.Append(validUTF8(r.Raw))
		topic.Append(r.Topic)
		partition.Append(r.Partition)
		offset.Append(r.Offset)
		kafkaMs.Append(r.KafkaTimestampMs)
		appendOptionalInt64(watermark, r.WatermarkMs)
		reason.Append(LateReason)
		eventID.Append(r.EventID)
		uuid.Append(r.UUID)
		eventMs.Append(r.EventTimestampMs)
		kafkaTs.Append(msToMicros(r.KafkaTimestampMs))
	}}
}

func bindRejected(c *columns) rowBinding[RejectedRow] {
	raw := column[*array.StringBuilder](c, "raw")
	reason := column[*array.StringBuilder](c, "reason")
	topic := column[*array.StringBuilder](c, "topic")
	partition := column[*array.Int32Builder](c, "partition")
	offset := column[*array.Int64Builder](c, "offset")
	kafkaMs := column[*array.Int64Builder](c, "kafka_timestamp_ms")
	watermark := column[*array.Int64Builder](c, "watermark_ms")
	kafkaTs := column[*array.TimestampBuilder](c, "kafka_timestamp")
	if c.err != nil {
		return rowBinding[RejectedRow]{}
	}
	return rowBinding[RejectedRow]{add: func(r *RejectedRow) {
		raw.Append(validUTF8(r.Raw))
		reason.Append(r.Reason)
		topic.Append(r.Topic)
		partition.Append(r.Partition)
		offset.Append(r.Offset)
		kafkaMs.Append(r.KafkaTimestampMs)
		appendOptionalInt64(watermark, r.WatermarkMs)
		kafkaTs.Append(msToMicros(r.KafkaTimestampMs))
	}}
}

func bindEvents(c *columns) rowBinding[EventRow] {
	sessionID := column[*array.StringBuilder](c, "session_id")
	index := column[*array.Int64Builder](c, "event_index")
	startMs := column[*array.Int64Builder](c, "session_start_time_ms")
	uuid := column[*array.StringBuilder](c, "uuid")
	eventID := column[*array.StringBuilder](c, "event_id")
	eventMs := column[*array.Int64Builder](c, "event_timestamp_ms")
	page := column[*array.StringBuilder](c, "page_name")
	raw := column[*array.StringBuilder](c, "raw")
	partition := column[*array.Int32Builder](c, "partition")
	offset := column[*array.Int64Builder](c, "offset")
	start := column[*array.TimestampBuilder](c, SessionStartColumn)
	if c.err != nil {
		return rowBinding[EventRow]{}
	}
	return rowBinding[EventRow]{add: func(r *EventRow) {
		sessionID.Append(r.SessionID)
		index.Append(r.EventIndex)
		startMs.Append(r.SessionStartTimeMs)
		uuid.Append(r.UUID)
		eventID.Append(r.EventID)
		eventMs.Append(r.EventTimestampMs)
		page.Append(r.PageName)
		raw.Append(validUTF8(r.Raw))
		partition.Append(r.Partition)
		offset.Append(r.Offset)
		start.Append(msToMicros(r.SessionStartTimeMs))
	}}
}

// recordBatches turns rows into Arrow records of at most batchRows rows,
// built lazily so only one batch is in memory at a time. The consumer
// (iceberg-go's WriteRecords) releases each record.
func recordBatches[R any](schema *arrow.Schema, rows []R, bind func(*columns) rowBinding[R]) iter.Seq2[arrow.RecordBatch, error] {
	return func(yield func(arrow.RecordBatch, error) bool) {
		rb := array.NewRecordBuilder(memory.DefaultAllocator, schema)
		defer rb.Release()
		c := &columns{rb: rb, schema: schema}
		bound := bind(c)
		if c.err != nil {
			yield(nil, fmt.Errorf("build arrow record: %w", c.err))
			return
		}
		for start := 0; start < len(rows); start += batchRows {
			end := min(start+batchRows, len(rows))
			rb.Reserve(end - start)
			if bound.reserve != nil {
				bound.reserve(rows[start:end])
			}
			for i := start; i < end; i++ {
				bound.add(&rows[i])
			}
			if !yield(rb.NewRecordBatch(), nil) {
				return
			}
		}
	}
}
