package batch

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/sessionize/sessionize/internal/rule"
	"github.com/sessionize/sessionize/internal/session"
	"github.com/sessionize/sessionize/internal/testservers"
)

// TestParquetOutputsReadByDuckDB: what users load batch's Parquet files
// with (DuckDB here, through testservers.ReadParquet: no arrow-go) finds
// the rows of the same run's JSON lines, column for column and with their
// types: sessions with typed attributes (boolean, double, long, string,
// with nulls) and an end rule, and the events of --output-events.
func TestParquetOutputsReadByDuckDB(t *testing.T) {
	dir := t.TempDir()
	var lines []string
	for i := range 400 {
		line := fmt.Sprintf(`{"uuid":"user-%d %s","event_id":"e%d","event_timestamp":%d,"page_name":%q`,
			i%23, []string{"plain", `"quoted"`, "ünï ✓"}[i%3], i, 1_700_000_000_000+int64(i)*97_000+int64(i%23)*3_600_000,
			[]string{"home", "search", "checkout", `a "b" \ c`}[i%4])
		if i%6 != 0 {
			line += fmt.Sprintf(`,"price":%v`, float64(i%40)+0.25)
		}
		line += fmt.Sprintf(`,"paid":%v}`, i%9 == 0)
		lines = append(lines, line)
	}
	in := filepath.Join(dir, "in.jsonl")
	if err := os.WriteFile(in, []byte(strings.Join(lines, "\n")+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	set, err := rule.Parse("", "page_name = checkout", "paid_any=any(paid = true)", "revenue=sum(price)", "priced=count(price)", "last_page=last(page_name)")
	if err != nil {
		t.Fatal(err)
	}
	run := func(ext string) (sessions, events string) {
		sessions, events = filepath.Join(dir, "s"+ext), filepath.Join(dir, "e"+ext)
		if _, err := Run(t.Context(), Config{Inputs: []string{in}, Output: sessions, OutputEvents: events, RuleSet: set,
			Rules: set.Apply(session.DefaultRules()), Workers: 2}); err != nil {
			t.Fatal(err)
		}
		return sessions, events
	}
	js, je := run(".jsonl")
	ps, pe := run(".parquet")
	for _, c := range []struct{ name, jsonl, parquet string }{{"sessions", js, ps}, {"events", je, pe}} {
		want := canonicalJSON(t, sessionLines(t, c.jsonl))
		got := canonicalJSON(t, testservers.ReadParquet(t, t.Context(), c.parquet))
		if len(want) < 20 {
			t.Fatalf("%s: only %d rows", c.name, len(want))
		}
		if !slices.Equal(got, want) {
			for i := range min(len(got), len(want)) {
				if got[i] != want[i] {
					t.Fatalf("%s: DuckDB reads %d rows of the Parquet file, the JSON lines have %d; first difference:\nDuckDB     %s\nJSON lines %s", c.name, len(got), len(want), got[i], want[i])
				}
			}
			t.Fatalf("%s: DuckDB reads %d rows, the JSON lines have %d", c.name, len(got), len(want))
		}
	}
	if joined := strings.Join(canonicalJSON(t, sessionLines(t, js)), "\n"); !strings.Contains(joined, `"end_reason":"rule"`) ||
		!strings.Contains(joined, `"revenue":null`) || !strings.Contains(joined, `"paid_any":true`) {
		t.Fatalf("the rules, attributes and nulls are not exercised:\n%s", joined)
	}
}

// canonicalJSON decodes each JSON object and encodes it again (keys
// sorted, numbers in one form), sorted.
func canonicalJSON(t *testing.T, rows []string) []string {
	t.Helper()
	out := make([]string, len(rows))
	for i, r := range rows {
		var m map[string]any
		if err := json.Unmarshal([]byte(r), &m); err != nil {
			t.Fatalf("%v: %s", err, r)
		}
		b, err := json.Marshal(m)
		if err != nil {
			t.Fatal(err)
		}
		out[i] = string(b)
	}
	slices.Sort(out)
	return out
}
