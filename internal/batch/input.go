package batch

import (
	"bufio"
	"fmt"
	"io"
	"os"

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
	zr, zclose, _, err := input.Gunzip(bufio.NewReaderSize(r, 1<<20))
	if err != nil {
		closeFn()
		return nil, nil, fmt.Errorf("open gzip input %s: %w", f.Name(), err)
	}
	return zr, func() error { zclose(); return closeFn() }, nil
}
