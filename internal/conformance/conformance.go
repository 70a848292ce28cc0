// Package conformance loads the conformance cases for the tests of every
// package that must pass them: batch, the stream engine, the pipeline and
// check. The cases in the repository (testdata/conformance/cases) always
// run; the shared cases (../shared/conformance/cases, or
// SESSIONIZE_CONFORMANCE_DIR) run too when present, and where both hold a
// case of the same name the shared one, the upstream, is used.
package conformance

import (
	"encoding/json"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"testing"

	"github.com/sessionize/sessionize/internal/event"
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

	// The event schema to read the input with, as the flags of the same
	// names give it; all optional (absent: today's defaults). A null or
	// absent event_id_field is the default; "" means no event id.
	UserFields   []string `json:"user_fields"`
	EventIDField *string  `json:"event_id_field"`
	TimeField    string   `json:"time_field"`
	TimeFormat   string   `json:"time_format"`
	Timezone     string   `json:"timezone"`
	PageField    *string  `json:"page_field"`
}

// Input is the path of the case's input.jsonl.
func (c Case) Input() string { return filepath.Join(c.Dir, "input.jsonl") }

// ExpectedSessions is the path of the case's expected_sessions.jsonl.
func (c Case) ExpectedSessions() string { return filepath.Join(c.Dir, "expected_sessions.jsonl") }

// Schema is the event schema the case's input is read with.
func (c Case) Schema() (event.Schema, error) {
	tf, err := event.ParseTimeFormat(c.TimeFormat, c.Timezone)
	if err != nil {
		return event.Schema{}, fmt.Errorf("case %s: %w", c.Name, err)
	}
	id, tm, page := event.DefaultEventIDField, event.DefaultTimeField, event.DefaultPageField
	if c.EventIDField != nil {
		id = *c.EventIDField
	}
	if c.TimeField != "" {
		tm = c.TimeField
	}
	if c.PageField != nil {
		page = *c.PageField
	}
	s, err := event.NewSchema(c.UserFields, id, tm, page, tf)
	if err != nil {
		return event.Schema{}, fmt.Errorf("case %s: %w", c.Name, err)
	}
	return s, nil
}

// MustSchema is Schema for tests: a bad case fails t.
func (c Case) MustSchema(t testing.TB) event.Schema {
	t.Helper()
	s, err := c.Schema()
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// CheckRejected compares rejected counts by reason with the case's. A case
// may name a reason by its name before reasons were split by cause
// (missing_uuid, bad_timestamp: the shared cases do); then the counts of
// the reasons that replaced it are summed.
func (c Case) CheckRejected(got map[string]int64) error {
	want := map[string]int64{}
	for name, n := range c.Rejected {
		if n != 0 {
			want[name] = n
		}
	}
	folded := map[string]int64{}
	for name, n := range got {
		if n != 0 {
			folded[name] = n
		}
	}
	for name := range want {
		parts := event.LegacyReasons[name]
		if slices.ContainsFunc(parts, func(p string) bool { _, named := want[p]; return p != name && named }) {
			continue // a case in today's names (missing_event_id is both)
		}
		for _, part := range parts {
			if n, ok := folded[part]; ok && part != name {
				folded[name] += n
				delete(folded, part)
			}
		}
	}
	if !maps.Equal(folded, want) {
		return fmt.Errorf("rejected %v, want %v (with the reasons that replaced a legacy one summed: %v)", got, c.Rejected, folded)
	}
	return nil
}

// repoDir is the repository's own cases, from the module root.
func repoDir() (string, error) {
	wd, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for d := wd; ; d = filepath.Dir(d) {
		if _, err := os.Stat(filepath.Join(d, "go.mod")); err == nil {
			return d, nil
		}
		if filepath.Dir(d) == d {
			return "", fmt.Errorf("no go.mod above %s", wd)
		}
	}
}

// sharedDir finds the shared cases: SESSIONIZE_CONFORMANCE_DIR, else
// shared/ beside the repository.
func sharedDir(root string) string {
	if d := os.Getenv("SESSIONIZE_CONFORMANCE_DIR"); d != "" {
		return d
	}
	return filepath.Join(filepath.Dir(root), "shared", "conformance", "cases")
}

// RepoCasesDir is where the repository keeps its cases, relative to the
// module root.
const RepoCasesDir = "testdata/conformance/cases"

// Cases loads every case, the repository's and the shared ones.
func Cases(t testing.TB) []Case {
	t.Helper()
	root, err := repoDir()
	if err != nil {
		t.Fatal(err)
	}
	byName := map[string]Case{}
	repo, err := load(filepath.Join(root, RepoCasesDir))
	if err != nil {
		t.Fatalf("the repository's conformance cases: %v", err)
	}
	if len(repo) == 0 {
		t.Fatalf("no conformance cases in %s", filepath.Join(root, RepoCasesDir))
	}
	for _, c := range repo {
		byName[c.Name] = c
	}
	shared := sharedDir(root)
	if _, err := os.Stat(shared); err == nil {
		cs, err := load(shared)
		if err != nil {
			t.Fatalf("shared conformance cases: %v", err)
		}
		for _, c := range cs {
			byName[c.Name] = c
		}
	} else if os.Getenv("SESSIONIZE_CONFORMANCE_DIR") != "" {
		t.Fatalf("SESSIONIZE_CONFORMANCE_DIR: %v", err)
	}
	cases := slices.Collect(maps.Values(byName))
	sort.Slice(cases, func(i, j int) bool { return cases[i].Name < cases[j].Name })
	return cases
}

func load(root string) ([]Case, error) {
	entries, err := os.ReadDir(root)
	if err != nil {
		return nil, err
	}
	var cases []Case
	for _, e := range entries {
		if !e.IsDir() {
			continue
		}
		c := Case{Name: e.Name(), Dir: filepath.Join(root, e.Name())}
		b, err := os.ReadFile(filepath.Join(c.Dir, "case.json"))
		if err != nil {
			return nil, err
		}
		if err := json.Unmarshal(b, &c); err != nil {
			return nil, fmt.Errorf("%s: %w", c.Dir, err)
		}
		if c.Rejected == nil {
			c.Rejected = map[string]int64{}
		}
		if _, err := c.Schema(); err != nil {
			return nil, err
		}
		cases = append(cases, c)
	}
	return cases, nil
}
