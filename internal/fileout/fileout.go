// Package fileout writes output files that appear only when complete: a
// file is written under a temporary name beside its destination and renamed
// into place on Commit, so a failed or interrupted run never leaves a
// partial file that looks finished.
package fileout

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
)

// writebackChunk is how much written data starts its own writeback to
// disk, where the system can (see newWriteback).
const writebackChunk = 16 << 20

// File is one output in progress.
type File struct {
	io.Writer
	tmp     *os.File // the temporary file, until Commit
	special *os.File // a non-regular destination written in place
	path    string
}

// Create starts writing path. "-" writes to stdout. A destination that
// exists and is not a regular file (/dev/null, a FIFO) is written in place:
// renaming over it would replace the device with a file.
func Create(path string, stdout io.Writer) (*File, error) {
	if path == "-" {
		return &File{Writer: stdout, path: path}, nil
	}
	if st, err := os.Stat(path); err == nil && !st.Mode().IsRegular() {
		f, err := os.OpenFile(path, os.O_WRONLY, 0)
		if err != nil {
			return nil, fmt.Errorf("open output %s: %w", path, err)
		}
		return &File{Writer: f, special: f, path: path}, nil
	}
	dir, base := filepath.Split(path)
	if dir == "" {
		dir = "."
	}
	f, err := os.CreateTemp(dir, "."+base+".tmp-*")
	if err != nil {
		return nil, fmt.Errorf("create output %s: %w", path, err)
	}
	return &File{Writer: newWriteback(f), tmp: f, path: path}, nil
}

// Path is the destination.
func (o *File) Path() string { return o.path }

// Commit makes the file visible under its final name. It is a no-op for
// stdout and after an earlier Commit or Abort.
func (o *File) Commit() error {
	if o == nil {
		return nil
	}
	if o.special != nil {
		err := o.special.Close()
		o.special = nil
		if err != nil {
			return fmt.Errorf("write %s: %w", o.path, err)
		}
		return nil
	}
	if o.tmp == nil {
		return nil
	}
	f := o.tmp
	// CreateTemp makes 0600 files; outputs are for others to read too.
	err := f.Chmod(0o644)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(f.Name(), o.path)
	}
	o.tmp = nil
	if err != nil {
		os.Remove(f.Name())
		return fmt.Errorf("write %s: %w", o.path, err)
	}
	return nil
}

// Abort removes the temporary file; a no-op after Commit.
func (o *File) Abort() {
	if o == nil {
		return
	}
	if o.special != nil {
		o.special.Close()
		o.special = nil
	}
	if o.tmp != nil {
		o.tmp.Close()
		os.Remove(o.tmp.Name())
		o.tmp = nil
	}
}
