// Command profilesplit says where a run's CPU time went, by stage: it reads
// a CPU profile (sessionize run --cpuprofile) and gives each sample to the
// stage of the innermost frame on its stack that belongs to one, so that a
// Parquet encode called from a commit counts as encode and an allocation
// made while parsing counts as parse.
//
//	go run ./bench/profilesplit cpu.pprof
//
// The stages follow the data: fetch (the Kafka client), parse (decoding
// records), engine (sessionizing), encode (Arrow and Parquet), commit
// (Iceberg metadata, catalog, checkpoints), gc (the collector's own
// workers), other. CPU time, not wall time: on a machine with fewer cores
// than busy goroutines the two differ.
package main

import (
	"flag"
	"fmt"
	"os"
	"sort"
	"strings"
	"time"

	"github.com/google/pprof/profile"
)

// stage names a stage and the function-name prefixes that belong to it.
type stage struct {
	name     string
	prefixes []string
}

// stages in the order they are matched: an earlier stage wins when one
// frame matches several (none do today).
var stages = []stage{
	{"fetch", []string{"github.com/twmb/franz-go/"}},
	{"parse", []string{"github.com/sessionize/sessionize/internal/event.", "github.com/sessionize/sessionize/internal/decode.", "github.com/valyala/fastjson", "github.com/hamba/avro"}},
	{"engine", []string{"github.com/sessionize/sessionize/internal/session.", "github.com/sessionize/sessionize/internal/rule."}},
	{"encode", []string{"github.com/apache/arrow-go/", "github.com/apache/iceberg-go/table.WriteRecords"}},
	{"commit", []string{"github.com/apache/iceberg-go", "github.com/sessionize/sessionize/internal/iceberg.", "github.com/sessionize/sessionize/internal/storage.", "modernc.org/sqlite", "github.com/uptrace/bun", "database/sql"}},
	{"gc", []string{"runtime.gcBgMarkWorker", "runtime.bgsweep", "runtime.bgscavenge"}},
}

// codecs are the compression libraries. Both ends use them: the Kafka
// client decompresses fetched batches (snappy, lz4, zstd) and Parquet
// compresses pages (zstd), so a codec's frame takes the stage of the
// nearest caller that has one. Counted as encode by their own name, the
// decompression of a drain's fetches (8% of its CPU) was put to encode.
var codecs = []string{"github.com/klauspost/compress", "github.com/golang/snappy", "github.com/pierrec/lz4"}

func main() {
	flag.Usage = func() {
		fmt.Fprintln(os.Stderr, "usage: profilesplit CPU_PROFILE\n\nPrints the share of CPU time per stage (fetch, parse, engine, encode, commit, gc, other).")
	}
	flag.Parse()
	if flag.NArg() != 1 {
		flag.Usage()
		os.Exit(2)
	}
	if err := run(flag.Arg(0)); err != nil {
		fmt.Fprintln(os.Stderr, "profilesplit:", err)
		os.Exit(1)
	}
}

func run(path string) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	p, err := profile.Parse(f)
	if err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	idx := -1
	for i, st := range p.SampleType {
		if st.Type == "cpu" && st.Unit == "nanoseconds" {
			idx = i
		}
	}
	if idx < 0 {
		return fmt.Errorf("%s is not a CPU profile (no cpu/nanoseconds sample type)", path)
	}
	byStage := map[string]int64{}
	var total int64
	for _, s := range p.Sample {
		v := s.Value[idx]
		total += v
		byStage[stageOf(s)] += v
	}
	if total == 0 {
		return fmt.Errorf("%s holds no samples", path)
	}
	wall := time.Duration(p.DurationNanos)
	fmt.Printf("CPU %.1f s over %.1f s of wall time (%.2f cores busy on average)\n",
		time.Duration(total).Seconds(), wall.Seconds(), float64(total)/float64(max(wall, 1)))
	names := make([]string, 0, len(byStage))
	for n := range byStage {
		names = append(names, n)
	}
	sort.Slice(names, func(i, j int) bool { return byStage[names[i]] > byStage[names[j]] })
	for _, n := range names {
		fmt.Printf("  %-7s %6.1f s  %5.1f%%\n", n, time.Duration(byStage[n]).Seconds(), 100*float64(byStage[n])/float64(total))
	}
	return nil
}

// stageOf walks a sample's stack from the leaf up and returns the stage of
// the first frame that has one; a codec's frames are passed over (see
// codecs), and a codec called from no stage counts as encode.
func stageOf(s *profile.Sample) string {
	inCodec := false
	for _, loc := range s.Location {
		// Inlined frames come first in Line, innermost first.
		for _, ln := range loc.Line {
			if ln.Function == nil {
				continue
			}
			name := ln.Function.Name
			if hasAnyPrefix(name, codecs) {
				inCodec = true
				continue
			}
			for _, st := range stages {
				if hasAnyPrefix(name, st.prefixes) {
					return st.name
				}
			}
		}
	}
	if inCodec {
		return "encode"
	}
	return "other"
}

func hasAnyPrefix(s string, prefixes []string) bool {
	for _, pre := range prefixes {
		if strings.HasPrefix(s, pre) {
			return true
		}
	}
	return false
}
