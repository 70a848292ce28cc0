package session

// The columns of a Session as the outputs write it, in the order they all
// write them: batch's JSON lines keys and Parquet columns, the sessions
// table (which adds its derived session_start after them) and what the
// report and the table readers read back. The writers name the columns
// from here; the spellings that cannot (struct tags, the JSON writer's
// hand-unrolled keys) are held to this list by tests.
const (
	ColSessionID      = "session_id"
	ColUUID           = "uuid"
	ColStartMs        = "session_start_time_ms"
	ColEndMs          = "session_end_time_ms"
	ColDuration       = "session_duration_seconds"
	ColEventCount     = "event_count"
	ColPages          = "pages_visited"
	ColPagesTruncated = "pages_truncated"
	ColEntryPage      = "entry_page"
	ColExitPage       = "exit_page"
	ColEndReason      = "end_reason"
)

// ColumnType is the type of a session column, for writers to map onto
// theirs (Arrow, Iceberg). Every column is required: no nulls.
type ColumnType uint8

const (
	TypeString     ColumnType = iota
	TypeInt64                 // session_start_time_ms, session_end_time_ms, event_count
	TypeFloat64               // session_duration_seconds
	TypeBool                  // pages_truncated
	TypeStringList            // pages_visited: non-null strings
)

// Column is one session column.
type Column struct {
	Name string
	Type ColumnType
}

// Columns returns the session columns in output order (a new slice each
// call).
func Columns() []Column {
	return []Column{
		{ColSessionID, TypeString},
		{ColUUID, TypeString},
		{ColStartMs, TypeInt64},
		{ColEndMs, TypeInt64},
		{ColDuration, TypeFloat64},
		{ColEventCount, TypeInt64},
		{ColPages, TypeStringList},
		{ColPagesTruncated, TypeBool},
		{ColEntryPage, TypeString},
		{ColExitPage, TypeString},
		{ColEndReason, TypeString},
	}
}

// ColumnNames returns the names of Columns, in order.
func ColumnNames() []string {
	cols := Columns()
	names := make([]string, len(cols))
	for i, c := range cols {
		names[i] = c.Name
	}
	return names
}
