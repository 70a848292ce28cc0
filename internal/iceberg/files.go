package iceberg

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"path"
	"path/filepath"
	"strings"
)

// Pipeline state checkpoints live inside the warehouse, in the same storage
// as the tables, so that the warehouse alone is the pipeline's durable
// state. They sit outside every table's directory: no Iceberg maintenance
// (orphan-file removal) can mistake them for table files.
//
// Every checkpoint has a name of its own (the pipeline names them by
// writer and sequence) and is never rewritten: a commit's snapshot summary
// names the files it made current. Atomicity therefore needs only that a
// file appears whole: a rename on a local disk, a single PUT on an object
// store.

// checkpointRel is the checkpoint directory relative to the warehouse root.
const checkpointRel = "sessionize/checkpoints"

// checkpointDir is the one directory WriteFile, ReadFile and DeleteFile
// touch.
func (w *Warehouse) checkpointDir() string {
	return w.store.Join(checkpointRel)
}

// WriteFile stores data at relPath under <warehouse>/sessionize/checkpoints
// atomically: readers see the old content or the new, never a mix, even
// after a crash. It returns the file's URI for ReadFile and DeleteFile.
func (w *Warehouse) WriteFile(ctx context.Context, relPath string, data []byte) (string, error) {
	if err := ctx.Err(); err != nil {
		return "", err
	}
	if !filepath.IsLocal(relPath) || strings.Contains(relPath, `\`) {
		return "", fmt.Errorf("iceberg: write file: %q is not a relative path inside the checkpoint directory", relPath)
	}
	loc := w.store.Join(checkpointRel, path.Clean(filepath.ToSlash(relPath)))
	if err := w.store.WriteFile(ctx, loc, data); err != nil {
		return "", fmt.Errorf("iceberg: write file %s: %w", loc, err)
	}
	if w.store.Location().Local() {
		return fileURI(loc), nil
	}
	return loc, nil
}

// ReadFile returns the content of a file written by WriteFile.
func (w *Warehouse) ReadFile(ctx context.Context, uri string) ([]byte, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	loc, err := w.checkpointPath(uri)
	if err != nil {
		return nil, err
	}
	data, err := w.store.ReadFile(ctx, loc)
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
	loc, err := w.checkpointPath(uri)
	if err != nil {
		return err
	}
	if err := w.store.Remove(ctx, loc); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("iceberg: delete file: %w", err)
	}
	return nil
}

// checkpointPath resolves a URI from WriteFile (or, on a local warehouse, a
// plain absolute path) to the file's location in the store, refusing
// anything outside the checkpoint directory so a bad URI cannot read or
// delete arbitrary files.
func (w *Warehouse) checkpointPath(uri string) (string, error) {
	loc := uri
	if w.store.Location().Local() && strings.HasPrefix(uri, "file:") {
		u, err := url.Parse(uri)
		if err != nil {
			return "", fmt.Errorf("iceberg: file URI %q: %w", uri, err)
		}
		loc = u.Path
	}
	rel, ok := w.store.Location().Contains(loc)
	if inside, ok2 := strings.CutPrefix(rel, checkpointRel+"/"); !ok || !ok2 || inside == "" {
		return "", fmt.Errorf("iceberg: %q is not inside the checkpoint directory %s", uri, w.checkpointDir())
	}
	return w.store.Join(rel), nil
}

func fileURI(path string) string {
	return (&url.URL{Scheme: "file", Path: filepath.ToSlash(path)}).String()
}
