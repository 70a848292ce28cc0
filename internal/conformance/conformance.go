// Package conformance loads the shared conformance cases
// (../shared/conformance/cases) for the tests of every package that must
// pass them: batch, the stream engine, the pipeline and check.
package conformance

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
)

// Case is one case folder.
type Case struct {
	Name              string
	Dir               string
	Description       string           `json:"description"`
	InactivityMs      int64            `json:"inactivity_timeout_ms"`
	MaxDurationMs     int64            `json:"max_session_duration_ms"`
	AllowedLatenessMs int64            `json:"allowed_lateness_ms"`
	InputRecords      int64            `json:"input_records"`
	Rejected          map[string]int64 `json:"rejected"`
	Duplicates        int64            `json:"duplicates"`
	StreamLateIDs     []string         `json:"stream_late_event_ids"`
}

// Input is the path of the case's input.jsonl.
func (c Case) Input() string { return filepath.Join(c.Dir, "input.jsonl") }

// ExpectedSessions is the path of the case's expected_sessions.jsonl.
func (c Case) ExpectedSessions() string { return filepath.Join(c.Dir, "expected_sessions.jsonl") }

// dir finds the cases: SESSIONIZE_CONFORMANCE_DIR, else shared/ beside the
// repository (the module root is found from the working directory).
func dir() string {
	if d := os.Getenv("SESSIONIZE_CONFORMANCE_DIR"); d != "" {
		return d
	}
	wd, _ := os.Getwd()
	for d := wd; ; d = filepath.Dir(d) {
		if _, err := os.Stat(filepath.Join(d, "go.mod")); err == nil {
			return filepath.Join(filepath.Dir(d), "shared", "conformance", "cases")
		}
		if filepath.Dir(d) == d {
			return filepath.Join(wd, "shared", "conformance", "cases")
		}
	}
}

// Cases loads every case. Without the cases the test skips, except under
// CI, where they must run.
func Cases(t testing.TB) []Case {
	t.Helper()
	root := dir()
	entries, err := os.ReadDir(root)
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("conformance cases not found at %s (set SESSIONIZE_CONFORMANCE_DIR): %v", root, err)
		}
		t.Skipf("conformance cases not found at %s; set SESSIONIZE_CONFORMANCE_DIR to run them", root)
	}
	var cases []Case
	for _, e := range entries {
		if !e.IsDir() {
			continue
		}
		c := Case{Name: e.Name(), Dir: filepath.Join(root, e.Name())}
		b, err := os.ReadFile(filepath.Join(c.Dir, "case.json"))
		if err != nil {
			t.Fatal(err)
		}
		if err := json.Unmarshal(b, &c); err != nil {
			t.Fatalf("%s: %v", c.Dir, err)
		}
		if c.Rejected == nil {
			c.Rejected = map[string]int64{}
		}
		cases = append(cases, c)
	}
	if len(cases) == 0 {
		t.Fatalf("no conformance cases in %s", root)
	}
	return cases
}
