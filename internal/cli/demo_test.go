package cli

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestDemoKeepsAWarehouseItDidNotMake: demo --dir . used to delete an
// existing ./warehouse (say, the one sessionize run writes by default)
// without asking.
func TestDemoKeepsAWarehouseItDidNotMake(t *testing.T) {
	dir := t.TempDir()
	wh := filepath.Join(dir, "warehouse")
	if err := os.MkdirAll(filepath.Join(wh, "sessionize.db"), 0o755); err != nil {
		t.Fatal(err)
	}
	mine := filepath.Join(wh, "catalog.db")
	if err := os.WriteFile(mine, []byte("the user's catalog"), 0o644); err != nil {
		t.Fatal(err)
	}
	demo := func(extra ...string) (int, string, string) {
		return runCLI(t, append([]string{"demo", "--dir", dir, "--events", "3000", "--num-users", "200",
			"--partitions", "2", "--show", "1", "--http-addr", ""}, extra...)...)
	}

	code, _, stderr := demo()
	if code != ExitUsage {
		t.Fatalf("exit %d, want %d; stderr: %s", code, ExitUsage, stderr)
	}
	for _, w := range []string{wh, "not made by sessionize demo", "catalog.db", "sessionize.db/", "--force", "--dir"} {
		if !strings.Contains(stderr, w) {
			t.Errorf("stderr %q does not say %q", stderr, w)
		}
	}
	if b, err := os.ReadFile(mine); err != nil || string(b) != "the user's catalog" {
		t.Fatalf("the user's file is gone or changed: %q, %v", b, err)
	}

	// --force replaces it; the demo's own warehouse is then replaced on the
	// next run without --force.
	if code, _, stderr := demo("--force"); code != 0 {
		t.Fatalf("--force: exit %d: %s", code, stderr)
	}
	if b, _ := os.ReadFile(mine); string(b) == "the user's catalog" {
		t.Fatal("--force kept the old warehouse")
	}
	if _, err := os.Stat(filepath.Join(wh, demoMarker)); err != nil {
		t.Fatalf("no marker in the demo's warehouse: %v", err)
	}
	if code, out, stderr := demo(); code != 0 || !strings.Contains(out, "nothing lost") {
		t.Fatalf("second run over the demo's own warehouse: exit %d: %s\n%s", code, stderr, out)
	}

	// A file where the warehouse would go is not replaced either.
	other := t.TempDir()
	if err := os.WriteFile(filepath.Join(other, "warehouse"), []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	code, _, stderr = runCLI(t, "demo", "--dir", other, "--http-addr", "")
	if code != ExitUsage || !strings.Contains(stderr, "not a directory") {
		t.Fatalf("file in the way: exit %d, stderr %q", code, stderr)
	}
}
