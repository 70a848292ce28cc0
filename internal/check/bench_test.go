package check

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/klauspost/compress/gzip"

	"github.com/sessionize/sessionize/internal/gen"
)

// benchInput writes n generated records (the produce command's simulated
// clickstream, duplicates, malformed and out-of-order records included)
// to a file, plain or gzip.
func benchInput(b *testing.B, n int64, gz bool) string {
	b.Helper()
	cfg := gen.DefaultConfig()
	cfg.Events = n
	g, err := gen.New(cfg)
	if err != nil {
		b.Fatal(err)
	}
	var buf bytes.Buffer
	if _, err := gen.Write(context.Background(), g, &buf, nil); err != nil {
		b.Fatal(err)
	}
	data := buf.Bytes()
	if gz {
		var z bytes.Buffer
		zw := gzip.NewWriter(&z)
		zw.Write(data)
		zw.Close()
		data = z.Bytes()
	}
	p := filepath.Join(b.TempDir(), "events.jsonl")
	if err := os.WriteFile(p, data, 0o644); err != nil {
		b.Fatal(err)
	}
	return p
}

// BenchmarkCheckFile checks a 500,000-record file per op and reports
// records/s (one goroutine does all the work; the file is in the page
// cache after the first op).
func BenchmarkCheckFile(b *testing.B) {
	for _, tc := range []struct {
		name string
		gz   bool
	}{{"jsonl", false}, {"gzip", true}} {
		b.Run(tc.name, func(b *testing.B) {
			const n = 500_000
			p := benchInput(b, n, tc.gz)
			b.ReportAllocs()
			b.ResetTimer()
			var records int64
			for b.Loop() {
				r, err := CheckFiles(context.Background(), Options{}, []string{p}, nil)
				if err != nil {
					b.Fatal(err)
				}
				records += r.Records
			}
			b.ReportMetric(float64(records)/b.Elapsed().Seconds(), "records/s")
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(records), "ns/record")
		})
	}
}
