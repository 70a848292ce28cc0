package iceberg

import (
	"context"
	"fmt"

	"github.com/apache/arrow-go/v18/arrow"
)

// Full-table reads into rows: for tests and the demo, not for
// production-size tables, since every row is held in memory (Scan and the
// aggregates in aggregate.go stream instead). Row order is unspecified.

// ReadSessions returns every row of the sessions table's current snapshot.
func (w *Warehouse) ReadSessions(ctx context.Context) ([]SessionRow, error) {
	ctx = w.ioContext(ctx)
	return readAll(ctx, w, TableSessions, SessionsFromRecord)
}

// ReadLate returns every row of the late_events table's current snapshot.
func (w *Warehouse) ReadLate(ctx context.Context) ([]LateRow, error) {
	ctx = w.ioContext(ctx)
	return readAll(ctx, w, TableLate, lateFromRecord)
}

// ReadRejected returns every row of the rejected_events table's current
// snapshot.
func (w *Warehouse) ReadRejected(ctx context.Context) ([]RejectedRow, error) {
	ctx = w.ioContext(ctx)
	return readAll(ctx, w, TableRejected, rejectedFromRecord)
}

// ReadEvents returns every row of the events table's current snapshot.
func (w *Warehouse) ReadEvents(ctx context.Context) ([]EventRow, error) {
	return readAll(ctx, w, TableEvents, eventsFromRecord)
}

func readAll[R any](ctx context.Context, w *Warehouse, name string, convert func(arrow.RecordBatch, []R) ([]R, error)) ([]R, error) {
	var out []R
	_, err := w.Scan(ctx, name, ScanOptions{}, func(rec arrow.RecordBatch) error {
		var err error
		out, err = convert(rec, out)
		if err != nil {
			return fmt.Errorf("iceberg: scan %s: %w", name, err)
		}
		return nil
	})
	return out, err
}
