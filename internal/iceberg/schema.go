package iceberg

import (
	"fmt"
	"strconv"

	"github.com/apache/iceberg-go"
	"github.com/apache/iceberg-go/table"

	"github.com/sessionize/sessionize/internal/session"
)

// Table names, as passed to Commit, Current and Snapshots.
const (
	TableSessions = "sessions"
	TableLate     = "late_events"
	TableRejected = "rejected_events"
	// TableEvents is opt-in (Config.EventsTable): every accepted event
	// tagged with its session.
	TableEvents = "events"
)

// TableNames returns the names of the tables Open creates.
func TableNames() []string { return []string{TableSessions, TableLate, TableRejected} }

// AllTableNames is TableNames and the opt-in events table: every table a
// warehouse may hold (Warehouse.Tables says which one does).
func AllTableNames() []string { return append(TableNames(), TableEvents) }

// Field IDs are part of the on-disk format: Parquet files carry them and
// readers match columns by ID, never by name. iceberg-go's CreateTable
// renumbers every field depth-first from 1 (a list's element right after
// the list), so the IDs below are exactly what that renumbering produces;
// Open refuses a table whose schema differs, and a test pins them.
//
// Iceberg's day() transform only accepts date and timestamp columns, not a
// long holding epoch milliseconds. Each table therefore carries a derived
// timestamptz (microseconds, UTC) column computed from its millisecond
// column at write time (session_start from session_start_time_ms,
// kafka_timestamp from kafka_timestamp_ms) and is partitioned by day() of
// it. Query engines then prune partitions for filters on that column
// ("hidden partitioning"); a separate date column would make every query
// name it explicitly.
const (
	// As sessionsSchema numbers them: the partition specs name them.
	sessionFieldUUID         = 2
	sessionFieldStart        = 13
	partitionFieldSessionDay = 1000
	partitionFieldUUIDBucket = 1001
	partitionFieldKafkaDay   = 1000
)

// SessionStartColumn is the sessions (and events) table's derived column:
// session_start_time_ms as a timestamp, after the session's own columns
// (session.Columns).
const SessionStartColumn = "session_start"

// sessionsSchema is session.Columns, all required, numbered in order (a
// list's element right after the list, as CreateTable would), then
// session_start. TestSessionsSchemaIDs pins the result: reordering the
// columns would renumber the IDs of existing tables.
func sessionsSchema() *iceberg.Schema {
	var fields []iceberg.NestedField
	id := 0
	next := func() int { id++; return id }
	for _, c := range session.Columns() {
		f := iceberg.NestedField{ID: next(), Name: c.Name, Required: true}
		switch c.Type {
		case session.TypeString:
			f.Type = iceberg.PrimitiveTypes.String
		case session.TypeInt64:
			f.Type = iceberg.PrimitiveTypes.Int64
		case session.TypeFloat64:
			f.Type = iceberg.PrimitiveTypes.Float64
		case session.TypeBool:
			f.Type = iceberg.PrimitiveTypes.Bool
		case session.TypeStringList:
			f.Type = &iceberg.ListType{ElementID: next(), Element: iceberg.PrimitiveTypes.String, ElementRequired: true}
		default:
			panic(fmt.Sprintf("session column %s: type %d has no Iceberg type", c.Name, c.Type))
		}
		fields = append(fields, f)
	}
	fields = append(fields, iceberg.NestedField{ID: next(), Name: SessionStartColumn, Type: iceberg.PrimitiveTypes.TimestampTz, Required: true,
		Doc: "session_start_time_ms as a timestamp; derived at write time, exists to partition by day"})
	return iceberg.NewSchema(0, fields...)
}

// The raw record value is stored as a string, not binary: engines show and
// filter strings directly, the batch path's rejected output already stores
// it as text, and the record stays identifiable exactly by topic,
// partition and offset. Bytes that are not valid UTF-8 are replaced with
// U+FFFD on write (strings.ToValidUTF8), so a garbage record cannot produce
// a string column that other engines refuse to read.
const (
	lateFieldRaw            = 1
	lateFieldTopic          = 2
	lateFieldPartition      = 3
	lateFieldOffset         = 4
	lateFieldKafkaTsMs      = 5
	lateFieldWatermarkMs    = 6
	lateFieldReason         = 7
	lateFieldEventID        = 8
	lateFieldUUID           = 9
	lateFieldEventTsMs      = 10
	lateFieldKafkaTimestamp = 11

	rejectedFieldRaw            = 1
	rejectedFieldReason         = 2
	rejectedFieldTopic          = 3
	rejectedFieldPartition      = 4
	rejectedFieldOffset         = 5
	rejectedFieldKafkaTsMs      = 6
	rejectedFieldWatermarkMs    = 7
	rejectedFieldKafkaTimestamp = 8
)

// A late event passed validation (it has a uuid, an event id and a
// timestamp); only its lateness rejected it, so those columns are required.
// Relaxing a required column to optional later is a compatible Iceberg
// schema change; the reverse is not.
func lateSchema() *iceberg.Schema {
	return iceberg.NewSchema(0,
		iceberg.NestedField{ID: lateFieldRaw, Name: "raw", Type: iceberg.PrimitiveTypes.String, Required: true},
		iceberg.NestedField{ID: lateFieldTopic, Name: "topic", Type: iceberg.PrimitiveTypes.String, Required: true},
		iceberg.NestedField{ID: lateFieldPartition, Name: "partition", Type: iceberg.PrimitiveTypes.Int32, Required: true},
		iceberg.NestedField{ID: lateFieldOffset, Name: "offset", Type: iceberg.PrimitiveTypes.Int64, Required: true},
		iceberg.NestedField{ID: lateFieldKafkaTsMs, Name: "kafka_timestamp_ms", Type: iceberg.PrimitiveTypes.Int64, Required: true},
		iceberg.NestedField{ID: lateFieldWatermarkMs, Name: "watermark_ms", Type: iceberg.PrimitiveTypes.Int64, Required: false,
			Doc: "null when the partition had no watermark yet"},
		iceberg.NestedField{ID: lateFieldReason, Name: "reason", Type: iceberg.PrimitiveTypes.String, Required: true},
		iceberg.NestedField{ID: lateFieldEventID, Name: "event_id", Type: iceberg.PrimitiveTypes.String, Required: true},
		iceberg.NestedField{ID: lateFieldUUID, Name: "uuid", Type: iceberg.PrimitiveTypes.String, Required: true},
		iceberg.NestedField{ID: lateFieldEventTsMs, Name: "event_timestamp_ms", Type: iceberg.PrimitiveTypes.Int64, Required: true},
		iceberg.NestedField{ID: lateFieldKafkaTimestamp, Name: "kafka_timestamp", Type: iceberg.PrimitiveTypes.TimestampTz, Required: true,
			Doc: "kafka_timestamp_ms as a timestamp; derived at write time, exists to partition by day"},
	)
}

func rejectedSchema() *iceberg.Schema {
	return iceberg.NewSchema(0,
		iceberg.NestedField{ID: rejectedFieldRaw, Name: "raw", Type: iceberg.PrimitiveTypes.String, Required: true},
		iceberg.NestedField{ID: rejectedFieldReason, Name: "reason", Type: iceberg.PrimitiveTypes.String, Required: true},
		iceberg.NestedField{ID: rejectedFieldTopic, Name: "topic", Type: iceberg.PrimitiveTypes.String, Required: true},
		iceberg.NestedField{ID: rejectedFieldPartition, Name: "partition", Type: iceberg.PrimitiveTypes.Int32, Required: true},
		iceberg.NestedField{ID: rejectedFieldOffset, Name: "offset", Type: iceberg.PrimitiveTypes.Int64, Required: true},
		iceberg.NestedField{ID: rejectedFieldKafkaTsMs, Name: "kafka_timestamp_ms", Type: iceberg.PrimitiveTypes.Int64, Required: true},
		iceberg.NestedField{ID: rejectedFieldWatermarkMs, Name: "watermark_ms", Type: iceberg.PrimitiveTypes.Int64, Required: false,
			Doc: "null when the partition had no watermark yet"},
		iceberg.NestedField{ID: rejectedFieldKafkaTimestamp, Name: "kafka_timestamp", Type: iceberg.PrimitiveTypes.TimestampTz, Required: true,
			Doc: "kafka_timestamp_ms as a timestamp; derived at write time, exists to partition by day"},
	)
}

// The events table: one row per accepted event, tagged with the session
// it belongs to (session_id equals the sessions row's), its 0-based index
// in the session and the session's start, plus the record it came from.
const (
	eventFieldSessionID    = 1
	eventFieldIndex        = 2
	eventFieldStartMs      = 3
	eventFieldUUID         = 4
	eventFieldEventID      = 5
	eventFieldEventTsMs    = 6
	eventFieldPageName     = 7
	eventFieldRaw          = 8
	eventFieldPartition    = 9
	eventFieldOffset       = 10
	eventFieldStart        = 11
	partitionFieldEventDay = 1000
)

func eventsSchema() *iceberg.Schema {
	return iceberg.NewSchema(0,
		iceberg.NestedField{ID: eventFieldSessionID, Name: "session_id", Type: iceberg.PrimitiveTypes.String, Required: true},
		iceberg.NestedField{ID: eventFieldIndex, Name: "event_index", Type: iceberg.PrimitiveTypes.Int64, Required: true,
			Doc: "0-based position of the event in its session (session order: time, then event_id)"},
		iceberg.NestedField{ID: eventFieldStartMs, Name: "session_start_time_ms", Type: iceberg.PrimitiveTypes.Int64, Required: true},
		iceberg.NestedField{ID: eventFieldUUID, Name: "uuid", Type: iceberg.PrimitiveTypes.String, Required: true},
		iceberg.NestedField{ID: eventFieldEventID, Name: "event_id", Type: iceberg.PrimitiveTypes.String, Required: true},
		iceberg.NestedField{ID: eventFieldEventTsMs, Name: "event_timestamp_ms", Type: iceberg.PrimitiveTypes.Int64, Required: true},
		iceberg.NestedField{ID: eventFieldPageName, Name: "page_name", Type: iceberg.PrimitiveTypes.String, Required: true},
		iceberg.NestedField{ID: eventFieldRaw, Name: "raw", Type: iceberg.PrimitiveTypes.String, Required: true},
		iceberg.NestedField{ID: eventFieldPartition, Name: "partition", Type: iceberg.PrimitiveTypes.Int32, Required: true},
		iceberg.NestedField{ID: eventFieldOffset, Name: "offset", Type: iceberg.PrimitiveTypes.Int64, Required: true},
		iceberg.NestedField{ID: eventFieldStart, Name: SessionStartColumn, Type: iceberg.PrimitiveTypes.TimestampTz, Required: true,
			Doc: "session_start_time_ms as a timestamp; derived at write time, exists to partition by day"},
	)
}

// tableDef is everything needed to create one table.
type tableDef struct {
	name   string
	schema *iceberg.Schema
	spec   iceberg.PartitionSpec
}

func tableDefs(uuidBuckets int, events bool) ([]tableDef, error) {
	sessions := sessionsSchema()
	opts := []iceberg.PartitionOption{
		iceberg.AddPartitionFieldBySourceID(sessionFieldStart, "session_start_day", iceberg.DayTransform{}, sessions, ptr(partitionFieldSessionDay)),
	}
	if uuidBuckets > 0 {
		opts = append(opts, iceberg.AddPartitionFieldBySourceID(sessionFieldUUID, "uuid_bucket",
			iceberg.BucketTransform{NumBuckets: uuidBuckets}, sessions, ptr(partitionFieldUUIDBucket)))
	}
	sessionsSpec, err := iceberg.NewPartitionSpecOpts(opts...)
	if err != nil {
		return nil, fmt.Errorf("sessions partition spec: %w", err)
	}

	late := lateSchema()
	lateSpec, err := iceberg.NewPartitionSpecOpts(iceberg.AddPartitionFieldBySourceID(
		lateFieldKafkaTimestamp, "kafka_day", iceberg.DayTransform{}, late, ptr(partitionFieldKafkaDay)))
	if err != nil {
		return nil, fmt.Errorf("late_events partition spec: %w", err)
	}

	rejected := rejectedSchema()
	rejectedSpec, err := iceberg.NewPartitionSpecOpts(iceberg.AddPartitionFieldBySourceID(
		rejectedFieldKafkaTimestamp, "kafka_day", iceberg.DayTransform{}, rejected, ptr(partitionFieldKafkaDay)))
	if err != nil {
		return nil, fmt.Errorf("rejected_events partition spec: %w", err)
	}

	defs := []tableDef{
		{name: TableSessions, schema: sessions, spec: sessionsSpec},
		{name: TableLate, schema: late, spec: lateSpec},
		{name: TableRejected, schema: rejected, spec: rejectedSpec},
	}
	if events {
		ev := eventsSchema()
		evSpec, err := iceberg.NewPartitionSpecOpts(iceberg.AddPartitionFieldBySourceID(
			eventFieldStart, "session_start_day", iceberg.DayTransform{}, ev, ptr(partitionFieldEventDay)))
		if err != nil {
			return nil, fmt.Errorf("events partition spec: %w", err)
		}
		defs = append(defs, tableDef{name: TableEvents, schema: ev, spec: evSpec})
	}
	return defs, nil
}

// Table properties set at creation.
const (
	// Streaming commits are small; 128 MiB bounds the files a big batch
	// commit or a later compaction writes. iceberg-go only rolls to a new
	// file at row-group boundaries, so the row-group size must be well
	// below the target for the target to mean anything.
	targetFileSizeBytes = 128 << 20
	rowGroupSizeBytes   = 16 << 20
)

func tableProperties() iceberg.Properties {
	return iceberg.Properties{
		table.PropertyFormatVersion: "2",
		table.ParquetCompressionKey: "zstd",
		// zstd's fastest level (klauspost's SpeedFastest) rather than its
		// default (SpeedDefault, level 3): compressing pages was 8.5% of a
		// stream drain's CPU, and a job committing every second writes
		// each file once, to be compacted later. Sizes: see
		// BenchmarkCommit's data-KiB/commit.
		table.ParquetCompressionLevelKey:  "1",
		table.WriteTargetFileSizeBytesKey: strconv.Itoa(targetFileSizeBytes),
		table.ParquetRowGroupSizeBytesKey: strconv.Itoa(rowGroupSizeBytes),
		// A streaming pipeline commits every few seconds; with plain fast
		// appends the manifest list would grow by one manifest per commit
		// forever and every scan would read them all. Merge-append folds
		// small manifests together once there are enough of them.
		table.ManifestMergeEnabledKey: "true",
		// Conflicts must reach the caller: the pipeline decides what to
		// do (its offsets may already be committed by someone else), so
		// iceberg-go must never rebase a commit onto a new parent itself.
		table.CommitNumRetriesKey: "0",
		// Each commit writes a new metadata.json; keep only the recent
		// ones instead of one file per commit forever.
		table.MetadataDeleteAfterCommitEnabledKey: "true",
		table.MetadataPreviousVersionsMaxKey:      "100",
		// Columns whose values are all distinct within a file gain
		// nothing from a dictionary, yet arrow-go hashes every value into
		// one until its cost fallback gives up on the column: 5.5% of a
		// stream drain's CPU. (Iceberg's Java property; iceberg-go keeps
		// its name unexported.)
		dictEncodingColumnKey(session.ColSessionID): "false",
		dictEncodingColumnKey("event_id"):           "false",
		dictEncodingColumnKey("raw"):                "false",
		// The same for a session's times, to the millisecond (and its
		// duration, derived from them): the hashing into a dictionary
		// that is dropped was 8% of BenchmarkCommit's CPU.
		dictEncodingColumnKey(session.ColStartMs):  "false",
		dictEncodingColumnKey(session.ColEndMs):    "false",
		dictEncodingColumnKey(session.ColDuration): "false",
		dictEncodingColumnKey(SessionStartColumn):  "false",
	}
}

// dictEncodingColumnKey is the table property that turns Parquet dictionary
// encoding on or off for one column.
func dictEncodingColumnKey(column string) string {
	return "write.parquet.dict-encoding-enabled.column." + column
}

func ptr[T any](v T) *T { return &v }
