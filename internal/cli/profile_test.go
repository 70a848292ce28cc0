package cli

import (
	"bytes"
	"compress/gzip"
	"context"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestAllocProfileIsAPprofFile: --allocprofile writes a gzipped pprof
// profile that names the allocs sample types, and a path it cannot create
// is an error naming the flag.
func TestAllocProfileIsAPprofFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "allocs.pprof")
	if err := writeAllocProfile(path); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	zr, err := gzip.NewReader(bytes.NewReader(b))
	if err != nil {
		t.Fatalf("profile is not gzip, pprof's format: %v", err)
	}
	raw, err := io.ReadAll(zr)
	if err != nil {
		t.Fatal(err)
	}
	// The sample types are in the profile's string table.
	for _, want := range []string{"alloc_space", "alloc_objects"} {
		if !bytes.Contains(raw, []byte(want)) {
			t.Errorf("profile has no %q sample type", want)
		}
	}
	err = writeAllocProfile(filepath.Join(t.TempDir(), "missing", "allocs.pprof"))
	if err == nil || !strings.Contains(err.Error(), "--allocprofile") {
		t.Fatalf("unwritable path: err %v, want one naming --allocprofile", err)
	}
}

// TestHeapProfileWrittenAtStart: --memprofile's first profile is there
// when writeHeapProfiles returns (the rest follow every 30 s), whole and
// without its temporary file.
func TestHeapProfileWrittenAtStart(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "heap.pprof")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	if err := writeHeapProfiles(ctx, path); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := gzip.NewReader(bytes.NewReader(b)); err != nil {
		t.Fatalf("heap profile is not gzip, pprof's format: %v", err)
	}
	if _, err := os.Stat(path + ".tmp"); !os.IsNotExist(err) {
		t.Errorf("temporary file left behind: %v", err)
	}
}
