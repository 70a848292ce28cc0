package batch

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/klauspost/compress/gzip"
)

type inputFormat int

const (
	formatJSONL inputFormat = iota
	formatCSV
	formatParquet
)

func (f inputFormat) String() string {
	return [...]string{"jsonl", "csv", "parquet"}[f]
}

// inputFile is one resolved input.
type inputFile struct {
	path   string // "-" for stdin
	format inputFormat
	size   int64 // on disk; 0 when unknown
}

// resolveInputs expands globs and checks every input exists and is a regular
// file before any work starts, so a typo fails fast and leaves no output.
func resolveInputs(patterns []string) ([]inputFile, error) {
	var files []inputFile
	for _, p := range patterns {
		if p == "-" {
			files = append(files, inputFile{path: "-", format: formatJSONL})
			continue
		}
		matches := []string{p}
		if strings.ContainsAny(p, "*?[") {
			m, err := filepath.Glob(p)
			if err != nil {
				return nil, fmt.Errorf("input %q: bad glob pattern: %w", p, err)
			}
			if len(m) == 0 {
				return nil, fmt.Errorf("input %q: no file matches this pattern", p)
			}
			matches = m
		}
		for _, path := range matches {
			st, err := os.Stat(path)
			if err != nil {
				if errors.Is(err, os.ErrNotExist) {
					return nil, fmt.Errorf("input %q: no such file", path)
				}
				return nil, fmt.Errorf("input %q: %w", path, err)
			}
			if !st.Mode().IsRegular() {
				return nil, fmt.Errorf("input %q: not a regular file", path)
			}
			f, err := os.Open(path)
			if err != nil {
				return nil, fmt.Errorf("input %q: cannot read it: %w", path, err)
			}
			f.Close()
			files = append(files, inputFile{path: path, format: formatOf(path), size: st.Size()})
		}
	}
	return files, nil
}

func formatOf(path string) inputFormat {
	p := strings.ToLower(path)
	p = strings.TrimSuffix(strings.TrimSuffix(p, ".gz"), ".gzip")
	switch filepath.Ext(p) {
	case ".csv":
		return formatCSV
	case ".parquet", ".pq":
		return formatParquet
	}
	return formatJSONL
}

// openStream opens a JSON lines or CSV input, transparently gunzipping it
// when it starts with the gzip magic bytes (whatever its name).
func openStream(f inputFile, stdin io.Reader) (io.Reader, func() error, error) {
	var r io.Reader
	closeFn := func() error { return nil }
	if f.path == "-" {
		r = stdin
	} else {
		fh, err := os.Open(f.path)
		if err != nil {
			return nil, nil, fmt.Errorf("open input %s: %w", f.path, err)
		}
		r, closeFn = fh, fh.Close
	}
	br := bufio.NewReaderSize(r, 1<<20)
	magic, _ := br.Peek(2)
	if len(magic) == 2 && magic[0] == 0x1f && magic[1] == 0x8b {
		zr, err := gzip.NewReader(br)
		if err != nil {
			closeFn()
			return nil, nil, fmt.Errorf("open gzip input %s: %w", f.path, err)
		}
		return zr, func() error { zr.Close(); return closeFn() }, nil
	}
	return br, closeFn, nil
}
