package batch

import (
	"context"
	"errors"
	"fmt"
	"math"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/sessionize/sessionize/internal/iceberg"
	"github.com/sessionize/sessionize/internal/input"
	"github.com/sessionize/sessionize/internal/rule"
	"github.com/sessionize/sessionize/internal/session"
)

// TableOutput sends a batch run's sessions to the Iceberg sessions table
// the streaming job writes, with the same schema and session ids.
//
// Table writes are idempotent: the run is identified by its inputs'
// content and its settings (see identity.go) and recorded in the snapshot
// summary with its counters, so the same run again writes nothing, and
// table audit accounts for batch runs as for the pipeline. A different
// run that would append sessions the table already has (same session
// ids: the same events, from other files or another writer) is refused,
// unless Replace says to rewrite the window they are in.
type TableOutput struct {
	Warehouse iceberg.Config
	Table     string // only iceberg.TableSessions
	// Replace, if set, deletes the sessions starting in the range in the
	// same snapshot that appends the run's.
	Replace *iceberg.StartRange
}

// ErrSessionsExist means the run would append sessions the table already
// holds.
var ErrSessionsExist = errors.New("the sessions table already holds sessions of this run")

// TableResult is what a run did to the sessions table.
type TableResult struct {
	RunID    string `json:"run_id"`
	Snapshot int64  `json:"snapshot"` // 0: unknown (the snapshot was expired)
	// AlreadyWritten: the same run had been written before; this one
	// wrote nothing (no file either).
	AlreadyWritten bool                   `json:"already_written"`
	CommittedMs    int64                  `json:"committed_ms"`
	Sessions       int64                  `json:"sessions"`
	Inputs         []string               `json:"inputs,omitempty"`
	Replaced       *iceberg.ReplacedRange `json:"replaced,omitempty"`
}

// alreadyMessage says that the run had been written before.
func (t *TableResult) alreadyMessage() string {
	snap := "a snapshot since expired"
	if t.Snapshot != 0 {
		snap = fmt.Sprintf("snapshot %d", t.Snapshot)
	}
	return fmt.Sprintf("sessions table: batch run %s (the same inputs and settings: %s) already written by %s at %s, %d sessions; nothing to do (no output written)",
		t.RunID, strings.Join(t.Inputs, ", "), snap, time.UnixMilli(t.CommittedMs).UTC().Format(time.RFC3339), t.Sessions)
}

func (t *TableOutput) validate() error {
	if t.Table != iceberg.TableSessions {
		return fmt.Errorf("--output-table %q: batch writes the %q table (use --namespace to keep runs apart)", t.Table, iceberg.TableSessions)
	}
	if t.Warehouse.Warehouse == "" {
		return fmt.Errorf("--output-table needs --warehouse DIR")
	}
	if t.Replace != nil && t.Replace.FromMs >= t.Replace.ToMs {
		return fmt.Errorf("--replace-range %s is empty: FROM must be before TO", t.Replace)
	}
	return nil
}

// maxListedInputs is how many input names a run's record keeps.
const maxListedInputs = 3

// tableWriter collects rows; they are committed in one snapshot once the
// run has succeeded, so a failed run adds nothing to the table.
type tableWriter struct {
	out    *TableOutput
	ident  runIdentity
	stdin  *stdinHash // set when standard input is an input
	id     string     // the run id; known before reading unless stdin is read
	inputs []string
	rows   []iceberg.SessionRow
	attrs  *rule.Set // the session attributes, for their columns
}

// warehouse is the warehouse config of a writer of the sessions table
// with the run's attribute columns.
func (t *tableWriter) warehouse() iceberg.Config {
	c := t.out.Warehouse
	c.WritesSessionAttrs, c.SessionAttrs = true, t.attrs.TableColumns()
	return c
}

// keepsStrings: rows keep the sessions' strings until the commit.
func (t *tableWriter) keepsStrings() bool { return true }

func (t *tableWriter) Write(s *session.Session) error {
	row := iceberg.NewSessionRow(s)
	var err error
	if row.Attrs, err = t.attrs.TableValues(s.Attrs); err != nil {
		return err
	}
	row.PagesVisited = slices.Clone(s.Pages)
	t.rows = append(t.rows, row)
	return nil
}

func (t *tableWriter) Close() error { return nil }

// newTableWriter identifies the run. If the table already has it, it
// returns the result and no writer: there is nothing to do.
func newTableWriter(ctx context.Context, cfg *Config, inputs []input.File) (*tableWriter, *TableResult, error) {
	t := &tableWriter{out: cfg.Table, ident: newRunIdentity(cfg), attrs: cfg.RuleSet}
	for _, in := range inputs {
		t.inputs = append(t.inputs, in.Name())
	}
	if size := totalSize(inputs); size > 256<<20 {
		cfg.Logger.Info("identifying the run by its inputs' content", "inputs", len(inputs), "bytes", size)
	}
	complete, err := t.ident.hashFiles(ctx, inputs, cfg.Resume)
	if err != nil {
		return nil, nil, err
	}
	if !complete {
		t.stdin = newStdinHash(cfg.Stdin)
		cfg.Stdin = t.stdin
		return t, nil, nil
	}
	t.id = t.ident.id()
	wh, err := iceberg.Open(ctx, t.warehouse(), cfg.Logger)
	if err != nil {
		return nil, nil, err
	}
	defer wh.Close()
	snap, ok, err := wh.Current(ctx, iceberg.TableSessions)
	if err != nil || !ok {
		return t, nil, err
	}
	sum, err := iceberg.ParseSummary(snap.Summary)
	if err != nil {
		return nil, nil, fmt.Errorf("sessions table snapshot %d: %w", snap.ID, err)
	}
	if r, found := sum.WrittenBatchRun(t.id); found {
		res, err := alreadyWritten(ctx, wh, r)
		return nil, res, err
	}
	return t, nil, nil
}

// alreadyWritten describes the earlier commit of run r.
func alreadyWritten(ctx context.Context, wh *iceberg.Warehouse, r iceberg.BatchRun) (*TableResult, error) {
	res := &TableResult{RunID: r.ID, AlreadyWritten: true, CommittedMs: r.CommittedMs, Sessions: r.Sessions, Inputs: r.Inputs, Replaced: r.Replaced}
	snaps, err := wh.Snapshots(ctx, iceberg.TableSessions)
	if err != nil {
		return nil, err
	}
	// A run written again after a replace also has an earlier snapshot of
	// the same id, from before r was committed.
	for _, s := range slices.Backward(snaps) {
		if s.TimestampMs < r.CommittedMs {
			continue
		}
		if sum, err := iceberg.ParseSummary(s.Summary); err == nil && sum.BatchRun == r.ID {
			res.Snapshot = s.ID
			break
		}
	}
	return res, nil
}

// commit appends the rows as one snapshot that records the run, on top of
// the current sessions snapshot, whose properties (the streaming job's
// progress, earlier runs) it carries forward. A conflict with a concurrent
// writer is retried on the new head; the retry also settles a commit
// whose outcome was unknown, since the head then records this run.
func (t *tableWriter) commit(ctx context.Context, sum *Summary, cfg *Config) (*TableResult, error) {
	if t.id == "" {
		t.ident.Inputs = append(t.ident.Inputs, t.stdin.sum())
		t.id = t.ident.id()
	}
	wh, err := iceberg.Open(ctx, t.warehouse(), cfg.Logger)
	if err != nil {
		return nil, err
	}
	defer wh.Close()
	rejectedTo := cfg.Rejected
	if abs, err := filepath.Abs(rejectedTo); err == nil && rejectedTo != "" && rejectedTo != "-" {
		rejectedTo = abs // the record outlives the working directory
	}
	run := iceberg.BatchRun{ID: t.id, CommittedMs: time.Now().UnixMilli(), InputCount: len(t.inputs),
		Inputs: t.inputs[:min(len(t.inputs), maxListedInputs)], Sessions: int64(len(t.rows)), RejectedTo: rejectedTo,
		Counters: iceberg.Counters{Records: sum.RecordsRead + sum.ResumedEvents, InSessions: sum.EventsInSessions,
			Duplicates: sum.Duplicates, Rejected: sum.Rejected, Late: sum.Late, Open: sum.CarriedEvents}}
	window := t.window()
	if window != nil {
		run.FromMs, run.ToMs = window.FromMs, window.ToMs-1
	}
	for attempt := 0; ; attempt++ {
		snap, ok, err := wh.Current(ctx, iceberg.TableSessions)
		if err != nil {
			return nil, err
		}
		props := map[string]string{}
		parent := iceberg.NoSnapshot
		if ok {
			parent = snap.ID
			props = snap.Summary
		}
		head, err := iceberg.ParseSummary(props)
		if err != nil {
			return nil, fmt.Errorf("sessions table snapshot %d: %w", parent, err)
		}
		if r, found := head.WrittenBatchRun(t.id); found {
			res, err := alreadyWritten(ctx, wh, r)
			if err == nil && r.CommittedMs == run.CommittedMs {
				res.AlreadyWritten = false // our own commit, whose answer was lost
			}
			return res, err
		}
		if window != nil {
			if err := t.checkOverlap(ctx, wh, parent, head, *window); err != nil {
				return nil, err
			}
		}
		run.Replaced = nil
		if r := t.out.Replace; r != nil {
			run.Replaced = &iceberg.ReplacedRange{FromMs: r.FromMs, ToMs: r.ToMs}
			if err := wh.SessionStarts(ctx, parent, *r, func(_ string, _, events int64) {
				run.Replaced.Sessions++
				run.Replaced.Events += events
			}); err != nil {
				return nil, err
			}
		}
		head.BatchRuns = append(head.BatchRuns, run)
		head.BatchRun = t.id
		s, err := wh.Commit(ctx, iceberg.Commit{Table: iceberg.TableSessions, Sessions: t.rows, Properties: head.Properties(),
			ExpectParentSnapshotID: parent, Replace: t.out.Replace})
		if err == nil {
			return &TableResult{RunID: t.id, Snapshot: s.ID, CommittedMs: run.CommittedMs, Sessions: run.Sessions,
				Inputs: run.Inputs, Replaced: run.Replaced}, nil
		}
		if attempt >= 20 || !(errors.Is(err, iceberg.ErrConflict) || errors.Is(err, iceberg.ErrCommitUnknown)) {
			return nil, fmt.Errorf("commit %d sessions to %s: %w", len(t.rows), t.out.Warehouse.Warehouse, err)
		}
	}
}

func inputPaths(inputs []input.File) []string {
	out := make([]string, len(inputs))
	for i, in := range inputs {
		out[i] = in.Path
	}
	return out
}

// window is the range of the run's session starts; nil if it has none.
func (t *tableWriter) window() *iceberg.StartRange {
	if len(t.rows) == 0 {
		return nil
	}
	r := iceberg.StartRange{FromMs: math.MaxInt64, ToMs: math.MinInt64}
	for i := range t.rows {
		r.FromMs = min(r.FromMs, t.rows[i].SessionStartTimeMs)
		r.ToMs = max(r.ToMs, t.rows[i].SessionStartTimeMs+1)
	}
	return &r
}

// checkOverlap refuses a run whose sessions the table already holds
// (outside the range it replaces): the same events written before, by
// another run over other files or settings, or by the streaming job.
func (t *tableWriter) checkOverlap(ctx context.Context, wh *iceberg.Warehouse, snapshot int64, head iceberg.Summary, window iceberg.StartRange) error {
	ours := make(map[string]int, len(t.rows))
	for i := range t.rows {
		ours[t.rows[i].SessionID] = i
	}
	// found holds the run's sessions the table has, each once: a table
	// that already doubled them (stream over events batch wrote) must not
	// make the message count more clashes than the run has sessions.
	found := map[int]bool{}
	example := -1
	err := wh.SessionStarts(ctx, snapshot, window, func(id string, startMs, _ int64) {
		if t.out.Replace != nil && t.out.Replace.Contains(startMs) {
			return
		}
		if i, ok := ours[id]; ok {
			found[i] = true
			if example < 0 {
				example = i
			}
		}
	})
	n := len(found)
	if err != nil || n == 0 {
		return err
	}
	var writers []string
	for _, r := range head.BatchRuns {
		if r.Sessions > 0 && r.FromMs < window.ToMs && r.ToMs >= window.FromMs {
			writers = append(writers, fmt.Sprintf("batch run %s (committed %s, inputs %s)", r.ID,
				time.UnixMilli(r.CommittedMs).UTC().Format(time.RFC3339), strings.Join(r.Inputs, ", ")))
		}
	}
	if len(head.Offsets) > 0 {
		writers = append(writers, fmt.Sprintf("sessionize run (the streaming job, topic %q)", head.Topic))
	}
	if len(writers) == 0 {
		writers = append(writers, "another writer")
	}
	ex := t.rows[example]
	return fmt.Errorf("%w: %d of its %d sessions are in the table already (e.g. session %s of user %s starting %s), written by %s; "+
		"this is another run over the same events (other files or settings). To rewrite them on purpose give --replace-range %s "+
		"(the window of this run's sessions), or write to another --namespace",
		ErrSessionsExist, n, len(t.rows), ex.SessionID, ex.UUID, time.UnixMilli(ex.SessionStartTimeMs).UTC().Format(time.RFC3339),
		strings.Join(writers, " or "), window)
}
