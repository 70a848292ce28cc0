package cli

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestOutputOnAnInputIsRefused: an output on an input (or on another
// output) would replace the user's data when it is renamed into place; the
// command must refuse before reading anything, exit 2, and name both flags
// and the path.
func TestOutputOnAnInputIsRefused(t *testing.T) {
	dir := t.TempDir()
	t.Chdir(dir)
	events := oneEvent + `{"event_id": "b", "page_name": "x", "event_timestamp": "1700000600000", "uuid": "u1"}` + "\n"
	if err := os.WriteFile("events.jsonl", []byte(events), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("events.jsonl", "link.jsonl"); err != nil {
		t.Fatal(err)
	}
	// A sessions file for report.
	if code, _, stderr := runCLI(t, "batch", "-q", "-i", "events.jsonl", "-o", "sessions.jsonl", "--summary-json", "summary.json"); code != 0 {
		t.Fatalf("batch: exit %d: %s", code, stderr)
	}
	cases := []struct {
		name string
		args []string
		want []string
	}{
		{"batch output is the input", []string{"batch", "-i", "events.jsonl", "-o", "events.jsonl"}, []string{"--output", "--input", "events.jsonl"}},
		{"batch output is ./input", []string{"batch", "-i", "events.jsonl", "-o", "./events.jsonl"}, []string{"--output ./events.jsonl", "--input events.jsonl"}},
		{"batch output is a glob's match", []string{"batch", "-i", "*.jsonl", "-o", "sessions.jsonl"}, []string{"--output", "--input", "sessions.jsonl"}},
		{"batch rejected is a symlink to the input", []string{"batch", "-i", "events.jsonl", "-o", "s.jsonl", "--rejected", "link.jsonl"}, []string{"--rejected link.jsonl", "--input events.jsonl"}},
		{"batch summary is the input", []string{"batch", "-i", "events.jsonl", "-o", "s.jsonl", "--summary-json", "events.jsonl"}, []string{"--summary-json", "--input", "events.jsonl"}},
		{"batch two outputs", []string{"batch", "-i", "events.jsonl", "-o", "s.jsonl", "--rejected", "s.jsonl"}, []string{"--rejected", "--output", "s.jsonl"}},
		{"batch two outputs on stdout", []string{"batch", "-i", "events.jsonl", "-o", "-", "--rejected", "-"}, []string{"--rejected", "--output", "-"}},
		{"batch carry-open is the resume state", []string{"batch", "-i", "events.jsonl", "-o", "s.jsonl", "--resume", "open.state", "--carry-open", "open.state"}, []string{"--carry-open", "--resume", "open.state"}},
		{"batch events are the sessions", []string{"batch", "-i", "events.jsonl", "-o", "s.jsonl", "--output-events", "s.jsonl"}, []string{"--output-events", "--output", "s.jsonl"}},
		{"report html is the input", []string{"report", "--input", "sessions.jsonl", "--html", "sessions.jsonl"}, []string{"--html", "--input", "sessions.jsonl"}},
		{"report html is the summary", []string{"report", "--input", "sessions.jsonl", "--summary", "summary.json", "--html", "./summary.json"}, []string{"--html ./summary.json", "--summary summary.json"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			before := snapshotDir(t)
			code, stdout, stderr := runCLI(t, tc.args...)
			if code != ExitUsage {
				t.Fatalf("exit %d, want %d; stderr: %s", code, ExitUsage, stderr)
			}
			for _, w := range tc.want {
				if !strings.Contains(stderr, w) {
					t.Errorf("stderr %q does not name %q", stderr, w)
				}
			}
			if stdout != "" {
				t.Errorf("wrote to stdout: %q", stdout)
			}
			if after := snapshotDir(t); after != before {
				t.Errorf("files changed:\nbefore %s\nafter  %s", before, after)
			}
		})
	}
	// The same outputs elsewhere work, and /dev/null may be repeated.
	if code, _, stderr := runCLI(t, "batch", "-q", "-i", "events.jsonl", "-o", "s.jsonl", "--rejected", os.DevNull, "--summary-json", os.DevNull); code != 0 {
		t.Fatalf("distinct outputs: exit %d: %s", code, stderr)
	}
}

// snapshotDir is the names and contents of the files in the current
// directory.
func snapshotDir(t *testing.T) string {
	t.Helper()
	entries, err := os.ReadDir(".")
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	for _, e := range entries {
		data, _ := os.ReadFile(filepath.Join(".", e.Name()))
		b.WriteString(e.Name() + "=" + string(data) + ";")
	}
	return b.String()
}
