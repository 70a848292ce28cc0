package check

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/sessionize/sessionize/internal/event"
	"github.com/sessionize/sessionize/internal/input"
)

// ErrUnsupportedFormat is wrapped by the error for an input check cannot
// read (CSV, Parquet): it is about how check was called.
var ErrUnsupportedFormat = errors.New("unsupported input format")

// resolveInputs resolves the inputs as batch does, then refuses what
// check cannot read.
func resolveInputs(patterns []string) ([]input.File, error) {
	files, err := input.Resolve(patterns)
	if err != nil {
		return nil, err
	}
	for _, f := range files {
		if f.Format != input.JSONL {
			return nil, fmt.Errorf("input %q: %w: check reads JSON lines (gzip or not); run batch for CSV and Parquet", f.Path, ErrUnsupportedFormat)
		}
	}
	return files, nil
}

// countingReader counts the bytes read from a file (compressed bytes for
// a gzip file), for the progress line.
type countingReader struct {
	r io.Reader
	n *int64
}

func (c countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	*c.n += int64(n)
	return n, err
}

// CheckFiles reads JSON lines files (gzip detected by content; "-" is
// stdin) and reports on them. Each file is one source for lateness.
func CheckFiles(ctx context.Context, opts Options, patterns []string, stdin io.Reader) (*Report, error) {
	if len(patterns) == 0 {
		return nil, errors.New("no input")
	}
	files, err := resolveInputs(patterns)
	if err != nil {
		return nil, err
	}
	a := newAnalyzer(opts)
	defer a.prog.done()
	var total, read int64
	for _, f := range files {
		total += f.Size
	}
	for _, f := range files {
		if err := a.readFile(ctx, f, stdin, &read, total); err != nil {
			return nil, err
		}
	}
	a.prog.done()
	in := make([]string, len(files))
	for i, f := range files {
		in[i] = f.Path
	}
	r := a.report(SourceInfo{Kind: "files", Inputs: in})
	return r, nil
}

func (a *analyzer) readFile(ctx context.Context, f input.File, stdin io.Reader, read *int64, total int64) error {
	var raw io.Reader
	name := f.Path
	if f.Path == "-" {
		raw, name = stdin, "stdin"
	} else {
		fh, err := os.Open(f.Path)
		if err != nil {
			return fmt.Errorf("open input %s: %w", f.Path, err)
		}
		defer fh.Close()
		raw = fh
	}
	// A line of up to MaxRecordBytes plus "\r\n" must fit in the buffer:
	// a line that does not is over the limit (line_too_long), as in batch.
	maxRec := a.opts.MaxRecordBytes
	if maxRec <= 0 {
		maxRec = event.DefaultMaxRecordBytes
	}
	bufSize := max(4<<20, maxRec+2)
	br := bufio.NewReaderSize(countingReader{raw, read}, bufSize)
	lr := br
	zr, zclose, gzipped, err := input.Gunzip(br)
	if err != nil {
		return fmt.Errorf("open gzip input %s: %w", name, err)
	}
	defer zclose()
	if gzipped {
		ar := newAsyncReader(zr)
		defer ar.Close() // runs before zr.Close
		lr = bufio.NewReaderSize(ar, bufSize)
	}
	s := a.newSource(name, -1)
	if !f.ModTime.IsZero() {
		s.refMs = f.ModTime.UnixMilli()
	}
	var n uint32
	for {
		line, err := lr.ReadSlice('\n')
		if errors.Is(err, bufio.ErrBufferFull) {
			s.records++
			s.rejected[event.LineTooLong]++
			for errors.Is(err, bufio.ErrBufferFull) {
				_, err = lr.ReadSlice('\n')
			}
		} else if len(line) > 0 {
			line = bytes.TrimSuffix(line, []byte{'\n'})
			if k := len(line); k > 0 && line[k-1] == '\r' {
				line = line[:k-1]
			}
			a.record(s, line)
		}
		if err != nil {
			if err == io.EOF {
				break
			}
			return fmt.Errorf("read %s: %w", name, err)
		}
		if n++; n&0xffff == 0 {
			if err := ctx.Err(); err != nil {
				return err
			}
			a.tick(*read, total)
		}
	}
	return nil
}

// asyncReader reads r ahead on its own goroutine, so decompressing a
// gzip input and checking its records run on two cores. Close stops the
// goroutine; call it before closing r.
type asyncReader struct {
	blocks chan asyncBlock
	free   chan []byte
	stop   chan struct{}
	done   chan struct{}
	cur    []byte // unread part of the current block
	buf    []byte // the current block's buffer, to give back
	err    error
}

type asyncBlock struct {
	b   []byte
	err error
}

func newAsyncReader(r io.Reader) *asyncReader {
	const blocks, size = 4, 1 << 20
	a := &asyncReader{blocks: make(chan asyncBlock, blocks), free: make(chan []byte, blocks),
		stop: make(chan struct{}), done: make(chan struct{})}
	for range blocks {
		a.free <- make([]byte, size)
	}
	go func() {
		defer close(a.done)
		for {
			var buf []byte
			select {
			case buf = <-a.free:
			case <-a.stop:
				return
			}
			// Fill the block; keep r's own error (a truncated gzip
			// stream says io.ErrUnexpectedEOF, the clean end io.EOF).
			n := 0
			var err error
			for n < len(buf) && err == nil {
				var m int
				m, err = r.Read(buf[n:])
				n += m
			}
			select {
			case a.blocks <- asyncBlock{buf[:n], err}:
			case <-a.stop:
				return
			}
			if err != nil {
				return
			}
		}
	}()
	return a
}

func (a *asyncReader) Read(p []byte) (int, error) {
	for len(a.cur) == 0 {
		if a.err != nil {
			return 0, a.err
		}
		if a.buf != nil {
			a.free <- a.buf[:cap(a.buf)]
			a.buf = nil
		}
		blk := <-a.blocks
		a.cur, a.buf, a.err = blk.b, blk.b, blk.err
	}
	n := copy(p, a.cur)
	a.cur = a.cur[n:]
	return n, nil
}

func (a *asyncReader) Close() {
	close(a.stop)
	<-a.done
}
