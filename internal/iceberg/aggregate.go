package iceberg

import (
	"context"
	"fmt"
	"strings"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
)

// Aggregates over whole tables for the audit and the report, streamed
// through Scan: each reads only the columns it counts, so memory stays at
// one record whatever the size of the table.

// SessionTotals returns the rows of the sessions table and the sum of
// their event_count.
func (w *Warehouse) SessionTotals(ctx context.Context) (rows, events int64, err error) {
	ctx = w.ioContext(ctx)
	_, err = w.Scan(ctx, TableSessions, ScanOptions{Columns: []string{"event_count"}}, func(rec arrow.RecordBatch) error {
		c := &recordColumns{rec: rec}
		ev := col[*array.Int64](c, "event_count")
		if c.err != nil {
			return fmt.Errorf("iceberg: scan %s: %w", TableSessions, c.err)
		}
		rows += rec.NumRows()
		for _, v := range ev.Int64Values() {
			events += v
		}
		return nil
	})
	return rows, events, err
}

// RowsByPartition returns the rows of late_events or rejected_events per
// Kafka partition.
func (w *Warehouse) RowsByPartition(ctx context.Context, tableName string) (map[int32]int64, error) {
	ctx = w.ioContext(ctx)
	if tableName != TableLate && tableName != TableRejected {
		return nil, fmt.Errorf("iceberg: RowsByPartition of %q: only %s and %s have a Kafka partition column", tableName, TableLate, TableRejected)
	}
	out := map[int32]int64{}
	_, err := w.Scan(ctx, tableName, ScanOptions{Columns: []string{"partition"}}, func(rec arrow.RecordBatch) error {
		c := &recordColumns{rec: rec}
		part := col[*array.Int32](c, "partition")
		if c.err != nil {
			return fmt.Errorf("iceberg: scan %s: %w", tableName, c.err)
		}
		for _, p := range part.Int32Values() {
			out[p]++
		}
		return nil
	})
	return out, err
}

// RejectedByReason returns the rows of rejected_events per reason.
func (w *Warehouse) RejectedByReason(ctx context.Context) (map[string]int64, error) {
	ctx = w.ioContext(ctx)
	out := map[string]int64{}
	_, err := w.Scan(ctx, TableRejected, ScanOptions{Columns: []string{"reason"}}, func(rec arrow.RecordBatch) error {
		c := &recordColumns{rec: rec}
		reason := col[stringValues](c, "reason")
		if c.err != nil {
			return fmt.Errorf("iceberg: scan %s: %w", TableRejected, c.err)
		}
		for i := range reason.Len() {
			r := reason.Value(i)
			if _, ok := out[r]; ok {
				out[r]++
			} else {
				out[strings.Clone(r)] = 1 // r points into the record
			}
		}
		return nil
	})
	return out, err
}
