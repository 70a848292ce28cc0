package event

import "unicode/utf8"

// Fields are the parts of a record the sessionizer needs. The byte slices
// alias memory owned by whoever produced them (the Parser's buffers, a CSV
// row) and are valid only until the next call on that producer: copy what
// you keep.
type Fields struct {
	UUID        []byte
	EventID     []byte
	TimestampMs int64
	PageName    []byte
}

// ParseTimestampDigits parses the string form of event_timestamp: one or more
// ASCII digits of epoch milliseconds that fit in an int64.
func ParseTimestampDigits(b []byte) (int64, bool) {
	if len(b) == 0 || len(b) > 19 {
		return 0, false
	}
	var n int64
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

// Validate applies the rejection rules shared by every input format to
// already-extracted fields. tsOK reports whether the timestamp was well formed.
func Validate(f *Fields, tsOK bool) Reason {
	switch {
	case len(f.UUID) == 0:
		return MissingUUID
	case len(f.EventID) == 0:
		return MissingEventID
	case !tsOK:
		return BadTimestamp
	case !utf8.Valid(f.UUID) || !utf8.Valid(f.EventID) || !utf8.Valid(f.PageName):
		// These become string columns; Parquet and Iceberg readers
		// require UTF-8, and silently rewriting a uuid would merge users.
		return InvalidUTF8
	}
	return OK
}
