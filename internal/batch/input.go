package batch

import (
	"bufio"
	"fmt"
	"io"
	"os"

	"github.com/klauspost/compress/gzip"

	"github.com/sessionize/sessionize/internal/input"
)

// openStream opens a JSON lines or CSV input, transparently gunzipping it
// when it starts with the gzip magic bytes (whatever its name).
func openStream(f input.File, stdin io.Reader) (io.Reader, func() error, error) {
	var r io.Reader
	closeFn := func() error { return nil }
	if f.Path == "-" {
		r = stdin
	} else {
		fh, err := os.Open(f.Path)
		if err != nil {
			return nil, nil, fmt.Errorf("open input %s: %w", f.Path, err)
		}
		r, closeFn = fh, fh.Close
	}
	br := bufio.NewReaderSize(r, 1<<20)
	magic, _ := br.Peek(2)
	if len(magic) == 2 && magic[0] == 0x1f && magic[1] == 0x8b {
		zr, err := gzip.NewReader(br)
		if err != nil {
			closeFn()
			return nil, nil, fmt.Errorf("open gzip input %s: %w", f.Path, err)
		}
		return zr, func() error { zr.Close(); return closeFn() }, nil
	}
	return br, closeFn, nil
}
