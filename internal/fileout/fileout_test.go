package fileout

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
)

func TestCommitAndAbort(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "out.txt")
	f, err := Create(path, nil)
	if err != nil {
		t.Fatal(err)
	}
	f.Write([]byte("hello"))
	if _, err := os.Stat(path); !os.IsNotExist(err) {
		t.Fatal("output visible before Commit")
	}
	if err := f.Commit(); err != nil {
		t.Fatal(err)
	}
	st, err := os.Stat(path)
	if err != nil || st.Mode().Perm() != 0o644 {
		t.Fatalf("after Commit: %v %v", st, err)
	}
	f.Abort() // no-op after Commit
	if _, err := os.Stat(path); err != nil {
		t.Fatal("Abort after Commit removed the output")
	}

	g, _ := Create(filepath.Join(dir, "gone.txt"), nil)
	g.Write([]byte("x"))
	g.Abort()
	if entries, _ := os.ReadDir(dir); len(entries) != 1 {
		t.Fatalf("Abort left files: %v", entries)
	}
}

func TestStdoutAndDevices(t *testing.T) {
	var buf bytes.Buffer
	f, _ := Create("-", &buf)
	f.Write([]byte("x"))
	if err := f.Commit(); err != nil || buf.String() != "x" {
		t.Fatalf("stdout: %q %v", buf.String(), err)
	}
	d, err := Create(os.DevNull, nil)
	if err != nil {
		t.Fatal(err)
	}
	d.Write([]byte("x"))
	if err := d.Commit(); err != nil {
		t.Fatal(err)
	}
	if st, err := os.Stat(os.DevNull); err != nil || st.Mode().IsRegular() {
		t.Fatalf("%s was replaced by a regular file", os.DevNull)
	}
}

// TestLargeOutputIsWrittenWhole: an output of several writeback chunks
// (whose writeback starts while it is written) has every byte, in order.
func TestLargeOutputIsWrittenWhole(t *testing.T) {
	path := filepath.Join(t.TempDir(), "big.out")
	f, err := Create(path, nil)
	if err != nil {
		t.Fatal(err)
	}
	var want bytes.Buffer
	piece := make([]byte, 1<<20+3) // not a divisor of the chunk
	for i := 0; want.Len() < 2*writebackChunk+5; i++ {
		for j := range piece {
			piece[j] = byte(i + j)
		}
		want.Write(piece)
		if _, err := f.Write(piece); err != nil {
			t.Fatal(err)
		}
	}
	if err := f.Commit(); err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want.Bytes()) {
		t.Fatalf("read back %d bytes, not the %d written", len(got), want.Len())
	}
}
