package iceberg

import (
	"context"
	"database/sql"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestPostgresCatalog runs the catalog suite against a real PostgreSQL
// server started for the test (see startPostgres).
func TestPostgresCatalog(t *testing.T) {
	t.Parallel()
	uri := startPostgres(t)
	for _, tc := range catalogSuite {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			// One database for all subtests; each gets its own
			// namespace, as separate deployments sharing a server would.
			tc.run(t, Config{Warehouse: t.TempDir(), CatalogURI: uri, Namespace: "t_" + strings.ToLower(tc.name)})
		})
	}
}

// startPostgres starts a throwaway PostgreSQL server from the binaries of
// Debian's postgresql package, on a free local port with its unix socket in
// the server's temp dir, creates a database and returns its URI. The server
// is stopped and its files removed when the test ends.
//
// Without the binaries the test is skipped, or fails when CI is set (CI
// must install postgresql). As root, the server runs as the "postgres"
// user, since PostgreSQL refuses to run as root.
func startPostgres(t *testing.T) string {
	t.Helper()
	bin := postgresBinDir()
	if bin == "" {
		msg := "PostgreSQL server binaries not found under /usr/lib/postgresql/*/bin (apt-get install postgresql)"
		if os.Getenv("CI") != "" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}

	runAs, owner := postgresRunner(t)
	// t.TempDir's parents are private to root; the server user needs its
	// own reachable directory.
	dir, err := os.MkdirTemp("", "sessionize-pg-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = os.RemoveAll(dir) })
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	data, sock, logFile := filepath.Join(dir, "data"), filepath.Join(dir, "sock"), filepath.Join(dir, "server.log")
	for _, d := range []string{data, sock} {
		if err := os.Mkdir(d, 0o700); err != nil {
			t.Fatal(err)
		}
	}
	if owner != nil {
		for _, p := range []string{dir, data, sock} {
			if err := os.Chown(p, owner[0], owner[1]); err != nil {
				t.Fatal(err)
			}
		}
	}

	run := func(name string, args ...string) {
		t.Helper()
		cmd := runAs(filepath.Join(bin, name), args...)
		if out, err := cmd.CombinedOutput(); err != nil {
			logs, _ := os.ReadFile(logFile)
			t.Fatalf("%s %v: %v\n%s\nserver log:\n%s", name, args, err, out, logs)
		}
	}
	run("initdb", "-D", data, "-U", "postgres", "-A", "trust", "-E", "UTF8", "--no-sync", "--no-instructions")
	port := freePort(t)
	// fsync off: a test server needs no durability, and it keeps the
	// suite fast.
	opts := fmt.Sprintf("-p %d -k %s -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off -c full_page_writes=off", port, sock)
	run("pg_ctl", "-D", data, "-l", logFile, "-o", opts, "-w", "-t", "30", "start")
	t.Cleanup(func() {
		cmd := runAs(filepath.Join(bin, "pg_ctl"), "-D", data, "-m", "fast", "-w", "stop")
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Logf("stopping postgres: %v\n%s", err, out)
		}
	})

	admin, err := sql.Open(postgresDriver, fmt.Sprintf("postgres://postgres@127.0.0.1:%d/postgres?sslmode=disable", port))
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if _, err := admin.ExecContext(ctx, "CREATE DATABASE sessionize_test"); err != nil {
		t.Fatalf("create database: %v", err)
	}
	return fmt.Sprintf("postgres://postgres@127.0.0.1:%d/sessionize_test?sslmode=disable", port)
}

// postgresBinDir returns the bin directory of the newest installed
// PostgreSQL server, or "".
func postgresBinDir() string {
	matches, _ := filepath.Glob("/usr/lib/postgresql/*/bin/initdb")
	slices.SortFunc(matches, func(a, b string) int {
		va, _ := strconv.Atoi(filepath.Base(filepath.Dir(filepath.Dir(a))))
		vb, _ := strconv.Atoi(filepath.Base(filepath.Dir(filepath.Dir(b))))
		return va - vb
	})
	for i := len(matches) - 1; i >= 0; i-- {
		dir := filepath.Dir(matches[i])
		if _, err := os.Stat(filepath.Join(dir, "pg_ctl")); err == nil {
			return dir
		}
	}
	return ""
}

// postgresRunner returns how to run a server command and, when running as
// root, the uid/gid that must own the server's directories.
func postgresRunner(t *testing.T) (func(name string, args ...string) *exec.Cmd, []int) {
	if os.Geteuid() != 0 {
		return exec.Command, nil
	}
	u, err := user.Lookup("postgres")
	if err != nil {
		t.Fatalf("running as root needs the postgres user (created by the postgresql package): %v", err)
	}
	uid, _ := strconv.Atoi(u.Uid)
	gid, _ := strconv.Atoi(u.Gid)
	runuser, err := exec.LookPath("runuser")
	if err != nil {
		t.Fatalf("running as root needs runuser to start postgres as %s: %v", u.Username, err)
	}
	return func(name string, args ...string) *exec.Cmd {
		return exec.Command(runuser, append([]string{"-u", u.Username, "--", name}, args...)...)
	}, []int{uid, gid}
}

func freePort(t *testing.T) int {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}
