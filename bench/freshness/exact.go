package main

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"hash/maphash"
	"io"
	"os"
	"os/exec"
	"slices"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/klauspost/compress/gzip"

	"github.com/sessionize/sessionize/bench/internal/child"
	"github.com/sessionize/sessionize/internal/batch"
	"github.com/sessionize/sessionize/internal/iceberg"
	"github.com/sessionize/sessionize/internal/session"
)

// multiset fingerprints a bag of lines, order-free, in constant memory:
// the count and the sum and xor of a 64-bit hash of each line. Two bags
// with equal fingerprints are equal but for a hash collision, which a
// benchmark can live with; the sets are far too big (tens of millions of
// sessions in a 30-minute run) to sort in memory.
type multiset struct {
	seed     maphash.Seed
	n        int64
	sum, xor uint64
	keep     bool     // keep the lines too, for a readable difference
	lines    []string // when keep
	limit    int
}

func newMultiset(seed maphash.Seed, keepUpTo int) *multiset {
	return &multiset{seed: seed, keep: keepUpTo > 0, limit: keepUpTo}
}

func (m *multiset) add(line []byte) {
	h := maphash.Bytes(m.seed, line)
	m.n++
	m.sum += h
	m.xor ^= h
	if m.keep {
		if len(m.lines) >= m.limit {
			m.keep, m.lines = false, nil
			return
		}
		m.lines = append(m.lines, string(line))
	}
}

func (m *multiset) equal(o *multiset) bool { return m.n == o.n && m.sum == o.sum && m.xor == o.xor }

// firstDifference names a line in one bag and not the other, when both
// kept their lines.
func firstDifference(a, b *multiset) string {
	if a.lines == nil || b.lines == nil {
		return "(too many sessions to list the difference)"
	}
	x, y := slices.Clone(a.lines), slices.Clone(b.lines)
	slices.Sort(x)
	slices.Sort(y)
	i, j := 0, 0
	for i < len(x) && j < len(y) {
		switch {
		case x[i] == y[j]:
			i, j = i+1, j+1
		case x[i] < y[j]:
			return "only in the table: " + x[i]
		default:
			return "only in batch: " + y[j]
		}
	}
	if i < len(x) {
		return "only in the table: " + x[i]
	}
	if j < len(y) {
		return "only in batch: " + y[j]
	}
	return "(none)"
}

// exactResult is the comparison of the sessions table with batch.
type exactResult struct {
	table, batch *multiset
	lateRows     int
	lateDropped  int64 // input lines left out of batch's input
	detail       string
}

// checkExact compares the sessions table with `sessionize batch` over the
// produced events minus those the run sent to late_events. Duplicates are
// byte-identical, so a late record is recognised by its raw line; of k
// identical lines of which m went to late_events, the last m are the late
// ones (the first copy of a line can be on time and a re-sent copy late,
// never the other way round: a partition's watermark only rises), so
// those are left out.
func checkExact(ctx context.Context, bin, warehouse, events, dir string, keepUpTo int) (exactResult, error) {
	var res exactResult
	wh, err := iceberg.OpenReadOnly(ctx, iceberg.Config{Warehouse: warehouse}, nil)
	if err != nil {
		return res, err
	}
	defer wh.Close()
	late, err := wh.ReadLate(ctx)
	if err != nil {
		return res, fmt.Errorf("reading late_events: %w", err)
	}
	res.lateRows = len(late)
	lateCount := map[string]int{}
	for _, r := range late {
		lateCount[r.Raw]++
	}

	// Pass 1: how often each late line occurs in the input.
	occurs := map[string]int{}
	if err := eachLine(events, func(line []byte) error {
		if _, ok := lateCount[string(line)]; ok {
			occurs[string(line)]++
		}
		return nil
	}); err != nil {
		return res, err
	}
	for raw, m := range lateCount {
		if occurs[raw] < m {
			return res, fmt.Errorf("late_events holds %d rows of a record the input has %d times: %.200s", m, occurs[raw], raw)
		}
	}

	// Pass 2: the input minus the late copies, into batch's stdin.
	out := dir + "/batch-sessions.jsonl"
	cmd := exec.CommandContext(ctx, bin, "batch", "--input", "-", "--output", out, "--summary-json", dir+"/batch-summary.json")
	cmd.Env = child.CleanEnv()
	logf, err := os.Create(dir + "/batch.log")
	if err != nil {
		return res, err
	}
	defer logf.Close()
	cmd.Stdout, cmd.Stderr = logf, logf
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return res, err
	}
	if err := cmd.Start(); err != nil {
		return res, err
	}
	seen := map[string]int{}
	bw := bufio.NewWriterSize(stdin, 1<<20)
	werr := eachLine(events, func(line []byte) error {
		if m, ok := lateCount[string(line)]; ok {
			seen[string(line)]++
			if seen[string(line)] > occurs[string(line)]-m {
				res.lateDropped++
				return nil
			}
		}
		if _, err := bw.Write(line); err != nil {
			return err
		}
		return bw.WriteByte('\n')
	})
	if werr == nil {
		werr = bw.Flush()
	}
	stdin.Close()
	if err := cmd.Wait(); err != nil {
		return res, fmt.Errorf("batch: %w (see %s/batch.log)", err, dir)
	}
	if werr != nil {
		return res, fmt.Errorf("feeding batch: %w", werr)
	}

	seed := maphash.MakeSeed()
	res.batch = newMultiset(seed, keepUpTo)
	if err := eachLine(out, func(line []byte) error { res.batch.add(line); return nil }); err != nil {
		return res, err
	}
	res.table = newMultiset(seed, keepUpTo)
	var rows []iceberg.SessionRow
	var line []byte
	_, err = wh.Scan(ctx, iceberg.TableSessions, iceberg.ScanOptions{}, func(rec arrow.RecordBatch) error {
		var err error
		if rows, err = iceberg.SessionsFromRecord(rec, rows[:0]); err != nil {
			return err
		}
		for _, r := range rows {
			s := session.Session{UUID: r.UUID, StartMs: r.SessionStartTimeMs, EndMs: r.SessionEndTimeMs, EventCount: r.EventCount,
				Pages: r.PagesVisited, PagesTruncated: r.PagesTruncated, EntryPage: r.EntryPage, ExitPage: r.ExitPage}
			var ok bool
			if s.EndReason, ok = session.ParseEndReason(r.EndReason); !ok {
				return fmt.Errorf("session %s: end_reason %q", r.SessionID, r.EndReason)
			}
			if r.SessionID != s.ID() {
				return fmt.Errorf("session_id %s is not the id of %s@%d", r.SessionID, r.UUID, r.SessionStartTimeMs)
			}
			line = batch.AppendSessionJSON(line[:0], &s)
			res.table.add(line)
		}
		return nil
	})
	if err != nil {
		return res, fmt.Errorf("reading the sessions table: %w", err)
	}
	if !res.table.equal(res.batch) {
		res.detail = firstDifference(res.table, res.batch)
	}
	return res, nil
}

// eachLine calls fn with every line of a file (gzip when it starts like
// gzip), without its line end; the slice is valid only during the call.
func eachLine(path string, fn func([]byte) error) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	br := bufio.NewReaderSize(f, 1<<20)
	var r io.Reader = br
	if magic, _ := br.Peek(2); len(magic) == 2 && magic[0] == 0x1f && magic[1] == 0x8b {
		zr, err := gzip.NewReader(br)
		if err != nil {
			return fmt.Errorf("%s: %w", path, err)
		}
		defer zr.Close()
		r = bufio.NewReaderSize(zr, 1<<20)
	}
	lr := r.(*bufio.Reader)
	for {
		line, err := lr.ReadSlice('\n')
		if err == bufio.ErrBufferFull {
			// a line over 1 MiB: gather it
			long := append([]byte(nil), line...)
			for err == bufio.ErrBufferFull {
				line, err = lr.ReadSlice('\n')
				long = append(long, line...)
			}
			line = long
		}
		if len(line) > 0 {
			line = bytes.TrimSuffix(line, []byte("\n"))
			if err := fn(line); err != nil {
				return err
			}
		}
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return fmt.Errorf("%s: %w", path, err)
		}
	}
}
