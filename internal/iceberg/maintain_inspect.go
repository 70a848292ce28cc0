package iceberg

import (
	"cmp"
	"context"
	"fmt"
	"maps"
	"slices"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/iceberg-go"
)

// TableDescription is what `sessionize table describe` shows.
type TableDescription struct {
	Name             string
	Location         string
	MetadataLocation string
	FormatVersion    int
	Schema           string
	PartitionSpec    string
	Properties       map[string]string
	// CurrentSnapshotID is NoSnapshot for a table without snapshots.
	CurrentSnapshotID int64
	// Snapshots holds every snapshot in the metadata (not only main's
	// unbroken ancestry), newest first.
	Snapshots []Snapshot
	// Current summarizes the current snapshot's data files.
	Current TableStats
}

// Describe loads a table and describes its schema, partitioning,
// properties, snapshots and current data files.
func (w *Warehouse) Describe(ctx context.Context, tableName string) (TableDescription, error) {
	ctx = w.ioContext(ctx)
	tbl, err := w.load(ctx, tableName)
	if err != nil {
		return TableDescription{}, err
	}
	meta := tbl.Metadata()
	d := TableDescription{
		Name:              tableName,
		Location:          localPath(tbl.Location()),
		MetadataLocation:  localPath(tbl.MetadataLocation()),
		FormatVersion:     meta.Version(),
		Schema:            tbl.Schema().String(),
		PartitionSpec:     tbl.Spec().String(),
		Properties:        maps.Clone(map[string]string(tbl.Properties())),
		CurrentSnapshotID: headID(tbl),
	}
	for _, s := range meta.Snapshots() {
		d.Snapshots = append(d.Snapshots, snapshotFrom(&s))
	}
	slices.SortFunc(d.Snapshots, func(a, b Snapshot) int {
		return cmp.Or(cmp.Compare(b.SequenceNumber, a.SequenceNumber), cmp.Compare(b.TimestampMs, a.TimestampMs))
	})
	if d.Current, err = tableStats(ctx, tbl); err != nil {
		return d, fmt.Errorf("iceberg: describe %s: %w", tableName, err)
	}
	return d, nil
}

// ReadUserSessions returns one user's sessions from the sessions table's
// current snapshot, ordered by start time (then session id). The scan is
// filtered on uuid by iceberg-go: files whose uuid bounds (or bucket
// partition) exclude the user are not read, and the remaining rows are
// filtered while decoding.
func (w *Warehouse) ReadUserSessions(ctx context.Context, uuid string) ([]SessionRow, error) {
	ctx = w.ioContext(ctx)
	var out []SessionRow
	_, err := w.Scan(ctx, TableSessions, ScanOptions{filter: iceberg.EqualTo(iceberg.Reference("uuid"), uuid)}, func(rec arrow.RecordBatch) error {
		var err error
		if out, err = SessionsFromRecord(rec, out); err != nil {
			return fmt.Errorf("iceberg: scan %s for uuid %q: %w", TableSessions, uuid, err)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	// The filter is exact, but a row of another user would be a bug worth
	// not showing.
	out = slices.DeleteFunc(out, func(r SessionRow) bool { return r.UUID != uuid })
	slices.SortFunc(out, func(a, b SessionRow) int {
		return cmp.Or(cmp.Compare(a.SessionStartTimeMs, b.SessionStartTimeMs), cmp.Compare(a.SessionID, b.SessionID))
	})
	return out, nil
}
