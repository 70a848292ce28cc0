package iceberg

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/iceberg-go"
	"github.com/apache/iceberg-go/table"
)

// StartRange is a half-open window of session starts, [FromMs, ToMs) in
// epoch milliseconds.
type StartRange struct {
	FromMs, ToMs int64
}

func (r StartRange) String() string {
	return time.UnixMilli(r.FromMs).UTC().Format(time.RFC3339Nano) + ".." + time.UnixMilli(r.ToMs).UTC().Format(time.RFC3339Nano)
}

// Contains reports whether a session starting at ms is in the range.
func (r StartRange) Contains(ms int64) bool { return ms >= r.FromMs && ms < r.ToMs }

// filter selects the rows in the range. It names both start columns: the
// timestamp is the partition source (day partitions are pruned by it), the
// milliseconds are exact.
func (r StartRange) filter() iceberg.BooleanExpression {
	return iceberg.NewAnd(
		iceberg.GreaterThanEqual(iceberg.Reference("session_start_time_ms"), r.FromMs),
		iceberg.LessThan(iceberg.Reference("session_start_time_ms"), r.ToMs),
		iceberg.GreaterThanEqual(iceberg.Reference(SessionStartColumn), iceberg.Timestamp(r.FromMs*1000)),
		iceberg.LessThan(iceberg.Reference(SessionStartColumn), iceberg.Timestamp(r.ToMs*1000)))
}

// commitReplace is Commit with c.Replace: iceberg-go's overwrite deletes
// the files whose rows all start in the range, rewrites those with some
// rows in it, and adds c.Sessions, in one snapshot. The overwrite names
// the files it writes itself, so a refused attempt leaves them for the
// orphan-file pass of table maintain instead of deleting them here.
func (w *Warehouse) commitReplace(ctx context.Context, tbl *table.Table, ti tableInfo, c Commit, props iceberg.Properties, started time.Time) (Snapshot, error) {
	tx := tbl.NewTransaction()
	if err := tx.AssertRefSnapshotID(table.MainBranch); err != nil {
		return Snapshot{}, fmt.Errorf("iceberg: commit to %s: assert main: %w", c.Table, err)
	}
	rdr := array.ReaderFromIter(ti.arrowSchema, recordBatches(ti.arrowSchema, c.Sessions, bindSessions(w.cfg.SessionAttrs)))
	defer rdr.Release()
	if err := tx.Overwrite(ctx, rdr, props, table.WithOverwriteFilter(c.Replace.filter())); err != nil {
		return Snapshot{}, fmt.Errorf("iceberg: commit to %s: replace %s: %w", c.Table, c.Replace, err)
	}
	committed, err := w.cfg.Faults.catalogCommit(ctx, c.Table, tx)
	switch {
	case err == nil:
		snap := committed.CurrentSnapshot()
		if snap == nil {
			return Snapshot{}, fmt.Errorf("iceberg: commit to %s: catalog accepted the commit but main has no snapshot", c.Table)
		}
		w.committed(c.Table, committed)
		w.logger.DebugContext(ctx, "iceberg replace", "table", c.Table, "snapshot", snap.SnapshotID,
			"range", c.Replace.String(), "rows", len(c.Sessions), "duration", time.Since(started))
		return snapshotFrom(snap), nil
	case errors.Is(err, errAnswerLost):
		return Snapshot{}, fmt.Errorf("%w: replace in %s: %w", ErrCommitUnknown, c.Table, err)
	case w.isConflict(err):
		return Snapshot{}, fmt.Errorf("%w: table %s moved from snapshot %d during the commit: %w",
			ErrConflict, c.Table, c.ExpectParentSnapshotID, err)
	}
	return Snapshot{}, fmt.Errorf("%w: replace in %s: %w", ErrCommitUnknown, c.Table, err)
}

// SessionStarts calls fn with the session id, start and event count of
// every row of the sessions table's snapshot (NoSnapshot: the current one)
// whose session starts in r. It reads only those three columns, and only
// the files whose statistics overlap r.
func (w *Warehouse) SessionStarts(ctx context.Context, snapshotID int64, r StartRange, fn func(id string, startMs, events int64)) error {
	ctx = w.ioContext(ctx)
	tbl, err := w.load(ctx, TableSessions)
	if err != nil {
		return err
	}
	if tbl.CurrentSnapshot() == nil {
		return nil
	}
	opts := []table.ScanOption{table.WithRowFilter(r.filter()),
		table.WithSelectedFields("session_id", "session_start_time_ms", "event_count")}
	if snapshotID != NoSnapshot {
		opts = append(opts, table.WithSnapshotID(snapshotID))
	}
	_, batches, err := tbl.Scan(opts...).ToArrowRecords(ctx)
	if err != nil {
		return fmt.Errorf("iceberg: scan sessions in %s: %w", r, err)
	}
	for rec, err := range batches {
		if err != nil {
			return fmt.Errorf("iceberg: scan sessions in %s: %w", r, err)
		}
		ids, ok1 := rec.Column(int(rec.Schema().FieldIndices("session_id")[0])).(*array.String)
		starts, ok2 := rec.Column(int(rec.Schema().FieldIndices("session_start_time_ms")[0])).(*array.Int64)
		events, ok3 := rec.Column(int(rec.Schema().FieldIndices("event_count")[0])).(*array.Int64)
		if !ok1 || !ok2 || !ok3 {
			rec.Release()
			return fmt.Errorf("iceberg: scan sessions in %s: unexpected column types %s", r, rec.Schema())
		}
		for i := 0; i < int(rec.NumRows()); i++ {
			fn(ids.Value(i), starts.Value(i), events.Value(i))
		}
		rec.Release()
	}
	return nil
}
