package batch

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/sessionize/sessionize/internal/conformance"
	"github.com/sessionize/sessionize/internal/rule"
	"github.com/sessionize/sessionize/internal/session"
)

// ruleCaseConfig is the batch config of a rule case.
func ruleCaseConfig(t *testing.T, c conformance.RuleCase) Config {
	t.Helper()
	set, err := rule.Parse(c.StartOn, c.EndOn, c.Attrs...)
	if err != nil {
		t.Fatalf("%s: %v", c.Name, err)
	}
	base := session.Rules{InactivityMs: c.InactivityMs, MaxDurationMs: c.MaxDurationMs, MaxPages: session.DefaultMaxPages}
	return Config{Rules: set.Apply(base), RuleSet: set, Workers: 2}
}

// TestRuleConformanceBatch runs the rule cases in batch: the sessions
// (end_reason and attributes included), unique session ids, events output
// tagged consistently, and the same sessions when the input is split at
// every event time and continued with --carry-open/--resume.
func TestRuleConformanceBatch(t *testing.T) {
	for _, c := range conformance.RuleCases(t) {
		t.Run(c.Name, func(t *testing.T) {
			want := readJSONLines[map[string]any](t, c.ExpectedSessions())
			dir := t.TempDir()
			cfg := ruleCaseConfig(t, c)
			cfg.Inputs = []string{c.Input()}
			cfg.Output = filepath.Join(dir, "out.jsonl")
			cfg.OutputEvents = filepath.Join(dir, "events.jsonl")
			sum, err := runConfig(cfg)
			if err != nil {
				t.Fatal(err)
			}
			got := readJSONLines[map[string]any](t, cfg.Output)
			if g, w := conformance.Project(got, want[0]), conformance.Project(want, want[0]); !reflect.DeepEqual(g, w) {
				t.Fatalf("%s\n got %s\nwant %s", c.Description, strings.Join(g, "\n     "), strings.Join(w, "\n     "))
			}
			if sum.RecordsRead != c.InputRecords || !sum.InvariantHolds {
				t.Fatalf("summary %+v, want %d records", sum, c.InputRecords)
			}
			checkTagged(t, readJSONLines[outputSession](t, cfg.Output), readEvents(t, cfg.OutputEvents))

			// Split at every event time: the same sessions, ids and all.
			oneRun := sessionLines(t, cfg.Output)
			var times []int64
			for _, e := range readJSONLines[map[string]any](t, c.Input()) {
				var ts int64
				fmt.Sscan(e["event_timestamp"].(string), &ts)
				times = append(times, ts)
			}
			slices.Sort(times)
			times = slices.Compact(times)
			for _, cut := range times[1:] {
				var before, after []string
				for _, l := range readLines(t, c.Input()) {
					var e map[string]any
					json.Unmarshal([]byte(l), &e)
					var ts int64
					fmt.Sscan(e["event_timestamp"].(string), &ts)
					if ts < cut {
						before = append(before, l)
					} else {
						after = append(after, l)
					}
				}
				a, b := filepath.Join(dir, "a.jsonl"), filepath.Join(dir, "b.jsonl")
				os.WriteFile(a, []byte(strings.Join(before, "\n")+"\n"), 0o644)
				os.WriteFile(b, []byte(strings.Join(after, "\n")+"\n"), 0o644)
				state := filepath.Join(dir, fmt.Sprintf("state-%d", cut))
				c1 := ruleCaseConfig(t, c)
				c1.Inputs, c1.Output, c1.CarryOpen = []string{a}, filepath.Join(dir, "a-out.jsonl"), state
				if _, err := runConfig(c1); err != nil {
					t.Fatal(err)
				}
				c2 := ruleCaseConfig(t, c)
				c2.Inputs, c2.Output, c2.Resume = []string{b}, filepath.Join(dir, "b-out.jsonl"), state
				if _, err := runConfig(c2); err != nil {
					t.Fatal(err)
				}
				split := append(sessionLines(t, c1.Output), sessionLines(t, c2.Output)...)
				slices.Sort(split)
				if !slices.Equal(split, oneRun) {
					t.Fatalf("split at %d: %v\none run: %v", cut, split, oneRun)
				}
				// Other rules refuse the state.
				c3 := c2
				c3.Rules.EndOn, c3.Rules.StartOn, c3.Rules.Attrs, c3.RuleSet = "", "", "", nil
				if _, err := runConfig(c3); err == nil || !strings.Contains(err.Error(), "-session-on") && !strings.Contains(err.Error(), "--session-attr") {
					t.Fatalf("resuming a state of other rules: %v", err)
				}
			}
		})
	}
}

func runConfig(cfg Config) (*Summary, error) { return Run(t0Context(), cfg) }

func readLines(t *testing.T, path string) []string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return strings.Split(strings.TrimSpace(string(b)), "\n")
}

func sessionLines(t *testing.T, path string) []string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	if len(lines) == 1 && lines[0] == "" {
		return nil
	}
	slices.Sort(lines)
	return lines
}

func t0Context() context.Context { return context.Background() }
