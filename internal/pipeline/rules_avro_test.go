package pipeline

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/sr"
	"github.com/twmb/franz-go/pkg/sr/srfake"

	"github.com/sessionize/sessionize/internal/batch"
	"github.com/sessionize/sessionize/internal/conformance"
	"github.com/sessionize/sessionize/internal/rule"
	"github.com/sessionize/sessionize/internal/session"
)

// TestRulesOnAvroEqualBatch: an end-session rule and attributes on an
// Avro topic read their fields from the Avro decode (nested records, a
// timestamp-millis long compared as its number) and give the sessions,
// attribute columns included, that batch gives over the same events as
// JSON lines.
func TestRulesOnAvroEqualBatch(t *testing.T) {
	set, err := rule.Parse("", "page.name = p3", "saw_p1=any(page.name = p1)", "last_page=last(page.name)",
		"ids=count_distinct(event_id)", "last_ts=max(ts)", "first_user=first(user.id)")
	if err != nil {
		t.Fatal(err)
	}
	rules := set.Apply(session.DefaultRules())

	reg := srfake.New()
	t.Cleanup(reg.Close)
	reg.SeedSchema("clickstream-value", 1, 1, sr.Schema{Schema: avroClickSchema, Type: sr.TypeAvro})
	b := startBroker(t, 1)
	var values, keys, lines [][]byte
	for _, c := range testClicks(600, 20, 3) {
		values, keys, lines = append(values, avroClickValue(t, 1, c)), append(keys, []byte(c.User)), append(lines, c.json())
	}
	produceLines(t, b, values, keys)
	wh := t.TempDir()
	cfg := avroRunConfig(t, b, wh, reg.URL())
	cfg.RuleSet, cfg.Rules = set, rules
	runToEnd(t, cfg, 60*time.Second)

	dir := t.TempDir()
	in, out := filepath.Join(dir, "in.jsonl"), filepath.Join(dir, "out.jsonl")
	if err := os.WriteFile(in, append(bytes.Join(lines, []byte("\n")), '\n'), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := batch.Run(t.Context(), batch.Config{Inputs: []string{in}, Output: out, Rules: rules, RuleSet: set,
		Schema: avroClickSchemaPaths(t), Workers: 2}); err != nil {
		t.Fatal(err)
	}
	var want []map[string]any
	ruleEnds := 0
	for _, l := range bytes.Split(bytes.TrimSpace(mustRead(t, out)), []byte("\n")) {
		var m map[string]any
		if err := json.Unmarshal(l, &m); err != nil {
			t.Fatal(err)
		}
		if m["end_reason"] == "rule" {
			ruleEnds++
		}
		want = append(want, m)
	}
	if ruleEnds < 10 || len(want) < 30 {
		t.Fatalf("batch made %d sessions, %d ended by the rule: the test events are wrong", len(want), ruleEnds)
	}
	like := map[string]any{}
	for _, k := range []string{"uuid", "session_start_time_ms", "session_end_time_ms", "event_count", "pages_visited", "end_reason",
		"saw_p1", "last_page", "ids", "last_ts", "first_user"} {
		like[k] = true
	}
	if g, w := conformance.Project(sessionsTableMaps(t, wh), like), conformance.Project(want, like); !reflect.DeepEqual(g, w) {
		t.Fatalf("stream gave %d sessions, batch %d; first difference: %s", len(g), len(w), firstDiff(g, w))
	}
	if !strings.Contains(strings.Join(conformance.Project(want, like), "\n"), `"saw_p1":true`) {
		t.Fatal("no session saw p1: the attribute is not exercised")
	}
}
