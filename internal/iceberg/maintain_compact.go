package iceberg

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"time"

	"github.com/apache/iceberg-go"
	"github.com/apache/iceberg-go/table"
	"github.com/apache/iceberg-go/table/compaction"
	"github.com/google/uuid"

	"github.com/sessionize/sessionize/internal/storage"
)

// manifestRewriteMinCount is how many data manifests a snapshot must have
// before a manifest rewrite is worth a commit of its own. With compaction
// in the same commit the manifests are always rewritten.
const manifestRewriteMinCount = 10

// compact rewrites the small data files of each partition into files of
// about the target size and merges the manifests, as catalog commits whose
// last snapshot carries the parent's sessionize.* properties.
//
// The expensive part (reading and writing data) happens once. When a
// commit loses a race (the pipeline committed in between), the table is
// reloaded and, if every file being replaced is still live, the same
// output files are staged again on the new head with the new head's
// properties; only if another maintainer replaced some of them first is
// the work discarded and planned again.
//
// Output files must never look like orphans to another maintainer's
// orphan-file pass, which deletes unreferenced files older than
// OrphanAge: their modification time is set to now after each partition
// group is written (one that takes more than half of OrphanAge fails the
// run) and before each commit attempt (one whose staging takes more than
// half of OrphanAge is staged again), and the groups are committed in
// batches of about a quarter of OrphanAge of work.
func (w *Warehouse) compact(ctx context.Context, name string, opts MaintainOptions, tm *TableMaintenance) error {
	budget := opts.OrphanAge / 4
	replans := 0
plan:
	for {
		tbl, err := w.load(ctx, name)
		if err != nil {
			return err
		}
		if tbl.CurrentSnapshot() == nil {
			return nil
		}
		// The groups' files were live at this snapshot.
		planned := headID(tbl)
		var groups []table.CompactionTaskGroup
		if !opts.SkipCompaction {
			if groups, err = planCompaction(ctx, tbl, opts); err != nil {
				return err
			}
		}
		if opts.DryRun {
			tm.Groups = len(groups)
			for _, g := range groups {
				tm.RewrittenFiles += len(g.Tasks)
			}
			return nil
		}
		for first := true; first || len(groups) > 0; first = false {
			// A batch: groups written within the budget (at least one).
			started := time.Now()
			var results []table.CompactionGroupResult
			for len(groups) > 0 && (len(results) == 0 || time.Since(started) < budget) {
				groupStarted := time.Now()
				gr, err := w.executeCompaction(ctx, tbl, groups[0], opts)
				if err != nil {
					w.discardCompaction(ctx, name, results)
					return err
				}
				groups = groups[1:]
				if len(gr.OldDataFiles) == 0 && len(gr.NewDataFiles) == 0 {
					continue
				}
				results = append(results, gr)
				if took := time.Since(groupStarted); took > opts.OrphanAge/2 {
					w.discardCompaction(ctx, name, results)
					return fmt.Errorf("%w: compacting one partition group took %s, more than half the orphan age (%s): use a larger orphan age or a smaller target file size",
						errCompactionTooSlow, took.Round(time.Millisecond), opts.OrphanAge)
				}
				// Keep the batch's files young while the next group is
				// written.
				if _, err := w.touchFiles(ctx, name, results, time.Now(), opts.OrphanAge/8); err != nil {
					w.discardCompaction(ctx, name, results)
					return fmt.Errorf("compaction output vanished (an orphan-file pass with a too short orphan age?): %w", err)
				}
			}
			// With no data to rewrite, a commit may still merge manifests.
			err := w.commitCompactionRetrying(ctx, name, results, planned, opts, tm)
			if errors.Is(err, errReplan) {
				replans++
				if replans >= opts.MaxAttempts {
					return fmt.Errorf("%w: gave up after %d re-plans", ErrConflict, replans)
				}
				w.logger.InfoContext(ctx, "compaction inputs were rewritten by someone else; planning again", "table", name)
				continue plan
			}
			if err != nil {
				return err
			}
		}
		return nil
	}
}

// errCompactionTooSlow: writing one partition group took so long that
// another maintainer's orphan-file pass could have taken its first files
// before they were touched; the output is discarded and nothing changes.
var errCompactionTooSlow = errors.New("iceberg: compaction too slow for the orphan age")

// errReplan means files a compaction batch replaces are no longer live:
// someone else compacted them first, so the batch was discarded.
var errReplan = errors.New("iceberg: compaction inputs changed")

// commitCompactionRetrying commits a batch on the current head, reloading
// and staging again after each conflict.
func (w *Warehouse) commitCompactionRetrying(ctx context.Context, name string, results []table.CompactionGroupResult, base int64, opts MaintainOptions, tm *TableMaintenance) error {
	for attempt := 0; ; attempt++ {
		if attempt > 0 {
			if attempt >= opts.MaxAttempts {
				w.discardCompaction(ctx, name, results)
				return fmt.Errorf("%w: gave up after %d commit conflicts", ErrConflict, attempt)
			}
			if err := conflictBackoff(ctx, attempt); err != nil {
				w.discardCompaction(ctx, name, results)
				return err
			}
		}
		var err error
		base, err = w.compactionAttempt(ctx, name, results, base, attempt, opts, tm)
		if !errors.Is(err, errRetry) {
			return err
		}
		tm.Conflicts++
	}
}

// compactionAttempt stages a batch on the head and commits it, holding
// the table's commit lock (commit_lock.go) so that commits through the
// same Warehouse wait rather than race; it returns the head it staged on.
func (w *Warehouse) compactionAttempt(ctx context.Context, name string, results []table.CompactionGroupResult, base int64, attempt int, opts MaintainOptions, tm *TableMaintenance) (int64, error) {
	unlock, err := w.locks.lock(ctx, name)
	if err != nil {
		w.discardCompaction(ctx, name, results)
		return base, err
	}
	defer unlock()
	tbl, err := w.load(ctx, name)
	if err != nil {
		w.discardCompaction(ctx, name, results)
		return base, err
	}
	if len(results) > 0 && !onlyAppendsSince(tbl, base) {
		live, err := liveDataFiles(ctx, tbl)
		if err != nil {
			w.discardCompaction(ctx, name, results)
			return base, err
		}
		if !allLive(results, live) {
			// Our output would duplicate rows.
			w.discardCompaction(ctx, name, results)
			return base, errReplan
		}
	}
	// Young again, so no orphan-file pass takes them while this
	// attempt is staged; if one took them already, start over.
	touched, err := w.touchFiles(ctx, name, results, time.Now(), opts.OrphanAge/8)
	if err != nil {
		w.discardCompaction(ctx, name, results)
		if errors.Is(err, fs.ErrNotExist) {
			return base, errReplan
		}
		return base, err
	}
	// Merging manifests makes staging slower; after a few lost races
	// the rewrite of data files goes alone.
	return headID(tbl), w.commitCompaction(ctx, name, tbl, results, touched, !opts.SkipManifests && attempt < 3, opts, tm)
}

// onlyAppendsSince reports whether every snapshot of main after base is an
// append (what the pipeline commits), which removes no file: then files
// live at base are still live. NoSnapshot as base means unknown.
func onlyAppendsSince(tbl *table.Table, base int64) bool {
	if base == NoSnapshot {
		return false
	}
	for s := tbl.CurrentSnapshot(); s != nil; {
		if s.SnapshotID == base {
			return true
		}
		if s.Summary == nil || s.Summary.Operation != table.OpAppend || s.ParentSnapshotID == nil {
			return false
		}
		s = tbl.SnapshotByID(*s.ParentSnapshotID)
	}
	return false
}

// commitCompaction stages the manifest rewrite and the replacement of the
// compacted files on tbl's current snapshot and commits them. errRetry
// means the table moved; the staged metadata files are deleted, the data
// files kept for another attempt.
func (w *Warehouse) commitCompaction(ctx context.Context, name string, tbl *table.Table, results []table.CompactionGroupResult, touched time.Time, manifests bool, opts MaintainOptions, tm *TableMaintenance) error {
	head := tbl.CurrentSnapshot()
	tx := tbl.NewTransaction()
	if err := tx.AssertRefSnapshotID(table.MainBranch); err != nil {
		w.discardCompaction(ctx, name, results)
		return fmt.Errorf("assert main: %w", err)
	}
	var mres *table.RewriteManifestsResult
	if manifests {
		n, err := dataManifestCount(ctx, tbl)
		if err != nil {
			w.discardCompaction(ctx, name, results)
			return err
		}
		if n > 1 && (len(results) > 0 || n >= manifestRewriteMinCount) {
			if mres, err = tx.RewriteManifests(ctx); err != nil {
				w.discardCompaction(ctx, name, results)
				return fmt.Errorf("rewrite manifests: %w", err)
			}
		}
	}
	manifestsRewritten := mres != nil && !mres.IsNoOp()
	attempt := uuid.New()
	switch {
	case len(results) > 0:
		rw := tx.NewRewrite(carriedProperties(head, "compact", attempt))
		for _, gr := range results {
			rw.ApplyResult(gr)
		}
		if err := rw.Commit(ctx); err != nil {
			w.discardStaged(ctx, tx, head)
			w.discardCompaction(ctx, name, results)
			return fmt.Errorf("stage rewrite: %w", err)
		}
	case manifestsRewritten:
		// iceberg-go's manifest rewrite cannot carry summary properties,
		// so an empty append on top of it does: the current snapshot must
		// always hold the pipeline's offsets.
		if err := tx.AddFiles(ctx, nil, carriedProperties(head, "rewrite-manifests", attempt), true); err != nil {
			w.discardStaged(ctx, tx, head)
			return fmt.Errorf("stage properties snapshot: %w", err)
		}
	default:
		return nil // nothing to do
	}

	if len(results) > 0 && time.Since(touched) > opts.OrphanAge/2 {
		w.discardStaged(ctx, tx, head)
		w.logger.WarnContext(ctx, "staging a compaction commit took more than half the orphan age; staging it again",
			"table", name, "took", time.Since(touched), "orphan_age", opts.OrphanAge)
		return errRetry
	}
	_, err := tx.Commit(ctx)
	if err == nil {
		for _, gr := range results {
			tm.RewrittenFiles += len(gr.OldDataFiles)
			tm.AddedFiles += len(gr.NewDataFiles)
		}
		tm.Groups += len(results)
		if manifestsRewritten {
			tm.RewrittenManifests += len(mres.RewrittenManifests)
			tm.AddedManifests += len(mres.AddedManifests)
		}
		w.logger.InfoContext(ctx, "iceberg compaction committed", "table", name, "groups", len(results),
			"rewritten_files", tm.RewrittenFiles, "added_files", tm.AddedFiles, "manifests_rewritten", manifestsRewritten)
		return nil
	}
	if w.isConflict(err) {
		w.discardStaged(ctx, tx, head)
		w.logger.InfoContext(ctx, "iceberg compaction lost a race with another commit; retrying on the new head",
			"table", name, "parent", head.SnapshotID, "error", err)
		return errRetry
	}
	if _, found, findErr := w.findAttempt(ctx, name, attempt); findErr == nil && found {
		w.logger.WarnContext(ctx, "iceberg compaction commit reported an error but is in the table", "table", name, "error", err)
		return nil
	}
	// The outcome is unknown: the files may be referenced, so they stay;
	// if they are not, a later orphan-file pass removes them.
	return fmt.Errorf("%w: compaction of %s: %w", ErrCommitUnknown, name, err)
}

// planCompaction groups the current snapshot's small data files by
// partition into bins of about the target size.
func planCompaction(ctx context.Context, tbl *table.Table, opts MaintainOptions) ([]table.CompactionTaskGroup, error) {
	target := opts.TargetFileSize
	if target == 0 {
		target = tbl.Properties().GetInt64(table.WriteTargetFileSizeBytesKey, table.WriteTargetFileSizeBytesDefault)
	}
	tasks, err := tbl.Scan().PlanFiles(ctx)
	if err != nil {
		return nil, fmt.Errorf("plan files: %w", err)
	}
	// Large files may be planned as several byte ranges; they are never
	// compaction candidates, and a file must be replaced whole.
	perFile := map[string]int{}
	for _, t := range tasks {
		perFile[t.File.FilePath()]++
	}
	whole := tasks[:0]
	for _, t := range tasks {
		if perFile[t.File.FilePath()] == 1 && t.Start == 0 && t.Length == t.File.FileSizeBytes() {
			whole = append(whole, t)
		}
	}
	cfg := compaction.DefaultConfig()
	cfg.TargetFileSizeBytes = target
	cfg.MinFileSizeBytes = target * 3 / 4
	cfg.MaxFileSizeBytes = target * 9 / 5
	cfg.MinInputFiles = uint(opts.MinInputFiles)
	plan, err := cfg.PlanCompaction(whole)
	if err != nil {
		return nil, err
	}
	groups := make([]table.CompactionTaskGroup, 0, len(plan.Groups))
	for _, g := range plan.Groups {
		groups = append(groups, table.CompactionTaskGroup{PartitionKey: g.PartitionKey, Tasks: g.Tasks, TotalSizeBytes: g.TotalSizeBytes})
	}
	return groups, nil
}

// executeCompaction reads a group and writes its rows as new files. On
// error the files it wrote are deleted.
func (w *Warehouse) executeCompaction(ctx context.Context, tbl *table.Table, g table.CompactionTaskGroup, opts MaintainOptions) (table.CompactionGroupResult, error) {
	var gopts []table.CompactionGroupOption
	if opts.TargetFileSize > 0 {
		gopts = append(gopts, table.WithCompactionTargetFileSize(opts.TargetFileSize))
	}
	gr, err := table.ExecuteCompactionGroup(ctx, tbl, g, gopts...)
	if err != nil {
		name := tbl.Identifier()[len(tbl.Identifier())-1]
		w.discardCompaction(ctx, name, []table.CompactionGroupResult{gr})
		return table.CompactionGroupResult{}, fmt.Errorf("partition %s: %w", g.PartitionKey, err)
	}
	return gr, nil
}

// discardCompaction deletes the data files compaction wrote for a commit
// that will not happen.
func (w *Warehouse) discardCompaction(ctx context.Context, name string, results []table.CompactionGroupResult) {
	fsys, err := w.tableFS(ctx, name)
	if err != nil {
		w.logger.WarnContext(ctx, "could not delete files of an abandoned compaction; the orphan-file pass will", "table", name, "error", err)
		return
	}
	var failed []string
	n := 0
	for _, gr := range results {
		for _, df := range gr.NewDataFiles {
			n++
			if err := fsys.Remove(df.FilePath()); err != nil && !errors.Is(err, fs.ErrNotExist) {
				failed = append(failed, df.FilePath())
			}
		}
	}
	if len(failed) > 0 {
		w.logger.WarnContext(ctx, "could not delete files of an abandoned compaction; the orphan-file pass will", "table", name, "files", failed)
		return
	}
	if n > 0 {
		w.logger.DebugContext(ctx, "deleted files of an abandoned compaction", "table", name, "files", n)
	}
}

// discardStaged deletes the manifest lists and manifests written by the
// snapshots a refused transaction staged on top of base.
func (w *Warehouse) discardStaged(ctx context.Context, tx *table.Transaction, base *table.Snapshot) {
	staged, err := tx.StagedTable()
	if err != nil {
		return
	}
	fsys, err := staged.FS(ctx)
	if err != nil {
		return
	}
	var paths []string
	seen := map[int64]bool{}
	for s := staged.CurrentSnapshot(); s != nil && s.SnapshotID != base.SnapshotID && !seen[s.SnapshotID]; {
		seen[s.SnapshotID] = true
		if s.ManifestList != "" {
			paths = append(paths, s.ManifestList)
			if manifests, err := s.Manifests(fsys); err == nil {
				for _, m := range manifests {
					if m.SnapshotID() == s.SnapshotID {
						paths = append(paths, m.FilePath())
					}
				}
			}
		}
		if s.ParentSnapshotID == nil {
			break
		}
		s = staged.SnapshotByID(*s.ParentSnapshotID)
	}
	for _, p := range paths {
		if err := fsys.Remove(p); err != nil && !errors.Is(err, fs.ErrNotExist) {
			w.logger.DebugContext(ctx, "could not delete a staged metadata file", "file", p, "error", err)
		}
	}
}

// touchFiles makes the compaction's output files young (see
// storage.Store.Touch: at least as young as t - fresh) and returns the
// oldest of their modification times, from which the time left before an
// orphan-file pass may take them is counted.
func (w *Warehouse) touchFiles(ctx context.Context, name string, results []table.CompactionGroupResult, t time.Time, fresh time.Duration) (time.Time, error) {
	// The table's IO: a REST catalog's tables need not be in the
	// warehouse's storage (table_files.go).
	fsys, err := w.tableFS(ctx, name)
	if err != nil {
		return time.Time{}, err
	}
	oldest := t
	for _, gr := range results {
		for _, df := range gr.NewDataFiles {
			mod, err := storage.TouchFile(ctx, fsys, df.FilePath(), t, fresh)
			if err != nil {
				return time.Time{}, err
			}
			if mod.Before(oldest) {
				oldest = mod
			}
		}
	}
	return oldest, nil
}

// liveDataFiles returns the paths of the data files of tbl's current
// snapshot.
func liveDataFiles(ctx context.Context, tbl *table.Table) (map[string]struct{}, error) {
	live := map[string]struct{}{}
	snap := tbl.CurrentSnapshot()
	if snap == nil {
		return live, nil
	}
	fsys, err := tbl.FS(ctx)
	if err != nil {
		return nil, err
	}
	manifests, err := snap.Manifests(fsys)
	if err != nil {
		return nil, err
	}
	for _, m := range manifests {
		if m.ManifestContent() != iceberg.ManifestContentData {
			continue
		}
		for entry, err := range m.Entries(fsys, true) {
			if err != nil {
				return nil, err
			}
			live[entry.DataFile().FilePath()] = struct{}{}
		}
	}
	return live, nil
}

func allLive(results []table.CompactionGroupResult, live map[string]struct{}) bool {
	for _, gr := range results {
		for _, df := range gr.OldDataFiles {
			if _, ok := live[df.FilePath()]; !ok {
				return false
			}
		}
	}
	return true
}

func dataManifestCount(ctx context.Context, tbl *table.Table) (int, error) {
	snap := tbl.CurrentSnapshot()
	if snap == nil {
		return 0, nil
	}
	fsys, err := tbl.FS(ctx)
	if err != nil {
		return 0, err
	}
	manifests, err := snap.Manifests(fsys)
	if err != nil {
		return 0, err
	}
	n := 0
	for _, m := range manifests {
		if m.ManifestContent() == iceberg.ManifestContentData {
			n++
		}
	}
	return n, nil
}
