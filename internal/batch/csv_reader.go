package batch

import (
	"bytes"
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"slices"
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
// row. The header names the columns: the schema's user, event id and time
// fields are required (a dotted path is one column's whole name), the page
// column is optional, anything else (booking_details) is ignored. An empty
// input has no rows and is not an error.
//
// A row that cannot be trusted does not stop the read: visit gets it with
// f == nil and reason invalid_csv, raw being the row as parsed. That means
// "not parseable CSV", distinct from an empty field, which is rejected by
// the schema's rules (missing_user, ...). With LazyQuotes encoding/csv
// reports next to no syntax errors, so in practice such a row is one whose
// field count differs from the header's, usually an unquoted comma that
// shifted the columns.
func readCSV(ctx context.Context, r io.Reader, sch event.Schema, visit rowVisitor) error {
	return readCSVLimit(ctx, r, sch, visit, csvMaxRecordBytes)
}

// readCSVLimit is readCSV with the memory guard as a parameter, for tests.
func readCSVLimit(ctx context.Context, r io.Reader, sch event.Schema, visit rowVisitor, maxRecord int64) error {
	asm := event.NewAssembler(sch)
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
	cols, err := csvColumns(header, asm.Schema())
	if err != nil {
		return err
	}
	lim.mark = cr.InputOffset()

	var (
		f       event.Fields
		vals    = asm.Values()
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
			if err := visit(raw, nil, event.InvalidCSV, int64(line)); err != nil {
				return err
			}
			continue
		}
		line, _ = cr.FieldPos(0)
		if len(rec) != cols.n {
			if err := visit(raw, nil, event.InvalidCSV, int64(line)); err != nil {
				return err
			}
			continue
		}
		// Copy into one reusable buffer so f never aliases the immutable
		// strings encoding/csv returns and costs no allocation per row.
		scratch = scratch[:0]
		for _, c := range cols.all {
			scratch = append(scratch, rec[c.idx]...)
		}
		off := 0
		for _, c := range cols.all {
			n := len(rec[c.idx])
			v := scratch[off : off+n : off+n]
			off += n
			if c.isTime {
				v = bytes.TrimSpace(v)
			}
			if c.extra && n == 0 {
				*c.val(&vals) = event.Value{}
				continue
			}
			*c.val(&vals) = event.StringValue(v)
		}
		if cols.page < 0 {
			vals.Page = event.Value{}
		}
		r := asm.Assemble(&vals, raw, &f)
		if err := visit(raw, &f, r, int64(line)); err != nil {
			return err
		}
	}
}

// csvColumn is where one of the schema's fields is in the row.
type csvColumn struct {
	idx    int
	val    func(*event.Values) *event.Value
	isTime bool
	extra  bool // a rule field: an empty cell is taken for a missing field (CSV has no null)
}

// csvColumnIndexes locates the fields readCSV needs; page is -1 when the
// file has no page column.
type csvColumnIndexes struct {
	all  []csvColumn
	page int
	n    int // header width
}

func csvColumns(header []string, sch *event.Schema) (csvColumnIndexes, error) {
	c := csvColumnIndexes{page: -1, n: len(header)}
	names := make([]string, len(header))
	for i, h := range header {
		if i == 0 {
			h = strings.TrimPrefix(h, "\ufeff") // spreadsheet exports start with a BOM
		}
		names[i] = strings.TrimSpace(h)
	}
	// The first of duplicate columns wins, as in JSON.
	find := func(p event.Path) int { return slices.Index(names, p.String()) }
	var missing []string
	need := func(p event.Path, val func(*event.Values) *event.Value, isTime bool) {
		i := find(p)
		if i < 0 {
			missing = append(missing, p.String())
			return
		}
		c.all = append(c.all, csvColumn{idx: i, val: val, isTime: isTime})
	}
	for u := range sch.User {
		need(sch.User[u], func(v *event.Values) *event.Value { return &v.User[u] }, false)
	}
	if sch.HasEventID() {
		need(sch.EventID, func(v *event.Values) *event.Value { return &v.EventID }, false)
	}
	need(sch.Time, func(v *event.Values) *event.Value { return &v.Time }, true)
	if !sch.Page.IsZero() {
		if c.page = find(sch.Page); c.page >= 0 {
			c.all = append(c.all, csvColumn{idx: c.page, val: func(v *event.Values) *event.Value { return &v.Page }})
		}
	}
	for x, p := range sch.Extra {
		// A rule field without a column is missing from every row.
		if i := find(p); i >= 0 {
			c.all = append(c.all, csvColumn{idx: i, val: func(v *event.Values) *event.Value { return &v.Extra[x] }, extra: true})
		}
	}
	if len(missing) > 0 {
		return c, fmt.Errorf("csv header lacks required column(s) %s (fields: %s); found: %s",
			strings.Join(missing, ", "), sch.Describe(), strings.Join(names, ", "))
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
