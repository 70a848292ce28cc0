package batch

import (
	"bufio"
	"io"
	"strconv"
	"unicode/utf8"

	"github.com/sessionize/sessionize/internal/rule"
	"github.com/sessionize/sessionize/internal/session"
	"github.com/sessionize/sessionize/internal/swar"
)

// jsonlWriter writes JSON lines for each session: by default one object per
// session. The fields are appended by hand: reflection-based encoding costs
// more than the engine itself.
type jsonlWriter struct {
	w      *bufio.Writer
	buf    []byte
	append func([]byte, *session.Session) ([]byte, error) // the session's lines
}

// newJSONLWriter writes sessions with the attributes of set (nil: none).
func newJSONLWriter(w io.Writer, set *rule.Set) *jsonlWriter {
	return newJSONLWriterFunc(w, func(b []byte, s *session.Session) ([]byte, error) {
		b = AppendSessionJSON(b, s)
		if len(set.Attrs()) > 0 {
			var err error
			if b, err = appendAttrsJSON(b[:len(b)-1], set, s.Attrs); err != nil {
				return b, err
			}
			b = append(b, '}')
		}
		return append(b, '\n'), nil
	})
}

// newJSONLWriterFunc writes what lines appends for each session.
func newJSONLWriterFunc(w io.Writer, lines func([]byte, *session.Session) ([]byte, error)) *jsonlWriter {
	return &jsonlWriter{w: bufio.NewWriterSize(w, 1<<20), append: lines}
}

func (j *jsonlWriter) Write(s *session.Session) error {
	var err error
	if j.buf, err = j.append(j.buf[:0], s); err != nil {
		return err
	}
	_, err = j.w.Write(j.buf)
	return err
}

// Encode appends the lines of sessions to b (see partEncoder).
func (j *jsonlWriter) Encode(b []byte, sessions []session.Session) ([]byte, error) {
	for i := range sessions {
		var err error
		if b, err = j.append(b, &sessions[i]); err != nil {
			return b, err
		}
	}
	return b, nil
}

func (j *jsonlWriter) WriteEncoded(b []byte) error {
	_, err := j.w.Write(b)
	return err
}

func (j *jsonlWriter) Close() error { return j.w.Flush() }

// AppendSessionJSON appends s as a JSON object with the output field names.
func AppendSessionJSON(b []byte, s *session.Session) []byte {
	b = append(b, `{"session_id":"`...)
	b = s.AppendID(b)
	b = append(b, `","uuid":`...)
	b = appendJSONString(b, s.UUID)
	b = append(b, `,"session_start_time_ms":`...)
	b = strconv.AppendInt(b, s.StartMs, 10)
	b = append(b, `,"session_end_time_ms":`...)
	b = strconv.AppendInt(b, s.EndMs, 10)
	b = append(b, `,"session_duration_seconds":`...)
	b = strconv.AppendFloat(b, s.DurationSeconds(), 'f', -1, 64)
	b = append(b, `,"event_count":`...)
	b = strconv.AppendInt(b, s.EventCount, 10)
	b = append(b, `,"pages_visited":[`...)
	for i, p := range s.Pages {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendJSONString(b, p)
	}
	b = append(b, `],"pages_truncated":`...)
	b = strconv.AppendBool(b, s.PagesTruncated)
	b = append(b, `,"entry_page":`...)
	b = appendJSONString(b, s.EntryPage)
	b = append(b, `,"exit_page":`...)
	b = appendJSONString(b, s.ExitPage)
	b = append(b, `,"end_reason":"`...)
	b = append(b, s.EndReason.String()...)
	return append(b, `"}`...)
}

const hexDigits = "0123456789abcdef"

// appendJSONString appends s as a JSON string, escaping what JSON requires
// and replacing invalid UTF-8 so the output always parses.
func appendJSONString(b []byte, s string) []byte {
	b = append(b, '"')
	if plainJSONText(s) {
		// The usual case (uuids, ids, page names): copied whole, where
		// the loop below looked at every byte on its own.
		b = append(b, s...)
		return append(b, '"')
	}
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c >= 0x20 && c != '"' && c != '\\' && c < utf8.RuneSelf {
			i++
			continue
		}
		if c < utf8.RuneSelf {
			b = append(b, s[start:i]...)
			switch c {
			case '"', '\\':
				b = append(b, '\\', c)
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			default:
				b = append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b = append(b, s[start:i]...)
			b = append(b, `\ufffd`...)
			i++
			start = i
			continue
		}
		i += size
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}

// plainJSONText reports whether s is printable ASCII without '"' or '\\',
// so that it goes into a JSON string as it is. It reads a word at a time;
// the bytes past the last whole word are read as one more word ending at
// s's end (overlapping the one before, which tests no byte wrongly), and 4
// to 7 bytes as two overlapping halves.
func plainJSONText(s string) bool {
	n := len(s)
	var stops uint64
	switch {
	case n >= 8:
		for i := 0; i < n-8; i += 8 {
			stops |= jsonStops(le64(s, i))
		}
		stops |= jsonStops(le64(s, n-8))
	case n >= 4:
		stops = jsonStops(uint64(le32(s, 0)) | uint64(le32(s, n-4))<<32)
	default:
		for i := 0; i < n; i++ {
			if c := s[i]; c < 0x20 || c == '"' || c == '\\' || c >= utf8.RuneSelf {
				return false
			}
		}
	}
	return stops == 0
}

// jsonStops is nonzero if a byte of x is below 0x20, '"', '\\' or above
// 0x7f.
func jsonStops(x uint64) uint64 { return swar.JSONStops(x) | x&swar.High }

func le64(s string, i int) uint64 {
	_ = s[i+7]
	return uint64(s[i]) | uint64(s[i+1])<<8 | uint64(s[i+2])<<16 | uint64(s[i+3])<<24 |
		uint64(s[i+4])<<32 | uint64(s[i+5])<<40 | uint64(s[i+6])<<48 | uint64(s[i+7])<<56
}

func le32(s string, i int) uint32 {
	_ = s[i+3]
	return uint32(s[i]) | uint32(s[i+1])<<8 | uint32(s[i+2])<<16 | uint32(s[i+3])<<24
}
