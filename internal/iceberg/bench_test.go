package iceberg

import (
	"context"
	"fmt"
	"log/slog"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/sessionize/sessionize/internal/testservers"
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
			var bytes int64 // data files written, to weigh compression settings against
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
				n, _ := strconv.ParseInt(s.Summary["added-files-size"], 10, 64)
				bytes += n
			}
			b.ReportMetric(float64(total.Microseconds())/1000/float64(b.N), "ms/commit")
			b.ReportMetric(float64(bytes)/1024/float64(b.N), "data-KiB/commit")
		})
	}
}

// BenchmarkCommitCatalogs compares one Commit on each catalog: the
// embedded SQLite catalog with a local warehouse, then on the same
// SeaweedFS server (weed mini) a SQLite catalog with the tables on its S3
// and its Iceberg REST catalog with the tables on its S3. The two S3 cases
// write the same files to the same server, so their ratio is the
// catalog's cost (REST: load, commit and reload over HTTP, the server
// writing the metadata file).
//
//	go test -run '^$' -bench BenchmarkCommitCatalogs -benchtime 20x ./internal/iceberg
func BenchmarkCommitCatalogs(b *testing.B) {
	weed := testservers.StartSeaweedFS(b)
	s3 := weed.S3()
	catalogs := []struct {
		name string
		cfg  func(b *testing.B) Config
	}{
		{"sqlite/local", func(b *testing.B) Config { return Config{Warehouse: b.TempDir()} }},
		{"sqlite/seaweedfs-s3", func(b *testing.B) Config {
			return Config{Warehouse: s3.Warehouse(fmt.Sprintf("bench-%d", time.Now().UnixNano())), Storage: s3.Options(),
				CatalogURI: "sqlite://" + filepath.Join(b.TempDir(), "catalog.db")}
		}},
		{"rest/seaweedfs-s3", func(b *testing.B) Config {
			return Config{Warehouse: b.TempDir(), CatalogURI: weed.CatalogURI, Namespace: fmt.Sprintf("bench_%d", time.Now().UnixNano()),
				Catalog: CatalogOptions{Warehouse: weed.CatalogWarehouse, Credential: weed.Credential(), Props: weed.S3Props()}}
		}},
	}
	for _, rows := range []int{0, 1000} {
		for _, c := range catalogs {
			b.Run(fmt.Sprintf("sessions=%d/%s", rows, c.name), func(b *testing.B) {
				ctx := context.Background()
				w, err := Open(ctx, c.cfg(b), slog.New(slog.DiscardHandler))
				if err != nil {
					b.Fatal(err)
				}
				defer w.Close()
				sessions := sampleSessions(rows, "bench")
				parent := NoSnapshot
				var total time.Duration
				for b.Loop() {
					start := time.Now()
					s, err := w.Commit(ctx, Commit{Table: TableSessions, Sessions: sessions, ExpectParentSnapshotID: parent})
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
}
