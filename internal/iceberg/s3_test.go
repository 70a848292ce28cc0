package iceberg

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sessionize/sessionize/internal/testservers"
)

func TestMain(m *testing.M) {
	testservers.DisableIMDS()
	os.Exit(m.Run())
}

// s3Config is a warehouse under prefix on the server, with a SQLite
// catalog file in the test's temp dir (an object store cannot hold the
// embedded one).
func s3Config(t testing.TB, s3 testservers.S3, prefix string) Config {
	return Config{Warehouse: s3.Warehouse(prefix), Storage: s3.Options(),
		CatalogURI: "sqlite://" + filepath.Join(t.TempDir(), "catalog.db")}
}

// The catalog suite with the warehouse on gofakes3 (in process, fast) and
// on versitygw (a real S3 gateway that checks signatures).
func TestS3CatalogSuite(t *testing.T) {
	t.Parallel()
	for _, s3 := range []testservers.S3{testservers.StartFakeS3(t), testservers.StartVersityGW(t)} {
		t.Run(s3.Name, func(t *testing.T) {
			t.Parallel()
			for _, tc := range catalogSuite {
				t.Run(tc.name, func(t *testing.T) {
					t.Parallel()
					tc.run(t, s3Config(t, s3, "wh-"+strings.ToLower(tc.name)))
				})
			}
		})
	}
}

// Compaction, expiry and orphan removal while writers commit, with every
// file on versitygw. Reading a file takes longer over S3 than from a
// local disk, so compacting a group does, and the orphan age must exceed
// twice that: it is longer, and the writers leave fewer files.
func TestS3MaintainAlongsideWriters(t *testing.T) {
	t.Parallel()
	testMaintainAlongsideWriters(t, s3Config(t, testservers.StartVersityGW(t), "wh"), alongside{orphanAge: 8 * time.Second, pause: 150 * time.Millisecond})
}

// Checkpoints go to the same bucket as the tables, are read back by URI,
// stay while a snapshot names them, and go once nothing does and they are
// older than the orphan age.
func TestS3Checkpoints(t *testing.T) {
	t.Parallel()
	ctx := testCtx(t)
	s3 := testservers.StartFakeS3(t)
	cfg := s3Config(t, s3, "wh")
	w := openWarehouse(t, cfg)
	kept, err := w.WriteFile(ctx, "grp/w-00000001.ckpt", []byte("kept"))
	if err != nil {
		t.Fatal(err)
	}
	if want := "s3://lake/wh/sessionize/checkpoints/grp/w-00000001.ckpt"; kept != want {
		t.Fatalf("WriteFile URI = %q, want %q", kept, want)
	}
	gone, err := w.WriteFile(ctx, "grp/w-00000000.ckpt", []byte("gone"))
	if err != nil {
		t.Fatal(err)
	}
	if got, err := w.ReadFile(ctx, kept); err != nil || string(got) != "kept" {
		t.Fatalf("ReadFile = %q, %v", got, err)
	}
	for _, bad := range []string{"s3://lake/wh/sessionize.db/sessions/metadata/x", "s3://other/wh/sessionize/checkpoints/grp/x", "/tmp/x"} {
		if _, err := w.ReadFile(ctx, bad); err == nil {
			t.Errorf("ReadFile(%q) outside the checkpoint directory accepted", bad)
		}
	}
	if _, err := w.Commit(ctx, Commit{Table: TableSessions, ExpectParentSnapshotID: NoSnapshot, Sessions: sampleSessions(3, "a"),
		Properties: map[string]string{"sessionize.offsets": `{"0":3}`, "sessionize.checkpoints": `{"0":"` + kept + `"}`}}); err != nil {
		t.Fatal(err)
	}
	time.Sleep(1100 * time.Millisecond) // S3 cannot backdate: wait out the orphan age
	rep, err := w.Maintain(ctx, MaintainOptions{OrphanAge: time.Second, SkipCompaction: true, SkipExpiry: true})
	if err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(rep.CheckpointsDeleted) != fmt.Sprint([]string{gone}) {
		t.Fatalf("deleted checkpoints %v, want [%s]", rep.CheckpointsDeleted, gone)
	}
	if _, err := w.ReadFile(ctx, gone); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("ReadFile(deleted) = %v, want not found", err)
	}
	if _, err := w.ReadFile(ctx, kept); err != nil {
		t.Fatalf("referenced checkpoint deleted: %v", err)
	}
	if err := w.DeleteFile(ctx, kept); err != nil {
		t.Fatal(err)
	}
	if err := w.DeleteFile(ctx, kept); err != nil {
		t.Fatalf("second DeleteFile must be a no-op: %v", err)
	}
}

// What a user gets wrong is an error at Open that says what to fix, and
// nothing is created anywhere.
func TestOpenStorageErrors(t *testing.T) {
	t.Parallel()
	vgw := testservers.StartVersityGW(t)
	badKey := vgw
	badKey.SecretKey = "wrong-secret"
	cwd, _ := os.Getwd()
	cases := []struct {
		name string
		cfg  Config
		want []string
	}{
		{"unknown scheme", Config{Warehouse: "minio://lake/wh"}, []string{`unknown scheme "minio"`, "s3"}},
		{"one slash", Config{Warehouse: "s3:/lake/wh"}, []string{"s3://bucket/path"}},
		{"object store without a catalog", Config{Warehouse: vgw.Warehouse("wh"), Storage: vgw.Options()},
			[]string{"--catalog-uri", "sqlite:///", "postgres://", "REST"}},
		{"missing bucket", s3Config(t, testservers.S3{Bucket: "no-such-bucket", Endpoint: vgw.Endpoint, AccessKey: vgw.AccessKey, SecretKey: vgw.SecretKey}, "wh"),
			[]string{`bucket "no-such-bucket" not found`, "--s3-endpoint"}},
		{"wrong secret", s3Config(t, badKey, "wh"), []string{"cannot write to warehouse s3://lake/wh", "--s3-secret-access-key"}},
		{"nothing listening", s3Config(t, testservers.S3{Bucket: "lake", Endpoint: "http://127.0.0.1:1", AccessKey: "k", SecretKey: "s"}, "wh"),
			[]string{"cannot write to warehouse", "--s3-endpoint"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			w, err := Open(testCtx(t), tc.cfg, testLogger(t))
			if err == nil {
				_ = w.Close()
				t.Fatal("Open succeeded")
			}
			for _, s := range tc.want {
				if !strings.Contains(err.Error(), s) {
					t.Errorf("error %q does not say %q", err, s)
				}
			}
			if strings.Contains(err.Error(), "wrong-secret") {
				t.Errorf("error shows the secret: %v", err)
			}
		})
	}
	for _, dir := range []string{"s3:", "minio:"} {
		if _, err := os.Stat(filepath.Join(cwd, dir)); err == nil {
			t.Errorf("a local directory %s was created", dir)
		}
	}
}
