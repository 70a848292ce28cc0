package cli

import (
	"context"
	"encoding/json"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sessionize/sessionize/internal/iceberg"
	"github.com/sessionize/sessionize/internal/storage"
	"github.com/sessionize/sessionize/internal/testservers"
)

func TestMain(m *testing.M) {
	testservers.DisableIMDS()
	os.Exit(m.Run())
}

// s3Flags are the flags of a warehouse on s3: the warehouse URL, a SQLite
// catalog file, the endpoint and the key, the secret in a file.
func s3Flags(t *testing.T, s3 testservers.S3, prefix string) []string {
	t.Helper()
	dir := t.TempDir()
	secret := writeFile(t, filepath.Join(dir, "secret"), s3.SecretKey+"\n")
	return []string{"--warehouse", s3.Warehouse(prefix), "--catalog-uri", "sqlite://" + filepath.Join(dir, "catalog.db"),
		"--s3-endpoint", s3.Endpoint, "--s3-region", "us-east-1", "--s3-access-key-id", s3.AccessKey, "--s3-secret-access-key-file", secret}
}

// TestS3Warehouse runs the commands a user runs on a warehouse in a bucket
// of versitygw: batch --output-table, run --stop-when-idle, table describe,
// audit and maintain; the tables hold every record once.
func TestS3Warehouse(t *testing.T) {
	t.Parallel()
	s3 := testservers.StartVersityGW(t)
	day := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	in := writeFile(t, filepath.Join(t.TempDir(), "in.jsonl"), clickLines(day, 6))

	t.Run("batch", func(t *testing.T) {
		t.Parallel()
		flags := s3Flags(t, s3, "batch")
		code, _, stderr := runCLI(t, append([]string{"batch", "--input", in, "--output-table", "sessions"}, flags...)...)
		if code != 0 {
			t.Fatalf("batch: exit %d: %s", code, stderr)
		}
		code, out, stderr := runCLI(t, append([]string{"table", "describe"}, flags...)...)
		if code != 0 || !strings.Contains(out, "s3://lake/batch/sessionize.db/sessions") {
			t.Fatalf("describe: exit %d: %s\n%s", code, stderr, out)
		}
		code, out, stderr = runCLI(t, append([]string{"table", "sessions", "--uuid", "u1", "--json"}, flags...)...)
		if code != 0 || strings.Count(out, "\n") != 2 {
			t.Fatalf("sessions --uuid u1: exit %d: %s\n%s", code, stderr, out)
		}
		code, out, stderr = runCLI(t, append([]string{"table", "maintain", "--json"}, flags...)...)
		var rep iceberg.MaintainReport
		if code != 0 || json.Unmarshal([]byte(out), &rep) != nil || len(rep.Tables) != 3 {
			t.Fatalf("maintain: exit %d: %s\n%s", code, stderr, out)
		}
		code, out, stderr = runCLI(t, append([]string{"report"}, flags...)...)
		if code != 0 || !strings.Contains(out, "sessions") {
			t.Fatalf("report: exit %d: %s\n%s", code, stderr, out)
		}
		// The same input again writes nothing.
		code, _, stderr = runCLI(t, append([]string{"batch", "--input", in, "--output-table", "sessions"}, flags...)...)
		if code != 0 || !strings.Contains(stderr, "already") {
			t.Fatalf("batch again: exit %d: %s", code, stderr)
		}
	})

	t.Run("run", func(t *testing.T) {
		t.Parallel()
		flags := s3Flags(t, s3, "stream")
		b := testBroker(t)
		if code, _, stderr := runCLI(t, "produce", "--kafka-servers", b.Servers(), "--input", in, "--topic", "clicks"); code != 0 {
			t.Fatalf("produce: exit %d: %s", code, stderr)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
		defer cancel()
		var out, errb syncBuffer
		args := append([]string{"run", "--kafka-servers", b.Servers(), "--topic", "clicks", "--http-addr", "",
			"--commit-interval", "200ms", "--stop-when-idle", "1s", "--drain"}, flags...)
		if code := Main(ctx, args, strings.NewReader(""), &out, &errb); code != 0 {
			t.Fatalf("run: exit %d: %s", code, errb.String())
		}
		if log := errb.String(); strings.Contains(log, s3.SecretKey) || !strings.Contains(log, "static key "+s3.AccessKey) {
			t.Fatalf("run's log shows the secret, or not which key it used:\n%s", log)
		}
		code, text, stderr := runCLI(t, append([]string{"table", "audit", "--json"}, flags...)...)
		var a iceberg.Audit
		if code != 0 || json.Unmarshal([]byte(text), &a) != nil {
			t.Fatalf("audit: exit %d: %s\n%s", code, stderr, text)
		}
		lines := int64(strings.Count(clickLines(day, 6), "\n"))
		if acc := a.Account; acc.Records != lines || !a.Holds || !a.OK || acc.Open != 0 || acc.Sessions == 0 {
			t.Fatalf("audit after run: %+v; want %d records, sessions, nothing open", a.Account, lines)
		}
		names := listObjects(t, s3, "stream/sessionize/checkpoints")
		if len(names) == 0 {
			t.Fatalf("no checkpoint objects in the bucket")
		}
	})

	t.Run("errors", func(t *testing.T) {
		t.Parallel()
		good := s3Flags(t, s3, "errors")
		badSecret := writeFile(t, filepath.Join(t.TempDir(), "bad"), "not-the-secret")
		cases := []struct {
			name string
			args []string
			code int
			want []string
		}{
			{"no catalog", []string{"--warehouse", s3.Warehouse("x"), "--s3-endpoint", s3.Endpoint}, ExitError, []string{"--catalog-uri", "sqlite:///"}},
			{"unknown scheme", []string{"--warehouse", "minio://lake/x"}, ExitError, []string{`unknown scheme "minio"`}},
			{"secret twice", append(append([]string{}, good...), "--s3-secret-access-key", "not-the-secret"), ExitUsage, []string{"give the S3 secret key once"}},
			{"key without secret", []string{"--warehouse", s3.Warehouse("x"), "--s3-access-key-id", "k"}, ExitUsage, []string{"go together"}},
		}
		// The wrong secret alone (not twice): the store refuses it at start.
		wrong := append([]string{}, good[:len(good)-1]...)
		cases = append(cases, struct {
			name string
			args []string
			code int
			want []string
		}{"refused secret", append(wrong, badSecret), ExitError, []string{"cannot write to warehouse s3://lake/errors", "credentials refused", "--s3-secret-access-key"}})
		for _, tc := range cases {
			code, _, stderr := runCLI(t, append([]string{"batch", "--input", in, "--output-table", "sessions"}, tc.args...)...)
			if code != tc.code {
				t.Errorf("%s: exit %d, want %d: %s", tc.name, code, tc.code, stderr)
			}
			for _, w := range tc.want {
				if !strings.Contains(stderr, w) {
					t.Errorf("%s: stderr does not say %q: %s", tc.name, w, stderr)
				}
			}
			if strings.Contains(stderr, "not-the-secret") || strings.Contains(stderr, s3.SecretKey) {
				t.Errorf("%s: stderr shows a secret: %s", tc.name, stderr)
			}
		}
		if _, err := os.Stat("minio:"); err == nil {
			t.Errorf("a local directory minio: was created")
		}
	})
}

// A file:// warehouse is the local directory it names, for every command.
func TestFileURLWarehouse(t *testing.T) {
	t.Parallel()
	dir := filepath.Join(t.TempDir(), "wh")
	in := writeFile(t, filepath.Join(t.TempDir(), "in.jsonl"), clickLines(time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC), 2))
	if code, _, stderr := runCLI(t, "batch", "--input", in, "--output-table", "sessions", "--warehouse", "file://"+dir); code != 0 {
		t.Fatalf("batch: exit %d: %s", code, stderr)
	}
	if _, err := os.Stat(filepath.Join(dir, "catalog.db")); err != nil {
		t.Fatalf("no catalog in the directory the URL names: %v", err)
	}
	for _, w := range []string{"file://" + dir, dir} {
		if code, out, stderr := runCLI(t, "table", "describe", "--warehouse", w); code != 0 || !strings.Contains(out, dir+"/sessionize.db/sessions") {
			t.Fatalf("describe --warehouse %s: exit %d: %s\n%s", w, code, stderr, out)
		}
	}
}

// listObjects lists the objects below prefix in the server's bucket.
func listObjects(t *testing.T, s3 testservers.S3, prefix string) []string {
	t.Helper()
	st, err := storage.Open(t.Context(), s3.Warehouse(prefix), s3.Options())
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	if err := st.Walk(t.Context(), st.Root(), func(loc string, _ fs.FileInfo) error {
		out = append(out, loc)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	return out
}
