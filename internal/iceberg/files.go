package iceberg

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"strings"
)

// Pipeline state checkpoints live inside the warehouse, so that the
// warehouse directory alone is the pipeline's durable state. They sit
// outside every table's directory: no Iceberg maintenance (orphan-file
// removal) can mistake them for table files.

// checkpointDir is the one directory WriteFile, ReadFile and DeleteFile
// touch.
func (w *Warehouse) checkpointDir() string {
	return filepath.Join(w.cfg.Warehouse, "sessionize", "checkpoints")
}

// WriteFile stores data at relPath under <warehouse>/sessionize/checkpoints
// atomically: readers see the old content or the new, never a mix, even
// after a crash. It returns the file's URI for ReadFile and DeleteFile.
func (w *Warehouse) WriteFile(ctx context.Context, relPath string, data []byte) (string, error) {
	if err := ctx.Err(); err != nil {
		return "", err
	}
	if !filepath.IsLocal(relPath) {
		return "", fmt.Errorf("iceberg: write file: %q is not a relative path inside the checkpoint directory", relPath)
	}
	path := filepath.Join(w.checkpointDir(), relPath)
	if err := writeFileAtomic(path, data); err != nil {
		return "", fmt.Errorf("iceberg: write file %s: %w", path, err)
	}
	return fileURI(path), nil
}

// ReadFile returns the content of a file written by WriteFile.
func (w *Warehouse) ReadFile(ctx context.Context, uri string) ([]byte, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	path, err := w.checkpointPath(uri)
	if err != nil {
		return nil, err
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("iceberg: read file: %w", err)
	}
	return data, nil
}

// DeleteFile removes a file written by WriteFile. Deleting a file that does
// not exist is not an error, so a retried cleanup succeeds.
func (w *Warehouse) DeleteFile(ctx context.Context, uri string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	path, err := w.checkpointPath(uri)
	if err != nil {
		return err
	}
	if err := os.Remove(path); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("iceberg: delete file: %w", err)
	}
	return syncDir(filepath.Dir(path))
}

// checkpointPath resolves a URI from WriteFile (or a plain absolute path)
// to a local path, refusing anything outside the checkpoint directory so a
// bad URI cannot read or delete arbitrary files.
func (w *Warehouse) checkpointPath(uri string) (string, error) {
	path := uri
	if strings.HasPrefix(uri, "file:") {
		u, err := url.Parse(uri)
		if err != nil {
			return "", fmt.Errorf("iceberg: file URI %q: %w", uri, err)
		}
		path = u.Path
	}
	path = filepath.Clean(path)
	rel, err := filepath.Rel(w.checkpointDir(), path)
	if err != nil || !filepath.IsLocal(rel) {
		return "", fmt.Errorf("iceberg: %q is not inside the checkpoint directory %s", uri, w.checkpointDir())
	}
	return path, nil
}

func fileURI(path string) string {
	return (&url.URL{Scheme: "file", Path: filepath.ToSlash(path)}).String()
}

// writeFileAtomic writes to a temporary file in the target directory,
// fsyncs it, renames it over the target and fsyncs the directory so the
// rename itself is durable.
func writeFileAtomic(path string, data []byte) (err error) {
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	tmp, err := os.CreateTemp(dir, "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return err
	}
	defer func() {
		if err != nil {
			_ = tmp.Close()
			_ = os.Remove(tmp.Name())
		}
	}()
	if _, err := tmp.Write(data); err != nil {
		return err
	}
	if err := tmp.Sync(); err != nil {
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return err
	}
	return syncDir(dir)
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("sync directory: %w", err)
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("sync directory %s: %w", dir, err)
	}
	return nil
}
