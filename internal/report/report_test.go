package report

import (
	"bytes"
	"encoding/json"
	"fmt"
	"maps"
	"math"
	"slices"
	"strings"
	"testing"
	"time"
)

var (
	day1 = time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	day2 = day1.AddDate(0, 0, 1)
)

func at(day time.Time, hms string) int64 {
	d, err := time.ParseDuration(hms)
	if err != nil {
		panic(err)
	}
	return day.Add(d).UnixMilli()
}

func sess(id, user string, startMs int64, dur float64, events int64, reason string, pages ...string) Session {
	return Session{
		SessionID: id, UUID: user, SessionStartTimeMs: startMs, SessionEndTimeMs: startMs + int64(dur*1000),
		SessionDurationSeconds: dur, EventCount: events, PagesVisited: pages,
		EntryPage: pages[0], ExitPage: pages[len(pages)-1], EndReason: reason,
	}
}

// handMade is six sessions of four users over two days whose figures are
// worked out by hand in TestComputeHandMade.
func handMade() []Session {
	return []Session{
		sess("s1", "u1", at(day1, "10h"), 0, 1, "inactivity", "home"),
		sess("s2", "u1", at(day1, "12h"), 300, 5, "inactivity", "home", "search", "results", "details", "booking"),
		sess("s3", "u2", at(day1, "12h30m"), 1200, 6, "inactivity", "home", "results", "search", "results", "details", "confirmation"),
		sess("s4", "u3", at(day1, "23h59m59s"), 7200, 40, "max_duration", "search", "results", "details", "booking", "confirmation"),
		sess("s5", "u1", at(day2, "0s"), 60, 3, "end_of_input", "home", "search", "logout"),
		sess("s6", "u4", at(day2, "1h"), 60.5, 3, "end_of_input", "details", "booking", "confirmation"),
	}
}

func near(a, b float64) bool { return math.Abs(a-b) < 1e-9 }

func TestComputeHandMade(t *testing.T) {
	r := Compute(handMade(), Options{})
	check := func(name string, got, want any) {
		t.Helper()
		if g, ok := got.(float64); ok {
			if !near(g, want.(float64)) {
				t.Errorf("%s = %v, want %v", name, got, want)
			}
			return
		}
		gb, _ := json.Marshal(got)
		wb, _ := json.Marshal(want)
		if !bytes.Equal(gb, wb) {
			t.Errorf("%s = %s, want %s", name, gb, wb)
		}
	}
	counts := func(bs []Bucket) []int64 {
		out := make([]int64, len(bs))
		for i, b := range bs {
			out[i] = b.Count
		}
		return out
	}
	check("sessions", r.Sessions, int64(6))
	check("users", r.Users, int64(4))
	check("first start", *r.FirstSessionStart, "2026-11-01T10:00:00.000Z")
	check("last start", *r.LastSessionStart, "2026-11-02T01:00:00.000Z")
	check("sessions per user mean", *r.SessionsPerUser.Mean, 1.5)
	// u1 has 3 sessions, the others 1.
	check("sessions per user distribution", counts(r.SessionsPerUser.Distribution), []int64{3, 0, 1, 0, 0, 0})

	// Durations sorted: 0, 60, 60.5, 300, 1200, 7200.
	check("duration mean", *r.DurationSeconds.Mean, 8820.5/6)
	check("duration median", *r.DurationSeconds.Median, (60.5+300)/2)
	check("duration p95", *r.DurationSeconds.P95, 7200.0) // ceil(0.95*6) = 6th value
	check("duration min", *r.DurationSeconds.Min, 0.0)
	check("duration max", *r.DurationSeconds.Max, 7200.0)
	// Buckets are [min, max): 60 is in 1–5m, 300 in 5–15m, 7200 in ≥ 2h.
	check("duration distribution", counts(r.DurationSeconds.Distribution), []int64{1, 0, 2, 1, 1, 0, 0, 1})

	// Events sorted: 1, 3, 3, 5, 6, 40.
	check("events mean", *r.EventsPerSession.Mean, 58.0/6)
	check("events median", *r.EventsPerSession.Median, 4.0)
	check("events p95", *r.EventsPerSession.P95, 40.0)
	check("events distribution", counts(r.EventsPerSession.Distribution), []int64{1, 0, 3, 1, 0, 1, 0, 0})

	check("bounce", r.Bounce, Bounce{Sessions: 1, Rate: 1.0 / 6})
	check("per day", r.SessionsPerDay, []TimeCount{{"2026-11-01", 4}, {"2026-11-02", 2}})
	check("per hour", r.SessionsPerHour, []TimeCount{
		{"2026-11-01T10:00:00Z", 1}, {"2026-11-01T12:00:00Z", 2}, {"2026-11-01T23:00:00Z", 1},
		{"2026-11-02T00:00:00Z", 1}, {"2026-11-02T01:00:00Z", 1},
	})
	// Day 2: s5 and s6 both have 3 events; s6 is longer and wins.
	var best []string
	for _, a := range r.MostActivePerDay {
		best = append(best, a.Day+"="+a.SessionID)
	}
	check("most active per day", best, []string{"2026-11-01=s4", "2026-11-02=s6"})
	check("most active day 1", r.MostActivePerDay[0], ActiveSession{
		Day: "2026-11-01", SessionID: "s4", UUID: "u3", SessionStart: "2026-11-01T23:59:59.000Z", DurationSeconds: 7200,
		EventCount: 40, EntryPage: "search", ExitPage: "confirmation", EndReason: "max_duration",
	})
	// Ties are broken by name.
	check("top entry", r.TopEntryPages, []NameCount{{"home", 4, 4.0 / 6}, {"details", 1, 1.0 / 6}, {"search", 1, 1.0 / 6}})
	check("top exit", r.TopExitPages, []NameCount{{"confirmation", 3, 0.5}, {"booking", 1, 1.0 / 6}, {"home", 1, 1.0 / 6}, {"logout", 1, 1.0 / 6}})
	check("end reasons", r.EndReasons, []NameCount{{"inactivity", 3, 0.5}, {"end_of_input", 2, 2.0 / 6}, {"max_duration", 1, 1.0 / 6}})

	// Reached steps: s1 1, s2 5, s3 4 (results before search does not
	// count, the later one does), s4 0 (no home), s5 2, s6 0.
	wantFunnel := []FunnelStep{
		{"home", 4, 4.0 / 6, 4.0 / 6},
		{"search", 3, 3.0 / 6, 3.0 / 4},
		{"results", 2, 2.0 / 6, 2.0 / 3},
		{"details", 2, 2.0 / 6, 1},
		{"booking", 1, 1.0 / 6, 0.5},
		{"confirmation", 0, 0, 0},
	}
	check("funnel", r.Funnel.Steps, wantFunnel)
	if r.Quality.Available || !strings.Contains(r.Quality.Note, "not available for a file without --summary") {
		t.Errorf("quality of a bare computation: %+v", r.Quality)
	}
}

func TestTopLimitsPages(t *testing.T) {
	r := Compute(handMade(), Options{Top: 2})
	if len(r.TopEntryPages) != 2 || len(r.TopExitPages) != 2 || len(r.EndReasons) != 3 {
		t.Fatalf("top 2: entry %v exit %v reasons %v", r.TopEntryPages, r.TopExitPages, r.EndReasons)
	}
}

func TestFunnelReached(t *testing.T) {
	cases := []struct {
		pages []string
		want  int
	}{
		{nil, 0},
		{[]string{"search", "results"}, 0},
		{[]string{"home"}, 1},
		{[]string{"home", "home", "search"}, 2},
		{[]string{"search", "home"}, 1},
		{[]string{"home", "results", "search", "results"}, 3},
		{[]string{"landing", "home", "x", "search", "results", "y", "details", "booking", "confirmation", "logout"}, 6},
		{[]string{"confirmation", "booking", "details", "results", "search", "home"}, 1},
		{[]string{"home", "search", "results", "details", "confirmation", "booking"}, 5},
	}
	for _, tc := range cases {
		if got := funnelReached(FunnelSteps, tc.pages); got != tc.want {
			t.Errorf("funnelReached(%v) = %d, want %d", tc.pages, got, tc.want)
		}
	}
}

func TestPercentiles(t *testing.T) {
	cases := []struct {
		values      []float64
		median, p95 float64
	}{
		{[]float64{7}, 7, 7},
		{[]float64{1, 2}, 1.5, 2},
		{[]float64{1, 2, 3}, 2, 3},
		{seq(20), 10.5, 19},  // ceil(19) = 19th value
		{seq(100), 50.5, 95}, // 95th value
		{seq(101), 51, 96},   // ceil(95.95) = 96th value
	}
	for _, tc := range cases {
		d, e := newDurationCounts(), newIntCounts()
		for _, v := range tc.values {
			d.add(v)
			e.add(int64(v), 1)
		}
		for name, c := range map[string]valueCounts{"durations": d.counts(), "ints": e.counts()} {
			st := stats(c, DurationBuckets)
			if m := *st.Median; !near(m, tc.median) {
				t.Errorf("%s: median of %d values = %v, want %v", name, len(tc.values), m, tc.median)
			}
			if p := *st.P95; !near(p, tc.p95) {
				t.Errorf("%s: p95 of %d values = %v, want %v", name, len(tc.values), p, tc.p95)
			}
		}
	}
}

// durationCounts keeps values off the millisecond grid, negative, beyond
// its pages, or infinite in a side map; every figure still equals the one
// computed from all the values sorted.
func TestDurationCountsExact(t *testing.T) {
	values := []float64{0, 0, 0.001, 0.0005, 1.25, 60, 60, 60.5, -3, 7199.999, 7200, 8388.607, 8388.608, 1e7, math.Inf(1), 3.14159, 0.001}
	for i := range 5000 {
		values = append(values, float64(i*i%9000)/1000*7)
	}
	for range 1<<16 + 3 { // wraps the uint16 count of 0 s around
		values = append(values, 0)
	}
	d := newDurationCounts()
	for _, v := range values {
		d.add(v)
	}
	sorted := slices.Clone(values)
	slices.Sort(sorted)
	got := stats(d.counts(), DurationBuckets)
	n := len(sorted)
	rank := func(q float64) float64 { return sorted[max(0, int(math.Ceil(q*float64(n)))-1)] }
	want := map[string]float64{
		"min": sorted[0], "max": sorted[n-1], "p95": rank(0.95), "p99": rank(0.99),
		"median": (sorted[n/2-1] + sorted[n/2]) / 2,
	}
	if n%2 == 1 {
		want["median"] = sorted[n/2]
	}
	have := map[string]float64{"min": *got.Min, "max": *got.Max, "p95": *got.P95, "p99": p99(d.counts()), "median": *got.Median}
	for k, w := range want {
		if have[k] != w {
			t.Errorf("%s = %v, want %v", k, have[k], w)
		}
	}
	var i int
	for v, c := range d.counts().ascending() {
		for range c {
			if sorted[i] != v {
				t.Fatalf("ascending: value %d is %v, want %v", i, v, sorted[i])
			}
			i++
		}
	}
	if i != n {
		t.Fatalf("ascending yields %d values, want %d", i, n)
	}
	finite := d.counts()
	var sum float64
	for _, v := range sorted {
		sum += v
	}
	if !math.IsInf(finite.sum(), 1) || !math.IsInf(sum, 1) {
		t.Errorf("sum = %v, want +Inf", finite.sum())
	}
}

// Users are counted from hashes merged across chunks.
func TestUserCounter(t *testing.T) {
	u := userCounter{chunkSize: 5000}
	want := map[string]int64{}
	for i := range 5000*7 + 777 {
		id := fmt.Sprintf("user-%d", (i*7919)%9001)
		u.add(id)
		want[id]++
	}
	per := u.perUser()
	if per.n != int64(len(want)) {
		t.Fatalf("users = %d, want %d", per.n, len(want))
	}
	wantPer := map[int64]int64{}
	for _, c := range want {
		wantPer[c]++
	}
	if !maps.Equal(per.m, wantPer) {
		t.Fatalf("sessions per user = %v, want %v", per.m, wantPer)
	}
	// A count past uint32 keeps the rest aside.
	var big userCounter
	big.hashes, big.counts = []uint64{42}, []uint32{math.MaxUint32 - 1}
	big.counts[0] = big.sum(42, big.counts[0], 5)
	if got := big.perUser().m; !maps.Equal(got, map[int64]int64{math.MaxUint32 + 4: 1}) {
		t.Errorf("sessions per user past uint32 = %v", got)
	}
}

func seq(n int) []float64 {
	out := make([]float64, n)
	for i := range out {
		out[i] = float64(i + 1)
	}
	return out
}

func TestWindow(t *testing.T) {
	cases := []struct {
		name, from, to string
		want           []string
	}{
		{"open", "", "", []string{"s1", "s2", "s3", "s4", "s5", "s6"}},
		{"from a date", "2026-11-02", "", []string{"s5", "s6"}},
		{"to a date includes that day", "", "2026-11-01", []string{"s1", "s2", "s3", "s4"}},
		{"one whole day", "2026-11-01", "2026-11-01", []string{"s1", "s2", "s3", "s4"}},
		{"from is inclusive, to exclusive", "2026-11-01T12:00:00Z", "2026-11-01T12:30:00Z", []string{"s2"}},
		{"to excludes a start at that instant", "", "2026-11-01T23:59:59Z", []string{"s1", "s2", "s3"}},
		{"offsets are honoured", "2026-11-02T01:00:00+01:00", "", []string{"s5", "s6"}},
		{"empty window", "2026-12-01", "", nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var opts Options
			var err error
			if tc.from != "" {
				if opts.From, err = ParseFrom(tc.from); err != nil {
					t.Fatal(err)
				}
			}
			if tc.to != "" {
				if opts.To, err = ParseTo(tc.to); err != nil {
					t.Fatal(err)
				}
			}
			var got []string
			for _, s := range handMade() {
				if opts.InWindow(s.SessionStartTimeMs) {
					got = append(got, s.SessionID)
				}
			}
			if !slices.Equal(got, tc.want) {
				t.Fatalf("kept %v, want %v", got, tc.want)
			}
			r := Compute(handMade(), opts)
			if r.Sessions != int64(len(tc.want)) {
				t.Fatalf("report has %d sessions, want %d", r.Sessions, len(tc.want))
			}
			if tc.from != "" && (r.Window.From == nil || *r.Window.From != opts.From.UTC().Format(time.RFC3339Nano)) {
				t.Errorf("window.from = %v", r.Window.From)
			}
		})
	}
	// The window applies to every figure: day 2 alone.
	opts := Options{}
	opts.From, _ = ParseFrom("2026-11-02")
	r := Compute(handMade(), opts)
	if r.Users != 2 || r.Funnel.Steps[0].Sessions != 1 || len(r.MostActivePerDay) != 1 || r.MostActivePerDay[0].SessionID != "s6" || *r.EventsPerSession.Median != 3 {
		t.Errorf("day 2: users %d, home %d, most active %v, median events %v", r.Users, r.Funnel.Steps[0].Sessions, r.MostActivePerDay, *r.EventsPerSession.Median)
	}
}

func TestParseBoundErrors(t *testing.T) {
	for _, s := range []string{"yesterday", "2026-13-01", "2026-11-01 10:00", "1700000000000", ""} {
		if _, err := ParseFrom(s); err == nil {
			t.Errorf("ParseFrom(%q) accepted", s)
		}
	}
	to, err := ParseTo("2026-11-01")
	if err != nil || !to.Equal(day2) {
		t.Errorf("ParseTo(date) = %v, %v; want the next midnight", to, err)
	}
}

// jsonKeys are the stable top-level JSON fields.
var jsonKeys = []string{
	"schema_version", "source", "window", "first_session_start", "last_session_start",
	"sessions", "users", "sessions_per_user", "duration_seconds", "events_per_session", "bounce",
	"pages_truncated_sessions", "sessions_per_day", "sessions_per_hour", "most_active_session_per_day",
	"top_entry_pages", "top_exit_pages", "funnel", "attributes", "end_reasons", "quality",
}

func keys(m map[string]any) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

func sorted(s ...string) []string { s = slices.Clone(s); slices.Sort(s); return s }

func decodeJSON(t *testing.T, r *Report) map[string]any {
	t.Helper()
	var buf bytes.Buffer
	if err := r.WriteJSON(&buf); err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(buf.Bytes(), &m); err != nil {
		t.Fatalf("not JSON: %v\n%s", err, buf.String())
	}
	return m
}

func TestJSONShape(t *testing.T) {
	for _, tc := range []struct {
		name     string
		sessions []Session
	}{{"hand-made", handMade()}, {"empty", nil}} {
		t.Run(tc.name, func(t *testing.T) {
			r := Compute(tc.sessions, Options{})
			r.Source = Source{Kind: "file", Location: "/x/sessions.jsonl", Format: ptr("jsonl")}
			m := decodeJSON(t, r)
			if got, want := keys(m), sorted(jsonKeys...); !slices.Equal(got, want) {
				t.Fatalf("top-level keys\n got %v\nwant %v", got, want)
			}
			if m["schema_version"] != 1.0 {
				t.Errorf("schema_version = %v", m["schema_version"])
			}
			sub := func(path ...string) map[string]any {
				cur := m
				for _, p := range path {
					cur = cur[p].(map[string]any)
				}
				return cur
			}
			want := map[string][]string{
				"source":             {"kind", "location", "namespace", "catalog", "format", "summary"},
				"window":             {"from", "to"},
				"sessions_per_user":  {"mean", "distribution"},
				"duration_seconds":   {"mean", "median", "p95", "min", "max", "distribution"},
				"events_per_session": {"mean", "median", "p95", "min", "max", "distribution"},
				"bounce":             {"sessions", "rate"},
				"funnel":             {"definition", "steps"},
				"quality": {"available", "basis", "note", "records", "duplicates", "late", "rejected",
					"duplicate_rate", "late_rate", "rejected_rate", "rejected_by_reason", "account_holds"},
			}
			for k, v := range want {
				if got := keys(sub(k)); !slices.Equal(got, sorted(v...)) {
					t.Errorf("%s keys\n got %v\nwant %v", k, got, sorted(v...))
				}
			}
			steps := sub("funnel")["steps"].([]any)
			if len(steps) != len(FunnelSteps) {
				t.Fatalf("%d funnel steps", len(steps))
			}
			if got := keys(steps[0].(map[string]any)); !slices.Equal(got, sorted("step", "sessions", "share_of_sessions", "conversion_from_previous")) {
				t.Errorf("funnel step keys %v", got)
			}
			bucket := sub("duration_seconds")["distribution"].([]any)
			if got := keys(bucket[0].(map[string]any)); !slices.Equal(got, sorted("label", "min", "max", "count", "share")) {
				t.Errorf("bucket keys %v", got)
			}
			if last := bucket[len(bucket)-1].(map[string]any); last["max"] != nil {
				t.Errorf("last bucket max = %v, want null", last["max"])
			}
			q := sub("quality")
			if q["available"] != false || q["late_rate"] != nil || q["rejected_rate"] != nil || !strings.Contains(q["note"].(string), "not available for a file without --summary") {
				t.Errorf("quality of a file without summary: %v", q)
			}
			for _, k := range []string{"sessions_per_day", "sessions_per_hour", "most_active_session_per_day", "top_entry_pages", "top_exit_pages", "end_reasons"} {
				if _, ok := m[k].([]any); !ok {
					t.Errorf("%s = %v, want an array (never null)", k, m[k])
				}
			}
			if tc.sessions == nil {
				if m["first_session_start"] != nil || sub("duration_seconds")["mean"] != nil || sub("sessions_per_user")["mean"] != nil {
					t.Errorf("empty report: want null for figures of nothing")
				}
			} else {
				if tc := m["top_entry_pages"].([]any)[0].(map[string]any); tc["name"] != "home" || tc["sessions"] != 4.0 {
					t.Errorf("top entry page %v", tc)
				}
				if a := m["most_active_session_per_day"].([]any)[0].(map[string]any); a["session_id"] != "s4" || a["session_start"] != "2026-11-01T23:59:59.000Z" {
					t.Errorf("most active %v", a)
				}
			}
		})
	}
}

func TestTextOutput(t *testing.T) {
	r := Compute(handMade(), Options{})
	r.Source = Source{Kind: "file", Location: "/x/sessions.jsonl", Format: ptr("jsonl")}
	var buf bytes.Buffer
	if err := r.WriteText(&buf); err != nil {
		t.Fatal(err)
	}
	out := buf.String()
	for _, want := range []string{
		"sessions file /x/sessions.jsonl (jsonl)", "Overview", "sessions per user (mean)  1.50",
		"bounce rate               16.7%", "session duration", "24m30s", "Funnel", "5. booking",
		"Most active session of each day", "2026-11-02  s6", "Top entry pages", "End reasons",
		"not available for a file without --summary",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("text output lacks %q:\n%s", want, out)
		}
	}
	// Columns line up: every row of the end reasons table has its count
	// ending at the same column.
	lines := strings.Split(out, "\n")
	i := slices.Index(lines, "End reasons")
	var ends []int
	for _, l := range lines[i+2 : i+5] {
		ends = append(ends, strings.Index(l, "%"))
	}
	if ends[0] != ends[1] || ends[1] != ends[2] {
		t.Errorf("end reasons not aligned:\n%s", strings.Join(lines[i:i+5], "\n"))
	}

	var empty bytes.Buffer
	if err := Compute(nil, Options{}).WriteText(&empty); err != nil {
		t.Fatal(err)
	}
}

func TestPct(t *testing.T) {
	cases := map[float64]string{0: "0%", 1: "100.0%", 0.5: "50.0%", 1.0 / 6: "16.7%", 10.0 / 300000: "0.0033%", 0.00098: "0.098%", 0.0045: "0.45%"}
	for f, want := range cases {
		if got := pct(f); got != want {
			t.Errorf("pct(%v) = %q, want %q", f, got, want)
		}
	}
}

// HandMade exports the hand-made sessions to the external tests.
var HandMade = handMade
