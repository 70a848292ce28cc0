package main

import (
	"context"
	"fmt"
	"os"
	"slices"

	iceberggo "github.com/apache/iceberg-go"
	icebergio "github.com/apache/iceberg-go/io"
	"github.com/apache/iceberg-go/table"

	"github.com/sessionize/sessionize/internal/iceberg"
	"github.com/sessionize/sessionize/internal/pipeline"
)

// tableHealth is what one table looks like at the end of a window.
type tableHealth struct {
	snapshots     int   // in the metadata
	dataFiles     int   // in the current snapshot
	manifests     int   // of the current snapshot
	metadataBytes int64 // the current metadata JSON file
	// filesPerDay counts the current snapshot's data files per value of
	// the table's day partition field (sessions: session_start_day).
	filesPerDay map[int]dayFiles
}

// dayFiles is one day partition's data files: all of them, and the small
// ones, below the size at which the run's own compaction leaves a file
// alone (three quarters of pipeline.InRunTargetFileSize). Files of about
// that size grow in number with the data, as they should (about one a
// minute at 50k events/s); small files are the problem frequent commits
// make, and what must stay bounded.
type dayFiles struct {
	files, small int
	bytes        int64
}

func (h tableHealth) maxPerDay() int {
	m := 0
	for _, d := range h.filesPerDay {
		m = max(m, d.files)
	}
	return m
}

func (h tableHealth) maxSmallPerDay() int {
	m := 0
	for _, d := range h.filesPerDay {
		m = max(m, d.small)
	}
	return m
}

// meanFileMiB is the mean size of the data files counted per day.
func (h tableHealth) meanFileMiB() float64 {
	var n int
	var bytes int64
	for _, d := range h.filesPerDay {
		n += d.files
		bytes += d.bytes
	}
	if n == 0 {
		return 0
	}
	return float64(bytes) / float64(n) / (1 << 20)
}

// readHealth opens the warehouse read-only (and closes it again, holding
// no catalog connection between windows), describes each table and, for
// the sessions table, counts data files per day partition from the
// manifests of the current snapshot. The tables are read with this
// source tree's code whatever -bin wrote them: the format is Iceberg's.
func readHealth(ctx context.Context, warehouse string) (map[string]tableHealth, error) {
	wh, err := iceberg.OpenReadOnly(ctx, iceberg.Config{Warehouse: warehouse}, nil)
	if err != nil {
		return nil, err
	}
	defer wh.Close()
	out := map[string]tableHealth{}
	for _, name := range []string{iceberg.TableSessions, iceberg.TableLate, iceberg.TableRejected} {
		d, err := wh.Describe(ctx, name)
		if err != nil {
			return nil, err
		}
		h := tableHealth{snapshots: len(d.Snapshots), dataFiles: d.Current.DataFiles, manifests: d.Current.Manifests}
		if st, err := os.Stat(d.MetadataLocation); err == nil {
			h.metadataBytes = st.Size()
		}
		if name == iceberg.TableSessions && d.CurrentSnapshotID != iceberg.NoSnapshot {
			if h.filesPerDay, err = filesPerDay(ctx, d.MetadataLocation); err != nil {
				return nil, fmt.Errorf("%s: files per day partition: %w", name, err)
			}
		}
		out[name] = h
	}
	return out, nil
}

// filesPerDay loads the table from its metadata file and counts the data
// files of its current snapshot per day-transform partition value.
func filesPerDay(ctx context.Context, metadataLocation string) (map[int]dayFiles, error) {
	fsF := func(ctx context.Context) (icebergio.IO, error) {
		return icebergio.LoadFS(ctx, nil, metadataLocation)
	}
	tbl, err := table.NewFromLocation(ctx, table.Identifier{"bench"}, metadataLocation, fsF, nil)
	if err != nil {
		return nil, err
	}
	dayField := -1
	spec := tbl.Spec()
	for _, f := range spec.Fields() {
		if _, ok := f.Transform.(iceberggo.DayTransform); ok {
			dayField = f.FieldID
			break
		}
	}
	// As the run's compaction (internal/iceberg's planCompaction, given
	// the run's target).
	smallBelow := int64(pipeline.InRunTargetFileSize) * 3 / 4
	snap := tbl.CurrentSnapshot()
	if snap == nil {
		return map[int]dayFiles{}, nil
	}
	fsys, err := fsF(ctx)
	if err != nil {
		return nil, err
	}
	manifests, err := snap.Manifests(fsys)
	if err != nil {
		return nil, err
	}
	out := map[int]dayFiles{}
	for _, m := range manifests {
		if m.ManifestContent() != iceberggo.ManifestContentData {
			continue
		}
		for entry, err := range m.Entries(fsys, true) {
			if err != nil {
				return nil, err
			}
			df := entry.DataFile()
			if df.ContentType() != iceberggo.EntryContentData {
				continue
			}
			day := -1
			if v, ok := df.Partition()[dayField]; ok {
				day = toInt(v)
			}
			d := out[day]
			d.files++
			d.bytes += df.FileSizeBytes()
			if df.FileSizeBytes() < smallBelow {
				d.small++
			}
			out[day] = d
		}
	}
	return out, nil
}

func toInt(v any) int {
	switch v := v.(type) {
	case int32:
		return int(v)
	case int64:
		return int(v)
	case int:
		return v
	case iceberggo.Date:
		return int(v)
	}
	return -2
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
