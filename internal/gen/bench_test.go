package gen

import (
	"context"
	"io"
	"os"
	"path/filepath"
	"testing"
)

// BenchmarkGenerate measures the whole path of the produce command: the
// simulation, rendering and buffered writing, one op per record.
func BenchmarkGenerate(b *testing.B) {
	b.Run("discard", func(b *testing.B) { benchWrite(b, io.Discard) })
	b.Run("file", func(b *testing.B) {
		f, err := os.Create(filepath.Join(b.TempDir(), "events.jsonl"))
		if err != nil {
			b.Fatal(err)
		}
		defer f.Close()
		benchWrite(b, f)
	})
}

func benchWrite(b *testing.B, w io.Writer) {
	cfg := DefaultConfig()
	cfg.Events = int64(b.N)
	g, err := New(cfg)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.ResetTimer()
	n, err := Write(context.Background(), g, w, nil)
	if err != nil {
		b.Fatal(err)
	}
	b.StopTimer()
	b.SetBytes(n / int64(b.N))
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "events/s")
}
