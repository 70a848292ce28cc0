package pipeline

import (
	"bytes"
	"encoding/json"
	"os"
	"reflect"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"

	"github.com/sessionize/sessionize/internal/conformance"
	"github.com/sessionize/sessionize/internal/iceberg"
	"github.com/sessionize/sessionize/internal/rule"
)

// TestRuleConformanceStream runs the rule cases through a broker (one
// partition, arrival order = line order) and the pipeline with the events
// table: the sessions table holds the expected sessions (end_reason and
// the attribute columns included), and the events table tags every event
// as batch does under the same rules.
func TestRuleConformanceStream(t *testing.T) {
	for _, c := range conformance.RuleCases(t) {
		t.Run(c.Name, func(t *testing.T) {
			set, err := rule.Parse(c.StartOn, c.EndOn, c.Attrs...)
			if err != nil {
				t.Fatal(err)
			}
			lines, wh, cfg := runCase(t, c.Case, func(cfg *Config) {
				cfg.Rules, cfg.RuleSet = set.Apply(cfg.Rules), set
				cfg.Warehouse.EventsTable = true
			})
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
