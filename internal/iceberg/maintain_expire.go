package iceberg

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/apache/iceberg-go/table"
)

// ExpireOptions say which snapshots ExpireSnapshots removes.
type ExpireOptions struct {
	// OlderThan: only snapshots older than this go; 0 means
	// DefaultExpireOlderThan.
	OlderThan time.Duration
	// RetainLast snapshots of main always stay; 0 means DefaultRetainLast.
	RetainLast int
	// DeleteFiles also deletes, right after the commit, the manifest
	// lists, manifests and data files that only the expired snapshots
	// referenced (iceberg-go's post-commit cleanup). Maintain leaves that
	// to its orphan-file pass instead, which spares files younger than
	// the orphan age.
	DeleteFiles bool
	// MaxAttempts bounds the retries after commit conflicts; 0 means 50.
	MaxAttempts int
	// DryRun only reports what would be expired.
	DryRun bool
}

// ExpireReport says what ExpireSnapshots did.
type ExpireReport struct {
	// Expired snapshot ids (to be expired, with DryRun).
	Expired []int64
	// KeptForCheckpoints snapshots were old enough to go but committed a
	// state checkpoint the current snapshot still names.
	KeptForCheckpoints int
	// Conflicts counts expiry commits refused because the table moved;
	// each was redone on the new head.
	Conflicts int
}

// ExpireSnapshots removes old snapshots of a table from its metadata: all
// but the last RetainLast snapshots of main that are older than OlderThan,
// except the current one and, for the sessions table, each snapshot that
// committed a state checkpoint the current snapshot still names. Commit
// time of every later commit grows with the number of snapshots in the
// metadata, so a long-running pipeline needs this.
//
// The commit is a compare-and-swap on main: if anyone committed since the
// table was loaded, it is refused and redone on the new head, so a
// pipeline writing at the same time never loses a commit. Safe to call
// concurrently with pipelines and other maintenance.
func (w *Warehouse) ExpireSnapshots(ctx context.Context, tableName string, opts ExpireOptions) (ExpireReport, error) {
	ctx = w.ioContext(ctx)
	if _, err := w.info(tableName); err != nil {
		return ExpireReport{}, err
	}
	if err := w.writable("expire snapshots"); err != nil && !opts.DryRun {
		return ExpireReport{}, err
	}
	if opts.OlderThan == 0 {
		opts.OlderThan = DefaultExpireOlderThan
	}
	if opts.RetainLast == 0 {
		opts.RetainLast = DefaultRetainLast
	}
	if opts.MaxAttempts == 0 {
		opts.MaxAttempts = defaultMaxAttempts
	}
	if opts.OlderThan < 0 || opts.RetainLast < 1 || opts.MaxAttempts < 1 {
		return ExpireReport{}, fmt.Errorf("iceberg: expire snapshots: need older-than >= 0, retain-last >= 1 and max attempts >= 1 (got %s, %d, %d)",
			opts.OlderThan, opts.RetainLast, opts.MaxAttempts)
	}
	rep, err := w.expireSnapshots(ctx, tableName, opts)
	if err != nil {
		return rep, fmt.Errorf("iceberg: %s: %w", tableName, err)
	}
	return rep, nil
}

func (w *Warehouse) expireSnapshots(ctx context.Context, name string, opts ExpireOptions) (ExpireReport, error) {
	var rep ExpireReport
	for attempt := 0; ; attempt++ {
		if attempt > 0 {
			if attempt >= opts.MaxAttempts {
				return rep, fmt.Errorf("expire snapshots: %w: gave up after %d commit conflicts", ErrConflict, attempt)
			}
			if err := conflictBackoff(ctx, attempt); err != nil {
				return rep, err
			}
		}
		// Under the table's commit lock (commit_lock.go), so commits
		// through this Warehouse wait instead of racing.
		unlock, err := w.locks.lock(ctx, name)
		if err != nil {
			return rep, err
		}
		tbl, upd, headID, err := w.commitExpiry(ctx, name, opts, &rep)
		unlock()
		if upd == nil && err == nil {
			return rep, nil // nothing to expire, or a dry run
		}
		if err != nil {
			if w.isConflict(err) {
				rep.Conflicts++
				w.logger.InfoContext(ctx, "iceberg snapshot expiry lost a race with another commit; retrying on the new head",
					"table", name, "head", headID, "error", err)
				continue
			}
			// Whether or not it landed, nothing is lost: expiry only
			// drops history, and the next run redoes what is left.
			return rep, fmt.Errorf("expire snapshots: %w", err)
		}
		w.logger.InfoContext(ctx, "iceberg snapshots expired", "table", name, "expired", len(rep.Expired),
			"kept_for_checkpoints", rep.KeptForCheckpoints, "remaining", len(tbl.Metadata().Snapshots())-len(rep.Expired))
		if opts.DeleteFiles {
			post, err := w.load(ctx, name)
			if err != nil {
				return rep, err
			}
			// post may already hold newer commits; they only add to what
			// is kept.
			if err := upd.PostCommit(ctx, tbl, post); err != nil {
				return rep, fmt.Errorf("delete files of expired snapshots: %w", err)
			}
		}
		return rep, nil
	}
}

// commitExpiry plans the expiry on the loaded head and commits it. A nil
// update with a nil error means there was nothing to commit. The error
// of a refused commit is returned as it is, for the caller to tell a
// conflict from a failure.
func (w *Warehouse) commitExpiry(ctx context.Context, name string, opts ExpireOptions, rep *ExpireReport) (*table.Table, table.Update, int64, error) {
	tbl, err := w.load(ctx, name)
	if err != nil {
		return nil, nil, 0, err
	}
	head := tbl.CurrentSnapshot()
	if head == nil {
		return tbl, nil, 0, nil
	}
	expired, keptForCheckpoints, err := snapshotsToExpire(tbl.Metadata(), opts, time.Now())
	if err != nil {
		return nil, nil, 0, err
	}
	rep.Expired, rep.KeptForCheckpoints = expired, keptForCheckpoints
	if len(expired) == 0 || opts.DryRun {
		return tbl, nil, 0, nil
	}
	headID := head.SnapshotID
	reqs := []table.Requirement{
		table.AssertTableUUID(tbl.Metadata().TableUUID()),
		table.AssertRefSnapshotID(table.MainBranch, &headID),
	}
	upd := table.NewRemoveSnapshotsUpdate(expired, opts.DeleteFiles)
	_, _, err = w.cat.CommitTable(ctx, tbl.Identifier(), reqs, []table.Update{upd})
	return tbl, upd, headID, err
}

// snapshotsToExpire picks the snapshots to remove from meta: a snapshot
// stays if it is among the last RetainLast of main's ancestry, younger
// than OlderThan, referenced by any branch or tag (with, for a branch
// other than main, its whole ancestry), or the one that committed a
// checkpoint the current snapshot names. It returns the ids to expire and
// how many were kept only for their checkpoints; an unreadable checkpoint
// property is an error (nothing is expired).
func snapshotsToExpire(meta table.Metadata, opts ExpireOptions, now time.Time) ([]int64, int, error) {
	cutoff := now.Add(-opts.OlderThan).UnixMilli()
	keep := map[int64]bool{}
	head := meta.CurrentSnapshot()
	if head == nil {
		return nil, 0, nil
	}
	i := 0
	for s := head; s != nil; i++ {
		if keep[s.SnapshotID] {
			break // a cycle; metadata is broken, keep the rest
		}
		if i < opts.RetainLast || s.TimestampMs >= cutoff {
			keep[s.SnapshotID] = true
		}
		if s.ParentSnapshotID == nil {
			break
		}
		s = meta.SnapshotByID(*s.ParentSnapshotID)
	}
	keep[head.SnapshotID] = true
	for name, ref := range meta.Refs() {
		keep[ref.SnapshotID] = true
		if name == table.MainBranch || ref.SnapshotRefType != table.BranchRef {
			continue
		}
		for s := meta.SnapshotByID(ref.SnapshotID); s != nil && s.ParentSnapshotID != nil; {
			s = meta.SnapshotByID(*s.ParentSnapshotID)
			if s == nil || keep[s.SnapshotID] {
				break
			}
			keep[s.SnapshotID] = true
		}
	}
	// Snapshots on no branch (none in sessionize's tables) go by age only.
	for _, s := range meta.Snapshots() {
		if s.TimestampMs >= cutoff {
			keep[s.SnapshotID] = true
		}
	}

	kept := 0
	protected, err := checkpointSnapshots(meta)
	if err != nil {
		return nil, 0, err
	}
	for _, id := range protected {
		if !keep[id] {
			keep[id] = true
			kept++
		}
	}

	var expire []int64
	for _, s := range meta.Snapshots() {
		if !keep[s.SnapshotID] {
			expire = append(expire, s.SnapshotID)
		}
	}
	return expire, kept, nil
}

// checkpointSnapshots returns, for each checkpoint file the current
// snapshot's sessionize.checkpoints names, the oldest snapshot naming it:
// the commit that made it the partition's state.
func checkpointSnapshots(meta table.Metadata) ([]int64, error) {
	current, err := checkpointURIs(meta.CurrentSnapshot())
	if err != nil || len(current) == 0 {
		return nil, err
	}
	snaps := slices.Clone(meta.Snapshots())
	slices.SortFunc(snaps, func(a, b table.Snapshot) int {
		return cmp.Or(cmp.Compare(a.SequenceNumber, b.SequenceNumber), cmp.Compare(a.TimestampMs, b.TimestampMs))
	})
	introduced := map[string]int64{}
	for i := range snaps {
		uris, err := checkpointURIs(&snaps[i])
		if err != nil {
			return nil, err
		}
		for _, uri := range uris {
			if _, ok := introduced[uri]; !ok && slices.Contains(current, uri) {
				introduced[uri] = snaps[i].SnapshotID
			}
		}
		if len(introduced) == len(current) {
			break
		}
	}
	var ids []int64
	for _, id := range introduced {
		if !slices.Contains(ids, id) {
			ids = append(ids, id)
		}
	}
	return ids, nil
}

// checkpointURIs returns the checkpoint files a snapshot's summary names,
// deduplicated and sorted; nil if it names none. A property that does not
// parse is an error: whoever deletes checkpoints or the snapshots that
// committed them must not guess.
func checkpointURIs(s *table.Snapshot) ([]string, error) {
	if s == nil || s.Summary == nil {
		return nil, nil
	}
	sum, err := ParseSummary(s.Summary.Properties)
	if err != nil {
		return nil, fmt.Errorf("snapshot %d: %w", s.SnapshotID, err)
	}
	var out []string
	for _, uri := range sum.Checkpoints {
		if !slices.Contains(out, uri) {
			out = append(out, uri)
		}
	}
	slices.Sort(out)
	return out, nil
}
