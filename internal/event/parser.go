package event

import "bytes"

// DefaultMaxRecordBytes is the default cap on one raw record.
const DefaultMaxRecordBytes = 1 << 20

// Parser turns one raw JSON record into Fields. It is not safe for
// concurrent use; give each goroutine its own. It validates the whole record
// strictly (so "invalid_json" is honest) but decodes only the fields the
// sessionizer needs, without building a tree or allocating.
type Parser struct {
	sc       scanner
	maxBytes int
}

// NewParser returns a Parser that rejects records longer than maxBytes
// (<= 0 means DefaultMaxRecordBytes).
func NewParser(maxBytes int) *Parser {
	if maxBytes <= 0 {
		maxBytes = DefaultMaxRecordBytes
	}
	return &Parser{maxBytes: maxBytes}
}

// Parse validates rec and fills f. On rejection f is unspecified. The slices
// in f alias rec or the parser's memory until the next Parse. Like
// encoding/json, a repeated key takes its last value.
func (ps *Parser) Parse(rec []byte, f *Fields) Reason {
	if len(rec) > ps.maxBytes {
		return LineTooLong
	}
	if len(bytes.TrimSpace(rec)) == 0 {
		return EmptyRecord
	}
	*f = Fields{}
	sc := &ps.sc
	sc.b, sc.i, sc.scratch = rec, 0, sc.scratch[:0]
	tsOK := false
	ok := sc.topObject(func(key []byte, keyEscaped bool, v field) {
		if keyEscaped {
			key = sc.unescape(key)
		}
		switch string(key) {
		case "uuid":
			f.UUID = ps.str(v)
		case "event_id":
			f.EventID = ps.str(v)
		case "page_name":
			f.PageName = ps.str(v)
		case "event_timestamp":
			f.TimestampMs, tsOK = ps.timestamp(v)
		}
	})
	sc.b = nil
	if !ok {
		return InvalidJSON
	}
	return Validate(f, tsOK)
}

// str returns a string value's decoded bytes, or nil for any other type.
func (ps *Parser) str(v field) []byte {
	if v.kind != 's' {
		return nil
	}
	if v.escaped {
		return ps.sc.unescape(v.raw)
	}
	return v.raw
}

// timestamp accepts a string of digits or a JSON integer; anything else
// (floats, exponents, negatives, null) is a bad timestamp.
func (ps *Parser) timestamp(v field) (int64, bool) {
	switch v.kind {
	case 's':
		return ParseTimestampDigits(ps.str(v))
	case 'n':
		return ParseTimestampDigits(v.raw)
	}
	return 0, false
}
