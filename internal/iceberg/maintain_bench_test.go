package iceberg

import (
	"context"
	"fmt"
	"log/slog"
	"testing"
	"time"
)

// BenchmarkMaintain builds a sessions table the way a streaming pipeline
// does, with 1,000 small commits carrying sessionize.* properties, and
// measures it before and after one Maintain: data files, snapshots,
// manifests, the time of a full scan (ReadSessions) and of an empty
// commit. Only the first iteration maintains anything, so run it once:
//
//	go test -run '^$' -bench BenchmarkMaintain -benchtime 1x ./internal/iceberg
//
// Building the table takes minutes: every commit is slower than the last
// as the metadata grows, which is what expiry is for.
func BenchmarkMaintain(b *testing.B) {
	const commits, rowsPerCommit = 1000, 100 // each commit spans two day partitions
	ctx := context.Background()
	w, err := Open(ctx, Config{Warehouse: b.TempDir()}, slog.New(slog.DiscardHandler))
	if err != nil {
		b.Fatal(err)
	}
	defer w.Close()

	built := time.Now()
	pw := newPipelineWriter(b, w, TableSessions, "bench")
	for i := range commits {
		uri, err := w.WriteFile(ctx, fmt.Sprintf("grp/bench-%08d.ckpt", i), []byte("state"))
		if err != nil {
			b.Fatal(err)
		}
		if _, err := pw.commit(ctx, Commit{Sessions: sampleSessions(rowsPerCommit, fmt.Sprintf("c%04d", i))}, i%4, int64(i+1)*rowsPerCommit, uri); err != nil {
			b.Fatal(err)
		}
	}
	b.Logf("built %d commits of %d rows in %s", commits, rowsPerCommit, time.Since(built).Round(time.Millisecond))

	measure := func(when string) (files, snapshots, manifests int, scan, commit time.Duration) {
		tbl, err := w.load(ctx, TableSessions)
		if err != nil {
			b.Fatal(err)
		}
		st, err := tableStats(ctx, tbl)
		if err != nil {
			b.Fatal(err)
		}
		scan = time.Hour
		for range 3 {
			start := time.Now()
			rows, err := w.ReadSessions(ctx)
			if err != nil {
				b.Fatal(err)
			}
			if len(rows) != commits*rowsPerCommit {
				b.Fatalf("%s: %d rows, want %d", when, len(rows), commits*rowsPerCommit)
			}
			scan = min(scan, time.Since(start))
		}
		commit = time.Hour
		for range 3 {
			start := time.Now()
			if _, err := pw.commit(ctx, Commit{}, 0, pw.committed[0], ""); err != nil { // offsets only, like an idle interval
				b.Fatal(err)
			}
			commit = min(commit, time.Since(start))
		}
		b.Logf("%s maintenance: %d data files, %d snapshots, %d manifests; full scan %s, empty commit %s",
			when, st.DataFiles, st.Snapshots, st.Manifests, scan.Round(100*time.Microsecond), commit.Round(100*time.Microsecond))
		return st.DataFiles, st.Snapshots, st.Manifests, scan, commit
	}

	filesBefore, snapsBefore, manifestsBefore, scanBefore, commitBefore := measure("before")
	var took time.Duration
	first := true
	for b.Loop() {
		start := time.Now()
		// Default retention (last 100 snapshots) but no age limit: every
		// snapshot here is younger than the default 24h.
		rep, err := w.Maintain(ctx, MaintainOptions{OlderThan: time.Nanosecond})
		if err != nil {
			b.Fatal(err)
		}
		if first {
			took, first = time.Since(start), false
			b.Logf("maintain took %s: %+v", took.Round(time.Millisecond), rep.Tables[0])
		}
	}
	filesAfter, snapsAfter, manifestsAfter, scanAfter, commitAfter := measure("after")

	b.ReportMetric(float64(filesBefore), "files-before")
	b.ReportMetric(float64(filesAfter), "files-after")
	b.ReportMetric(float64(snapsBefore), "snapshots-before")
	b.ReportMetric(float64(snapsAfter), "snapshots-after")
	b.ReportMetric(float64(manifestsBefore), "manifests-before")
	b.ReportMetric(float64(manifestsAfter), "manifests-after")
	b.ReportMetric(float64(scanBefore.Microseconds())/1000, "scan-ms-before")
	b.ReportMetric(float64(scanAfter.Microseconds())/1000, "scan-ms-after")
	b.ReportMetric(float64(commitBefore.Microseconds())/1000, "commit-ms-before")
	b.ReportMetric(float64(commitAfter.Microseconds())/1000, "commit-ms-after")
	b.ReportMetric(float64(took.Milliseconds()), "maintain-ms")
}
