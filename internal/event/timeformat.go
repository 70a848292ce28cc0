package event

import (
	"fmt"
	"strings"
	"time"
	// --timezone must work where the system has no zone database
	// (distroless and scratch images), as in the conformance cases.
	_ "time/tzdata"
)

// The magnitudes at which the auto format switches epoch unit. Each cut-off
// is where the smaller unit would mean a date before March 1973 and the
// larger one a date after the year 5000, so no plausible time is ambiguous:
// below 1e11 an epoch number is seconds, below 1e14 milliseconds, below 1e17
// microseconds, and from 1e17 on nanoseconds.
const (
	AutoSecondsBelow = 1e11
	AutoMillisBelow  = 1e14
	AutoMicrosBelow  = 1e17
)

// timeKind is how a TimeFormat reads a value.
type timeKind uint8

const (
	timeAuto timeKind = iota
	timeSeconds
	timeMillis
	timeMicros
	timeNanos
	timeRFC3339
	timeLayout
)

// TimeFormat is how an event's time is written. The zero value is "auto" in
// UTC. It converts to epoch milliseconds, the engine's unit; finer digits
// (us, ns, fractions of a second) are truncated.
type TimeFormat struct {
	kind   timeKind
	layout []layoutItem // timeLayout only
	loc    *time.Location
	name   string
}

// TimeFormatNames lists the accepted --time-format values besides a layout.
const TimeFormatNames = "auto, s, ms, us, ns, rfc3339, or a layout such as 'yyyy-MM-dd HH:mm:ss[.SSS]'"

// ParseTimeFormat reads a --time-format value and the --timezone that
// layouts without an offset (and auto's offset-less date strings) are read
// in ("" means UTC).
func ParseTimeFormat(format, timezone string) (TimeFormat, error) {
	tf := TimeFormat{name: format, loc: time.UTC}
	if timezone != "" && timezone != "UTC" {
		loc, err := time.LoadLocation(timezone)
		if err != nil {
			return TimeFormat{}, fmt.Errorf("time zone %q: %w (give an IANA name such as Europe/Berlin, or UTC)", timezone, err)
		}
		tf.loc = loc
	}
	switch strings.ToLower(format) {
	case "", "auto":
		tf.kind, tf.name = timeAuto, "auto"
	case "s", "seconds":
		tf.kind, tf.name = timeSeconds, "s"
	case "ms", "millis", "milliseconds":
		tf.kind, tf.name = timeMillis, "ms"
	case "us", "micros", "microseconds":
		tf.kind, tf.name = timeMicros, "us"
	case "ns", "nanos", "nanoseconds":
		tf.kind, tf.name = timeNanos, "ns"
	case "rfc3339", "iso8601", "iso-8601":
		tf.kind, tf.name = timeRFC3339, "rfc3339"
	default:
		items, err := parseLayout(format)
		if err != nil {
			return TimeFormat{}, fmt.Errorf("time format %q: %w; want %s", format, err, TimeFormatNames)
		}
		tf.kind, tf.layout = timeLayout, items
	}
	return tf, nil
}

// MustTimeFormat is ParseTimeFormat for constants in code and tests.
func MustTimeFormat(format, timezone string) TimeFormat {
	tf, err := ParseTimeFormat(format, timezone)
	if err != nil {
		panic(err)
	}
	return tf
}

// String is the format as given to ParseTimeFormat (normalised names).
func (tf TimeFormat) String() string {
	if tf.name == "" {
		return "auto"
	}
	return tf.name
}

// Location is the zone offset-less times are read in.
func (tf TimeFormat) Location() *time.Location {
	if tf.loc == nil {
		return time.UTC
	}
	return tf.loc
}

// IsEpoch reports whether the format is a fixed epoch unit (s, ms, us, ns).
func (tf TimeFormat) IsEpoch() bool { return tf.kind >= timeSeconds && tf.kind <= timeNanos }

// FromInt converts an epoch integer (an Avro long, a Parquet integer
// column, a JSON integer) to milliseconds. Text formats reject it as
// bad_time_format.
func (tf TimeFormat) FromInt(n int64) (int64, Reason) {
	if n < 0 {
		return 0, TimeOutOfRange
	}
	kind := tf.kind
	switch kind {
	case timeRFC3339, timeLayout:
		return 0, BadTimeFormat
	case timeAuto:
		kind = autoUnit(n)
	}
	switch kind {
	case timeSeconds:
		if n > maxMs/1000 {
			return 0, TimeOutOfRange
		}
		n *= 1000
	case timeMicros:
		n /= 1000
	case timeNanos:
		n /= 1e6
	}
	if n > maxMs {
		return 0, TimeOutOfRange
	}
	return n, OK
}

// maxMs is the last millisecond FromInt returns: the end of year 9999, so
// every accepted time also formats as a date.
const maxMs = 253402300799999

func autoUnit(n int64) timeKind {
	switch {
	case n < AutoSecondsBelow:
		return timeSeconds
	case n < AutoMillisBelow:
		return timeMillis
	case n < AutoMicrosBelow:
		return timeMicros
	}
	return timeNanos
}

// FromNumber converts a number's text (a JSON number literal) to
// milliseconds: only whole non-negative numbers are epoch times.
func (tf TimeFormat) FromNumber(b []byte) (int64, Reason) {
	if tf.kind == timeRFC3339 || tf.kind == timeLayout {
		return 0, BadTimeFormat
	}
	if len(b) > 0 && b[0] == '-' {
		if _, ok := parseDigits(b[1:]); ok {
			return 0, TimeOutOfRange
		}
		return 0, TimeNotNumber
	}
	n, ok := parseDigits(b)
	if !ok {
		if allDigits(b) {
			return 0, TimeOutOfRange // overflows int64
		}
		return 0, TimeNotNumber
	}
	return tf.FromInt(n)
}

// FromText converts a string value to milliseconds: epoch digits for the
// epoch formats and auto, a date for rfc3339, a layout, or auto. An empty
// string is missing_time.
func (tf TimeFormat) FromText(b []byte) (int64, Reason) {
	if len(b) == 0 {
		return 0, MissingTime
	}
	switch tf.kind {
	case timeSeconds, timeMillis, timeMicros, timeNanos:
		return tf.FromNumber(b)
	case timeRFC3339:
		return parseISO(b, nil, true)
	case timeLayout:
		return parseLayoutValue(tf.layout, b, tf.Location())
	}
	// auto: digits are an epoch number, anything else a date.
	if b[0] >= '0' && b[0] <= '9' {
		if n, ok := parseDigits(b); ok {
			return tf.FromInt(n) // what FromNumber does with them, in one pass
		}
		if allDigits(b) {
			return tf.FromNumber(b) // too many for an int64
		}
	}
	if len(b) > 0 && b[0] == '-' && allDigits(b[1:]) && len(b) > 1 {
		return 0, TimeOutOfRange
	}
	return parseISO(b, tf.Location(), false)
}

// ParseTimestampDigits parses one or more ASCII digits that fit in an int64
// (the strict rule of --time-format ms, and of epoch-ms settings such as
// --replace-range).
func ParseTimestampDigits(b []byte) (int64, bool) { return parseDigits(b) }

func parseDigits(b []byte) (int64, bool) {
	if len(b) == 0 || len(b) > 19 {
		return 0, false
	}
	var n int64
	if len(b) < 19 {
		// 18 digits cannot overflow: no test per digit (every epoch
		// millisecond until the year 9999 has 15 at most).
		for _, c := range b {
			d := c - '0'
			if d > 9 {
				return 0, false
			}
			n = n*10 + int64(d)
		}
		return n, true
	}
	for _, c := range b {
		if c < '0' || c > '9' {
			return 0, false
		}
		d := int64(c - '0')
		if n > (1<<63-1-d)/10 {
			return 0, false
		}
		n = n*10 + d
	}
	return n, true
}

func allDigits(b []byte) bool {
	if len(b) == 0 {
		return false
	}
	for _, c := range b {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}
