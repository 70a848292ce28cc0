package gen

import (
	"context"
	"io"
	"sync/atomic"
)

const (
	// progressEvery is how many records pass between progress calls;
	// checking the context or the clock per record would cost more than
	// rendering.
	progressEvery = 1 << 16
	writeBufSize  = 1 << 20
	writeBufs     = 3
)

// Write writes g's remaining records to w as JSON lines and returns the
// bytes written. It stops with ctx's error when ctx is done. progress, if
// not nil, is called every few tens of thousands of records, from the
// calling goroutine.
//
// w is called from a goroutine of Write's own, so that the system calls
// (and any compression inside w) overlap with generating; Write returns
// only after that goroutine is done with w.
func Write(ctx context.Context, g *Generator, w io.Writer, progress func(Stats)) (n int64, err error) {
	aw := newAsyncWriter(w)
	defer func() {
		if cerr := aw.close(); err == nil {
			err = cerr
		}
	}()
	for i := 1; ; i++ {
		rec, ok := g.Next()
		if !ok {
			return n, nil
		}
		if err := aw.writeLine(rec.Line); err != nil {
			return n, err
		}
		n += int64(len(rec.Line)) + 1
		if i%4096 == 0 {
			if err := ctx.Err(); err != nil {
				return n, err
			}
			if progress != nil && i%progressEvery == 0 {
				progress(g.Stats())
			}
		}
	}
}

// asyncWriter hands full buffers to a goroutine that writes them, and
// takes back emptied ones: a fixed set of buffers, so memory stays bounded
// however slow w is.
type asyncWriter struct {
	w      io.Writer
	buf    []byte
	full   chan []byte
	free   chan []byte
	done   chan struct{}
	failed atomic.Bool
	err    error // set by the writing goroutine; read after done is closed
	closed bool
}

func newAsyncWriter(w io.Writer) *asyncWriter {
	a := &asyncWriter{
		w:    w,
		buf:  make([]byte, 0, writeBufSize),
		full: make(chan []byte, writeBufs),
		free: make(chan []byte, writeBufs),
		done: make(chan struct{}),
	}
	for range writeBufs - 1 {
		a.free <- make([]byte, 0, writeBufSize)
	}
	go a.loop()
	return a
}

func (a *asyncWriter) loop() {
	defer close(a.done)
	for b := range a.full {
		if a.err == nil { // after a failure, keep taking buffers so the producer never blocks
			if _, err := a.w.Write(b); err != nil {
				a.err = err
				a.failed.Store(true)
			}
		}
		a.free <- b[:0]
	}
}

func (a *asyncWriter) writeLine(line []byte) error {
	if len(a.buf)+len(line)+1 > cap(a.buf) && len(a.buf) > 0 {
		if a.failed.Load() {
			return a.close()
		}
		a.full <- a.buf
		a.buf = <-a.free
	}
	a.buf = append(a.buf, line...)
	a.buf = append(a.buf, '\n')
	return nil
}

// close writes what is buffered, waits for the writing goroutine and
// returns its first error. It is safe to call twice.
func (a *asyncWriter) close() error {
	if !a.closed {
		a.closed = true
		if len(a.buf) > 0 {
			a.full <- a.buf
			a.buf = nil
		}
		close(a.full)
		<-a.done
	}
	return a.err
}
