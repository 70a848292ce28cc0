package batch

import (
	"bufio"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"testing"

	"github.com/sessionize/sessionize/internal/conformance"
	"github.com/sessionize/sessionize/internal/session"
)

// expectedSession holds the fields the conformance cases pin down.
type expectedSession struct {
	UUID     string   `json:"uuid"`
	Start    int64    `json:"session_start_time_ms"`
	End      int64    `json:"session_end_time_ms"`
	Duration float64  `json:"session_duration_seconds"`
	Count    int64    `json:"event_count"`
	Pages    []string `json:"pages_visited"`
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

func TestConformanceBatch(t *testing.T) {
	for _, c := range conformance.Cases(t) {
		expectSessions := readJSONLines[expectedSession](t, c.ExpectedSessions())
		rules := session.Rules{InactivityMs: c.InactivityMs, MaxDurationMs: c.MaxDurationMs, MaxPages: session.DefaultMaxPages}
		t.Run(c.Name, func(t *testing.T) {
			out := t.TempDir()
			run := func(name string) ([]outputSession, *Summary) {
				cfg := Config{
					Inputs:   []string{c.Input()},
					Output:   filepath.Join(out, name+".jsonl"),
					Rejected: filepath.Join(out, name+"-rejected.jsonl"),
					Rules:    rules,
					Schema:   c.MustSchema(t),
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
			if !reflect.DeepEqual(core, expectSessions) {
				t.Errorf("%s\nsessions:\n got %+v\nwant %+v", c.Description, core, expectSessions)
			}
			if sum.RecordsRead != c.InputRecords {
				t.Errorf("records read %d, want %d", sum.RecordsRead, c.InputRecords)
			}
			if sum.Duplicates != c.Duplicates {
				t.Errorf("duplicates %d, want %d", sum.Duplicates, c.Duplicates)
			}
			if err := c.CheckRejected(sum.RejectedByReason); err != nil {
				t.Error(err)
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
