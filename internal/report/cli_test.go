package report_test

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/sessionize/sessionize/internal/cli"
	"github.com/sessionize/sessionize/internal/report"
)

func runCLI(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errb bytes.Buffer
	code = cli.Main(context.Background(), args, strings.NewReader(""), &out, &errb)
	return code, out.String(), errb.String()
}

// writeSessions writes the hand-made sessions as sessionize batch does.
func writeSessions(t *testing.T, path string, gz bool) {
	t.Helper()
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	for _, s := range report.HandMade() {
		if err := enc.Encode(s); err != nil {
			t.Fatal(err)
		}
	}
	data := buf.Bytes()
	if gz {
		var zb bytes.Buffer
		zw := gzip.NewWriter(&zb)
		zw.Write(data)
		zw.Close()
		data = zb.Bytes()
	}
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
}

func reportJSON(t *testing.T, args ...string) map[string]any {
	t.Helper()
	code, stdout, stderr := runCLI(t, append([]string{"report", "--json"}, args...)...)
	if code != 0 {
		t.Fatalf("report %v: exit %d: %s", args, code, stderr)
	}
	var m map[string]any
	if err := json.Unmarshal([]byte(stdout), &m); err != nil {
		t.Fatalf("report --json output is not JSON: %v\n%s", err, stdout)
	}
	return m
}

func TestCLIReportOnSessionsFile(t *testing.T) {
	dir := t.TempDir()
	in := filepath.Join(dir, "sessions.jsonl")
	writeSessions(t, in, false)

	code, stdout, stderr := runCLI(t, "report", "--input", in)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	for _, want := range []string{"Overview", "sessions                  6", "users                     4", "Funnel", "1. home", "4  66.7%", "not available for a file without --summary"} {
		if !strings.Contains(stdout, want) {
			t.Errorf("table output lacks %q:\n%s", want, stdout)
		}
	}

	m := reportJSON(t, "--input", in)
	if m["sessions"] != 6.0 || m["users"] != 4.0 {
		t.Errorf("sessions %v users %v", m["sessions"], m["users"])
	}
	src := m["source"].(map[string]any)
	if src["kind"] != "file" || src["format"] != "jsonl" || src["location"] != in {
		t.Errorf("source %v", src)
	}

	// gzip is told by content, whatever the name.
	gz := filepath.Join(dir, "sessions.data")
	writeSessions(t, gz, true)
	mg := reportJSON(t, "--input", gz)
	if mg["source"].(map[string]any)["format"] != "jsonl.gz" || mg["sessions"] != 6.0 {
		t.Errorf("gzip: %v, %v sessions", mg["source"], mg["sessions"])
	}
	delete(m, "source")
	delete(mg, "source")
	a, _ := json.Marshal(m)
	b, _ := json.Marshal(mg)
	if !bytes.Equal(a, b) {
		t.Errorf("gzip and plain give different figures")
	}

	// The window, from a flag and from the environment.
	if d2 := reportJSON(t, "--input", in, "--from", "2026-11-02"); d2["sessions"] != 2.0 {
		t.Errorf("--from 2026-11-02: %v sessions, want 2", d2["sessions"])
	}
	if d1 := reportJSON(t, "--input", in, "--to", "2026-11-01"); d1["sessions"] != 4.0 {
		t.Errorf("--to 2026-11-01: %v sessions, want 4", d1["sessions"])
	}
	t.Setenv("SESSIONIZE_REPORT_FROM", "2026-11-02T01:00:00Z")
	if e := reportJSON(t, "--input", in); e["sessions"] != 1.0 || e["window"].(map[string]any)["from"] != "2026-11-02T01:00:00Z" {
		t.Errorf("SESSIONIZE_REPORT_FROM: %v sessions, window %v", e["sessions"], e["window"])
	}
	t.Setenv("SESSIONIZE_REPORT_FROM", "")
	os.Unsetenv("SESSIONIZE_REPORT_FROM")

	// --html writes the page and still prints the table.
	html := filepath.Join(dir, "report.html")
	code, stdout, stderr = runCLI(t, "report", "--input", in, "--html", html, "--top", "3")
	if code != 0 || !strings.Contains(stderr, "wrote "+html) || !strings.Contains(stdout, "Overview") {
		t.Fatalf("--html: exit %d, stderr %q", code, stderr)
	}
	page, err := os.ReadFile(html)
	if err != nil {
		t.Fatal(err)
	}
	checkSelfContained(t, string(page))
	if n := strings.Count(string(page), "<svg"); n != 9 {
		t.Errorf("%d charts in the page, want 9", n)
	}
}

// checkSelfContained fails if the page could load anything: no script, no
// external reference (the SVG namespace URIs are names, not fetched).
func checkSelfContained(t *testing.T, page string) {
	t.Helper()
	if strings.Contains(strings.ToLower(page), "<script") {
		t.Errorf("the page has a script")
	}
	ext := regexp.MustCompile(`(?i)(src|href)\s*=\s*["']?\s*(https?:|//)|url\(\s*["']?(https?:|//)|@import`)
	if loc := ext.FindStringIndex(page); loc != nil {
		t.Errorf("the page refers to the network: %q", page[max(0, loc[0]-40):min(len(page), loc[1]+40)])
	}
	if !strings.Contains(page, "@font-face{font-family:\"Liberation Sans\"") {
		t.Errorf("the chart font is not embedded")
	}
}

func TestCLIReportErrors(t *testing.T) {
	dir := t.TempDir()
	in := filepath.Join(dir, "sessions.jsonl")
	writeSessions(t, in, false)
	events := filepath.Join(dir, "events.jsonl")
	os.WriteFile(events, []byte(`{"event_id": "a", "page_name": "home", "event_timestamp": "1700000000000", "uuid": "u1"}`+"\n"), 0o644)
	cases := []struct {
		name string
		args []string
		code int
		want []string
	}{
		{"no source", []string{"report"}, cli.ExitUsage, []string{"--warehouse", "--input"}},
		{"two sources", []string{"report", "--input", in, "--warehouse", dir}, cli.ExitUsage, []string{"either"}},
		{"summary without input", []string{"report", "--warehouse", dir, "--summary", in}, cli.ExitUsage, []string{"--summary"}},
		{"bad from", []string{"report", "--input", in, "--from", "yesterday"}, cli.ExitUsage, []string{"--from", "RFC 3339", "2026-11-25"}},
		{"bad to", []string{"report", "--input", in, "--to", "2026-02-30"}, cli.ExitUsage, []string{"--to"}},
		{"empty window", []string{"report", "--input", in, "--from", "2026-11-02", "--to", "2026-11-01"}, cli.ExitUsage, []string{"--from", "--to"}},
		{"bad top", []string{"report", "--input", in, "--top", "0"}, cli.ExitUsage, []string{"--top"}},
		{"top not a number", []string{"report", "--input", in, "--top", "many"}, cli.ExitUsage, []string{"--top"}},
		{"html and json on stdout", []string{"report", "--input", in, "--html", "-", "--json"}, cli.ExitUsage, []string{"--html"}},
		{"missing file", []string{"report", "--input", filepath.Join(dir, "nope.jsonl")}, cli.ExitError, []string{"nope.jsonl", "no such file"}},
		{"events, not sessions", []string{"report", "--input", events}, cli.ExitError, []string{"events.jsonl:1", "not a session", "session_id"}},
		{"no warehouse", []string{"report", "--warehouse", filepath.Join(dir, "wh")}, cli.ExitError, []string{"no warehouse", "catalog.db"}},
		{"bad summary", []string{"report", "--input", in, "--summary", in}, cli.ExitError, []string{"--summary"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			code, _, stderr := runCLI(t, tc.args...)
			if code != tc.code {
				t.Fatalf("exit %d, want %d; stderr: %s", code, tc.code, stderr)
			}
			for _, w := range tc.want {
				if !strings.Contains(stderr, w) {
					t.Errorf("stderr %q does not mention %q", stderr, w)
				}
			}
		})
	}
	if _, err := os.Stat(filepath.Join(dir, "wh")); !os.IsNotExist(err) {
		t.Errorf("report created a warehouse directory")
	}
}

// TestCLIReportOnBatchOutput runs produce and batch, then reports on the
// Parquet and the JSON lines they wrote, with the batch summary.
func TestCLIReportOnBatchOutput(t *testing.T) {
	dir := t.TempDir()
	events := filepath.Join(dir, "events.jsonl")
	if code, _, stderr := runCLI(t, "produce", "-q", "--output", events, "--events", "20000", "--num-users", "500", "--seed", "3"); code != 0 {
		t.Fatalf("produce: %s", stderr)
	}
	pq, jl, sum := filepath.Join(dir, "s.parquet"), filepath.Join(dir, "s.jsonl"), filepath.Join(dir, "summary.json")
	if code, _, stderr := runCLI(t, "batch", "-q", "-i", events, "-o", pq, "--summary-json", sum); code != 0 {
		t.Fatalf("batch: %s", stderr)
	}
	if code, _, stderr := runCLI(t, "batch", "-q", "-i", events, "-o", jl); code != 0 {
		t.Fatalf("batch: %s", stderr)
	}
	var s struct {
		RecordsRead, Sessions, Users, Duplicates, Rejected int64
	}
	b, _ := os.ReadFile(sum)
	var raw map[string]any
	json.Unmarshal(b, &raw)
	s.RecordsRead, s.Sessions, s.Users = int64(raw["records_read"].(float64)), int64(raw["sessions"].(float64)), int64(raw["users"].(float64))
	s.Duplicates, s.Rejected = int64(raw["duplicates"].(float64)), int64(raw["rejected"].(float64))

	mp := reportJSON(t, "--input", pq, "--summary", sum)
	if mp["source"].(map[string]any)["format"] != "parquet" {
		t.Errorf("source %v", mp["source"])
	}
	if mp["sessions"] != float64(s.Sessions) || mp["users"] != float64(s.Users) {
		t.Errorf("report: %v sessions of %v users; batch summary: %d of %d", mp["sessions"], mp["users"], s.Sessions, s.Users)
	}
	q := mp["quality"].(map[string]any)
	if q["available"] != true || q["records"] != float64(s.RecordsRead) || q["rejected"] != float64(s.Rejected) ||
		q["duplicates"] != float64(s.Duplicates) || q["late"] != nil || q["account_holds"] != true || q["basis"] != "batch summary" {
		t.Errorf("quality %v; summary %+v", q, s)
	}
	if rr := q["rejected_rate"].(float64); rr <= 0 || rr != float64(s.Rejected)/float64(s.RecordsRead) {
		t.Errorf("rejected_rate %v", rr)
	}
	if strings.Contains(q["note"].(string), "WARNING") {
		t.Errorf("note %q", q["note"])
	}

	// JSON lines and Parquet of the same run give the same figures.
	mj := reportJSON(t, "--input", jl)
	for _, m := range []map[string]any{mp, mj} {
		delete(m, "source")
		delete(m, "quality")
	}
	a, _ := json.Marshal(mp)
	bj, _ := json.Marshal(mj)
	if !bytes.Equal(a, bj) {
		t.Errorf("Parquet and JSON lines reports differ:\n%s\n%s", a, bj)
	}
	funnel := mp["funnel"].(map[string]any)["steps"].([]any)
	if home := funnel[0].(map[string]any)["sessions"].(float64); home <= 0 || home > mp["sessions"].(float64) {
		t.Errorf("funnel home %v of %v sessions", home, mp["sessions"])
	}
}

// TestCLIReportOnWarehouse runs the streaming demo and reports on its
// Iceberg warehouse, whose account gives the late and rejected rates.
func TestCLIReportOnWarehouse(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the streaming demo")
	}
	dir := t.TempDir()
	if code, _, stderr := runCLI(t, "--log-level", "warn", "demo", "--dir", dir, "--events", "20000", "--num-users", "1000", "--show", "0"); code != 0 {
		t.Fatalf("demo: exit %d: %s", code, stderr)
	}
	wh := filepath.Join(dir, "warehouse")
	m := reportJSON(t, "--log-level", "warn", "--warehouse", wh)
	src := m["source"].(map[string]any)
	if src["kind"] != "warehouse" || src["namespace"] != "sessionize" || src["catalog"] != "sqlite" {
		t.Errorf("source %v", src)
	}
	q := m["quality"].(map[string]any)
	if q["available"] != true || q["records"] != 20000.0 || q["account_holds"] != true || q["late"] == nil || q["late_rate"] == nil {
		t.Errorf("quality %v", q)
	}
	if r := q["rejected_by_reason"].(map[string]any); len(r) == 0 {
		t.Errorf("no rejected reasons: %v", q)
	}
	if m["sessions"].(float64) < 1000 {
		t.Errorf("%v sessions", m["sessions"])
	}
	code, stdout, stderr := runCLI(t, "--log-level", "warn", "report", "--warehouse", wh)
	if code != 0 || !strings.Contains(stdout, "Data quality (warehouse account)") || !strings.Contains(stdout, "account adds up") {
		t.Errorf("exit %d, stderr %s, stdout:\n%s", code, stderr, stdout)
	}
}

// TestCLIReportAttributeRatesFromEverySource: the same batch run with
// any(...) attributes, written as JSON lines, as Parquet and into the
// warehouse's sessions table, gives the same attribute rates in report
// --json, and they count the sessions the JSON lines say converted.
func TestCLIReportAttributeRatesFromEverySource(t *testing.T) {
	dir := t.TempDir()
	events := filepath.Join(dir, "events.jsonl")
	if code, _, stderr := runCLI(t, "produce", "-q", "--output", events, "--events", "5000", "--num-users", "200", "--seed", "5"); code != 0 {
		t.Fatalf("produce: %s", stderr)
	}
	attrs := []string{
		"--session-attr", "converted=any(page_name = confirmation)",
		"--session-attr", "pages=count(page_name)",
		"--session-attr", "booked=any(page_name = booking)",
	}
	jl, pq, wh := filepath.Join(dir, "s.jsonl"), filepath.Join(dir, "s.parquet"), filepath.Join(dir, "wh")
	for _, out := range [][]string{
		{"-o", jl},
		{"-o", pq},
		{"-o", filepath.Join(dir, "also.jsonl"), "--output-table", "sessions", "--warehouse", wh},
	} {
		args := append(append([]string{"--log-level", "warn", "batch", "-q", "-i", events}, out...), attrs...)
		if code, _, stderr := runCLI(t, args...); code != 0 {
			t.Fatalf("batch %v: exit %d: %s", out, code, stderr)
		}
	}

	// What the rates must count, from the JSON lines themselves.
	want := map[string][2]float64{}
	b, err := os.ReadFile(jl)
	if err != nil {
		t.Fatal(err)
	}
	for line := range strings.Lines(string(b)) {
		var s map[string]any
		if err := json.Unmarshal([]byte(line), &s); err != nil {
			t.Fatal(err)
		}
		for _, name := range []string{"converted", "booked"} {
			c := want[name]
			c[1]++
			if s[name] == true {
				c[0]++
			}
			want[name] = c
		}
	}
	if want["converted"][0] == 0 || want["converted"][0] == want["converted"][1] {
		t.Fatalf("the generated sessions do not tell a rate apart: %v", want)
	}

	var first []byte
	for _, src := range []struct {
		name string
		args []string
	}{
		{"jsonl", []string{"--input", jl}},
		{"parquet", []string{"--input", pq}},
		{"warehouse", []string{"--log-level", "warn", "--warehouse", wh}},
	} {
		t.Run(src.name, func(t *testing.T) {
			m := reportJSON(t, src.args...)
			got, _ := json.Marshal(m["attributes"])
			var rates []struct {
				Name     string
				Sessions float64
				Of       float64
				Rate     float64
			}
			json.Unmarshal(got, &rates)
			if len(rates) != 2 || rates[0].Name != "converted" || rates[1].Name != "booked" {
				t.Fatalf("attributes %s, want converted and booked (not pages, a count)", got)
			}
			for _, r := range rates {
				w := want[r.Name]
				if r.Sessions != w[0] || r.Of != w[1] || r.Rate != w[0]/w[1] {
					t.Errorf("%s: %v of %v (rate %v), want %v of %v", r.Name, r.Sessions, r.Of, r.Rate, w[0], w[1])
				}
			}
			if first == nil {
				first = got
			} else if !bytes.Equal(got, first) {
				t.Errorf("attributes %s, the JSON lines report has %s", got, first)
			}
		})
	}
}
