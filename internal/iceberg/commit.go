package iceberg

import (
	"context"
	"errors"
	"fmt"
	"iter"
	"maps"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/iceberg-go"
	"github.com/apache/iceberg-go/table"
	"github.com/google/uuid"
)

// ErrConflict means the table's main branch was not at the snapshot the
// commit expected: someone else committed first. Nothing of the attempt
// remains (its files are deleted). Reload with Current and decide again;
// retrying the same Commit can never succeed.
var ErrConflict = errors.New("iceberg: commit conflict")

// ErrCommitUnknown means the catalog failed in a way that leaves it unknown
// whether the commit happened (e.g. the database connection broke during
// the commit), and reloading the table could not settle it. The attempt's
// files are kept, since they may belong to a committed snapshot. Look at
// the table (Current / Snapshots and their summary properties) before
// doing anything else.
var ErrCommitUnknown = errors.New("iceberg: commit outcome unknown")

// Commit is one atomic append to one table (with Replace, an overwrite of
// a range of the sessions table).
type Commit struct {
	// Table is TableSessions, TableLate or TableRejected.
	Table string
	// At most one of the row slices may be non-empty, and it must be the
	// one matching Table. With no rows the commit still creates a snapshot
	// carrying Properties (the pipeline records offset progress that way).
	Sessions []SessionRow
	Late     []LateRow
	Rejected []RejectedRow
	Events   []EventRow
	// Properties go into the snapshot summary.
	Properties map[string]string
	// ExpectParentSnapshotID is the snapshot the table's main branch must
	// be at for the commit to apply (optimistic concurrency), or NoSnapshot
	// (-1) if the table must have no snapshot yet.
	ExpectParentSnapshotID int64
	// Replace, for the sessions table only, also deletes the rows whose
	// session starts in the range, in the same snapshot (an Iceberg
	// overwrite): the range is rewritten with Sessions.
	Replace *StartRange
}

func (c *Commit) rowCount() int {
	return len(c.Sessions) + len(c.Late) + len(c.Rejected) + len(c.Events)
}

func (c *Commit) validate() error {
	kinds := 0
	for name, n := range map[string]int{TableSessions: len(c.Sessions), TableLate: len(c.Late), TableRejected: len(c.Rejected), TableEvents: len(c.Events)} {
		if n == 0 {
			continue
		}
		kinds++
		if name != c.Table {
			return fmt.Errorf("iceberg: commit to %s carries %d rows for %s", c.Table, n, name)
		}
	}
	if kinds > 1 {
		return fmt.Errorf("iceberg: commit to %s carries rows of several kinds", c.Table)
	}
	if c.Replace != nil && c.Table != TableSessions {
		return fmt.Errorf("iceberg: commit to %s: only the sessions table has a range to replace", c.Table)
	}
	if c.Replace != nil && c.Replace.FromMs >= c.Replace.ToMs {
		return fmt.Errorf("iceberg: commit: empty replace range %s", c.Replace)
	}
	if c.ExpectParentSnapshotID == 0 {
		// Iceberg snapshot IDs are positive; 0 is almost certainly an
		// unset field, and treating it as "anything" would void the check.
		return errors.New("iceberg: commit: ExpectParentSnapshotID is 0; use NoSnapshot (-1) for a table without snapshots")
	}
	for k := range c.Properties {
		if k == "" {
			return errors.New("iceberg: commit: empty snapshot property name")
		}
		if k == CommitIDProperty {
			return fmt.Errorf("iceberg: commit: snapshot property %q is reserved", k)
		}
	}
	return nil
}

// Commit appends c's rows to c.Table (deleting c.Replace's sessions first,
// if set) as one new snapshot whose parent is c.ExpectParentSnapshotID,
// and returns that snapshot. It fails with an
// error wrapping ErrConflict if the table is at another snapshot, whether
// that is seen before writing or reported by the catalog at commit time.
func (w *Warehouse) Commit(ctx context.Context, c Commit) (Snapshot, error) {
	ctx = w.ioContext(ctx)
	ti, err := w.info(c.Table)
	if err != nil {
		return Snapshot{}, err
	}
	if err := c.validate(); err != nil {
		return Snapshot{}, err
	}
	if err := w.writable("commit to " + c.Table); err != nil {
		return Snapshot{}, err
	}
	started := time.Now()
	unlock, err := w.locks.lock(ctx, c.Table)
	if err != nil {
		return Snapshot{}, err
	}
	defer unlock()

	tbl, err := w.load(ctx, c.Table)
	if err != nil {
		return Snapshot{}, err
	}
	// Checking before writing saves writing files only to delete them; the
	// catalog-side check below is what makes it safe.
	if head := headID(tbl); head != c.ExpectParentSnapshotID {
		w.logger.InfoContext(ctx, "iceberg commit conflict before write", "table", c.Table,
			"expected_parent", c.ExpectParentSnapshotID, "current", head)
		return Snapshot{}, fmt.Errorf("%w: table %s is at snapshot %d, commit expected %d",
			ErrConflict, c.Table, head, c.ExpectParentSnapshotID)
	}

	attempt := uuid.New()
	props := iceberg.Properties{}
	maps.Copy(props, c.Properties)
	props[CommitIDProperty] = attempt.String()

	if c.Replace != nil {
		return w.commitReplace(ctx, tbl, ti, c, props, started)
	}
	files, err := w.writeDataFiles(ctx, tbl, ti, &c, attempt)
	if err != nil {
		w.discardAttempt(ctx, tbl, attempt, files, nil, true)
		return Snapshot{}, fmt.Errorf("iceberg: commit to %s: write data files: %w", c.Table, err)
	}

	tx := tbl.NewTransaction()
	// Pin main to the snapshot we loaded: iceberg-go must fail the commit
	// if main moved, never rebase it (see also commit.retry.num-retries=0
	// in the table properties).
	if err := tx.AssertRefSnapshotID(table.MainBranch); err != nil {
		w.discardAttempt(ctx, tbl, attempt, files, nil, false)
		return Snapshot{}, fmt.Errorf("iceberg: commit to %s: assert main: %w", c.Table, err)
	}
	if len(files) == 0 {
		// AddFiles with no paths is iceberg-go's empty fast-append: a real
		// snapshot with zero added files that moves main and carries the
		// summary properties. ignoreDuplicates=true skips a pointless
		// scan of every existing data file.
		err = tx.AddFiles(ctx, nil, props, true)
	} else {
		// The files have fresh UUID names, so the duplicate check (a scan
		// of every data file already in the table) can only cost time.
		err = tx.AddDataFiles(ctx, files, props, table.WithoutDuplicateCheck())
	}
	if err != nil {
		w.discardAttempt(ctx, tbl, attempt, files, nil, false)
		return Snapshot{}, fmt.Errorf("iceberg: commit to %s: stage snapshot: %w", c.Table, err)
	}
	if w.beforeCatalogCommit != nil {
		w.beforeCatalogCommit()
	}

	committed, err := w.cfg.Faults.catalogCommit(ctx, c.Table, tx)
	if errors.Is(err, errAnswerLost) {
		return Snapshot{}, fmt.Errorf("%w: commit %s to %s: %w", ErrCommitUnknown, attempt, c.Table, err)
	}
	if err == nil {
		snap := committed.CurrentSnapshot()
		if snap == nil {
			return Snapshot{}, fmt.Errorf("iceberg: commit to %s: catalog accepted the commit but main has no snapshot", c.Table)
		}
		w.committed(c.Table, committed)
		w.logger.DebugContext(ctx, "iceberg commit", "table", c.Table, "snapshot", snap.SnapshotID,
			"rows", c.rowCount(), "files", len(files), "duration", time.Since(started))
		return snapshotFrom(snap), nil
	}

	if w.isConflict(err) {
		// The catalog rejected the commit before recording anything, so
		// every file of this attempt is garbage. The staged snapshot
		// still names the manifests it wrote.
		w.discardAttempt(ctx, tbl, attempt, files, stagedMetadataFiles(ctx, tx), false)
		w.logger.InfoContext(ctx, "iceberg commit conflict", "table", c.Table,
			"expected_parent", c.ExpectParentSnapshotID, "error", err)
		return Snapshot{}, fmt.Errorf("%w: table %s moved from snapshot %d during the commit: %w",
			ErrConflict, c.Table, c.ExpectParentSnapshotID, err)
	}

	// Anything else may or may not have reached the catalog. If the table
	// now holds our attempt, it worked.
	if snap, found, findErr := w.findAttempt(ctx, c.Table, attempt); findErr == nil && found {
		w.logger.WarnContext(ctx, "iceberg commit reported an error but is in the table", "table", c.Table,
			"snapshot", snap.ID, "error", err)
		return snap, nil
	}
	w.logger.ErrorContext(ctx, "iceberg commit outcome unknown; keeping its files", "table", c.Table,
		"commit_id", attempt.String(), "data_files", len(files), "error", err)
	return Snapshot{}, fmt.Errorf("%w: commit %s to %s: %w", ErrCommitUnknown, attempt, c.Table, err)
}

func headID(tbl *table.Table) int64 {
	if s := tbl.CurrentSnapshot(); s != nil {
		return s.SnapshotID
	}
	return NoSnapshot
}

// writeDataFiles writes the commit's rows as Parquet data files named with
// the attempt UUID (so a failed attempt's files can be found) and returns
// them. No rows, no files.
func (w *Warehouse) writeDataFiles(ctx context.Context, tbl *table.Table, ti tableInfo, c *Commit, attempt uuid.UUID) ([]iceberg.DataFile, error) {
	var recs iter.Seq2[arrow.RecordBatch, error]
	switch {
	case len(c.Sessions) > 0:
		recs = recordBatches(ti.arrowSchema, c.Sessions, bindSessions(w.cfg.SessionAttrs))
	case len(c.Late) > 0:
		recs = recordBatches(ti.arrowSchema, c.Late, bindLate)
	case len(c.Rejected) > 0:
		recs = recordBatches(ti.arrowSchema, c.Rejected, bindRejected)
	case len(c.Events) > 0:
		recs = recordBatches(ti.arrowSchema, c.Events, bindEvents)
	default:
		return nil, nil
	}
	var files []iceberg.DataFile
	for df, err := range table.WriteRecords(ctx, tbl, ti.arrowSchema, recs, table.WithWriteUUID(attempt)) {
		if err != nil {
			return files, err
		}
		files = append(files, df)
	}
	return files, nil
}

// findAttempt looks for the snapshot of a commit attempt among the recent
// history of main.
func (w *Warehouse) findAttempt(ctx context.Context, tableName string, attempt uuid.UUID) (Snapshot, bool, error) {
	const lookBack = 16 // an unknown outcome is found right after the fact
	snaps, err := w.Snapshots(ctx, tableName)
	if err != nil {
		return Snapshot{}, false, err
	}
	for i, s := range snaps {
		if i == lookBack {
			break
		}
		if s.Summary[CommitIDProperty] == attempt.String() {
			return s, true, nil
		}
	}
	return Snapshot{}, false, nil
}
