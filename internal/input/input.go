// Package input resolves the --input arguments of the file commands: globs
// expanded, every file checked to exist and be readable before any work
// starts (so a typo fails fast and leaves no output), the format told from
// the name.
package input

import (
	"time"

	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// Format is how a file's records are encoded.
type Format int

const (
	JSONL Format = iota
	CSV
	Parquet
)

func (f Format) String() string {
	return [...]string{"jsonl", "csv", "parquet"}[f]
}

// File is one resolved input.
type File struct {
	Path   string // "-" for stdin
	Format Format
	Size   int64 // on disk; 0 when unknown
	// ModTime is the file's modification time (zero for stdin): event
	// times far after it are implausible (event.TimeCheck).
	ModTime time.Time
}

// Name is how messages refer to the file.
func (f File) Name() string {
	if f.Path == "-" {
		return "stdin"
	}
	return f.Path
}

// Resolve expands globs and checks every input. "-" is stdin (JSON lines).
func Resolve(patterns []string) ([]File, error) {
	var files []File
	for _, p := range patterns {
		if p == "-" {
			files = append(files, File{Path: "-", Format: JSONL})
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
			files = append(files, File{Path: path, Format: FormatOf(path), Size: st.Size(), ModTime: st.ModTime()})
		}
	}
	return files, nil
}

// FormatOf tells the format from the name; .gz is looked through, since
// compression is detected from the content.
func FormatOf(path string) Format {
	p := strings.ToLower(path)
	p = strings.TrimSuffix(strings.TrimSuffix(p, ".gz"), ".gzip")
	switch filepath.Ext(p) {
	case ".csv":
		return CSV
	case ".parquet", ".pq":
		return Parquet
	}
	return JSONL
}
