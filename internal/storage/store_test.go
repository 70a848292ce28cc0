package storage_test

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/sessionize/sessionize/internal/storage"
	"github.com/sessionize/sessionize/internal/testservers"
)

func TestMain(m *testing.M) {
	testservers.DisableIMDS()
	os.Exit(m.Run())
}

// backends opens an empty warehouse on each kind of storage.
func backends(t *testing.T) map[string]*storage.Store {
	t.Helper()
	ctx := t.Context()
	local, err := storage.Open(ctx, filepath.Join(t.TempDir(), "wh"), storage.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if err := local.Probe(ctx, false); err != nil {
		t.Fatalf("Probe(list) of a directory not created yet: %v", err)
	}
	if _, err := os.Stat(local.Root()); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("Open created %s", local.Root())
	}
	if err := local.Create(ctx); err != nil {
		t.Fatal(err)
	}
	s3 := testservers.StartFakeS3(t)
	remote, err := storage.Open(ctx, s3.Warehouse("wh"), s3.Options())
	if err != nil {
		t.Fatal(err)
	}
	for _, st := range []*storage.Store{local, remote} {
		t.Cleanup(func() {
			if err := errors.Join(st.Close(), st.Close()); err != nil {
				t.Errorf("Close twice: %v", err)
			}
		})
	}
	return map[string]*storage.Store{"local": local, "s3": remote}
}

func TestStoreFiles(t *testing.T) {
	for name, st := range backends(t) {
		t.Run(name, func(t *testing.T) {
			ctx := t.Context()
			if err := st.Probe(ctx, true); err != nil {
				t.Fatalf("Probe(write): %v", err)
			}
			if err := st.Probe(ctx, false); err != nil {
				t.Fatalf("Probe(list): %v", err)
			}
			a, b := st.Join("ck", "g", "a.ckpt"), st.Join("ck", "g", "b.ckpt")
			if !strings.HasPrefix(a, st.Root()+"/") {
				t.Fatalf("Join = %q, not below %q", a, st.Root())
			}
			for _, loc := range []string{a, b} {
				if err := st.WriteFile(ctx, loc, []byte("v1 "+loc)); err != nil {
					t.Fatalf("WriteFile: %v", err)
				}
			}
			if err := st.WriteFile(ctx, a, []byte("v2")); err != nil {
				t.Fatalf("WriteFile again: %v", err)
			}
			got, err := st.ReadFile(ctx, a)
			if err != nil || string(got) != "v2" {
				t.Fatalf("ReadFile = %q, %v; want v2", got, err)
			}
			if _, err := st.ReadFile(ctx, st.Join("ck", "missing")); !errors.Is(err, fs.ErrNotExist) {
				t.Fatalf("ReadFile(missing) error = %v, want fs.ErrNotExist", err)
			}

			var listed []string
			err = st.Walk(ctx, st.Join("ck"), func(loc string, info fs.FileInfo) error {
				if time.Since(info.ModTime()) > time.Minute || info.Size() == 0 {
					t.Errorf("%s: mod time %s, size %d", loc, info.ModTime(), info.Size())
				}
				listed = append(listed, loc)
				return nil
			})
			if err != nil {
				t.Fatalf("Walk: %v", err)
			}
			if !slices.Equal(listed, []string{a, b}) {
				t.Fatalf("Walk listed %q, want %q (no temporary or probe files)", listed, []string{a, b})
			}
			if err := st.Walk(ctx, st.Join("nothing-here"), func(string, fs.FileInfo) error {
				t.Error("a missing directory has no files")
				return nil
			}); err != nil {
				t.Fatalf("Walk(missing): %v", err)
			}

			for loc, want := range map[string]bool{st.Join("ck"): true, st.Join("ck", "g"): true, a: true, st.Join("nope"): false} {
				if got, err := st.Exists(ctx, loc); err != nil || got != want {
					t.Errorf("Exists(%s) = %t, %v; want %t", loc, got, err, want)
				}
			}

			// Young enough: an object store leaves it (no rewrite of
			// every file on every touch); a local disk sets t.
			modOf := func(loc string) (mod time.Time) {
				_ = st.Walk(ctx, loc, func(_ string, info fs.FileInfo) error { mod = info.ModTime(); return nil })
				return mod
			}
			written := modOf(b)
			now := time.Now()
			mod, err := st.Touch(ctx, b, now, time.Hour)
			if err != nil || now.Sub(mod) > time.Minute || mod.After(now.Add(time.Minute)) {
				t.Fatalf("Touch(young) = %s, %v; want about now", mod, err)
			}
			if !st.Location().Local() && !modOf(b).Equal(written) {
				t.Fatalf("Touch(young) rewrote the object: modified %s, was %s", modOf(b), written)
			}
			// Not young enough (fresh 0): it must become as young as asked.
			before := time.Now()
			mod, err = st.Touch(ctx, b, time.Now(), 0)
			if err != nil || mod.Before(before) {
				t.Fatalf("Touch(old) = %s, %v; want no older than %s", mod, err, before)
			}
			if _, err := st.Touch(ctx, st.Join("ck", "missing"), now, 0); !errors.Is(err, fs.ErrNotExist) {
				t.Fatalf("Touch(missing) = %v, want fs.ErrNotExist", err)
			}
			if got, err := st.ReadFile(ctx, b); err != nil || string(got) != "v1 "+b {
				t.Fatalf("after Touch ReadFile = %q, %v", got, err)
			}

			if err := st.Remove(ctx, a); err != nil {
				t.Fatalf("Remove: %v", err)
			}
			if err := st.Remove(ctx, a); !errors.Is(err, fs.ErrNotExist) {
				t.Fatalf("Remove(removed) = %v, want fs.ErrNotExist", err)
			}
			if _, err := st.ReadFile(ctx, a); !errors.Is(err, fs.ErrNotExist) {
				t.Fatalf("ReadFile(removed) = %v, want fs.ErrNotExist", err)
			}
		})
	}
}

// An S3-compatible server needs no region: requests are signed for
// us-east-1 when none is configured.
func TestStoreEndpointWithoutRegion(t *testing.T) {
	// No region anywhere in the default chain.
	for _, v := range []string{"AWS_REGION", "AWS_DEFAULT_REGION", "AWS_PROFILE"} {
		t.Setenv(v, "")
	}
	t.Setenv("AWS_CONFIG_FILE", filepath.Join(t.TempDir(), "none"))
	s3 := testservers.StartFakeS3(t)
	opts := s3.Options()
	opts.S3.Region = ""
	st, err := storage.Open(t.Context(), s3.Warehouse("wh"), opts)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if err := st.Probe(t.Context(), true); err != nil {
		t.Fatalf("Probe without a region: %v", err)
	}
}

func TestStoreProbeMissingBucket(t *testing.T) {
	s3 := testservers.StartFakeS3(t)
	st, err := storage.Open(t.Context(), "s3://no-such-bucket/wh", s3.Options())
	if err != nil {
		t.Fatal(err)
	}
	for _, write := range []bool{true, false} {
		err := st.Probe(t.Context(), write)
		if err == nil || !strings.Contains(err.Error(), `bucket "no-such-bucket" not found`) || !strings.Contains(err.Error(), "--s3-endpoint") {
			t.Errorf("Probe(write=%t) = %v; want a not-found error naming the bucket and the flags", write, err)
		}
	}
}

func TestStorePropsHoldNoSurprises(t *testing.T) {
	opts := storage.S3Options{Endpoint: "http://h:1", Region: "r", AccessKeyID: "k", SecretAccessKey: "s", SessionToken: "t", PathStyle: true}
	props := opts.Props()
	want := map[string]string{"s3.endpoint": "http://h:1", "s3.region": "r", "s3.access-key-id": "k",
		"s3.secret-access-key": "s", "s3.session-token": "t", "s3.force-virtual-addressing": "false"}
	if len(props) != len(want) {
		t.Fatalf("Props = %v, want %v", props, want)
	}
	for k, v := range want {
		if props[k] != v {
			t.Errorf("Props[%s] = %q, want %q", k, props[k], v)
		}
	}
	if got := opts.LogValue().String(); strings.Contains(got, "=s ") || strings.Contains(got, "s]") || strings.Contains(got, "t]") {
		t.Errorf("LogValue %q shows the secret or the token", got)
	}
}
