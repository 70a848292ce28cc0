package iceberg

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestCheckpointFiles(t *testing.T) {
	t.Parallel()
	ctx := testCtx(t)
	dir := t.TempDir()
	w := openWarehouse(t, Config{Warehouse: dir})

	uri, err := w.WriteFile(ctx, "instance-a/ckpt-000001", []byte("first"))
	if err != nil {
		t.Fatalf("WriteFile: %v", err)
	}
	wantPath := filepath.Join(dir, "sessionize", "checkpoints", "instance-a", "ckpt-000001")
	if uri != "file://"+wantPath {
		t.Fatalf("uri = %q, want file://%s", uri, wantPath)
	}
	// Overwrite: atomic replace, no temp file left behind.
	if _, err := w.WriteFile(ctx, "instance-a/ckpt-000001", []byte("second")); err != nil {
		t.Fatalf("overwrite: %v", err)
	}
	got, err := w.ReadFile(ctx, uri)
	if err != nil || !bytes.Equal(got, []byte("second")) {
		t.Fatalf("ReadFile = %q, %v; want second", got, err)
	}
	if files := listFiles(t, filepath.Join(dir, "sessionize", "checkpoints")); strings.Join(files, ",") != "instance-a/ckpt-000001" {
		t.Fatalf("checkpoint dir holds %v", files)
	}
	// A plain path works as well as the URI.
	if got, err := w.ReadFile(ctx, wantPath); err != nil || string(got) != "second" {
		t.Fatalf("ReadFile(path) = %q, %v", got, err)
	}

	if err := w.DeleteFile(ctx, uri); err != nil {
		t.Fatalf("DeleteFile: %v", err)
	}
	if err := w.DeleteFile(ctx, uri); err != nil {
		t.Fatalf("second DeleteFile must be a no-op: %v", err)
	}
	if _, err := w.ReadFile(ctx, uri); !os.IsNotExist(unwrapAll(err)) {
		t.Fatalf("ReadFile after delete: %v, want not-exist", err)
	}

	for _, rel := range []string{"../escape", "/abs", "", "a/../../b"} {
		if _, err := w.WriteFile(ctx, rel, nil); err == nil {
			t.Errorf("WriteFile(%q) accepted", rel)
		}
	}
	catalogURI := "file://" + EmbeddedCatalog(dir)
	if _, err := w.ReadFile(ctx, catalogURI); err == nil {
		t.Errorf("ReadFile outside the checkpoint directory accepted")
	}
	if err := w.DeleteFile(ctx, catalogURI); err == nil {
		t.Errorf("DeleteFile outside the checkpoint directory accepted")
	}
	if _, err := os.Stat(EmbeddedCatalog(dir)); err != nil {
		t.Fatalf("catalog file touched: %v", err)
	}
}

func unwrapAll(err error) error {
	for {
		u, ok := err.(interface{ Unwrap() error })
		if !ok {
			return err
		}
		err = u.Unwrap()
	}
}
