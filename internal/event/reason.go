// Package event parses and validates raw clickstream records.
//
// It knows the input schema and the rejection reasons; it knows nothing of
// sessions, files or Kafka, so batch and stream reject the same records for
// the same reasons.
package event

// Reason says why a record was rejected. The zero value means "accepted".
type Reason uint8

const (
	OK Reason = iota
	InvalidJSON
	MissingUser    // a user field is absent, null or ""
	MissingEventID // the event id field is absent, null or ""
	MissingTime    // the time field is absent, null or ""
	LineTooLong
	EmptyRecord
	InvalidCSV
	InvalidUTF8
	UserNotString    // a user field is an object, array, bool or non-integer number
	EventIDNotString // the event id is an object, array, bool or non-integer number
	TimeNotNumber    // an epoch format (or auto) got a fraction, a word, a bool, an object...
	BadTimeFormat    // a date string that does not match the format (or a number where a date is wanted)
	TimeOutOfRange   // a negative epoch, or past the year 9999
	// Avro record values (--input-format avro); kept after the others so
	// the reasons above keep their numbers.
	NotAvroWireFormat   // no magic byte 0 and 4-byte schema id before the body
	AvroUnknownSchemaID // the schema registry has no schema of the record's id
	AvroBadSchema       // the registry's schema of that id is not Avro, or does not parse
	AvroCorrupt         // the body does not decode with its schema: truncated, bad lengths or union index, bytes left over
	numReasons
)

// NumReasons is the number of Reason values including OK; handy for
// fixed-size counters indexed by Reason.
const NumReasons = int(numReasons)

var reasonNames = [numReasons]string{
	OK:               "ok",
	InvalidJSON:      "invalid_json",
	MissingUser:      "missing_user",
	MissingEventID:   "missing_event_id",
	MissingTime:      "missing_time",
	LineTooLong:      "line_too_long",
	EmptyRecord:      "empty_record",
	InvalidCSV:       "invalid_csv",
	InvalidUTF8:      "invalid_utf8",
	UserNotString:    "user_not_string",
	EventIDNotString: "event_id_not_string",
	TimeNotNumber:    "time_not_number",
	BadTimeFormat:    "bad_time_format",
	TimeOutOfRange:   "time_out_of_range",

	NotAvroWireFormat:   "not_avro_wire_format",
	AvroUnknownSchemaID: "avro_unknown_schema_id",
	AvroBadSchema:       "avro_bad_schema",
	AvroCorrupt:         "avro_corrupt",
}

// FutureTimestamp is the stream's reason for an event whose time is too far
// ahead of its Kafka timestamp (a check on the record, not its content, so
// not a Reason of the parser).
const FutureTimestamp = "future_timestamp"

// LegacyReasons maps the reason names before per-cause reasons (and the
// shared conformance cases, which still use them) to the reasons that
// replaced them.
var LegacyReasons = map[string][]string{
	"missing_uuid":     {"missing_user", "user_not_string"},
	"missing_event_id": {"missing_event_id", "event_id_not_string"},
	"bad_timestamp":    {"missing_time", "time_not_number", "bad_time_format", "time_out_of_range"},
}

// ReasonByName returns the Reason with that name.
func ReasonByName(name string) (Reason, bool) {
	for r, n := range reasonNames {
		if n == name {
			return Reason(r), true
		}
	}
	return 0, false
}

// IsTimeReason reports whether r says the event time was unusable.
func (r Reason) IsTimeReason() bool {
	return r == MissingTime || r == TimeNotNumber || r == BadTimeFormat || r == TimeOutOfRange
}

func (r Reason) String() string {
	if int(r) < len(reasonNames) {
		return reasonNames[r]
	}
	return "unknown"
}

// Counts tallies records by Reason without a map on the hot path.
type Counts [numReasons]int64

// Rejected returns the total of all non-OK reasons.
func (c *Counts) Rejected() int64 {
	var n int64
	for r := Reason(1); r < numReasons; r++ {
		n += c[r]
	}
	return n
}

// Add adds other into c.
func (c *Counts) Add(other *Counts) {
	for i := range c {
		c[i] += other[i]
	}
}

// Map returns the non-zero rejection counts keyed by reason name.
func (c *Counts) Map() map[string]int64 {
	m := make(map[string]int64)
	for r := Reason(1); r < numReasons; r++ {
		if c[r] > 0 {
			m[r.String()] = c[r]
		}
	}
	return m
}
