package iceberg

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"slices"
	"strings"
	"time"

	"github.com/apache/iceberg-go/catalog"
	"github.com/apache/iceberg-go/table"
)

// deleteOrphanFiles deletes the files under the table's location that no
// snapshot, manifest or metadata-log entry of the freshly loaded table
// references and that are older than age (planned by iceberg-go's
// PlanOrphanFiles). A commit in flight has written its files but is not in
// the catalog yet; its files are younger than age, so they stay.
//
// Writers delete files while the directory is listed (the files of a
// refused commit, metadata files beyond the kept history), which makes
// iceberg-go's listing fail; the plan is then made again.
func (w *Warehouse) deleteOrphanFiles(ctx context.Context, name string, age time.Duration, maxAttempts int, dryRun bool) ([]string, error) {
	var plan table.OrphanCleanupPlan
	for attempt := 0; ; attempt++ {
		tbl, err := w.load(ctx, name)
		if err != nil {
			return nil, err
		}
		plan, err = tbl.PlanOrphanFiles(ctx, table.WithFilesOlderThan(age))
		if err == nil {
			break
		}
		if !errors.Is(err, fs.ErrNotExist) || attempt+1 >= maxAttempts {
			return nil, err
		}
		if err := conflictBackoff(ctx, attempt); err != nil {
			return nil, err
		}
	}
	fsys, err := w.tableFS(ctx, name)
	if err != nil {
		return nil, err
	}
	var out []string
	for _, f := range plan.Files() {
		p := localPath(f)
		if !dryRun {
			if err := fsys.Remove(f); err != nil {
				if errors.Is(err, fs.ErrNotExist) {
					continue // someone else deleted it
				}
				return out, err
			}
		}
		out = append(out, p)
	}
	slices.Sort(out)
	if len(out) > 0 {
		w.logger.InfoContext(ctx, "iceberg orphan files deleted", "table", name, "files", len(out), "dry_run", dryRun)
	}
	return out, nil
}

// deleteUnreferencedCheckpoints deletes pipeline checkpoint files (and
// leftover temporary files of interrupted writes) that are older than age
// and that no sessions table of any namespace in the catalog names in a
// snapshot that was current at some point during the last age: the
// pipeline reads only the current snapshot's checkpoints, and one that
// loaded a snapshot just before the next commit may still be reading its
// files. alsoKeep holds more paths to keep (those referenced before
// expiry removed snapshots). The checkpoint directory is shared by every
// namespace of the warehouse, hence the look at all of them; if the
// sessions table of any cannot be read, nothing is deleted.
func (w *Warehouse) deleteUnreferencedCheckpoints(ctx context.Context, age time.Duration, alsoKeep map[string]bool, dryRun bool) (deleted []string, kept int, err error) {
	dir := w.checkpointDir()
	now := time.Now()
	cutoff := now.Add(-age)
	referenced, err := w.referencedCheckpoints(ctx, cutoff)
	if err != nil {
		return nil, 0, fmt.Errorf("iceberg: maintain checkpoints: %w", err)
	}
	var candidates []string
	err = w.store.Walk(ctx, dir, func(p string, info fs.FileInfo) error {
		if referenced[p] || alsoKeep[p] {
			kept++
			return nil
		}
		if !info.ModTime().Before(cutoff) {
			kept++
			return nil
		}
		candidates = append(candidates, p)
		return nil
	})
	if err != nil {
		return nil, kept, fmt.Errorf("iceberg: maintain checkpoints: list %s: %w", dir, err)
	}
	if dryRun {
		return candidates, kept, nil
	}
	for _, p := range candidates {
		if err := w.store.Remove(ctx, p); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return deleted, kept, fmt.Errorf("iceberg: maintain checkpoints: %w", err)
		}
		deleted = append(deleted, p)
	}
	if len(deleted) > 0 {
		w.logger.InfoContext(ctx, "unreferenced checkpoint files deleted", "files", len(deleted), "kept", kept)
	}
	return deleted, kept, nil
}

// referencedCheckpoints returns the store locations of the checkpoint files
// named by the sessions table of every namespace of this warehouse, in its
// current snapshot and in every snapshot that was current after cutoff.
//
// A namespace is this warehouse's if its directory <warehouse>/<ns>.db
// exists (where the catalog puts its tables): a PostgreSQL catalog may
// also hold namespaces of other warehouses, whose checkpoints live
// elsewhere and whose files this process may not even see.
func (w *Warehouse) referencedCheckpoints(ctx context.Context, cutoff time.Time) (map[string]bool, error) {
	namespaces, err := w.cat.ListNamespaces(ctx, nil)
	if err != nil {
		return nil, fmt.Errorf("list namespaces: %w", err)
	}
	if !slices.ContainsFunc(namespaces, func(ns table.Identifier) bool { return slices.Equal(ns, w.ns) }) {
		namespaces = append(namespaces, w.ns)
	}
	refs := map[string]bool{}
	for _, ns := range namespaces {
		if !slices.Equal(ns, w.ns) {
			exists, err := w.store.Exists(ctx, w.store.Join(strings.Join(ns, ".")+".db"))
			if err != nil {
				return nil, fmt.Errorf("look for namespace %s in the warehouse: %w", strings.Join(ns, "."), err)
			}
			if !exists {
				continue // another warehouse's namespace
			}
		}
		ident := append(slices.Clone(ns), TableSessions)
		tbl, err := w.cat.LoadTable(ctx, ident)
		if errors.Is(err, catalog.ErrNoSuchTable) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("load %s: %w", strings.Join(ident, "."), err)
		}
		uris, err := recentCheckpointURIs(tbl.Metadata(), cutoff.UnixMilli())
		if err != nil {
			return nil, fmt.Errorf("%s: %w", strings.Join(ident, "."), err)
		}
		for _, uri := range uris {
			if p, err := w.checkpointPath(uri); err == nil {
				refs[p] = true
			}
		}
	}
	return refs, nil
}

// recentCheckpointURIs returns the checkpoints named by the current
// snapshot, by every snapshot committed at or after cutoffMs, and by the
// last one committed before it (current until the next commit).
func recentCheckpointURIs(meta table.Metadata, cutoffMs int64) ([]string, error) {
	var out []string
	add := func(s *table.Snapshot) error {
		uris, err := checkpointURIs(s)
		for _, uri := range uris {
			if !slices.Contains(out, uri) {
				out = append(out, uri)
			}
		}
		return err
	}
	if err := add(meta.CurrentSnapshot()); err != nil {
		return nil, err
	}
	var lastBefore *table.Snapshot
	snaps := meta.Snapshots()
	for i := range snaps {
		s := &snaps[i]
		if s.TimestampMs >= cutoffMs {
			if err := add(s); err != nil {
				return nil, err
			}
		} else if lastBefore == nil || s.TimestampMs > lastBefore.TimestampMs {
			lastBefore = s
		}
	}
	if err := add(lastBefore); err != nil {
		return nil, err
	}
	return out, nil
}
