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
	MissingUUID
	MissingEventID
	BadTimestamp
	LineTooLong
	EmptyRecord
	InvalidCSV
	InvalidUTF8
	numReasons
)

// NumReasons is the number of Reason values including OK; handy for
// fixed-size counters indexed by Reason.
const NumReasons = int(numReasons)

var reasonNames = [numReasons]string{
	OK:             "ok",
	InvalidJSON:    "invalid_json",
	MissingUUID:    "missing_uuid",
	MissingEventID: "missing_event_id",
	BadTimestamp:   "bad_timestamp",
	LineTooLong:    "line_too_long",
	EmptyRecord:    "empty_record",
	InvalidCSV:     "invalid_csv",
	InvalidUTF8:    "invalid_utf8",
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
