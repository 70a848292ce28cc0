package iceberg

import (
	"context"
	"log/slog"
	"testing"
	"time"
)

// BenchmarkCommit measures one Commit end to end with the embedded SQLite
// catalog: reload, Parquet write, manifests, catalog update.
//
//	go test -run '^$' -bench BenchmarkCommit -benchtime 20x ./internal/iceberg
func BenchmarkCommit(b *testing.B) {
	cases := []struct {
		name    string
		rows    int
		buckets int
	}{
		{"sessions=10k", 10_000, 0},
		{"sessions=10k/uuid_buckets=16", 10_000, 16},
		{"empty", 0, 0},
	}
	for _, bc := range cases {
		b.Run(bc.name, func(b *testing.B) {
			ctx := context.Background()
			w, err := Open(ctx, Config{Warehouse: b.TempDir(), UUIDBuckets: bc.buckets}, slog.New(slog.DiscardHandler))
			if err != nil {
				b.Fatal(err)
			}
			defer w.Close()
			rows := sampleSessions(bc.rows, "bench")
			parent := NoSnapshot
			var total time.Duration
			b.ResetTimer()
			for i := 0; b.Loop(); i++ {
				start := time.Now()
				s, err := w.Commit(ctx, Commit{
					Table:                  TableSessions,
					Sessions:               rows,
					Properties:             map[string]string{"sessionize.offsets": "0:" + string(rune('0'+i%10))},
					ExpectParentSnapshotID: parent,
				})
				total += time.Since(start)
				if err != nil {
					b.Fatal(err)
				}
				parent = s.ID
			}
			b.ReportMetric(float64(total.Microseconds())/1000/float64(b.N), "ms/commit")
		})
	}
}
