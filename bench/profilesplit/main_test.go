package main

import (
	"testing"

	"github.com/google/pprof/profile"
)

func TestStageOf(t *testing.T) {
	t.Parallel()
	sample := func(leafFirst ...string) *profile.Sample {
		s := &profile.Sample{}
		for _, fn := range leafFirst {
			s.Location = append(s.Location, &profile.Location{Line: []profile.Line{{Function: &profile.Function{Name: fn}}}})
		}
		return s
	}
	for _, tc := range []struct {
		stack []string
		want  string
	}{
		{[]string{"runtime.mallocgc", "github.com/sessionize/sessionize/internal/event.(*Parser).Parse", "github.com/sessionize/sessionize/internal/pipeline.(*Pipeline).process"}, "parse"},
		{[]string{"github.com/apache/arrow-go/v18/parquet/file.(*Writer).Close", "github.com/apache/iceberg-go/table.WriteRecords", "github.com/sessionize/sessionize/internal/iceberg.(*Warehouse).Commit"}, "encode"},
		{[]string{"encoding/json.Marshal", "github.com/apache/iceberg-go/table.(*Transaction).Commit"}, "commit"},
		{[]string{"syscall.read", "github.com/twmb/franz-go/pkg/kgo.(*brokerCxn).readConn"}, "fetch"},
		// A codec is its caller's: Kafka's decompression is fetch, a
		// Parquet page's compression encode.
		{[]string{"github.com/klauspost/compress/s2.s2Decode", "github.com/klauspost/compress/s2.Decode", "github.com/twmb/franz-go/pkg/kgo.decompressSnappy"}, "fetch"},
		{[]string{"runtime.makeslice", "github.com/klauspost/compress/s2.Decode", "github.com/twmb/franz-go/pkg/kgo.decompressSnappy"}, "fetch"},
		{[]string{"github.com/klauspost/compress/zstd.(*fastEncoder).Encode", "github.com/apache/arrow-go/v18/parquet/compress.zstdCodec.EncodeLevel"}, "encode"},
		{[]string{"github.com/klauspost/compress/zstd.(*blockDec).decodeBuf", "runtime.goexit"}, "encode"},
		{[]string{"github.com/sessionize/sessionize/internal/session.(*Engine).Add"}, "engine"},
		{[]string{"runtime.scanobject", "runtime.gcDrain", "runtime.gcBgMarkWorker"}, "gc"},
		{[]string{"runtime.futex", "runtime.schedule"}, "other"},
	} {
		if got := stageOf(sample(tc.stack...)); got != tc.want {
			t.Errorf("%v: %s, want %s", tc.stack, got, tc.want)
		}
	}
}
