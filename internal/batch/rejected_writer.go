package batch

import (
	"bufio"
	"io"
)

// rejectedWriter writes one JSON object per rejected (or late) record: its
// reason, where it came from (file:line) and the raw record as a string.
type rejectedWriter struct {
	w   *bufio.Writer
	buf []byte
}

func newRejectedWriter(w io.Writer) *rejectedWriter {
	return &rejectedWriter{w: bufio.NewWriterSize(w, 256<<10)}
}

func (r *rejectedWriter) write(rec *rejectedRecord) error {
	b := append(r.buf[:0], `{"reason":"`...)
	b = append(b, rec.why()...)
	b = append(b, `","source":`...)
	b = appendJSONString(b, rec.source)
	b = append(b, `,"raw":`...)
	b = appendJSONString(b, string(rec.raw))
	b = append(b, "}\n"...)
	r.buf = b
	_, err := r.w.Write(b)
	return err
}

func (r *rejectedWriter) flush() error { return r.w.Flush() }
