package testservers

import (
	"bufio"
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"testing"
)

// NodeProject returns the path of node for a test that runs a script of
// the npm project in dir (relative to the test's package), whose packages
// must be installed: module is one of them. Missing, the test is skipped,
// or fails under CI=true, saying how to install them (.ci/run does).
func NodeProject(t testing.TB, dir, module string) string {
	t.Helper()
	node, err := exec.LookPath("node")
	if err == nil {
		_, err = os.Stat(filepath.Join(dir, "node_modules", module))
	}
	if err == nil {
		return node
	}
	abs, _ := filepath.Abs(dir)
	msg := "node or the npm packages of " + dir + " are missing (apt-get install nodejs npm; npm ci --prefix " + abs + "): " + err.Error()
	if os.Getenv("CI") != "" {
		t.Fatal(msg)
	}
	t.Skip(msg)
	return ""
}

// The readers: an npm project (pinned in its package-lock.json; .ci/run
// installs it) of scripts that read what sessionize writes with libraries
// that share no code with its writers, for tests to compare with their
// own reading. iceberg.mjs reads an Iceberg table from its metadata file as
// the table spec says (avsc for Avro, DuckDB for Parquet) and checks what
// engines rely on; parquet.mjs reads a Parquet file with DuckDB. Each
// prints one JSON object per row.
func readersDir() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "readers")
}

// ReadIcebergTable returns the rows of the table whose current metadata
// file is metadataPath, as iceberg.mjs reads them.
func ReadIcebergTable(t testing.TB, ctx context.Context, metadataPath string) []string {
	t.Helper()
	return runReader(t, ctx, "iceberg.mjs", metadataPath)
}

// ReadParquet returns the rows of a Parquet file as DuckDB reads them.
func ReadParquet(t testing.TB, ctx context.Context, path string) []string {
	t.Helper()
	return runReader(t, ctx, "parquet.mjs", path)
}

func runReader(t testing.TB, ctx context.Context, script, arg string) []string {
	t.Helper()
	dir := readersDir()
	node := NodeProject(t, dir, "avsc")
	cmd := exec.CommandContext(ctx, node, script, arg)
	cmd.Dir = dir
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("node %s %s: %v\n%s", script, arg, err, stderr.String())
	}
	var rows []string
	sc := bufio.NewScanner(bytes.NewReader(out))
	sc.Buffer(nil, 16<<20)
	for sc.Scan() {
		rows = append(rows, sc.Text())
	}
	return rows
}
