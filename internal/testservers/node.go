package testservers

import (
	"os"
	"os/exec"
	"path/filepath"
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
