package conformance

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"testing"
)

// RuleCase is a conformance case of the session rules: a Case whose
// case.json also gives the rule flags. They live in the repository,
// testdata/conformance/rule-cases, apart from the shared cases (whose
// runners know no rules).
type RuleCase struct {
	Case
	StartOn string   `json:"start_session_on"`
	EndOn   string   `json:"end_session_on"`
	Attrs   []string `json:"session_attrs"`
}

// RuleCases loads every rule case; there must be some.
func RuleCases(t testing.TB) []RuleCase {
	t.Helper()
	root := ruleCasesDir(t)
	entries, err := os.ReadDir(root)
	if err != nil {
		t.Fatalf("rule conformance cases: %v", err)
	}
	var cases []RuleCase
	for _, e := range entries {
		if !e.IsDir() {
			continue
		}
		c := RuleCase{Case: Case{Name: e.Name(), Dir: filepath.Join(root, e.Name())}}
		b, err := os.ReadFile(filepath.Join(c.Dir, "case.json"))
		if err != nil {
			t.Fatal(err)
		}
		if err := json.Unmarshal(b, &c); err != nil {
			t.Fatalf("%s: %v", c.Dir, err)
		}
		cases = append(cases, c)
	}
	if len(cases) == 0 {
		t.Fatalf("no rule conformance cases in %s", root)
	}
	return cases
}

// ruleCasesDir is testdata/conformance/rule-cases at the module root.
func ruleCasesDir(t testing.TB) string {
	wd, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for d := wd; ; d = filepath.Dir(d) {
		if _, err := os.Stat(filepath.Join(d, "go.mod")); err == nil {
			return filepath.Join(d, "testdata", "conformance", "rule-cases")
		}
		if filepath.Dir(d) == d {
			t.Fatalf("no go.mod above %s", wd)
		}
	}
}

// Project keeps of each session line the keys that like (an expected
// line) has, as JSON, sorted by user and start: expected files name only
// what they pin down.
func Project(lines []map[string]any, like map[string]any) []string {
	var out []string
	for _, l := range lines {
		p := map[string]any{}
		for k := range like {
			p[k] = l[k]
		}
		b, _ := json.Marshal(p) // decoded JSON values always marshal
		out = append(out, fmt.Sprintf("%v|%020.0f|%s", l["uuid"], l["session_start_time_ms"], b))
	}
	sort.Strings(out)
	return out
}
