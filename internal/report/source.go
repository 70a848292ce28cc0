package report

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"slices"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/arrow-go/v18/parquet"
	"github.com/apache/arrow-go/v18/parquet/file"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"

	"github.com/sessionize/sessionize/internal/input"
	"github.com/valyala/fastjson"

	"github.com/sessionize/sessionize/internal/batch"
	"github.com/sessionize/sessionize/internal/iceberg"
)

// FromWarehouse reports on the sessions table of an Iceberg warehouse, with
// the late/rejected/duplicate rates from the pipeline's account.
func FromWarehouse(ctx context.Context, cfg iceberg.Config, logger *slog.Logger, opts Options) (*Report, error) {
	// Read-only: a report creates nothing, also where the tables are not.
	wh, err := iceberg.OpenReadOnly(ctx, cfg, logger)
	if err != nil {
		return nil, err
	}
	defer wh.Close()
	catalog := wh.CatalogKind()
	acc := NewAccumulator(opts)
	attrs, err := wh.SessionBoolAttrColumns(ctx)
	if err != nil {
		return nil, err
	}
	columns := append(readColumns(), attrs...)
	// The window goes into the scan: only the day partitions it covers
	// are read, and only the columns the report looks at.
	stats, err := wh.Scan(ctx, iceberg.TableSessions, iceberg.ScanOptions{From: opts.From, To: opts.To, Columns: columns},
		func(rec arrow.RecordBatch) error {
			if err := ctx.Err(); err != nil {
				return err
			}
			return iceberg.VisitSessions(rec, columns, acc.Add)
		})
	if err != nil {
		return nil, err
	}
	logger.Debug("scanned the sessions table", "data_files", stats.Files, "bytes", stats.FileBytes, "rows", stats.Rows)
	rep := acc.Report()
	ns := cfg.Namespace
	if ns == "" {
		ns = "sessionize"
	}
	rep.Source = Source{Kind: "warehouse", Location: wh.Location(), Namespace: &ns, Catalog: &catalog}

	audit, err := wh.Audit(ctx)
	if err != nil {
		return nil, fmt.Errorf("account of the warehouse: %w", err)
	}
	acct := audit.Account
	byReason, err := wh.RejectedByReason(ctx)
	if err != nil {
		return nil, err
	}
	rep.Quality = warehouseQuality(acct, byReason)
	return rep, nil
}

func warehouseQuality(a iceberg.Account, byReason map[string]int64) Quality {
	q := Quality{Basis: ptr("warehouse account"), RejectedByReason: byReason}
	if a.Records == 0 {
		q.Note = "not available: the sessions table has no writer counters (no records consumed by sessionize run or batch --output-table)"
		return q
	}
	q.Available = true
	// Batch runs' rejects are counted but not in rejected_events, so they
	// are in the rate and not in the reasons.
	rejected := a.Rejected + a.RejectedNotInTable
	late := a.Late + a.LateNotInTable // batch --resume's late events are in its --rejected files
	q.Records, q.Duplicates, q.Late, q.Rejected = ptr(a.Records), ptr(a.Duplicates), ptr(late), ptr(rejected)
	q.DuplicateRate = ptr(ratio(a.Duplicates, a.Records))
	q.LateRate = ptr(ratio(late, a.Records))
	q.RejectedRate = ptr(ratio(rejected, a.Records))
	q.AccountHolds = ptr(a.Holds())
	q.Note = "over every record the streaming job and batch runs consumed; --from/--to do not apply"
	if !a.Holds() {
		q.Note += "; the account does not add up (" + a.String() + "): see sessionize table audit"
	}
	return q
}

// FromFile reports on a sessions file written by sessionize batch: JSON
// lines (plain or gzip) or Parquet, told apart by content; "-" reads JSON
// lines from stdin. summaryPath, if not "", is that run's --summary-json
// file and gives the rates.
func FromFile(ctx context.Context, path string, stdin io.Reader, summaryPath string, opts Options) (*Report, error) {
	acc := NewAccumulator(opts)
	format, read, err := readSessionsFile(ctx, path, stdin, acc.Add)
	if err != nil {
		return nil, err
	}
	rep := acc.Report()
	loc := path
	if path != "-" {
		loc, _ = filepath.Abs(path)
	}
	rep.Source = Source{Kind: "file", Location: loc, Format: &format}
	if summaryPath != "" {
		rep.Source.Summary = &summaryPath
		sum, err := readSummary(summaryPath)
		if err != nil {
			return nil, err
		}
		rep.Quality = summaryQuality(sum, read)
	}
	return rep, nil
}

func readSummary(path string) (*batch.Summary, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read --summary: %w", err)
	}
	var sum batch.Summary
	if err := json.Unmarshal(b, &sum); err != nil {
		return nil, fmt.Errorf("read --summary %s: not a batch --summary-json file: %w", path, err)
	}
	if sum.RecordsRead == 0 && sum.Sessions == 0 && sum.Inputs == nil {
		return nil, fmt.Errorf("read --summary %s: not a batch --summary-json file (no records_read, sessions or inputs)", path)
	}
	return &sum, nil
}

func summaryQuality(s *batch.Summary, sessionsInFile int64) Quality {
	q := Quality{Basis: ptr("batch summary"), RejectedByReason: s.RejectedByReason}
	if q.RejectedByReason == nil {
		q.RejectedByReason = map[string]int64{}
	}
	if s.RecordsRead == 0 {
		q.Note = "not available: the summary reads no records"
		return q
	}
	q.Available = true
	q.Records, q.Duplicates, q.Rejected = ptr(s.RecordsRead), ptr(s.Duplicates), ptr(s.Rejected)
	q.DuplicateRate = ptr(ratio(s.Duplicates, s.RecordsRead))
	q.RejectedRate = ptr(ratio(s.Rejected, s.RecordsRead))
	q.AccountHolds = ptr(s.InvariantHolds)
	q.Note = "over every record the batch run read; --from/--to do not apply; late: none in batch (it orders every event, however late it arrives)"
	if s.Sessions != sessionsInFile {
		q.Note += fmt.Sprintf("; WARNING: the summary counts %d sessions but the file has %d: is it the summary of this file's run?", s.Sessions, sessionsInFile)
	}
	return q
}

// readSessionsFile calls add for every session of the file and returns the
// format name and the number of sessions read.
func readSessionsFile(ctx context.Context, path string, stdin io.Reader, add func(*Session)) (string, int64, error) {
	var r io.Reader
	if path == "-" {
		r = stdin
	} else {
		f, err := os.Open(path)
		if err != nil {
			return "", 0, err
		}
		defer f.Close()
		if st, err := f.Stat(); err == nil && !st.Mode().IsRegular() {
			return "", 0, fmt.Errorf("%s: not a regular file", path)
		}
		r = f
	}
	br := bufio.NewReaderSize(r, 1<<20)
	magic, _ := br.Peek(4)
	switch {
	case bytes.Equal(magic, []byte("PAR1")):
		if path == "-" {
			return "", 0, errors.New("stdin: Parquet needs a file, not a pipe")
		}
		n, err := readSessionsParquet(ctx, path, add)
		return "parquet", n, err
	case len(magic) >= 2 && magic[0] == 0x1f && magic[1] == 0x8b:
		zr, zclose, _, err := input.Gunzip(br)
		if err != nil {
			return "", 0, fmt.Errorf("%s: %w", path, err)
		}
		defer zclose()
		n, err := readSessionsJSONL(ctx, path, bufio.NewReaderSize(zr, 1<<20), add)
		return "jsonl.gz", n, err
	default:
		n, err := readSessionsJSONL(ctx, path, br, add)
		return "jsonl", n, err
	}
}

// jsonSession has pointers for the required fields so a missing one is
// told apart from a zero.
type jsonSession struct {
	SessionID              *string  `json:"session_id"`
	UUID                   *string  `json:"uuid"`
	SessionStartTimeMs     *int64   `json:"session_start_time_ms"`
	SessionEndTimeMs       int64    `json:"session_end_time_ms"`
	SessionDurationSeconds float64  `json:"session_duration_seconds"`
	EventCount             *int64   `json:"event_count"`
	PagesVisited           []string `json:"pages_visited"`
	PagesTruncated         bool     `json:"pages_truncated"`
	EntryPage              string   `json:"entry_page"`
	ExitPage               string   `json:"exit_page"`
	EndReason              string   `json:"end_reason"`
}

func readSessionsJSONL(ctx context.Context, path string, r *bufio.Reader, add func(*Session)) (int64, error) {
	var (
		line, n int64
		s       Session
		bools   boolAttrReader
	)
	for {
		b, err := r.ReadBytes('\n')
		if err != nil && err != io.EOF {
			return n, fmt.Errorf("%s: after line %d: %w", path, line, err)
		}
		if len(b) > 0 {
			line++
			if line%4096 == 0 && ctx.Err() != nil {
				return n, ctx.Err()
			}
			if b = bytes.TrimSpace(b); len(b) > 0 {
				var js jsonSession
				if jerr := json.Unmarshal(b, &js); jerr != nil {
					return n, fmt.Errorf("%s:%d: not a JSON session: %w", path, line, jerr)
				}
				if missing := js.missing(); missing != "" {
					return n, fmt.Errorf("%s:%d: not a session: no %s (report reads the sessions that sessionize batch writes, not events)", path, line, missing)
				}
				s = Session{
					SessionID: *js.SessionID, UUID: *js.UUID, SessionStartTimeMs: *js.SessionStartTimeMs,
					SessionEndTimeMs: js.SessionEndTimeMs, SessionDurationSeconds: js.SessionDurationSeconds,
					EventCount: *js.EventCount, PagesVisited: js.PagesVisited, PagesTruncated: js.PagesTruncated,
					EntryPage: js.EntryPage, ExitPage: js.ExitPage, EndReason: js.EndReason,
				}
				s.BoolAttrs = bools.read(b)
				add(&s)
				n++
			}
		}
		if err == io.EOF {
			return n, nil
		}
	}
}

func (js *jsonSession) missing() string {
	switch {
	case js.SessionID == nil:
		return "session_id"
	case js.UUID == nil:
		return "uuid"
	case js.SessionStartTimeMs == nil:
		return "session_start_time_ms"
	case js.EventCount == nil:
		return "event_count"
	}
	return ""
}

func readSessionsParquet(ctx context.Context, path string, add func(*Session)) (int64, error) {
	props := parquet.NewReaderProperties(memory.DefaultAllocator)
	props.BufferedStreamEnabled = true
	pf, err := file.OpenParquetFile(path, false, file.WithReadProps(props))
	if err != nil {
		return 0, fmt.Errorf("read parquet %s: %w", path, err)
	}
	defer pf.Close()
	fr, err := pqarrow.NewFileReader(pf, pqarrow.ArrowReadProperties{BatchSize: 16 << 10}, memory.DefaultAllocator)
	if err != nil {
		return 0, fmt.Errorf("read parquet %s: %w", path, err)
	}
	sc, err := fr.Schema()
	if err != nil {
		return 0, fmt.Errorf("read parquet %s: %w", path, err)
	}
	columns := append(readColumns(), iceberg.BoolAttrColumns(sc)...)
	rr, err := fr.GetRecordReader(ctx, leafColumns(fr.Manifest, columns), nil)
	if err != nil {
		return 0, fmt.Errorf("read parquet %s: %w", path, err)
	}
	defer rr.Release()
	var n int64
	for rr.Next() {
		if err := ctx.Err(); err != nil {
			return n, err
		}
		rec := rr.RecordBatch()
		if err := iceberg.VisitSessions(rec, columns, add); err != nil {
			return n, fmt.Errorf("read parquet %s: not a sessions file written by sessionize batch: %w", path, err)
		}
		n += rec.NumRows()
	}
	if err := rr.Err(); err != nil {
		return n, fmt.Errorf("read parquet %s: %w", path, err)
	}
	return n, nil
}

// leafColumns returns the Parquet leaf column indices of the named
// top-level fields (a list has its element as its leaf), so the reader
// decodes only those.
func leafColumns(m *pqarrow.SchemaManifest, names []string) []int {
	var out []int
	var leaves func(f *pqarrow.SchemaField)
	leaves = func(f *pqarrow.SchemaField) {
		if f.IsLeaf() {
			out = append(out, f.ColIndex)
		}
		for i := range f.Children {
			leaves(&f.Children[i])
		}
	}
	for i := range m.Fields {
		if slices.Contains(names, m.Fields[i].Field.Name) {
			leaves(&m.Fields[i])
		}
	}
	return out
}

// boolAttrReader finds a JSON session's boolean attributes (batch
// --session-attr NAME=any(...)): its boolean fields that are attribute
// columns (iceberg.IsAttrColumn). Most lines have none; a byte count rules
// those out before any parse (a session's own fields have one boolean,
// pages_truncated).
type boolAttrReader struct {
	p      fastjson.Parser
	out    []iceberg.BoolAttr
	isAttr map[string]bool // per field name seen: IsAttrColumn's answer
}

func (r *boolAttrReader) read(line []byte) []iceberg.BoolAttr {
	if bytes.Count(line, []byte(":true"))+bytes.Count(line, []byte(":false"))+
		bytes.Count(line, []byte(": true"))+bytes.Count(line, []byte(": false")) <= 1 {
		return nil
	}
	v, err := r.p.ParseBytes(line)
	if err != nil {
		return nil
	}
	obj, err := v.Object()
	if err != nil {
		return nil
	}
	r.out = r.out[:0]
	obj.Visit(func(k []byte, v *fastjson.Value) {
		if t := v.Type(); (t == fastjson.TypeTrue || t == fastjson.TypeFalse) && r.attrColumn(k) {
			r.out = append(r.out, iceberg.BoolAttr{Name: string(k), Value: t == fastjson.TypeTrue})
		}
	})
	return r.out
}

func (r *boolAttrReader) attrColumn(name []byte) bool {
	is, ok := r.isAttr[string(name)]
	if !ok {
		if r.isAttr == nil {
			r.isAttr = map[string]bool{}
		}
		is = iceberg.IsAttrColumn(string(name))
		r.isAttr[string(name)] = is
	}
	return is
}
