package iceberg

import (
	"context"
	"fmt"

	"github.com/apache/arrow-go/v18/arrow"
)

// Full-table reads through iceberg-go's scan (manifests, partition data,
// Parquet decoding) back into rows: for tests, the demo and audits, not
// for production-size tables, since every row is held in memory. Row
// order is unspecified.

// ReadSessions returns every row of the sessions table's current snapshot.
func (w *Warehouse) ReadSessions(ctx context.Context) ([]SessionRow, error) {
	return readAll(ctx, w, TableSessions, SessionsFromRecord)
}

// ReadLate returns every row of the late_events table's current snapshot.
func (w *Warehouse) ReadLate(ctx context.Context) ([]LateRow, error) {
	return readAll(ctx, w, TableLate, lateFromRecord)
}

// ReadRejected returns every row of the rejected_events table's current
// snapshot.
func (w *Warehouse) ReadRejected(ctx context.Context) ([]RejectedRow, error) {
	return readAll(ctx, w, TableRejected, rejectedFromRecord)
}

func readAll[R any](ctx context.Context, w *Warehouse, name string, convert func(arrow.RecordBatch, []R) ([]R, error)) ([]R, error) {
	tbl, err := w.load(ctx, name)
	if err != nil {
		return nil, err
	}
	if tbl.CurrentSnapshot() == nil {
		return nil, nil
	}
	_, batches, err := tbl.Scan().ToArrowRecords(ctx)
	if err != nil {
		return nil, fmt.Errorf("iceberg: scan %s: %w", name, err)
	}
	var out []R
	for rec, err := range batches {
		if err != nil {
			return nil, fmt.Errorf("iceberg: scan %s: %w", name, err)
		}
		out, err = convert(rec, out)
		rec.Release()
		if err != nil {
			return nil, fmt.Errorf("iceberg: scan %s: %w", name, err)
		}
	}
	return out, nil
}
