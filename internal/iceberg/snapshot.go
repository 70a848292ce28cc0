package iceberg

import (
	"context"
	"fmt"
	"maps"

	"github.com/apache/iceberg-go/table"
)

// NoSnapshot is the ParentID of a table's first snapshot, and the
// ExpectParentSnapshotID of a commit to a table that has none yet.
const NoSnapshot int64 = -1

// Snapshot is one committed version of a table's main branch.
type Snapshot struct {
	ID             int64
	ParentID       int64 // NoSnapshot for the first snapshot
	SequenceNumber int64
	TimestampMs    int64
	// Summary holds the snapshot summary: the commit's own properties plus
	// what Iceberg records ("operation", "added-records", "total-records",
	// ...).
	Summary map[string]string
}

func snapshotFrom(s *table.Snapshot) Snapshot {
	out := Snapshot{
		ID:             s.SnapshotID,
		ParentID:       NoSnapshot,
		SequenceNumber: s.SequenceNumber,
		TimestampMs:    s.TimestampMs,
		Summary:        map[string]string{},
	}
	if s.ParentSnapshotID != nil {
		out.ParentID = *s.ParentSnapshotID
	}
	if s.Summary != nil {
		maps.Copy(out.Summary, s.Summary.Properties)
		out.Summary["operation"] = string(s.Summary.Operation)
	}
	return out
}

// Current returns the table's current main snapshot, reloaded from the
// catalog; false if the table has no snapshot yet.
func (w *Warehouse) Current(ctx context.Context, tableName string) (Snapshot, bool, error) {
	ctx = w.ioContext(ctx)
	tbl, err := w.load(ctx, tableName)
	if err != nil {
		return Snapshot{}, false, err
	}
	s := tbl.CurrentSnapshot()
	if s == nil {
		return Snapshot{}, false, nil
	}
	return snapshotFrom(s), true, nil
}

// Snapshots returns the history of the table's main branch, newest first,
// reloaded from the catalog. It follows parent links from the current
// snapshot and stops where an ancestor has been expired.
func (w *Warehouse) Snapshots(ctx context.Context, tableName string) ([]Snapshot, error) {
	ctx = w.ioContext(ctx)
	tbl, err := w.load(ctx, tableName)
	if err != nil {
		return nil, err
	}
	var out []Snapshot
	seen := map[int64]bool{}
	for s := tbl.CurrentSnapshot(); s != nil; {
		if seen[s.SnapshotID] {
			return nil, fmt.Errorf("iceberg: table %s: snapshot %d is its own ancestor", tableName, s.SnapshotID)
		}
		seen[s.SnapshotID] = true
		out = append(out, snapshotFrom(s))
		if s.ParentSnapshotID == nil {
			break
		}
		s = tbl.SnapshotByID(*s.ParentSnapshotID)
	}
	return out, nil
}
