package cli

import (
	"os"
	"path/filepath"
	"runtime/debug"
	"strings"
	"testing"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

// TestEnvironmentIsScopedToTheCommand: SESSIONIZE_OUTPUT=x.parquet made
// produce write JSON lines into x.parquet. A flag that differs between
// commands is set by SESSIONIZE_<COMMAND>_<FLAG> only, and the unscoped
// variable is named in a warning, not used.
func TestEnvironmentIsScopedToTheCommand(t *testing.T) {
	dir := t.TempDir()
	t.Chdir(dir)
	if err := os.WriteFile("in.jsonl", []byte(oneEvent), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Setenv("SESSIONIZE_OUTPUT", "x.parquet")
	code, stdout, stderr := runCLI(t, "produce", "--events", "20", "--num-users", "5")
	if code != 0 {
		t.Fatalf("produce: exit %d: %s", code, stderr)
	}
	if _, err := os.Stat("x.parquet"); !os.IsNotExist(err) {
		t.Fatal("produce wrote its events to SESSIONIZE_OUTPUT")
	}
	if strings.Count(stdout, "\n") != 20 {
		t.Errorf("produce did not write its 20 records to stdout: %q", stdout)
	}
	if !strings.Contains(stderr, "SESSIONIZE_OUTPUT is set but not used") || !strings.Contains(stderr, "SESSIONIZE_PRODUCE_OUTPUT") {
		t.Errorf("no warning naming SESSIONIZE_OUTPUT and SESSIONIZE_PRODUCE_OUTPUT: %q", stderr)
	}

	t.Setenv("SESSIONIZE_PRODUCE_OUTPUT", "events.jsonl")
	t.Setenv("SESSIONIZE_BATCH_OUTPUT", "sessions.parquet")
	if code, _, stderr := runCLI(t, "produce", "--events", "20", "--num-users", "5"); code != 0 {
		t.Fatalf("produce: exit %d: %s", code, stderr)
	}
	if code, _, stderr := runCLI(t, "batch", "-i", "events.jsonl"); code != 0 {
		t.Fatalf("batch: exit %d: %s", code, stderr)
	}
	for _, f := range []string{"events.jsonl", "sessions.parquet"} {
		if _, err := os.Stat(f); err != nil {
			t.Errorf("%s not written from its command's variable: %v", f, err)
		}
	}
	if b, _ := os.ReadFile("sessions.parquet"); !strings.HasPrefix(string(b), "PAR1") {
		t.Errorf("sessions.parquet is not Parquet")
	}

	// A shared flag's variable still applies to every command; one set for
	// run does not turn "produce -o FILE" into a send to Kafka.
	t.Setenv("SESSIONIZE_KAFKA_SERVERS", "127.0.0.1:1")
	if code, _, stderr := runCLI(t, "produce", "--events", "20", "--num-users", "5", "-o", "file.jsonl"); code != 0 {
		t.Fatalf("produce -o with SESSIONIZE_KAFKA_SERVERS: exit %d: %s", code, stderr)
	}
	if _, err := os.Stat("file.jsonl"); err != nil {
		t.Fatalf("produce -o with SESSIONIZE_KAFKA_SERVERS: %v", err)
	}
}

// TestEnvironmentNamesAreUnique: no two flags that mean different things
// share a variable, and every shared flag exists.
func TestEnvironmentNamesAreUnique(t *testing.T) {
	root := newRoot(&env{})
	owner := map[string]string{} // variable -> flag name
	where := map[string]string{} // variable -> first command
	seen := map[string]bool{}
	var walk func(c *cobra.Command)
	walk = func(c *cobra.Command) {
		visit := func(f *pflag.Flag) {
			if f.Name == "help" {
				return
			}
			seen[f.Name] = true
			name := envNameFor(c, f.Name)
			if prev, ok := owner[name]; ok && (prev != f.Name || !sharedFlag(f.Name)) && where[name] != c.CommandPath() {
				t.Errorf("%s is both --%s of %s and --%s of %s", name, prev, where[name], f.Name, c.CommandPath())
			}
			owner[name], where[name] = f.Name, c.CommandPath()
			if !sharedFlag(f.Name) && c.HasParent() && !strings.HasPrefix(name, envName(strings.TrimPrefix(c.CommandPath(), "sessionize ")+" ")) {
				t.Errorf("--%s of %s: %s does not name the command", f.Name, c.CommandPath(), name)
			}
		}
		c.LocalNonPersistentFlags().VisitAll(visit)
		if !c.HasParent() {
			c.PersistentFlags().VisitAll(visit)
		}
		for _, s := range c.Commands() {
			walk(s)
		}
	}
	walk(root)
	for _, f := range sharedFlags() {
		if !seen[f] {
			t.Errorf("shared flag --%s is in no command", f)
		}
	}
	if got := envNameFor(findCmd(t, root, "table", "maintain"), "retain-last"); got != "SESSIONIZE_TABLE_MAINTAIN_RETAIN_LAST" {
		t.Errorf("table maintain --retain-last: %s", got)
	}
}

func findCmd(t *testing.T, root *cobra.Command, path ...string) *cobra.Command {
	t.Helper()
	c, _, err := root.Find(path)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// TestReadOnlyCommandsLogNoInfo: report and table describe logged INFO
// lines ("iceberg warehouse open") on every call. Read-only commands log
// warnings only unless --log-level is given; -q does that for any command
// and also drops the summary.
func TestReadOnlyCommandsLogNoInfo(t *testing.T) {
	wh := pipelineWarehouse(t)
	for _, args := range [][]string{
		{"table", "describe", "--warehouse", wh},
		{"report", "--warehouse", wh},
		{"table", "sessions", "--warehouse", wh, "--uuid", "u1"},
	} {
		code, stdout, stderr := runCLI(t, args...)
		if code != 0 || stdout == "" {
			t.Fatalf("%v: exit %d: %s", args, code, stderr)
		}
		if strings.Contains(stderr, "level=INFO") {
			t.Errorf("%v logs INFO lines: %s", args, stderr)
		}
		code, _, stderr = runCLI(t, append(args, "--log-level", "info")...)
		if code != 0 || !strings.Contains(stderr, "level=INFO") {
			t.Errorf("%v --log-level info: exit %d, no INFO lines: %q", args, code, stderr)
		}
	}

	dir := t.TempDir()
	in := filepath.Join(dir, "in.jsonl")
	os.WriteFile(in, []byte(oneEvent), 0o644)
	args := []string{"batch", "-i", in, "--output-table", "sessions", "--warehouse", filepath.Join(dir, "wh"), "-o", filepath.Join(dir, "s.jsonl")}
	code, _, stderr := runCLI(t, args...)
	if code != 0 || !strings.Contains(stderr, "records") {
		t.Fatalf("batch: exit %d, no summary: %s", code, stderr)
	}
	if code, _, stderr := runCLI(t, append([]string{"-q"}, args...)...); code != 0 || stderr != "" {
		t.Errorf("batch -q: exit %d, stderr %q; want nothing", code, stderr)
	}
}

func TestVersionFromBuildInfo(t *testing.T) {
	bi := &debug.BuildInfo{GoVersion: "go1.26.0", Main: debug.Module{Path: "github.com/sessionize/sessionize", Version: "v0.4.0"},
		Settings: []debug.BuildSetting{{Key: "vcs.revision", Value: "59340e2c1a2b3c4d5e6f"}, {Key: "vcs.time", Value: "2026-12-01T23:10:00Z"}, {Key: "vcs.modified", Value: "true"}}}
	cases := []struct {
		name, version, built string
		bi                   *debug.BuildInfo
		want                 string
	}{
		{"module and vcs", "dev", "", bi, "v0.4.0 (commit 59340e2c1a2b, committed 2026-12-01T23:10:00Z, with uncommitted changes, go1.26.0)"},
		{"ldflags win", "v9.9.9", "2026-12-02T01:00:00Z", bi, "v9.9.9 (commit 59340e2c1a2b, committed 2026-12-01T23:10:00Z, with uncommitted changes, built 2026-12-02T01:00:00Z, go1.26.0)"},
		{"devel build", "dev", "", &debug.BuildInfo{GoVersion: "go1.26.0", Main: debug.Module{Version: "(devel)"},
			Settings: []debug.BuildSetting{{Key: "vcs.revision", Value: "abc"}, {Key: "vcs.modified", Value: "false"}}}, "dev (commit abc, go1.26.0)"},
		{"no build info", "dev", "", nil, "dev"},
	}
	for _, tc := range cases {
		if got := versionString(tc.version, tc.built, tc.bi); got != tc.want {
			t.Errorf("%s: %q, want %q", tc.name, got, tc.want)
		}
	}
}
