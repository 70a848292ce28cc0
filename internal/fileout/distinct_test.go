package fileout

import (
	"bytes"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestDistinct(t *testing.T) {
	dir := t.TempDir()
	t.Chdir(dir)
	for _, name := range []string{"a.jsonl", "b.jsonl"} {
		if err := os.WriteFile(name, []byte("{}\n"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Symlink("a.jsonl", "link.jsonl"); err != nil {
		t.Fatal(err)
	}
	if err := os.Link("a.jsonl", "hard.jsonl"); err != nil {
		t.Fatal(err)
	}
	if err := os.Mkdir("sub", 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("sub", "sublink"); err != nil {
		t.Fatal(err)
	}
	stdinFile, err := os.Open("a.jsonl")
	if err != nil {
		t.Fatal(err)
	}
	defer stdinFile.Close()

	in := func(p string) Use { return Use{Flag: "--input", Path: p} }
	out := func(flag, p string) Use { return Use{Flag: flag, Path: p, Output: true} }
	cases := []struct {
		name     string
		stdin    *os.File // nil: an in-process reader
		uses     []Use
		conflict string // "": no conflict; else flags and paths the error names
	}{
		{"distinct", nil, []Use{in("a.jsonl"), out("--output", "new.jsonl"), out("--rejected", "rej.jsonl")}, ""},
		{"output is the input", nil, []Use{in("a.jsonl"), out("--output", "a.jsonl")}, "--output and --input are both a.jsonl"},
		{"./a is a", nil, []Use{in("a.jsonl"), out("--summary-json", "./a.jsonl")}, "--summary-json ./a.jsonl is the same file as --input a.jsonl"},
		{"absolute path", nil, []Use{in(filepath.Join(dir, "a.jsonl")), out("--rejected", "a.jsonl")}, "--rejected a.jsonl"},
		{"symlink", nil, []Use{in("a.jsonl"), out("--output", "link.jsonl")}, "--output link.jsonl is the same file as --input a.jsonl"},
		{"hard link", nil, []Use{in("hard.jsonl"), out("--output", "a.jsonl")}, "--output a.jsonl is the same file as --input hard.jsonl"},
		{"second input", nil, []Use{in("b.jsonl"), in("a.jsonl"), out("--output", "a.jsonl")}, "--input are both a.jsonl"},
		{"two existing outputs", nil, []Use{in("b.jsonl"), out("--output", "a.jsonl"), out("--rejected", "link.jsonl")}, "--rejected link.jsonl is the same file as --output a.jsonl"},
		{"two new outputs", nil, []Use{in("a.jsonl"), out("--output", "new.jsonl"), out("--rejected", "./sub/../new.jsonl")}, "--rejected ./sub/../new.jsonl is the same file as --output new.jsonl"},
		{"two new outputs through a dir symlink", nil, []Use{out("--output", "sub/x"), out("--carry-open", "sublink/x")}, "--carry-open sublink/x"},
		{"two stdouts", nil, []Use{in("a.jsonl"), out("--output", "-"), out("--rejected", "-")}, "--rejected and --output are both - (stdout)"},
		{"/dev/null twice", nil, []Use{in("a.jsonl"), out("--output", os.DevNull), out("--rejected", os.DevNull)}, ""},
		{"stdin from a pipe", nil, []Use{in("-"), out("--output", "a.jsonl")}, ""},
		{"stdin is the output", stdinFile, []Use{in("-"), out("--output", "a.jsonl")}, "--output a.jsonl is the same file as --input - (stdin)"},
		{"stdin is another file", stdinFile, []Use{in("-"), out("--output", "b.jsonl")}, ""},
		{"input and stdout", nil, []Use{in("a.jsonl"), out("--output", "-")}, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var stdin io.Reader = strings.NewReader("")
			if tc.stdin != nil {
				stdin = tc.stdin
			}
			err := Distinct(stdin, &bytes.Buffer{}, tc.uses...)
			if tc.conflict == "" {
				if err != nil {
					t.Fatalf("unexpected conflict: %v", err)
				}
				return
			}
			var ce *ConflictError
			if !errors.As(err, &ce) {
				t.Fatalf("got %v, want a ConflictError", err)
			}
			if !strings.Contains(err.Error(), tc.conflict) {
				t.Fatalf("error %q does not say %q", err, tc.conflict)
			}
		})
	}
}
