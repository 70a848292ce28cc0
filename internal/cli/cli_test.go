package cli

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func runCLI(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errb bytes.Buffer
	code = Main(context.Background(), args, strings.NewReader(""), &out, &errb)
	return code, out.String(), errb.String()
}

const oneEvent = `{"event_id": "a", "page_name": "home", "event_timestamp": "1700000000000", "uuid": "u1"}` + "\n"

func TestBadFlagsExitTwoAndNameTheFlag(t *testing.T) {
	dir := t.TempDir()
	in := filepath.Join(dir, "in.jsonl")
	os.WriteFile(in, []byte(oneEvent), 0o644)
	out := filepath.Join(dir, "out.jsonl")
	cases := []struct {
		name string
		args []string
		want []string
	}{
		{"bad duration", []string{"batch", "-i", in, "-o", out, "--inactivity-timeout", "soon"}, []string{"--inactivity-timeout", "Go duration", "minutes"}},
		{"bad max duration", []string{"batch", "-i", in, "-o", out, "--max-session-duration", "-3"}, []string{"--max-session-duration", "at least 1ms"}},
		{"bad size", []string{"batch", "-i", in, "-o", out, "--memory-limit", "lots"}, []string{"--memory-limit", "512MiB"}},
		{"bad pages", []string{"batch", "-i", in, "-o", out, "--max-pages-per-session", "0"}, []string{"--max-pages-per-session"}},
		{"unknown flag", []string{"batch", "-i", in, "-o", out, "--frobnicate"}, []string{"--frobnicate"}},
		{"no input", []string{"batch", "-o", out}, []string{"--input"}},
		{"no output", []string{"batch", "-i", in}, []string{"--output"}},
		{"bad log level", []string{"batch", "-i", in, "-o", out, "--log-level", "loud"}, []string{"--log-level"}},
		{"bad end rule", []string{"batch", "-i", in, "-o", out, "--end-session-on", "page_name = logout and"},
			[]string{"--end-session-on: expected a field name, exists, not or '(', found end of expression at column 23", "  page_name = logout and\n                        ^"}},
		{"bad start rule", []string{"run", "--kafka-servers", "127.0.0.1:1", "--start-session-on", "page_name in (a b)"},
			[]string{"--start-session-on: expected ',' or ')'", "column 17"}},
		{"negative workers", []string{"batch", "-i", in, "-o", out, "--workers", "-1"}, []string{"--workers must not be negative"}},
		{"ratio above one", []string{"batch", "-i", in, "-o", out, "--max-rejected-ratio", "1.5"}, []string{"--max-rejected-ratio", "from 0 to 1"}},
		{"negative ratio", []string{"batch", "-i", in, "-o", out, "--max-rejected-ratio", "-0.1"}, []string{"--max-rejected-ratio", "from 0 to 1"}},
		// The pipeline reads these zeros as its defaults: taken silently,
		// '--commit-interval 0' committed every 10 s.
		{"zero commit interval", []string{"run", "--kafka-servers", "127.0.0.1:1", "--commit-interval", "0"}, []string{"--commit-interval must be positive"}},
		{"zero commit records", []string{"run", "--kafka-servers", "127.0.0.1:1", "--commit-max-records", "0"}, []string{"--commit-max-records must be positive"}},
		{"zero future skew", []string{"run", "--kafka-servers", "127.0.0.1:1", "--max-future-skew", "0"}, []string{"--max-future-skew must be positive"}},
		{"zero session timeout", []string{"run", "--kafka-servers", "127.0.0.1:1", "--session-timeout", "0"}, []string{"--session-timeout must be positive"}},
		{"negative rebalance timeout", []string{"run", "--kafka-servers", "127.0.0.1:1", "--rebalance-timeout", "-1s"}, []string{"--rebalance-timeout must be positive"}},
		{"negative lateness", []string{"run", "--kafka-servers", "127.0.0.1:1", "--allowed-lateness", "-1m"}, []string{"--allowed-lateness must not be negative"}},
		{"negative maintenance", []string{"run", "--kafka-servers", "127.0.0.1:1", "--maintain-every", "-1m"}, []string{"--maintain-every must not be negative"}},
		// batch would read the JSON lines as the name's format, and fail.
		{"produce to a Parquet name", []string{"produce", "--events", "10", "-o", filepath.Join(dir, "events.parquet")},
			[]string{"--output", "events.parquet", "writes JSON lines", "parquet", ".jsonl"}},
		{"produce to a CSV name", []string{"produce", "--events", "10", "-o", filepath.Join(dir, "events.csv.gz")},
			[]string{"--output", "events.csv.gz", "writes JSON lines", "csv"}},
		{"produce a CSV file to Kafka", []string{"produce", "--kafka-servers", "127.0.0.1:1", "--input", filepath.Join(dir, "events.csv")},
			[]string{"--input", "events.csv", "JSON lines file", "csv"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			code, _, stderr := runCLI(t, tc.args...)
			if code != ExitUsage {
				t.Fatalf("exit %d, want %d; stderr: %s", code, ExitUsage, stderr)
			}
			for _, w := range tc.want {
				if !strings.Contains(stderr, w) {
					t.Errorf("stderr %q does not mention %q", stderr, w)
				}
			}
			if entries, _ := os.ReadDir(dir); len(entries) != 1 {
				t.Errorf("files left behind: %v", entries)
			}
		})
	}
}

func TestBadInputFilesFailCleanly(t *testing.T) {
	dir := t.TempDir()
	out := filepath.Join(dir, "out.jsonl")
	cases := []struct {
		name  string
		input string
		want  string
	}{
		{"missing file", filepath.Join(dir, "nope.jsonl"), "no such file"},
		{"glob without match", filepath.Join(dir, "*.csv"), "no file matches"},
		{"directory", dir, "not a regular file"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			code, _, stderr := runCLI(t, "batch", "-i", tc.input, "-o", out)
			if code != ExitError {
				t.Fatalf("exit %d, want %d; stderr: %s", code, ExitError, stderr)
			}
			if !strings.Contains(stderr, tc.want) || !strings.Contains(stderr, tc.input) {
				t.Errorf("stderr %q should name %q and say %q", stderr, tc.input, tc.want)
			}
			entries, _ := os.ReadDir(dir)
			for _, e := range entries {
				if strings.Contains(e.Name(), "out") {
					t.Errorf("left %s behind", e.Name())
				}
			}
		})
	}
}

func TestOutputDirectoryMissing(t *testing.T) {
	dir := t.TempDir()
	in := filepath.Join(dir, "in.jsonl")
	os.WriteFile(in, []byte(oneEvent), 0o644)
	code, _, stderr := runCLI(t, "batch", "-i", in, "-o", filepath.Join(dir, "no", "such", "dir", "out.jsonl"))
	if code != ExitError || !strings.Contains(stderr, "create output") {
		t.Fatalf("exit %d, stderr %q", code, stderr)
	}
}

func TestDurationsAcceptBareNumbersAndEnvironment(t *testing.T) {
	// Two events 10 minutes apart: one session with a 30m timeout, two
	// with 5 (bare number = minutes), including when set from the env.
	dir := t.TempDir()
	in := filepath.Join(dir, "in.jsonl")
	os.WriteFile(in, []byte(oneEvent+`{"event_id": "b", "page_name": "x", "event_timestamp": "1700000600000", "uuid": "u1"}`+"\n"), 0o644)
	count := func(args ...string) int {
		t.Helper()
		out := filepath.Join(dir, "out.jsonl")
		code, _, stderr := runCLI(t, append([]string{"batch", "-q", "-i", in, "-o", out}, args...)...)
		if code != 0 {
			t.Fatalf("exit %d: %s", code, stderr)
		}
		b, _ := os.ReadFile(out)
		return strings.Count(string(b), "\n")
	}
	if n := count(); n != 1 {
		t.Fatalf("default timeout: %d sessions, want 1", n)
	}
	if n := count("--inactivity-timeout", "5"); n != 2 {
		t.Fatalf("--inactivity-timeout 5: %d sessions, want 2", n)
	}
	if n := count("--inactivity-timeout", "9m59s"); n != 2 {
		t.Fatalf("--inactivity-timeout 9m59s: %d sessions, want 2", n)
	}
	t.Setenv("SESSIONIZE_INACTIVITY_TIMEOUT", "5")
	if n := count(); n != 2 {
		t.Fatalf("SESSIONIZE_INACTIVITY_TIMEOUT=5: %d sessions, want 2", n)
	}
	if n := count("--inactivity-timeout", "30m"); n != 1 {
		t.Fatalf("flag must win over env: %d sessions, want 1", n)
	}
	t.Setenv("SESSIONIZE_MAX_SESSION_DURATION", "nonsense")
	code, _, stderr := runCLI(t, "batch", "-i", in, "-o", filepath.Join(dir, "x.jsonl"))
	if code != ExitUsage || !strings.Contains(stderr, "SESSIONIZE_MAX_SESSION_DURATION") {
		t.Fatalf("bad env value: exit %d, stderr %q", code, stderr)
	}
}

func TestUnitDurationParsing(t *testing.T) {
	cases := []struct {
		in   string
		unit time.Duration
		want time.Duration
		ok   bool
	}{
		{"30", time.Minute, 30 * time.Minute, true},
		{"0.5", time.Hour, 30 * time.Minute, true},
		{"1h30m", time.Hour, 90 * time.Minute, true},
		{"90s", time.Minute, 90 * time.Second, true},
		{"0", time.Minute, 0, false},
		{"-1m", time.Minute, 0, false},
		{"1e300", time.Hour, 0, false},
		{"NaN", time.Hour, 0, false},
		{"", time.Hour, 0, false},
	}
	for _, tc := range cases {
		var d time.Duration
		err := newUnitDuration(&d, time.Second, tc.unit, "units").Set(tc.in)
		if (err == nil) != tc.ok || (tc.ok && d != tc.want) {
			t.Errorf("%q: got %v, %v; want %v ok=%v", tc.in, d, err, tc.want, tc.ok)
		}
	}
}

func TestVersionAndHelp(t *testing.T) {
	if code, out, _ := runCLI(t, "--version"); code != 0 || !strings.Contains(out, Version) {
		t.Fatalf("--version: %d %q", code, out)
	}
	code, out, _ := runCLI(t, "batch", "--help")
	if code != 0 || !strings.Contains(out, "--carry-open") || !strings.Contains(out, "SESSIONIZE_") && !strings.Contains(out, "Example") {
		t.Fatalf("batch --help: %d %q", code, out)
	}
}

// TestInterruptedCommandSaysSo: a command stopped by a signal (its context
// cancelled) says it was interrupted, not "context canceled", and exits 1
// without output.
func TestInterruptedCommandSaysSo(t *testing.T) {
	dir := t.TempDir()
	in := filepath.Join(dir, "in.jsonl")
	os.WriteFile(in, []byte(oneEvent), 0o644)
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	var out, errb bytes.Buffer
	code := Main(ctx, []string{"batch", "-i", in, "-o", filepath.Join(dir, "out.jsonl")}, strings.NewReader(""), &out, &errb)
	if code != ExitError || !strings.Contains(errb.String(), "interrupted before the command finished") || strings.Contains(errb.String(), "context canceled") {
		t.Fatalf("exit %d, stderr %q", code, errb.String())
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 1 {
		t.Fatalf("files left behind: %v", entries)
	}
}
