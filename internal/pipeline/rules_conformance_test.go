package pipeline

import (
	"bytes"
	"encoding/json"
	"os"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"

	"github.com/sessionize/sessionize/internal/conformance"
	"github.com/sessionize/sessionize/internal/iceberg"
	"github.com/sessionize/sessionize/internal/rule"
	"github.com/sessionize/sessionize/internal/session"
)

// TestRuleConformanceStream runs the rule cases through a broker (one
// partition, arrival order = line order) and the pipeline with the events
// table: the sessions table holds the expected sessions (end_reason and
// the attribute columns included), and the events table tags every event
// as batch does under the same rules.
func TestRuleConformanceStream(t *testing.T) {
	for _, c := range conformance.RuleCases(t) {
		t.Run(c.Name, func(t *testing.T) {
			input, err := os.ReadFile(c.Input())
			if err != nil {
				t.Fatal(err)
			}
			lines := bytes.Split(bytes.TrimRight(input, "\n"), []byte("\n"))
			broker := startBroker(t, 1)
			produceLines(t, broker, lines, make([][]byte, len(lines)))
			wh := t.TempDir()
			set, err := rule.Parse(c.StartOn, c.EndOn, c.Attrs...)
			if err != nil {
				t.Fatal(err)
			}
			cfg := runConfig(t, broker, wh)
			cfg.Rules = set.Apply(session.Rules{InactivityMs: c.InactivityMs, MaxDurationMs: c.MaxDurationMs, MaxPages: session.DefaultMaxPages})
			cfg.RuleSet = set
			cfg.AllowedLateness = time.Duration(c.AllowedLatenessMs) * time.Millisecond
			cfg.StopWhenIdle = 300 * time.Millisecond
			cfg.Warehouse.EventsTable = true
			if err := Run(t.Context(), cfg); err != nil {
				t.Fatal(err)
			}
			gotLines := sessionsTableMaps(t, wh)
			var wantLines []map[string]any
			for _, l := range bytes.Split(bytes.TrimSpace(mustRead(t, c.ExpectedSessions())), []byte("\n")) {
				var m map[string]any
				if err := json.Unmarshal(l, &m); err != nil {
					t.Fatal(err)
				}
				wantLines = append(wantLines, m)
			}
			if g, w := conformance.Project(gotLines, wantLines[0]), conformance.Project(wantLines, wantLines[0]); !reflect.DeepEqual(g, w) {
				t.Fatalf("%s\n got %s\nwant %s", c.Description, strings.Join(g, "\n     "), strings.Join(w, "\n     "))
			}
			assertEventsTableWith(t, localWarehouse(t, wh), lines, cfg.Rules, set)
		})
	}
}

// sessionsTableMaps reads the sessions table of wh, attribute columns
// included, as decoded JSON objects.
func sessionsTableMaps(t *testing.T, wh string) []map[string]any {
	t.Helper()
	var out []map[string]any
	if _, err := openWarehouse(t, wh).Scan(t.Context(), iceberg.TableSessions, iceberg.ScanOptions{}, func(rec arrow.RecordBatch) error {
		var buf bytes.Buffer
		if err := array.RecordToJSON(rec, &buf); err != nil {
			return err
		}
		for dec := json.NewDecoder(&buf); dec.More(); {
			var m map[string]any
			if err := dec.Decode(&m); err != nil {
				return err
			}
			out = append(out, m)
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	return out
}

func mustRead(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
