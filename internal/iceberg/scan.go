package iceberg

import (
	"context"
	"fmt"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/iceberg-go"
	"github.com/apache/iceberg-go/metrics"
	"github.com/apache/iceberg-go/table"
)

// ScanOptions say what part of a table Scan reads.
type ScanOptions struct {
	// From and To bound the time a table is partitioned by: session start
	// for sessions, the Kafka timestamp for late_events and
	// rejected_events. Rows with From <= t < To are read, compared at
	// millisecond precision like the *_ms columns; a zero time is open.
	// The bound is pushed into the scan as a row filter, so iceberg-go
	// skips every data file whose day partition is outside it and filters
	// the rows of the boundary days.
	From, To time.Time
	// Columns are the columns to read, by name; nil reads every column.
	// Parquet is columnar: a column not named here is never decoded.
	Columns []string

	// filter is an extra row filter, ANDed with the window.
	filter iceberg.BooleanExpression
}

// ScanStats describe what a scan read.
type ScanStats struct {
	// Files and FileBytes are the data files the scan opened (the others
	// were pruned by partition or column bounds) and their size on disk.
	Files     int64
	FileBytes int64
	// Rows is the rows handed to the callback.
	Rows int64
}

// scanBatchRows caps the rows of each record a scan decodes. iceberg-go's
// default (128k rows) makes a sessions record with its pages lists tens of
// MiB, and the scan holds a few records at once (decoding, in the channel,
// being read). With 4k rows the report's scan holds about 12 MiB of Arrow
// buffers (16k: 20-34 MiB) for no measurable CPU cost.
const scanBatchRows = 4 << 10

// Scan streams the rows of a table's current snapshot to fn, one Arrow
// record at a time, in no particular order. The record is released when
// fn returns: fn must copy whatever it keeps (strings read from it point
// into its buffers). An error from fn stops the scan and is returned.
//
// Memory is bounded by one record, not by the table: the scan reads one
// data file at a time (iceberg-go's concurrency 1). With concurrency n,
// iceberg-go decodes n files at once and holds the decoded records of
// every file that finishes ahead of the one being returned, up to a whole
// file's worth each; on a 2-core machine that buys little speed for a
// lot of memory.
func (w *Warehouse) Scan(ctx context.Context, tableName string, opts ScanOptions, fn func(arrow.RecordBatch) error) (ScanStats, error) {
	ctx = w.ioContext(ctx)
	var stats ScanStats
	tbl, err := w.load(ctx, tableName)
	if err != nil {
		return stats, err
	}
	if tbl.CurrentSnapshot() == nil {
		return stats, nil
	}
	planned := &metrics.InMemoryReporter{}
	scanOpts := []table.ScanOption{
		table.WithReporter(planned),
		table.WithMaxConcurrency(1),
		table.WithArrowBatchSize(scanBatchRows),
		table.WithSelectedFields(opts.Columns...),
	}
	filter := windowFilter(partitionTimeColumn(tableName), opts.From, opts.To)
	switch {
	case filter == nil:
		filter = opts.filter
	case opts.filter != nil:
		filter = iceberg.NewAnd(filter, opts.filter)
	}
	if filter != nil {
		scanOpts = append(scanOpts, table.WithRowFilter(filter))
	}
	scan := tbl.Scan(scanOpts...)
	defer scan.Close()
	_, records, err := scan.ToArrowRecords(ctx)
	if err != nil {
		return stats, fmt.Errorf("iceberg: scan %s: %w", tableName, err)
	}
	// Planning is done and reported (synchronously) by now.
	for _, r := range planned.Reports() {
		if sr, ok := r.(metrics.ScanReport); ok {
			stats.Files += counter(sr.Metrics.ResultDataFiles)
			stats.FileBytes += counter(sr.Metrics.TotalFileSizeInBytes)
		}
	}
	for rec, err := range records {
		if err != nil {
			return stats, fmt.Errorf("iceberg: scan %s: %w", tableName, err)
		}
		stats.Rows += rec.NumRows()
		err = fn(rec)
		rec.Release()
		if err != nil {
			return stats, err
		}
	}
	return stats, nil
}

func counter(c *metrics.CounterResult) int64 {
	if c == nil {
		return 0
	}
	return c.Value
}

// partitionTimeColumn is the timestamp column a table is partitioned by
// day of (see tableDefs).
func partitionTimeColumn(tableName string) string {
	if tableName == TableSessions {
		return SessionStartColumn
	}
	return "kafka_timestamp"
}

// windowFilter is from <= column < to on a timestamptz (microseconds)
// column, or nil when both ends are open. The bounds are first truncated
// to milliseconds, the precision of the *_ms column the timestamp was
// derived from, so the filter keeps exactly the rows whose *_ms value is
// in [from.UnixMilli(), to.UnixMilli()).
func windowFilter(column string, from, to time.Time) iceberg.BooleanExpression {
	var preds []iceberg.BooleanExpression
	if !from.IsZero() {
		preds = append(preds, iceberg.GreaterThanEqual(iceberg.Reference(column), iceberg.Timestamp(from.UnixMilli()*1000)))
	}
	if !to.IsZero() {
		preds = append(preds, iceberg.LessThan(iceberg.Reference(column), iceberg.Timestamp(to.UnixMilli()*1000)))
	}
	switch len(preds) {
	case 0:
		return nil
	case 1:
		return preds[0]
	default:
		return iceberg.NewAnd(preds[0], preds[1])
	}
}
