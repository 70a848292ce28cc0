package batch

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
)

// outputFile is written under a temporary name and renamed into place only
// when the run succeeds, so a failed or interrupted run never leaves a
// partial file that looks complete. "-" writes to stdout directly.
type outputFile struct {
	io.Writer
	f    *os.File
	path string
}

func createOutput(path string, stdout io.Writer) (*outputFile, error) {
	if path == "-" {
		return &outputFile{Writer: stdout}, nil
	}
	dir, base := filepath.Split(path)
	if dir == "" {
		dir = "."
	}
	f, err := os.CreateTemp(dir, "."+base+".tmp-*")
	if err != nil {
		return nil, fmt.Errorf("create output %s: %w", path, err)
	}
	return &outputFile{Writer: f, f: f, path: path}, nil
}

// commit makes the file visible under its final name.
func (o *outputFile) commit() error {
	if o == nil || o.f == nil {
		return nil
	}
	if err := o.f.Sync(); err != nil {
		o.abort()
		return fmt.Errorf("write %s: %w", o.path, err)
	}
	if err := o.f.Close(); err != nil {
		o.abort()
		return fmt.Errorf("write %s: %w", o.path, err)
	}
	if err := os.Rename(o.f.Name(), o.path); err != nil {
		os.Remove(o.f.Name())
		return fmt.Errorf("rename output into %s: %w", o.path, err)
	}
	o.f = nil
	return nil
}

// abort removes the temporary file; a no-op after commit.
func (o *outputFile) abort() {
	if o == nil || o.f == nil {
		return
	}
	o.f.Close()
	os.Remove(o.f.Name())
	o.f = nil
}
