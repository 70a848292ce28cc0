package batch

import (
	"bufio"
	"context"
	"encoding/json"
	"maps"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"testing"

	"github.com/sessionize/sessionize/internal/session"
)

// conformanceDir finds ../shared/conformance/cases from the repository
// root; SESSIONIZE_CONFORMANCE_DIR overrides it.
func conformanceDir(t *testing.T) string {
	t.Helper()
	dir := os.Getenv("SESSIONIZE_CONFORMANCE_DIR")
	if dir == "" {
		dir = filepath.Join("..", "..", "..", "shared", "conformance", "cases")
	}
	if _, err := os.Stat(dir); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("conformance cases not found at %s (set SESSIONIZE_CONFORMANCE_DIR): %v", dir, err)
		}
		t.Skipf("conformance cases not found at %s; set SESSIONIZE_CONFORMANCE_DIR to run them", dir)
	}
	return dir
}

type conformanceCase struct {
	Description    string           `json:"description"`
	InactivityMs   int64            `json:"inactivity_timeout_ms"`
	MaxDurationMs  int64            `json:"max_session_duration_ms"`
	AllowedLateMs  int64            `json:"allowed_lateness_ms"`
	InputRecords   int64            `json:"input_records"`
	Rejected       map[string]int64 `json:"rejected"`
	Duplicates     int64            `json:"duplicates"`
	StreamLateIDs  []string         `json:"stream_late_event_ids"`
	dir            string
	expectSessions []expectedSession
}

// expectedSession holds the fields the conformance cases pin down.
type expectedSession struct {
	UUID     string   `json:"uuid"`
	Start    int64    `json:"session_start_time_ms"`
	End      int64    `json:"session_end_time_ms"`
	Duration float64  `json:"session_duration_seconds"`
	Count    int64    `json:"event_count"`
	Pages    []string `json:"pages_visited"`
}

func loadConformanceCases(t *testing.T) []conformanceCase {
	t.Helper()
	root := conformanceDir(t)
	entries, err := os.ReadDir(root)
	if err != nil {
		t.Fatal(err)
	}
	var cases []conformanceCase
	for _, e := range entries {
		if !e.IsDir() {
			continue
		}
		dir := filepath.Join(root, e.Name())
		var c conformanceCase
		b, err := os.ReadFile(filepath.Join(dir, "case.json"))
		if err != nil {
			t.Fatal(err)
		}
		if err := json.Unmarshal(b, &c); err != nil {
			t.Fatalf("%s: %v", dir, err)
		}
		c.dir = dir
		c.expectSessions = readJSONLines[expectedSession](t, filepath.Join(dir, "expected_sessions.jsonl"))
		cases = append(cases, c)
	}
	if len(cases) == 0 {
		t.Fatalf("no conformance cases in %s", root)
	}
	return cases
}

func readJSONLines[T any](t *testing.T, path string) []T {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []T
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 16<<20)
	for sc.Scan() {
		var v T
		if err := json.Unmarshal(sc.Bytes(), &v); err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		out = append(out, v)
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// outputSession is a line of our JSON lines output.
type outputSession struct {
	expectedSession
	ID             string `json:"session_id"`
	PagesTruncated bool   `json:"pages_truncated"`
	EntryPage      string `json:"entry_page"`
	ExitPage       string `json:"exit_page"`
	EndReason      string `json:"end_reason"`
}

func (c *conformanceCase) rules() session.Rules {
	return session.Rules{InactivityMs: c.InactivityMs, MaxDurationMs: c.MaxDurationMs, MaxPages: session.DefaultMaxPages}
}

func TestConformanceBatch(t *testing.T) {
	for _, c := range loadConformanceCases(t) {
		t.Run(filepath.Base(c.dir), func(t *testing.T) {
			out := t.TempDir()
			run := func(name string) ([]outputSession, *Summary) {
				cfg := Config{
					Inputs:   []string{filepath.Join(c.dir, "input.jsonl")},
					Output:   filepath.Join(out, name+".jsonl"),
					Rejected: filepath.Join(out, name+"-rejected.jsonl"),
					Rules:    c.rules(),
					Workers:  2,
				}
				sum, err := Run(context.Background(), cfg)
				if err != nil {
					t.Fatalf("%s: batch: %v", c.Description, err)
				}
				return readJSONLines[outputSession](t, cfg.Output), sum
			}
			got, sum := run("a")
			again, _ := run("b")

			sort.Slice(got, func(i, j int) bool {
				if got[i].UUID != got[j].UUID {
					return got[i].UUID < got[j].UUID
				}
				return got[i].Start < got[j].Start
			})
			var core []expectedSession
			ids := map[string]bool{}
			for _, s := range got {
				core = append(core, s.expectedSession)
				if ids[s.ID] {
					t.Errorf("session_id %s is not unique", s.ID)
				}
				ids[s.ID] = true
			}
			for _, s := range again {
				if !ids[s.ID] {
					t.Errorf("session_id %s of a rerun was not produced by the first run", s.ID)
				}
			}
			if !reflect.DeepEqual(core, c.expectSessions) {
				t.Errorf("%s\nsessions:\n got %+v\nwant %+v", c.Description, core, c.expectSessions)
			}
			if sum.RecordsRead != c.InputRecords {
				t.Errorf("records read %d, want %d", sum.RecordsRead, c.InputRecords)
			}
			if sum.Duplicates != c.Duplicates {
				t.Errorf("duplicates %d, want %d", sum.Duplicates, c.Duplicates)
			}
			if want := c.Rejected; !maps.Equal(sum.RejectedByReason, want) && !(len(want) == 0 && len(sum.RejectedByReason) == 0) {
				t.Errorf("rejected %v, want %v", sum.RejectedByReason, want)
			}
			rej := readJSONLines[map[string]any](t, filepath.Join(out, "a-rejected.jsonl"))
			if int64(len(rej)) != sum.Rejected {
				t.Errorf("rejected file has %d rows, summary says %d", len(rej), sum.Rejected)
			}
			if !sum.InvariantHolds || sum.EventsInSessions+sum.Duplicates+sum.Rejected != c.InputRecords {
				t.Errorf("nothing-lost invariant: %+v", sum)
			}
		})
	}
}
