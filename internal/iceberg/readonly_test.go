package iceberg

import (
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strings"
	"testing"
)

// A read-only open writes nothing: not to the catalog (SQLite opened with
// mode=ro refuses writes itself), not to the warehouse directory, and it
// works when the directory cannot be written at all, the WAL catalog
// included (SQLite cannot create its -shm file there). Commits refuse.
func TestOpenReadOnly(t *testing.T) {
	t.Parallel()
	ctx := testCtx(t)
	dir := filepath.Join(t.TempDir(), "wh")
	w := openWarehouse(t, Config{Warehouse: dir})
	s, err := w.Commit(ctx, Commit{Table: TableSessions, Sessions: sampleSessions(5, "ro"), ExpectParentSnapshotID: NoSnapshot})
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	makeReadOnly(t, dir)
	before := dirState(t, dir)

	r, err := OpenReadOnly(ctx, Config{Warehouse: dir}, testLogger(t))
	if err != nil {
		t.Fatalf("OpenReadOnly: %v", err)
	}
	if cur, ok, err := r.Current(ctx, TableSessions); err != nil || !ok || cur.ID != s.ID {
		t.Fatalf("Current = %d, %t, %v; want snapshot %d", cur.ID, ok, err, s.ID)
	}
	if _, err := r.Commit(ctx, Commit{Table: TableSessions, ExpectParentSnapshotID: s.ID}); err == nil || !strings.Contains(err.Error(), "read-only") {
		t.Fatalf("Commit on a read-only warehouse: err = %v", err)
	}
	// Even a write that bypasses the Warehouse is refused by SQLite.
	if _, err := r.conn.(*sqlConn).db.ExecContext(ctx, "CREATE TABLE sessionize_probe (a INTEGER)"); err == nil {
		t.Fatal("the read-only SQLite catalog accepted a CREATE TABLE")
	}
	if err := r.Close(); err != nil {
		t.Fatal(err)
	}
	if after := dirState(t, dir); after != before {
		t.Fatalf("a read-only open changed the warehouse:\nbefore\n%s\nafter\n%s", before, after)
	}
	if os.Geteuid() == 0 {
		// Root writes through any permission bits; a read-only directory
		// is only read-only for another user.
		runAsNobody(t, "TestReadOnlyHelper", "SESSIONIZE_RO_WAREHOUSE="+dir, fmt.Sprintf("SESSIONIZE_RO_SNAPSHOT=%d", s.ID))
	}
}

// TestReadOnlyHelper is TestOpenReadOnly's reader in a process of a user
// who cannot write the warehouse; it does nothing on its own.
func TestReadOnlyHelper(t *testing.T) {
	dir := os.Getenv("SESSIONIZE_RO_WAREHOUSE")
	if dir == "" {
		t.Skip("run by TestOpenReadOnly")
	}
	ctx := testCtx(t)
	r, err := OpenReadOnly(ctx, Config{Warehouse: dir}, testLogger(t))
	if err != nil {
		t.Fatalf("OpenReadOnly as uid %d: %v", os.Geteuid(), err)
	}
	defer r.Close()
	cur, ok, err := r.Current(ctx, TableSessions)
	if err != nil || !ok || fmt.Sprint(cur.ID) != os.Getenv("SESSIONIZE_RO_SNAPSHOT") {
		t.Fatalf("Current = %d, %t, %v", cur.ID, ok, err)
	}
	rows, err := r.ReadSessions(ctx)
	if err != nil || len(rows) != 5 {
		t.Fatalf("ReadSessions: %d rows, %v", len(rows), err)
	}
}

// Where nothing was written, a read-only open says so and creates nothing;
// where the catalog is but the tables are not (another namespace), too.
func TestOpenReadOnlyNothingThere(t *testing.T) {
	t.Parallel()
	ctx := testCtx(t)
	dir := filepath.Join(t.TempDir(), "none")
	_, err := OpenReadOnly(ctx, Config{Warehouse: dir}, nil)
	if err == nil || !strings.Contains(err.Error(), "no warehouse at "+dir) {
		t.Fatalf("OpenReadOnly of nothing: err = %v", err)
	}
	if _, err := OpenExisting(ctx, Config{Warehouse: dir}, nil); err == nil {
		t.Fatal("OpenExisting of nothing succeeded")
	}
	if _, serr := os.Stat(dir); !os.IsNotExist(serr) {
		t.Fatalf("a failed read-only open created %s (%v)", dir, serr)
	}

	wh := t.TempDir()
	openWarehouse(t, Config{Warehouse: wh})
	_, err = OpenReadOnly(ctx, Config{Warehouse: wh, Namespace: "elsewhere"}, nil)
	if err == nil || !strings.Contains(err.Error(), "no table elsewhere.") {
		t.Fatalf("OpenReadOnly of a missing namespace: err = %v", err)
	}
	if _, err := OpenExisting(ctx, Config{Warehouse: wh, Namespace: "elsewhere"}, nil); err == nil || !strings.Contains(err.Error(), "no table elsewhere.") {
		t.Fatalf("OpenExisting of a missing namespace: err = %v", err)
	}
}

// makeReadOnly takes write permission off dir and everything in it, and
// gives it back when the test ends (so that it can be removed).
func makeReadOnly(t *testing.T, dir string) {
	t.Helper()
	chmodAll := func(f func(fs.FileMode) fs.FileMode) {
		err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			st, err := os.Stat(p)
			if err != nil {
				return err
			}
			return os.Chmod(p, f(st.Mode().Perm()))
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	chmodAll(func(m fs.FileMode) fs.FileMode { return m &^ 0o222 })
	t.Cleanup(func() { chmodAll(func(m fs.FileMode) fs.FileMode { return m | 0o200 }) })
	// The other user's process must reach dir.
	for p := filepath.Dir(dir); p != "/"; p = filepath.Dir(p) {
		if st, err := os.Stat(p); err == nil && st.Mode().Perm()&0o005 != 0o005 {
			if err := os.Chmod(p, st.Mode().Perm()|0o005); err != nil {
				t.Fatal(err)
			}
		}
	}
}

// dirState lists every entry under dir with its size, mode and mtime,
// but for SQLite's -wal and -shm files: a read-only connection creates
// them (empty) where it can, to coordinate with writers.
func dirState(t *testing.T, dir string) string {
	t.Helper()
	var b strings.Builder
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if strings.HasSuffix(p, ".db-wal") || strings.HasSuffix(p, ".db-shm") {
			return nil
		}
		st, err := d.Info()
		if err != nil {
			return err
		}
		if d.IsDir() { // its mtime moves with the -wal and -shm files
			fmt.Fprintf(&b, "%s %s\n", p, st.Mode())
			return nil
		}
		fmt.Fprintf(&b, "%s %d %s %d\n", p, st.Size(), st.Mode(), st.ModTime().UnixNano())
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return b.String()
}

// runAsNobody runs one test of this test binary as user nobody, with env
// added, and fails if it fails.
func runAsNobody(t *testing.T, test string, env ...string) {
	t.Helper()
	if _, err := user.Lookup("nobody"); err != nil {
		t.Fatalf("no user nobody to read as: %v", err)
	}
	runuser, err := exec.LookPath("runuser")
	if err != nil {
		t.Fatalf("runuser (util-linux) is needed to read as another user: %v", err)
	}
	// The test binary's own directory may be private: copy it.
	dir, err := os.MkdirTemp("", "sessionize-ro-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = os.RemoveAll(dir) })
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(dir, "iceberg.test")
	src, err := os.Open(os.Args[0])
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	dst, err := os.OpenFile(bin, os.O_CREATE|os.O_WRONLY, 0o755)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.Copy(dst, src); err != nil {
		t.Fatal(err)
	}
	if err := dst.Close(); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(runuser, "-u", "nobody", "--", bin, "-test.run=^"+test+"$", "-test.v")
	cmd.Dir = dir
	cmd.Env = append(append(os.Environ(), "HOME="+dir, "TMPDIR="+dir), env...)
	out, err := cmd.CombinedOutput()
	if err != nil || !strings.Contains(string(out), "--- PASS: "+test) {
		t.Fatalf("%s as nobody: %v\n%s", test, err, out)
	}
}

// testReadOnly: on every catalog a read-only open sees what a writer
// committed and refuses to commit; the SQL catalogs refuse a write even
// past the Warehouse (SQLite mode=ro, PostgreSQL read-only sessions).
func testReadOnly(t *testing.T, cfg Config) {
	ctx := testCtx(t)
	w := openWarehouse(t, cfg)
	s, err := w.Commit(ctx, Commit{Table: TableLate, Late: sampleLate(3), ExpectParentSnapshotID: NoSnapshot})
	if err != nil {
		t.Fatal(err)
	}
	r, err := OpenReadOnly(ctx, cfg, testLogger(t))
	if err != nil {
		t.Fatalf("OpenReadOnly: %v", err)
	}
	defer r.Close()
	if got := mustCurrentID(t, r, TableLate); got != s.ID {
		t.Fatalf("read-only open sees snapshot %d, want %d", got, s.ID)
	}
	if _, err := r.Commit(ctx, Commit{Table: TableLate, ExpectParentSnapshotID: s.ID}); err == nil || !strings.Contains(err.Error(), "read-only") {
		t.Fatalf("Commit on a read-only open: err = %v", err)
	}
	if sc, ok := r.conn.(*sqlConn); ok {
		if _, err := sc.db.ExecContext(ctx, "CREATE TABLE sessionize_probe (a INTEGER)"); err == nil {
			t.Fatalf("the read-only %s catalog accepted a CREATE TABLE", r.CatalogKind())
		}
	}
	if got := mustCurrentID(t, w, TableLate); got != s.ID {
		t.Fatalf("the table moved to %d", got)
	}
}
