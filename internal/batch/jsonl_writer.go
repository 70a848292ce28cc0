package batch

import (
	"bufio"
	"io"
	"strconv"
	"unicode/utf8"

	"github.com/sessionize/sessionize/internal/rule"
	"github.com/sessionize/sessionize/internal/session"
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
