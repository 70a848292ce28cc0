package iceberg

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"math/rand/v2"
	"time"

	"github.com/apache/iceberg-go"
	"github.com/apache/iceberg-go/table"
	"github.com/google/uuid"
)

// Table maintenance: compaction of small data files (with a manifest
// rewrite), snapshot expiry, orphan-file removal and removal of pipeline
// checkpoints nothing points to any more.
//
// Maintenance runs next to the streaming pipeline, in another process or in
// another goroutine of the same one (on its own Warehouse), and must never
// cost the pipeline a commit or make it believe it was fenced:
//
//   - Every maintenance commit is a compare-and-swap on the table's main
//     branch (AssertRefSnapshotID on the snapshot it planned from). If the
//     pipeline committed in between, the catalog refuses the maintenance
//     commit, which reloads and tries again on the new head: the pipeline
//     wins every race, maintenance redoes its (cheap, metadata-only) part.
//   - A snapshot maintenance creates (compaction's "replace", the manifest
//     rewrite) carries the sessionize.* summary properties of its parent
//     unchanged, so the pipeline, which reads its offsets, checkpoints and
//     counters from the current snapshot only, sees exactly what it wrote.
//   - Expiry never removes the current snapshot, the last RetainLast ones,
//     those younger than OlderThan, or (sessions) the snapshot that
//     committed a state checkpoint the current snapshot still names.
//   - Files are deleted only when no snapshot of the freshly loaded table
//     references them and they are older than OrphanAge, so the files of
//     a commit that is still in flight (written, not yet in the catalog)
//     are never touched.

// Defaults of MaintainOptions.
const (
	DefaultExpireOlderThan = 24 * time.Hour
	DefaultRetainLast      = 100
	DefaultOrphanAge       = time.Hour
	DefaultMinInputFiles   = 2
	defaultMaxAttempts     = 50
)

// MaintainOptions say what Maintain does. The zero value does everything
// with the defaults.
type MaintainOptions struct {
	// Tables to maintain; nil means every table of the warehouse
	// (Warehouse.Tables).
	Tables []string

	// SkipCompaction, SkipManifests, SkipExpiry, SkipOrphans and
	// SkipCheckpoints turn single steps off.
	SkipCompaction  bool
	SkipManifests   bool
	SkipExpiry      bool
	SkipOrphans     bool
	SkipCheckpoints bool

	// TargetFileSize is the size compaction aims for; files below 75% of
	// it are rewritten into files of about that size, per partition. 0
	// means the table's write.target-file-size-bytes (128 MiB).
	TargetFileSize int64
	// MinInputFiles is the fewest small files of one partition worth
	// rewriting; 0 means DefaultMinInputFiles.
	MinInputFiles int

	// OlderThan: snapshots older than this may be expired; 0 means
	// DefaultExpireOlderThan. Use a tiny positive duration to expire
	// everything beyond RetainLast.
	OlderThan time.Duration
	// RetainLast snapshots of main are always kept; 0 means
	// DefaultRetainLast.
	RetainLast int

	// OrphanAge: files (table files and checkpoints) younger than this
	// are never deleted, so commits in flight are safe; 0 means
	// DefaultOrphanAge.
	OrphanAge time.Duration

	// MaxAttempts bounds the retries of one maintenance commit that keeps
	// losing races to other writers; 0 means 50.
	MaxAttempts int
	// DryRun plans and reports without committing or deleting anything.
	DryRun bool
}

func (o MaintainOptions) normalized(tables []string) (MaintainOptions, error) {
	if o.Tables == nil {
		o.Tables = tables
	}
	if o.MinInputFiles == 0 {
		o.MinInputFiles = DefaultMinInputFiles
	}
	if o.OlderThan == 0 {
		o.OlderThan = DefaultExpireOlderThan
	}
	if o.RetainLast == 0 {
		o.RetainLast = DefaultRetainLast
	}
	if o.OrphanAge == 0 {
		o.OrphanAge = DefaultOrphanAge
	}
	if o.MaxAttempts == 0 {
		o.MaxAttempts = defaultMaxAttempts
	}
	switch {
	case o.TargetFileSize < 0:
		return o, fmt.Errorf("iceberg: maintain: target file size must be >= 0, got %d", o.TargetFileSize)
	case o.MinInputFiles < 1:
		return o, fmt.Errorf("iceberg: maintain: min input files must be >= 1, got %d", o.MinInputFiles)
	case o.OlderThan < 0:
		return o, fmt.Errorf("iceberg: maintain: older-than must be >= 0, got %s", o.OlderThan)
	case o.RetainLast < 1:
		return o, fmt.Errorf("iceberg: maintain: retain-last must be >= 1, got %d", o.RetainLast)
	case o.OrphanAge < 0:
		return o, fmt.Errorf("iceberg: maintain: orphan age must be >= 0, got %s", o.OrphanAge)
	case o.MaxAttempts < 1:
		return o, fmt.Errorf("iceberg: maintain: max attempts must be >= 1, got %d", o.MaxAttempts)
	}
	return o, nil
}

// MaintainReport says what Maintain did.
type MaintainReport struct {
	Tables []TableMaintenance
	// Checkpoint files deleted (no sessions snapshot of any namespace
	// that was current within OrphanAge names them) and kept.
	CheckpointsDeleted []string
	CheckpointsKept    int
	Duration           time.Duration
}

// TableMaintenance is one table's part of a MaintainReport.
type TableMaintenance struct {
	Table string
	// Before and After describe the current snapshot around the run.
	Before, After TableStats
	// Compaction: data files rewritten into AddedFiles new ones, in
	// Groups partition groups.
	RewrittenFiles, AddedFiles, Groups int
	// RewrittenManifests were merged into AddedManifests.
	RewrittenManifests, AddedManifests int
	// Snapshots removed by expiry; KeptForCheckpoints were old enough to
	// go but committed a checkpoint the current snapshot still uses.
	ExpiredSnapshots   int
	KeptForCheckpoints int
	// Files under the table location deleted as orphans (including what
	// expiry made unreachable).
	DeletedFiles []string
	// Conflicts counts maintenance commits refused because another
	// writer committed first; each was redone on the new head.
	Conflicts int
}

// TableStats summarizes a table's current snapshot.
type TableStats struct {
	SnapshotID int64 // NoSnapshot if none
	Snapshots  int   // snapshots in the metadata
	DataFiles  int
	DataBytes  int64
	Records    int64
	Manifests  int
}

// Maintain compacts, rewrites manifests, expires snapshots and deletes
// orphan files of the tables, then deletes unreferenced checkpoint files.
// It is safe while pipelines write the tables (see the comment at the top
// of maintain.go) and while other Maintain calls run. It stops at the
// first error; what it did until then stays done and is in the report.
//
// An error wrapping ErrConflict means a maintenance commit lost the race
// to other writers MaxAttempts times in a row (writers committing faster
// than maintenance can stage a commit): nothing is wrong, try again later.
func (w *Warehouse) Maintain(ctx context.Context, opts MaintainOptions) (MaintainReport, error) {
	ctx = w.ioContext(ctx)
	started := time.Now()
	var rep MaintainReport
	opts, err := opts.normalized(w.Tables())
	if err != nil {
		return rep, err
	}
	if err := w.writable("maintain"); err != nil && !opts.DryRun {
		return rep, err
	}
	for _, name := range opts.Tables {
		if _, err := w.info(name); err != nil {
			return rep, err
		}
	}
	// Checkpoints named by snapshots that expiry is about to remove may
	// still be being read by a pipeline that loaded such a snapshot just
	// before it was superseded: note them first.
	var earlierCheckpoints map[string]bool
	if !opts.SkipCheckpoints {
		if earlierCheckpoints, err = w.referencedCheckpoints(ctx, time.Now().Add(-opts.OrphanAge)); err != nil {
			return rep, fmt.Errorf("iceberg: maintain checkpoints: %w", err)
		}
	}
	for _, name := range opts.Tables {
		tm, err := w.maintainTable(ctx, name, opts)
		rep.Tables = append(rep.Tables, tm)
		if err != nil {
			rep.Duration = time.Since(started)
			return rep, err
		}
	}
	if !opts.SkipCheckpoints {
		deleted, kept, err := w.deleteUnreferencedCheckpoints(ctx, opts.OrphanAge, earlierCheckpoints, opts.DryRun)
		rep.CheckpointsDeleted, rep.CheckpointsKept = deleted, kept
		if err != nil {
			rep.Duration = time.Since(started)
			return rep, err
		}
	}
	rep.Duration = time.Since(started)
	w.logger.InfoContext(ctx, "iceberg maintenance done", "duration", rep.Duration,
		"checkpoints_deleted", len(rep.CheckpointsDeleted))
	return rep, nil
}

func (w *Warehouse) maintainTable(ctx context.Context, name string, opts MaintainOptions) (TableMaintenance, error) {
	tm := TableMaintenance{Table: name}
	tbl, err := w.load(ctx, name)
	if err != nil {
		return tm, err
	}
	if tm.Before, err = tableStats(ctx, tbl); err != nil {
		return tm, fmt.Errorf("iceberg: maintain %s: %w", name, err)
	}
	// Expiry first: every later commit (compaction's included) is cheaper
	// on smaller metadata. Again after a compaction, whose inputs can go
	// once the snapshots before it do.
	expire := func() error {
		if opts.SkipExpiry {
			return nil
		}
		er, err := w.expireSnapshots(ctx, name, ExpireOptions{OlderThan: opts.OlderThan, RetainLast: opts.RetainLast,
			MaxAttempts: opts.MaxAttempts, DryRun: opts.DryRun})
		tm.ExpiredSnapshots += len(er.Expired)
		tm.KeptForCheckpoints = er.KeptForCheckpoints
		tm.Conflicts += er.Conflicts
		if err != nil {
			return fmt.Errorf("iceberg: maintain %s: %w", name, err)
		}
		return nil
	}
	if err := expire(); err != nil {
		return tm, err
	}
	if !opts.SkipCompaction || !opts.SkipManifests {
		if err := w.compact(ctx, name, opts, &tm); err != nil {
			return tm, fmt.Errorf("iceberg: maintain %s: compact: %w", name, err)
		}
		if !opts.DryRun && (tm.AddedFiles > 0 || tm.AddedManifests > 0) {
			if err := expire(); err != nil {
				return tm, err
			}
		}
	}
	if !opts.SkipOrphans {
		deleted, err := w.deleteOrphanFiles(ctx, name, opts.OrphanAge, opts.MaxAttempts, opts.DryRun)
		tm.DeletedFiles = append(tm.DeletedFiles, deleted...)
		if err != nil {
			return tm, fmt.Errorf("iceberg: maintain %s: orphan files: %w", name, err)
		}
	}
	if tbl, err = w.load(ctx, name); err != nil {
		return tm, err
	}
	if tm.After, err = tableStats(ctx, tbl); err != nil {
		return tm, fmt.Errorf("iceberg: maintain %s: %w", name, err)
	}
	w.logger.InfoContext(ctx, "iceberg table maintained", "table", name,
		"data_files_before", tm.Before.DataFiles, "data_files_after", tm.After.DataFiles,
		"snapshots_before", tm.Before.Snapshots, "snapshots_after", tm.After.Snapshots,
		"manifests_before", tm.Before.Manifests, "manifests_after", tm.After.Manifests,
		"deleted_files", len(tm.DeletedFiles), "conflicts", tm.Conflicts)
	return tm, nil
}

// tableStats counts the live data files of the table's current snapshot.
func tableStats(ctx context.Context, tbl *table.Table) (TableStats, error) {
	st := TableStats{SnapshotID: headID(tbl), Snapshots: len(tbl.Metadata().Snapshots())}
	snap := tbl.CurrentSnapshot()
	if snap == nil {
		return st, nil
	}
	fsys, err := tbl.FS(ctx)
	if err != nil {
		return st, err
	}
	manifests, err := snap.Manifests(fsys)
	if err != nil {
		return st, fmt.Errorf("read manifest list of snapshot %d: %w", snap.SnapshotID, err)
	}
	st.Manifests = len(manifests)
	for _, m := range manifests {
		if m.ManifestContent() != iceberg.ManifestContentData {
			continue
		}
		for entry, err := range m.Entries(fsys, true) {
			if err != nil {
				return st, fmt.Errorf("read manifest %s: %w", m.FilePath(), err)
			}
			df := entry.DataFile()
			if df.ContentType() != iceberg.EntryContentData {
				continue
			}
			st.DataFiles++
			st.DataBytes += df.FileSizeBytes()
			st.Records += df.Count()
		}
	}
	return st, nil
}

// carriedProperties returns the summary properties of a maintenance
// snapshot built on parent: every carried sessionize.* property of the
// parent unchanged (offsets, checkpoints, counters, batch runs, ...), a
// fresh commit id (so an unknown outcome can be looked up), and the
// maintenance action.
func carriedProperties(parent *table.Snapshot, action string, attempt uuid.UUID) iceberg.Properties {
	props := iceberg.Properties{}
	if parent != nil && parent.Summary != nil {
		maps.Copy(props, Carried(parent.Summary.Properties))
	}
	props[CommitIDProperty] = attempt.String()
	props[MaintenanceActionProperty] = action
	return props
}

// errRetry asks a maintenance step's loop to start over from a freshly
// loaded table.
var errRetry = errors.New("iceberg: maintenance: table moved, retry")

// conflictBackoff waits a little before a retry, with jitter so two
// maintainers do not collide in lock step. It stays short: the usual
// cause is a pipeline commit, and waiting longer does not make the next
// one less likely.
func conflictBackoff(ctx context.Context, attempt int) error {
	d := min(time.Duration(1<<min(attempt, 5))*5*time.Millisecond, 100*time.Millisecond)
	d = d/2 + rand.N(d/2+1)
	return sleepCtx(ctx, d)
}
