package fileout

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
)

// Use is one file a command reads or writes, named by the flag that gave
// it, for Distinct.
type Use struct {
	Flag   string // as the user wrote it: "--input", "--summary-json"
	Path   string // "-" is stdin for an input, stdout for an output
	Output bool
}

// Uses lists the non-empty paths of one flag.
func Uses(flag string, output bool, paths ...string) []Use {
	var us []Use
	for _, p := range paths {
		if p != "" {
			us = append(us, Use{Flag: flag, Path: p, Output: output})
		}
	}
	return us
}

// ConflictError says an output is the same file as an input or as another
// output. The command line is at fault: it is a usage error.
type ConflictError struct {
	Output, Other Use
}

func (e *ConflictError) Error() string {
	what := "writing it would replace that input"
	if e.Other.Output {
		what = "two outputs cannot share a file"
	}
	if e.Output.Path == e.Other.Path {
		return fmt.Sprintf("%s and %s are both %s: %s; give each output its own path",
			e.Output.Flag, e.Other.Flag, e.Output.shown(), what)
	}
	return fmt.Sprintf("%s %s is the same file as %s %s: %s; give each output its own path",
		e.Output.Flag, e.Output.shown(), e.Other.Flag, e.Other.shown(), what)
}

// shown is the path as messages give it: "-" says which stream it is.
func (u Use) shown() string {
	switch {
	case u.Path != "-":
		return u.Path
	case u.Output:
		return "- (stdout)"
	}
	return "- (stdin)"
}

// Distinct refuses any output that is an input or another output, before
// anything is read or written: since outputs are renamed into place when
// complete, an output on an input would silently replace the user's data,
// and two outputs on one path would keep only the last.
//
// Files are told apart by device and inode (os.SameFile), not by name, so a
// symlink, a hard link or ./a for a catch each other. An output that does
// not exist yet cannot be an input, but two of them collide when their
// cleaned absolute paths (parent symlinks resolved) are equal. "-" is
// stdin or stdout, compared by what they are when they are files (as in
// "< events.jsonl"); two "-" outputs always collide. Character devices
// (/dev/null) may be named any number of times.
func Distinct(stdin io.Reader, stdout io.Writer, uses ...Use) error {
	ids := make([]identity, len(uses))
	for i, u := range uses {
		ids[i] = identify(u, stdin, stdout)
	}
	for i, u := range uses {
		if !u.Output {
			continue
		}
		for j, v := range uses {
			if i == j || (v.Output && j > i) {
				continue // each pair of outputs once, reported on the later
			}
			if ids[i].exempt || ids[j].exempt {
				if u.Path == "-" && v.Path == "-" && v.Output {
					return &ConflictError{Output: u, Other: v} // one stdout
				}
				continue
			}
			if ids[i].same(ids[j]) {
				return &ConflictError{Output: u, Other: v}
			}
		}
	}
	return nil
}

// identity is what a path names: an existing file, or a path to be.
type identity struct {
	info   os.FileInfo // an existing file
	name   string      // else: cleaned absolute path, or "-stdin"/"-stdout"
	exempt bool        // a character device, or an unknown stream
}

func (a identity) same(b identity) bool {
	if a.info != nil && b.info != nil {
		return os.SameFile(a.info, b.info)
	}
	return a.info == nil && b.info == nil && a.name == b.name
}

type statter interface{ Stat() (os.FileInfo, error) }

func identify(u Use, stdin io.Reader, stdout io.Writer) identity {
	if u.Path == "-" {
		var s any = stdin
		name := "-stdin"
		if u.Output {
			s, name = stdout, "-stdout"
		}
		if f, ok := s.(statter); ok {
			if st, err := f.Stat(); err == nil {
				return infoIdentity(st)
			}
		}
		// An in-process stream (tests, or an io.Writer): an input "-"
		// cannot be a file; two outputs "-" are one stream.
		return identity{name: name, exempt: !u.Output}
	}
	if st, err := os.Stat(u.Path); err == nil {
		return infoIdentity(st)
	} else if !errors.Is(err, os.ErrNotExist) {
		// Unreadable: the command fails on it soon with a better error.
		return identity{exempt: true}
	}
	abs, err := filepath.Abs(u.Path)
	if err != nil {
		return identity{name: filepath.Clean(u.Path)}
	}
	if dir, err := filepath.EvalSymlinks(filepath.Dir(abs)); err == nil {
		abs = filepath.Join(dir, filepath.Base(abs))
	}
	return identity{name: abs}
}

func infoIdentity(st os.FileInfo) identity {
	return identity{info: st, exempt: st.Mode()&os.ModeCharDevice != 0}
}
