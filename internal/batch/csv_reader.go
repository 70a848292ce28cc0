package batch

import (
	"bytes"
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/sessionize/sessionize/internal/event"
)

// csvCtxEvery is how many rows pass between context checks: often enough
// to stop promptly, rarely enough to cost nothing.
const csvCtxEvery = 4096

// csvMaxRecordBytes guards memory rather than enforcing the record limit:
// with LazyQuotes a stray opening quote makes encoding/csv read everything
// up to the next closing quote (possibly the rest of the file) into one
// record, and no later row can be trusted after that anyway.
const csvMaxRecordBytes = 64 << 20

var errCSVRecordTooLarge = errors.New("csv record too large")

// readCSV reads a CSV file with a header row and calls visit for each data
// row. The header names the columns: uuid, event_id and event_timestamp are
// required, page_name is optional, anything else (booking_details) is
// ignored. An empty input has no rows and is not an error.
//
// A row that cannot be trusted does not stop the read: visit gets it with
// f == nil and tsOK == false, raw being the row as parsed. A nil f means
// "not parseable CSV" (reason invalid_csv), distinct from an empty field,
// which is reported with the field empty. With LazyQuotes encoding/csv
// reports next to no syntax errors, so in practice such a row is one whose
// field count differs from the header's, usually an unquoted comma that
// shifted the columns.
func readCSV(ctx context.Context, r io.Reader, visit rowVisitor) error {
	return readCSVLimit(ctx, r, visit, csvMaxRecordBytes)
}

// readCSVLimit is readCSV with the memory guard as a parameter, for tests.
func readCSVLimit(ctx context.Context, r io.Reader, visit rowVisitor, maxRecord int64) error {
	lim := &csvLimitReader{r: r, limit: maxRecord}
	cr := csv.NewReader(lim)
	cr.ReuseRecord = true
	cr.FieldsPerRecord = -1
	cr.LazyQuotes = true

	header, err := cr.Read()
	if errors.Is(err, io.EOF) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("read csv header: %w", csvReadErr(err, maxRecord))
	}
	cols, err := csvColumns(header)
	if err != nil {
		return err
	}
	lim.mark = cr.InputOffset()

	var (
		f       event.Fields
		raw     []byte
		scratch []byte
		line    int             // of the last row read, for error messages
		pe      *csv.ParseError // out of the loop: errors.As makes it escape
	)
	for rows := 1; ; rows++ {
		if rows%csvCtxEvery == 0 {
			if err := ctx.Err(); err != nil {
				return err
			}
		}
		rec, err := cr.Read()
		if errors.Is(err, io.EOF) {
			return nil
		}
		pe = nil
		if err != nil && !errors.As(err, &pe) {
			return fmt.Errorf("read csv after line %d: %w", line, csvReadErr(err, maxRecord))
		}
		lim.mark = cr.InputOffset()
		raw = appendCSVRecord(raw[:0], rec)
		if pe != nil {
			if len(raw) == 0 {
				raw = append(raw, pe.Error()...)
			}
			line = pe.StartLine
			if err := visit(raw, nil, false, int64(line)); err != nil {
				return err
			}
			continue
		}
		line, _ = cr.FieldPos(0)
		if len(rec) != cols.n {
			if err := visit(raw, nil, false, int64(line)); err != nil {
				return err
			}
			continue
		}
		// Copy into one reusable buffer so f never aliases the immutable
		// strings encoding/csv returns and costs no allocation per row.
		scratch = append(scratch[:0], rec[cols.uuid]...)
		scratch = append(scratch, rec[cols.eventID]...)
		scratch = append(scratch, rec[cols.ts]...)
		if cols.page >= 0 {
			scratch = append(scratch, rec[cols.page]...)
		}
		u, e, t := len(rec[cols.uuid]), len(rec[cols.eventID]), len(rec[cols.ts])
		f = event.Fields{UUID: scratch[:u:u], EventID: scratch[u : u+e : u+e]}
		if cols.page >= 0 {
			f.PageName = scratch[u+e+t:]
		}
		var tsOK bool
		f.TimestampMs, tsOK = event.ParseTimestampDigits(bytes.TrimSpace(scratch[u+e : u+e+t]))
		if err := visit(raw, &f, tsOK, int64(line)); err != nil {
			return err
		}
	}
}

// csvColumnIndexes locates the fields readCSV needs; page is -1 when the
// file has no page_name column.
type csvColumnIndexes struct {
	uuid, eventID, ts, page int
	n                       int // header width
}

func csvColumns(header []string) (csvColumnIndexes, error) {
	c := csvColumnIndexes{uuid: -1, eventID: -1, ts: -1, page: -1, n: len(header)}
	names := make([]string, len(header))
	for i, h := range header {
		if i == 0 {
			h = strings.TrimPrefix(h, "\ufeff") // spreadsheet exports start with a BOM
		}
		h = strings.TrimSpace(h)
		names[i] = h
		var p *int
		switch h {
		case "uuid":
			p = &c.uuid
		case "event_id":
			p = &c.eventID
		case "event_timestamp":
			p = &c.ts
		case "page_name":
			p = &c.page
		}
		if p != nil && *p < 0 { // the first of duplicate columns wins, as in JSON
			*p = i
		}
	}
	var missing []string
	for _, m := range []struct {
		name string
		idx  int
	}{{"uuid", c.uuid}, {"event_id", c.eventID}, {"event_timestamp", c.ts}} {
		if m.idx < 0 {
			missing = append(missing, m.name)
		}
	}
	if len(missing) > 0 {
		return c, fmt.Errorf("csv header lacks required column(s) %s; found: %s",
			strings.Join(missing, ", "), strings.Join(names, ", "))
	}
	return c, nil
}

func csvReadErr(err error, maxRecord int64) error {
	if errors.Is(err, errCSVRecordTooLarge) {
		return fmt.Errorf("a record runs over %d bytes, probably from an unterminated quote: %w",
			maxRecord, err)
	}
	return err
}

// appendCSVRecord appends rec as one CSV line without the newline, quoting
// like encoding/csv.Writer so the text reads back as the same fields.
func appendCSVRecord(b []byte, rec []string) []byte {
	for i, field := range rec {
		if i > 0 {
			b = append(b, ',')
		}
		if !csvFieldNeedsQuotes(field) {
			b = append(b, field...)
			continue
		}
		b = append(b, '"')
		for {
			j := strings.IndexByte(field, '"')
			if j < 0 {
				break
			}
			b = append(b, field[:j+1]...)
			b = append(b, '"')
			field = field[j+1:]
		}
		b = append(b, field...)
		b = append(b, '"')
	}
	return b
}

func csvFieldNeedsQuotes(field string) bool {
	if field == "" {
		return false
	}
	if field == `\.` || strings.ContainsAny(field, ",\"\r\n") {
		return true
	}
	r, _ := utf8.DecodeRuneInString(field)
	return unicode.IsSpace(r)
}

// csvLimitReader fails once more than limit bytes have been read past mark,
// the end of the last complete record. encoding/csv reads ahead only a few
// KiB, so this bounds the memory one record can take.
type csvLimitReader struct {
	r     io.Reader
	n     int64
	mark  int64
	limit int64
}

func (l *csvLimitReader) Read(p []byte) (int, error) {
	if l.n-l.mark > l.limit {
		return 0, errCSVRecordTooLarge
	}
	n, err := l.r.Read(p)
	l.n += int64(n)
	return n, err
}
