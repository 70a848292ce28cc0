package batch

import (
	"context"
	"fmt"
	"sync"

	"github.com/sessionize/sessionize/internal/event"
	"github.com/sessionize/sessionize/internal/input"
)

// ingest reads every input, parses records on cfg.Workers goroutines and
// hands the results to collect in input order, so sequence numbers, the
// rejected file and partition contents do not depend on scheduling.
func ingest(ctx context.Context, cfg *Config, inputs []input.File, parts int, firstSeq uint64, collect func(*parsed) error) error {
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)

	splitter := newLineSplitter(cfg.MaxRecordBytes, cfg.Workers*2+2)
	type job struct {
		chunk *jsonlChunk
		res   chan *parsed
	}
	jobs := make(chan job)
	// ordered holds each unit's result slot in input order; its capacity
	// bounds how far parsing runs ahead of collecting.
	ordered := make(chan chan *parsed, cfg.Workers*2)

	var wg sync.WaitGroup
	for w := 0; w < cfg.Workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ps := event.NewParser(cfg.Schema, cfg.MaxRecordBytes)
			pt := newPartitioner(parts, cfg, cfg.RuleSet.NewMarker())
			for j := range jobs {
				p := parseJSONL(ps, pt, j.chunk)
				splitter.release(j.chunk.data)
				j.res <- p
			}
		}()
	}

	readErr := make(chan error, 1)
	go func() {
		defer close(ordered)
		defer close(jobs)
		readErr <- readAll(ctx, cfg, inputs, parts, firstSeq, splitter, func(c *jsonlChunk) error {
			res := make(chan *parsed, 1)
			select {
			case ordered <- res:
			case <-ctx.Done():
				return context.Cause(ctx)
			}
			select {
			case jobs <- job{chunk: c, res: res}:
				return nil
			case <-ctx.Done():
				return context.Cause(ctx)
			}
		}, func(p *parsed) error {
			res := make(chan *parsed, 1)
			res <- p
			select {
			case ordered <- res:
				return nil
			case <-ctx.Done():
				return context.Cause(ctx)
			}
		})
	}()

	var collectErr error
	for res := range ordered {
		var p *parsed
		select {
		case p = <-res:
		case <-ctx.Done():
		}
		if p == nil || collectErr != nil {
			continue // drain so the reader and workers can finish
		}
		if err := collect(p); err != nil {
			collectErr = err
			cancel(err)
		}
	}
	wg.Wait()
	if err := <-readErr; err != nil && collectErr == nil {
		return err
	}
	return collectErr
}

// readAll walks the inputs in order. JSON lines go out as chunks for the
// parse workers; CSV and Parquet rows are already split into fields by
// their decoders, so they are validated here and go out parsed.
func readAll(ctx context.Context, cfg *Config, inputs []input.File, parts int, seq uint64,
	splitter *lineSplitter, chunk func(*jsonlChunk) error, done func(*parsed) error) error {
	for _, in := range inputs {
		name := in.Name()
		switch in.Format {
		case input.JSONL:
			r, closeFn, err := openStream(in, cfg.Stdin)
			if err != nil {
				return err
			}
			n, err := splitter.split(ctx, r, name, refMs(in), seq, chunk)
			closeFn()
			if err != nil {
				return err
			}
			seq += n
		case input.CSV, input.Parquet:
			n, err := readStructured(ctx, cfg, in, name, parts, seq, done)
			if err != nil {
				return err
			}
			seq += n
		default:
			return fmt.Errorf("input %s: unknown format", name)
		}
	}
	return nil
}

// refMs is the reference time event times of in are checked against: its
// modification time (0 for stdin: none).
func refMs(in input.File) int64 {
	if in.ModTime.IsZero() {
		return 0
	}
	return in.ModTime.UnixMilli()
}

// structuredBatch is how many rows of a CSV or Parquet input go out
// together.
const structuredBatch = 64 << 10

func readStructured(ctx context.Context, cfg *Config, in input.File, name string, parts int, seq uint64, done func(*parsed) error) (uint64, error) {
	first := seq
	mk := cfg.RuleSet.NewMarker()
	p := newPartitioner(parts, cfg, mk)
	p.refMs = refMs(in)
	visit := func(raw []byte, f *event.Fields, r event.Reason, line int64) error {
		p.out.bytes += int64(len(raw)) + 1
		if r != event.OK {
			p.reject(raw, r, name, line)
		} else {
			p.event(seq, f, raw, name, line)
		}
		seq++
		if p.out.records >= structuredBatch {
			return done(p.take())
		}
		return nil
	}
	var err error
	if in.Format == input.Parquet {
		err = readParquet(ctx, in.Path, cfg.Schema, visit)
	} else {
		r, closeFn, oerr := openStream(in, cfg.Stdin)
		if oerr != nil {
			return 0, oerr
		}
		err = readCSV(ctx, r, cfg.Schema, visit)
		closeFn()
	}
	if err != nil {
		return seq - first, fmt.Errorf("input %s: %w", name, err)
	}
	if p.out.records > 0 {
		if err := done(p.take()); err != nil {
			return seq - first, err
		}
	}
	return seq - first, nil
}
