package event

import (
	"encoding/json"
	"fmt"
	"sort"
	"strings"
	"time"
)

// Event times are implausible before 2000 (clickstreams are younger: such a
// time is the sign of epoch seconds read as milliseconds, or of a field
// that is not the event time), or more than AheadToleranceMs after their
// reference: the input file's modification time, or the Kafka record's
// timestamp (milliseconds read as seconds, nanoseconds as microseconds).
const (
	PlausibleFromMs  = 946684800000 // 2000-01-01T00:00:00Z
	AheadToleranceMs = 24 * 3600 * 1000
)

// TimeCheck counts accepted events whose times are implausible. The zero
// value is ready; Observe costs two comparisons per event.
type TimeCheck struct {
	Events     int64 `json:"events"`
	Before2000 int64 `json:"before_2000"`
	Ahead      int64 `json:"ahead_of_reference"`
	// Sample is the first implausible time (ms) and SampleRefMs its
	// reference (0: none), for the advice.
	SampleMs    int64 `json:"sample_ms,omitempty"`
	SampleRefMs int64 `json:"sample_ref_ms,omitempty"`
	hasSample   bool
}

// Observe takes one accepted event's time; refMs is its reference (the
// file's modification time, the Kafka timestamp; <= 0: none).
func (c *TimeCheck) Observe(ms, refMs int64) {
	c.Events++
	switch {
	case ms < PlausibleFromMs:
		c.Before2000++
	case refMs > 0 && ms > refMs+AheadToleranceMs:
		c.Ahead++
	default:
		return
	}
	if !c.hasSample {
		c.SampleMs, c.SampleRefMs, c.hasSample = ms, refMs, true
	}
}

// Add adds o into c (the first sample wins).
func (c *TimeCheck) Add(o *TimeCheck) {
	c.Events += o.Events
	c.Before2000 += o.Before2000
	c.Ahead += o.Ahead
	if !c.hasSample && o.hasSample {
		c.SampleMs, c.SampleRefMs, c.hasSample = o.SampleMs, o.SampleRefMs, true
	}
}

// Implausible is the number of events Observe found implausible.
func (c *TimeCheck) Implausible() int64 { return c.Before2000 + c.Ahead }

// Advice explains, for people, what looks wrong with a run's input and the
// likely fix: most records rejected, or event times implausible. It is nil
// when nothing does. records is every record read, rejected the counts by
// reason (extra: reasons outside event, such as future_timestamp), sample
// one rejected record (nil: none) whose fields are listed when the schema's
// fields were not found.
func Advice(s Schema, records int64, rejected map[string]int64, tc *TimeCheck, sample []byte) []string {
	var out []string
	var nRejected int64
	for _, n := range rejected {
		nRejected += n
	}
	if records > 0 && nRejected*2 > records {
		top, topN := "", int64(-1)
		for name, n := range rejected {
			if n > topN || (n == topN && name < top) {
				top, topN = name, n
			}
		}
		msg := fmt.Sprintf("most records were rejected (%d of %d, most as %s) reading them with %s", nRejected, records, top, s.Describe())
		if fix := reasonFix(s, top, sample); fix != "" {
			msg += ": " + fix
		}
		out = append(out, msg)
	}
	if tc != nil && tc.Events > 0 && tc.Implausible()*100 >= tc.Events {
		out = append(out, timeAdvice(s, tc))
	}
	// Times too far ahead of Kafka's are rejected (future_timestamp), so
	// the time check never sees them: say so from the count, unless the
	// first message already does.
	if n := rejected[FutureTimestamp]; records > 0 && n*100 >= records && (len(out) == 0 || !strings.Contains(out[0], "most as "+FutureTimestamp)) {
		out = append(out, fmt.Sprintf("%d of %d records were rejected as %s: %s", n, records, FutureTimestamp, reasonFix(s, FutureTimestamp, nil)))
	}
	return out
}

func reasonFix(s Schema, reason string, sample []byte) string {
	fields := sampleFields(sample)
	seen := ""
	if len(fields) > 0 {
		seen = " (a rejected record has the fields " + strings.Join(fields, ", ") + ")"
	}
	user := strings.Join(s.UserNames(), ", ")
	switch reason {
	case MissingUser.String():
		return fmt.Sprintf("no user field %s; name yours with --user-field%s", user, seen)
	case UserNotString.String():
		return fmt.Sprintf("the user field %s is not a string or integer; for a field inside an object give its dotted path, --user-field %s.id%s", user, s.User[0], seen)
	case MissingEventID.String():
		return fmt.Sprintf("no event id field %s; name yours with --event-id-field, or give --event-id-field none if the events have no id%s", s.EventID, seen)
	case EventIDNotString.String():
		return fmt.Sprintf("the event id field %s is not a string or integer%s", s.EventID, seen)
	case MissingTime.String():
		return fmt.Sprintf("no time field %s; name yours with --time-field%s", s.Time, seen)
	case TimeNotNumber.String():
		return fmt.Sprintf("the times are not whole epoch numbers, as --time-format %s wants; for date strings give --time-format auto, rfc3339 or a layout such as 'yyyy-MM-dd HH:mm:ss'", s.Format)
	case BadTimeFormat.String():
		if s.Format.kind == timeRFC3339 || s.Format.kind == timeLayout {
			return fmt.Sprintf("the times do not match --time-format %s; give the format they are in (auto reads epoch numbers and RFC 3339)", s.Format)
		}
		return "the times are neither epoch numbers nor RFC 3339 dates; give their layout, e.g. --time-format 'dd/MM/yyyy HH:mm:ss'"
	case TimeOutOfRange.String():
		if s.Format.IsEpoch() {
			return fmt.Sprintf("the times are negative or beyond the year 9999 as --time-format %s reads them; check the unit, or give --time-format auto, which reads it from the magnitude", s.Format)
		}
		return "the times are negative or beyond the year 9999"
	case FutureTimestamp:
		return fmt.Sprintf("the times are far ahead of their Kafka timestamps as --time-format %s reads them (a smaller unit read as a larger one?); check --time-format (auto reads the unit from the magnitude) and --max-future-skew", s.Format)
	case InvalidJSON.String():
		return "the records are not JSON objects; batch reads CSV and Parquet by their file extension (.csv, .parquet); for Kafka values in the Confluent Avro wire format give --input-format avro --schema-registry URL"
	case NotAvroWireFormat.String():
		return "the values do not start with the Confluent wire format's magic byte 0 and schema id; if they are JSON, leave --input-format at json"
	case AvroUnknownSchemaID.String():
		return "the schema registry does not know the values' schema ids; is --schema-registry the registry the producers write to?"
	case AvroCorrupt.String():
		return "the values do not decode with the schema of their id: written with another registry's ids, or not Avro after the header?"
	}
	return ""
}

// sampleFields lists a JSON record's top-level fields, for advice.
func sampleFields(raw []byte) []string {
	var m map[string]json.RawMessage
	if len(raw) == 0 || json.Unmarshal(raw, &m) != nil {
		return nil
	}
	names := make([]string, 0, len(m))
	for k := range m {
		names = append(names, k)
	}
	sort.Strings(names)
	if len(names) > 12 {
		names = append(names[:12], "...")
	}
	return names
}

func timeAdvice(s Schema, tc *TimeCheck) string {
	var what string
	switch {
	case tc.Before2000 > 0 && tc.Ahead > 0:
		what = fmt.Sprintf("%d are before 2000 and %d more than a day ahead of their file's or Kafka's time", tc.Before2000, tc.Ahead)
	case tc.Before2000 > 0:
		what = fmt.Sprintf("%d are before 2000", tc.Before2000)
	default:
		what = fmt.Sprintf("%d are more than a day ahead of their file's or Kafka's time", tc.Ahead)
	}
	msg := fmt.Sprintf("event times look wrong: of %d events, %s (e.g. %s, reading %s as --time-format %s)",
		tc.Events, what, time.UnixMilli(tc.SampleMs).UTC().Format(time.RFC3339Nano), s.Time, s.Format)
	if unit := s.Format.likelyUnit(tc.SampleMs, tc.SampleRefMs); unit != "" {
		return msg + "; did you mean --time-format " + unit + "?"
	}
	return msg + "; check that --time-field names the event time"
}

// likelyUnit is the epoch unit that would make a time read as ms by this
// format plausible, or "" when the format is not a fixed unit or none does.
func (tf TimeFormat) likelyUnit(ms, refMs int64) string {
	if !tf.IsEpoch() {
		return ""
	}
	// The number as written, from the milliseconds it was read as.
	var n float64
	switch tf.kind {
	case timeSeconds:
		n = float64(ms) / 1e3
	case timeMillis:
		n = float64(ms)
	case timeMicros:
		n = float64(ms) * 1e3
	case timeNanos:
		n = float64(ms) * 1e6
	}
	upper := float64(refMs + AheadToleranceMs)
	if refMs <= 0 {
		upper = 4102444800000 // 2100
	}
	units := []struct {
		name  string
		toMs  float64
		isCur bool
	}{{"s", 1e3, tf.kind == timeSeconds}, {"ms", 1, tf.kind == timeMillis}, {"us", 1e-3, tf.kind == timeMicros}, {"ns", 1e-6, tf.kind == timeNanos}}
	for _, u := range units {
		if t := n * u.toMs; !u.isCur && t >= PlausibleFromMs && t <= upper {
			return u.name
		}
	}
	return ""
}
