package iceberg

import (
	"context"
	"errors"
	"io/fs"
	"path"
	"strings"

	"github.com/apache/iceberg-go"
	iceio "github.com/apache/iceberg-go/io"
	"github.com/apache/iceberg-go/table"
	"github.com/google/uuid"
)

// A commit attempt writes, before the catalog decides anything: its Parquet
// data files (named with the attempt UUID, under <table>/data/), one or more
// manifests and a manifest list (under <table>/metadata/). iceberg-go
// deletes none of them when the catalog refuses the commit, so a refused
// attempt would leave orphans that no snapshot references. discardAttempt
// removes them.

// stagedMetadataFiles returns the manifest list and the manifests that the
// transaction's staged snapshot wrote. Best effort: on any problem it returns
// what it found, since this only feeds cleanup.
func stagedMetadataFiles(ctx context.Context, tx *table.Transaction) []string {
	staged, err := tx.StagedTable()
	if err != nil {
		return nil
	}
	snap := staged.CurrentSnapshot()
	if snap == nil || snap.ManifestList == "" {
		return nil
	}
	out := []string{snap.ManifestList}
	fsys, err := staged.FS(ctx)
	if err != nil {
		return out
	}
	manifests, err := snap.Manifests(fsys)
	if err != nil {
		return out
	}
	for _, m := range manifests {
		// Manifests inherited from the parent keep their own snapshot
		// id; everything this snapshot wrote (new or merged) carries its
		// id.
		if m.SnapshotID() == snap.SnapshotID {
			out = append(out, m.FilePath())
		}
	}
	return out
}

// discardAttempt deletes the files of a commit attempt that did not
// happen. sweep also searches the table's data directory for files named
// with the attempt UUID, for when the write itself failed part way and
// files may exist that were never reported back.
func (w *Warehouse) discardAttempt(ctx context.Context, tbl *table.Table, attempt uuid.UUID, files []iceberg.DataFile, metadata []string, sweep bool) {
	paths := make([]string, 0, len(files)+len(metadata))
	for _, f := range files {
		paths = append(paths, f.FilePath())
	}
	paths = append(paths, metadata...)
	// The table's own IO: a REST catalog's tables need not be in the
	// warehouse's storage.
	fsys, err := tbl.FS(ctx)
	if err != nil {
		w.logger.WarnContext(ctx, "could not delete files of a failed iceberg commit; they are orphans no snapshot references",
			"commit_id", attempt.String(), "error", err)
		return
	}
	if sweep {
		paths = append(paths, attemptDataFiles(fsys, tbl.Location(), attempt)...)
	}
	var failed []string
	for _, p := range paths {
		if err := fsys.Remove(p); err != nil && !errors.Is(err, fs.ErrNotExist) {
			failed = append(failed, p)
		}
	}
	if len(failed) > 0 {
		w.logger.WarnContext(ctx, "could not delete files of a failed iceberg commit; they are orphans no snapshot references",
			"commit_id", attempt.String(), "files", failed)
		return
	}
	w.logger.DebugContext(ctx, "deleted files of a failed iceberg commit", "commit_id", attempt.String(), "files", len(paths))
}

// attemptDataFiles lists the files under <table>/data whose name contains
// the attempt UUID (iceberg-go names data files <partition>-<task>-<write
// uuid>-<n>.parquet).
func attemptDataFiles(fsys iceio.IO, tableLocation string, attempt uuid.UUID) []string {
	lio, ok := fsys.(iceio.ListableIO)
	if !ok {
		return nil
	}
	var out []string
	marker := attempt.String()
	dataDir := strings.TrimSuffix(tableLocation, "/") + "/data"
	// Best effort: a listing that fails part way returns what it found.
	_ = lio.WalkDir(dataDir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return nil
		}
		if !d.IsDir() && strings.Contains(path.Base(p), marker) {
			out = append(out, p)
		}
		return nil
	})
	return out
}

// localPath turns an iceberg-go location (a plain path or a file:// URI)
// into a local path; an object-store URI is returned as it is.
func localPath(location string) string {
	if rest, ok := strings.CutPrefix(location, "file://"); ok {
		return rest
	}
	return location
}
