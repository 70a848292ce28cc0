package storage

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	iceio "github.com/apache/iceberg-go/io"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/smithy-go"
	"github.com/google/uuid"
	"gocloud.dev/gcerrors"
)

// Options say how to reach a warehouse's storage.
type Options struct {
	// S3 configures s3:// and s3a:// warehouses.
	S3 S3Options
	// Props are further iceberg-go io properties (gcs.*, adls.*, or s3.*
	// beyond S3Options); they win over S3's.
	Props map[string]string
}

// Store is the storage of one warehouse. It is safe for concurrent use.
type Store struct {
	loc   Location
	props map[string]string
	fsys  fileIO
	// aws is the resolved configuration of an s3:// store (nil for
	// others), shared by every IO opened with Context.
	aws *aws.Config

	closeOnce sync.Once
	closeErr  error
}

// fileIO is what a Store needs of an iceberg-go IO; both the local file
// system and the gocloud blob backends provide it.
type fileIO interface {
	iceio.WriteFileIO
	iceio.ReadFileIO
	iceio.ListableIO
	iceio.StatIO
}

// Open parses warehouse (see ParseLocation) and opens its storage through
// iceberg-go's io.LoadFS. It creates nothing (Create does) and does not
// contact an object store (Probe does).
//
// The store keeps the IO for its lifetime, detached from ctx's
// cancellation (iceberg-go's blob IO holds the context it was opened
// with); each operation checks its own context before it starts.
func Open(ctx context.Context, warehouse string, opts Options) (*Store, error) {
	loc, err := ParseLocation(warehouse)
	if err != nil {
		return nil, err
	}
	props := opts.S3.Props()
	maps.Copy(props, opts.Props)
	st := &Store{loc: loc, props: props}
	if loc.Scheme == "s3" {
		if st.aws, err = s3Config(ctx, props); err != nil {
			return nil, err
		}
	}
	fsys, err := iceio.LoadFS(st.Context(context.WithoutCancel(ctx)), props, loc.URI)
	if err != nil {
		return nil, fmt.Errorf("storage: open warehouse %s: %w", loc.URI, err)
	}
	fio, ok := fsys.(fileIO)
	if !ok {
		return nil, fmt.Errorf("storage: warehouse %s: iceberg-go IO %T cannot write, list and stat files", loc.URI, fsys)
	}
	st.fsys = fio
	return st, nil
}

// Create makes a local warehouse's directory if it is missing; an object
// store needs nothing (a bucket must exist already: Probe tells).
func (s *Store) Create(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if !s.loc.Local() {
		return nil
	}
	if err := os.MkdirAll(s.loc.URI, 0o755); err != nil {
		return fmt.Errorf("storage: create warehouse directory: %w", err)
	}
	return nil
}

// Close releases the store's connections (an object store's bucket). A
// second Close does nothing.
func (s *Store) Close() error {
	s.closeOnce.Do(func() {
		if c, ok := s.fsys.(interface{ Close() error }); ok {
			s.closeErr = c.Close()
		}
	})
	return s.closeErr
}

// Location is where the warehouse is.
func (s *Store) Location() Location { return s.loc }

// Root is the warehouse root as table locations start with it.
func (s *Store) Root() string { return s.loc.URI }

// Join returns the location of a file or directory below the root.
func (s *Store) Join(elem ...string) string { return s.loc.Join(elem...) }

// IO is the iceberg-go IO of the warehouse.
func (s *Store) IO() iceio.IO { return s.fsys }

// Props returns the iceberg-go io properties the store was opened with. A
// catalog must be given them (merged into its properties) so that the
// table files it opens use the same endpoint and credentials. They hold
// secrets: never log them.
func (s *Store) Props() map[string]string { return maps.Clone(s.props) }

// WriteFile stores data at loc so that readers see the old content or the
// new, never a mix, even after a crash: on a local disk a fsync'd
// temporary file renamed over loc; on an object store one PUT, which
// becomes visible whole.
func (s *Store) WriteFile(ctx context.Context, loc string, data []byte) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if s.loc.Local() {
		return writeFileAtomic(loc, data)
	}
	return s.fsys.WriteFile(loc, data)
}

// ReadFile returns the content of loc; a missing file is fs.ErrNotExist.
func (s *Store) ReadFile(ctx context.Context, loc string) ([]byte, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	return s.fsys.ReadFile(loc)
}

// Remove deletes the file at loc. A file that does not exist is an error
// satisfying errors.Is(err, fs.ErrNotExist), which cleanups that may race
// another one ignore. On a local disk the directory is synced so the
// delete is durable.
func (s *Store) Remove(ctx context.Context, loc string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if err := s.fsys.Remove(loc); err != nil {
		return err
	}
	if s.loc.Local() {
		return syncDir(filepath.Dir(loc))
	}
	return nil
}

// Exists reports whether loc is a file or a directory (on an object
// store: a prefix with objects below it).
func (s *Store) Exists(ctx context.Context, loc string) (bool, error) {
	if err := ctx.Err(); err != nil {
		return false, err
	}
	_, err := s.fsys.Stat(loc)
	switch {
	case err == nil:
		return true, nil
	case errors.Is(err, fs.ErrNotExist):
		return false, nil
	default:
		return false, err
	}
}

// Walk calls fn for every file below root (in lexical order on a local
// disk; in key order on an object store) with its location, in the form
// table metadata uses, and its size and modification time. A missing root
// has no files; a file deleted while the listing runs is skipped. fn may
// return fs.SkipAll to stop.
func (s *Store) Walk(ctx context.Context, root string, fn func(loc string, info fs.FileInfo) error) error {
	err := s.fsys.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) || gcerrors.Code(err) == gcerrors.NotFound && p != root {
				return nil
			}
			return err
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		if d.IsDir() {
			return nil
		}
		info, err := d.Info()
		if errors.Is(err, fs.ErrNotExist) {
			return nil
		}
		if err != nil {
			return err
		}
		return fn(p, info)
	})
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	return err
}

// Touch makes the file at loc at least as young as t - fresh, so that
// orphan-file removal, which only takes files older than its age, leaves
// it alone, and returns the file's modification time from then on (no
// older than that). On a local disk it sets the time to t. An object
// store cannot set a time: an object already younger than t - fresh is
// left as it is, an older one is written again (its time becomes about
// now), so that touching a growing set of files over and over does not
// rewrite them all each time. A missing file is fs.ErrNotExist.
func (s *Store) Touch(ctx context.Context, loc string, t time.Time, fresh time.Duration) (time.Time, error) {
	return TouchFile(ctx, s.fsys, loc, t, fresh)
}

// TouchFile is Store.Touch for a file of any iceberg-go IO (a table's own,
// say): a local path or file:// location gets its time set, anything
// else is written again when older than t - fresh.
func TouchFile(ctx context.Context, fsys iceio.IO, loc string, t time.Time, fresh time.Duration) (time.Time, error) {
	if err := ctx.Err(); err != nil {
		return time.Time{}, err
	}
	if path, ok := strings.CutPrefix(loc, "file://"); ok || !strings.Contains(loc, "://") {
		return t, os.Chtimes(path, t, t)
	}
	rw, ok := fsys.(interface {
		iceio.ReadFileIO
		iceio.WriteFileIO
		iceio.StatIO
	})
	if !ok {
		return time.Time{}, fmt.Errorf("storage: the IO of %s cannot stat and rewrite it (%T)", loc, fsys)
	}
	info, err := rw.Stat(loc)
	if err != nil {
		return time.Time{}, err
	}
	if mod := info.ModTime(); mod.After(t.Add(-fresh)) {
		return mod, nil
	}
	data, err := rw.ReadFile(loc)
	if err != nil {
		return time.Time{}, err
	}
	written := time.Now()
	return written, rw.WriteFile(loc, data)
}

// probeDir is where Probe writes; it is outside every table.
const probeDir = "sessionize"

// Probe checks that the warehouse can be reached: with write, by writing
// and deleting a small object below the root; without, by listing the
// root. The error says which setting to check.
func (s *Store) Probe(ctx context.Context, write bool) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	var err error
	op := "list"
	if write {
		op = "write to"
		probe := s.Join(probeDir, ".probe-"+uuid.NewString())
		if err = s.fsys.WriteFile(probe, []byte("sessionize storage probe\n")); err == nil {
			err = s.fsys.Remove(probe)
		}
	} else {
		err = s.Walk(ctx, s.loc.URI, func(string, fs.FileInfo) error { return fs.SkipAll })
	}
	if err == nil || errors.Is(err, fs.SkipAll) {
		return nil
	}
	return fmt.Errorf("storage: cannot %s warehouse %s: %w%s", op, s.loc.URI, err, s.hint(err))
}

// hint says what to check for a failed probe.
func (s *Store) hint(err error) string {
	if s.loc.Local() {
		return " (check --warehouse: the directory must be writable)"
	}
	creds := "the credentials"
	if s.loc.Scheme == "s3" {
		creds = "--s3-endpoint, --s3-region and the credentials (--s3-access-key-id and --s3-secret-access-key, or the AWS default chain)"
	}
	var api smithy.APIError
	if errors.As(err, &api) {
		switch api.ErrorCode() {
		case "NoSuchBucket":
			return fmt.Sprintf(" (bucket %q not found: create it, or fix --warehouse or %s)", s.loc.Bucket, creds)
		case "SignatureDoesNotMatch", "InvalidAccessKeyId", "InvalidToken", "ExpiredToken", "AccessDenied":
			return " (credentials refused: check " + creds + ")"
		}
	}
	switch gcerrors.Code(err) {
	case gcerrors.NotFound:
		return fmt.Sprintf(" (bucket %q not found: create it, or fix --warehouse or %s)", s.loc.Bucket, creds)
	case gcerrors.PermissionDenied:
		return " (credentials refused: check " + creds + ")"
	}
	return " (check --warehouse and " + creds + ")"
}
