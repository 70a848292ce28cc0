// Command bareparse is the floor of bench/batch-vs-duckdb.sh: it reads a
// JSON lines file the way sessionize batch does (4 MiB chunks of whole
// lines, one parse worker per core) and parses every record with the same
// event.Parser, then exits, printing the time. Nothing is partitioned,
// sessionized or written. Whatever sessionize batch does beyond this costs
// time on top of it, so this run's wall time bounds from below what batch
// could reach with the parser it has: if it is already past a target, no
// change after the parser can meet that target.
//
//	go run ./bench/bareparse --input events.jsonl --time-format ms
package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"runtime"
	"runtime/pprof"
	"sync"
	"time"

	"github.com/sessionize/sessionize/internal/event"
)

// chunkSize is batch's parse unit (internal/batch/read.go).
const chunkSize = 4 << 20

func main() {
	in := flag.String("input", "", "JSON lines file to parse")
	timeFormat := flag.String("time-format", "auto", "event time format, as sessionize batch --time-format")
	workers := flag.Int("workers", runtime.GOMAXPROCS(0), "parse goroutines (batch: one per core)")
	asJSON := flag.Bool("json", false, "print the figures as one JSON object")
	cpuProfile := flag.String("cpuprofile", "", "write a CPU profile of the run to this file (go tool pprof), to set beside batch's")
	flag.Parse()
	if *in == "" || *workers < 1 {
		fmt.Fprintln(os.Stderr, "usage: bareparse --input FILE [--time-format ms] [--workers N] [--json] [--cpuprofile FILE]")
		os.Exit(2)
	}
	if *cpuProfile != "" {
		f, err := os.Create(*cpuProfile)
		if err == nil {
			err = pprof.StartCPUProfile(f)
		}
		if err != nil {
			fmt.Fprintln(os.Stderr, "bareparse: --cpuprofile:", err)
			os.Exit(1)
		}
		defer f.Close()
		defer pprof.StopCPUProfile()
	}
	if err := run(*in, *timeFormat, *workers, *asJSON); err != nil {
		fmt.Fprintln(os.Stderr, "bareparse:", err)
		os.Exit(1)
	}
}

// figures are what one run measured.
type figures struct {
	Records  int64   `json:"records"`
	Valid    int64   `json:"valid"`
	Rejected int64   `json:"rejected"`
	Bytes    int64   `json:"bytes"`
	Seconds  float64 `json:"seconds"`
	Workers  int     `json:"workers"`
}

func run(path, timeFormat string, workers int, asJSON bool) error {
	tf, err := event.ParseTimeFormat(timeFormat, "")
	if err != nil {
		return err
	}
	schema, err := event.NewSchema(nil, event.DefaultEventIDField, event.DefaultTimeField, event.DefaultPageField, tf)
	if err != nil {
		return err
	}
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	start := time.Now()

	// Buffers go round: the reader fills one while the workers parse the
	// others, as batch's lineSplitter does.
	free := make(chan []byte, 2*workers+2)
	for range cap(free) {
		free <- make([]byte, chunkSize)
	}
	chunks := make(chan []byte)
	counts := make([]struct{ ok, rejected int64 }, workers)
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			ps := event.NewParser(schema, event.DefaultMaxRecordBytes)
			var fields event.Fields
			// Counted here, stored once: the workers' entries of counts
			// share a cache line, which counting in place would bounce
			// between the cores with every record.
			var c struct{ ok, rejected int64 }
			defer func() { counts[w] = c }()
			for data := range chunks {
				for rest := data; len(rest) > 0; {
					rec := rest
					if i := bytes.IndexByte(rest, '\n'); i >= 0 {
						rec, rest = rest[:i], rest[i+1:]
					} else {
						rest = nil
					}
					if ps.Parse(rec, &fields) == event.OK {
						c.ok++
					} else {
						c.rejected++
					}
				}
				free <- data[:cap(data)]
			}
		})
	}
	var bytesRead int64
	readErr := func() error {
		defer close(chunks)
		buf, n := <-free, 0
		for {
			m, err := io.ReadFull(f, buf[n:])
			n += m
			bytesRead += int64(m)
			eof := errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF)
			if err != nil && !eof {
				return err
			}
			if eof {
				if n > 0 {
					chunks <- buf[:n]
				}
				return nil
			}
			cut := bytes.LastIndexByte(buf[:n], '\n') + 1
			if cut == 0 {
				return fmt.Errorf("a line longer than %d bytes: bareparse keeps to inputs batch reads in one chunk per line", chunkSize)
			}
			next := <-free
			rest := copy(next, buf[cut:n])
			chunks <- buf[:cut]
			buf, n = next, rest
		}
	}()
	wg.Wait()
	if readErr != nil {
		return fmt.Errorf("read %s: %w", path, readErr)
	}
	fig := figures{Bytes: bytesRead, Seconds: time.Since(start).Seconds(), Workers: workers}
	for _, c := range counts {
		fig.Valid += c.ok
		fig.Rejected += c.rejected
	}
	fig.Records = fig.Valid + fig.Rejected
	if asJSON {
		return json.NewEncoder(os.Stdout).Encode(fig)
	}
	fmt.Printf("read and parsed %d records (%d valid, %d rejected), %.1f MiB, in %.3f s on %d workers: %.0f records/s\n",
		fig.Records, fig.Valid, fig.Rejected, float64(fig.Bytes)/(1<<20), fig.Seconds, workers, float64(fig.Records)/fig.Seconds)
	return nil
}
