package batch

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/sessionize/sessionize/internal/conformance"
)

// TestRuleCasesCSVEqualJSON: the rule cases' events as CSV (nested fields
// flattened into dotted columns, a null or missing field an empty cell)
// give the same sessions, attributes included, as the JSON lines input:
// the rules read their fields from the CSV reader's decode like from the
// JSON parser's.
func TestRuleCasesCSVEqualJSON(t *testing.T) {
	for _, c := range conformance.RuleCases(t) {
		t.Run(c.Name, func(t *testing.T) {
			dir := t.TempDir()
			in := filepath.Join(dir, "in.csv")
			writeFlatCSV(t, in, readLines(t, c.Input()))
			cfg := ruleCaseConfig(t, c)
			cfg.Inputs, cfg.Output = []string{c.Input()}, filepath.Join(dir, "json.jsonl")
			if _, err := runConfig(cfg); err != nil {
				t.Fatal(err)
			}
			cfg = ruleCaseConfig(t, c)
			cfg.Inputs, cfg.Output = []string{in}, filepath.Join(dir, "csv.jsonl")
			sum, err := runConfig(cfg)
			if err != nil {
				t.Fatal(err)
			}
			want, got := sessionLines(t, filepath.Join(dir, "json.jsonl")), sessionLines(t, cfg.Output)
			if len(want) == 0 || !slices.Equal(got, want) || sum.RecordsRead != c.InputRecords {
				t.Fatalf("CSV (%d records):\n%s\nJSON lines:\n%s", sum.RecordsRead, strings.Join(got, "\n"), strings.Join(want, "\n"))
			}
		})
	}
}

// writeFlatCSV writes JSON objects as CSV, one dotted column per leaf.
func writeFlatCSV(t *testing.T, path string, lines []string) {
	t.Helper()
	var rows []map[string]string
	var header []string
	var flatten func(prefix string, m map[string]any, row map[string]string)
	flatten = func(prefix string, m map[string]any, row map[string]string) {
		for k, v := range m {
			name := prefix + k
			switch v := v.(type) {
			case map[string]any:
				flatten(name+".", v, row)
				continue
			case nil:
				row[name] = ""
			case string:
				row[name] = v
			default:
				b, _ := json.Marshal(v)
				row[name] = string(b)
			}
			if !slices.Contains(header, name) {
				header = append(header, name)
			}
		}
	}
	for _, l := range lines {
		d := json.NewDecoder(strings.NewReader(l))
		d.UseNumber()
		var m map[string]any
		if err := d.Decode(&m); err != nil {
			t.Fatal(err)
		}
		row := map[string]string{}
		flatten("", m, row)
		rows = append(rows, row)
	}
	slices.Sort(header)
	var b bytes.Buffer
	w := csv.NewWriter(&b)
	w.Write(header)
	for _, row := range rows {
		rec := make([]string, len(header))
		for i, h := range header {
			rec[i] = row[h]
		}
		w.Write(rec)
	}
	w.Flush()
	if err := os.WriteFile(path, b.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
}
