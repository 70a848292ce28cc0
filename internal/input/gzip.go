package input

import (
	"bufio"
	"errors"
	"io"

	"github.com/klauspost/compress/gzip"
)

// Gunzip returns br's content, decompressed if it starts with the gzip
// magic bytes (whatever the file's name), and a close for the decompressor
// (which leaves br's source open). A gzip stream that ends before its end
// reads as an error that says so: gzip's own io.ErrUnexpectedEOF looks,
// to io.ReadFull and its kin, like the ordinary end of a short read, and a
// truncated file was once taken for a complete one.
func Gunzip(br *bufio.Reader) (r io.Reader, closeFn func() error, gzipped bool, err error) {
	if magic, _ := br.Peek(2); len(magic) < 2 || magic[0] != 0x1f || magic[1] != 0x8b {
		return br, func() error { return nil }, false, nil
	}
	zr, err := gzip.NewReader(br)
	if errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) {
		err = ErrTruncatedGzip // within its header
	}
	if err != nil {
		return nil, nil, true, err
	}
	return gzipReader{zr}, zr.Close, true, nil
}

// ErrTruncatedGzip is what reading a gzip stream that ends early returns.
var ErrTruncatedGzip = errors.New("the input ends inside its gzip stream (a copy cut short, or a file still being written)")

type gzipReader struct{ zr *gzip.Reader }

func (g gzipReader) Read(p []byte) (int, error) {
	n, err := g.zr.Read(p)
	if errors.Is(err, io.ErrUnexpectedEOF) {
		err = ErrTruncatedGzip
	}
	return n, err
}
