package check

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/klauspost/compress/gzip"
)

// ev renders one valid event.
func ev(uuid, id string, ts int64) string {
	return fmt.Sprintf(`{"event_id": %q, "page_name": "home", "event_timestamp": "%d", "uuid": %q}`, id, ts, uuid)
}

func writeFile(t testing.TB, dir, name string, lines ...string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	data := strings.Join(lines, "\n")
	if len(lines) > 0 {
		data += "\n"
	}
	if err := os.WriteFile(p, []byte(data), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func checkFiles(t testing.TB, opts Options, paths ...string) *Report {
	t.Helper()
	r, err := CheckFiles(context.Background(), opts, paths, nil)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func lateCounts(r *Report) map[string]int64 {
	m := map[string]int64{}
	for _, l := range r.LateBy {
		m[l.AllowedLateness] = l.Late
	}
	return m
}

const (
	t0     = int64(1_700_000_000_000)
	sec    = int64(1000)
	minute = 60 * sec
)

// TestKnownAnswers runs small inputs whose every number is worked out by
// hand.
func TestKnownAnswers(t *testing.T) {
	type want struct {
		records, valid, dups, ooo, users int64
		rejected                         map[string]int64
		late                             map[string]int64 // by allowed lateness
		p50, p99, maxLate                int64
		perUser                          Distribution
		minMs, maxMs                     int64
	}
	cases := []struct {
		name  string
		lines []string
		want  want
	}{
		{
			name:  "in order",
			lines: []string{ev("u1", "a", t0), ev("u1", "b", t0+sec), ev("u2", "c", t0+2*sec)},
			want: want{records: 3, valid: 3, users: 2, rejected: map[string]int64{},
				late:    map[string]int64{"1m": 0, "5m": 0, "10m": 0, "30m": 0, "1h": 0},
				perUser: Distribution{Mean: 1.5, P50: 1, P99: 2, Max: 2}, minMs: t0, maxMs: t0 + 2*sec},
		},
		{
			// Running max goes t0+20m; then records 2, 7, 10 (exactly), 10m+1ms,
			// 31 and 61 minutes behind it.
			name: "lateness at the thresholds",
			lines: []string{
				ev("u1", "a", t0+20*minute),
				ev("u1", "b", t0+18*minute),        // 2m
				ev("u2", "c", t0+13*minute),        // 7m
				ev("u2", "d", t0+10*minute),        // 10m: on time at 10m
				ev("u3", "e", t0+10*minute-1),      // 10m+1ms: late at 10m
				ev("u3", "f", t0-11*minute),        // 31m
				ev("u4", "g", t0-41*minute),        // 61m
				ev("u4", "h", t0+20*minute),        // equal to the max: not out of order
				ev("u4", "i", t0+30*minute),        // new max
				ev("u4", "j", t0+30*minute-30*sec), // 30s
			},
			want: want{records: 10, valid: 10, ooo: 7, users: 4, rejected: map[string]int64{},
				late: map[string]int64{"1m": 6, "5m": 5, "10m": 3, "30m": 2, "1h": 1},
				// sorted lateness: 30s, 2m, 7m, 10m, 10m+1ms, 31m, 61m
				p50: 10 * minute, p99: 61 * minute, maxLate: 61 * minute,
				perUser: Distribution{Mean: 2.5, P50: 2, P99: 4, Max: 4}, minMs: t0 - 41*minute, maxMs: t0 + 30*minute},
		},
		{
			// A duplicate never moves the running max (even with a later
			// timestamp), but is itself checked for lateness, as run does.
			name: "duplicates",
			lines: []string{
				ev("u1", "a", t0+20*minute),
				ev("u1", "a", t0+40*minute), // copy: not a new max
				ev("u1", "b", t0+5*minute),  // 15m behind t0+20m (not 35m)
				ev("u1", "a", t0),           // copy, 20m behind: late at 10m
				ev("u2", "a", t0+20*minute), // other user, same id: not a copy
			},
			want: want{records: 5, valid: 5, dups: 2, ooo: 2, users: 2, rejected: map[string]int64{},
				late: map[string]int64{"1m": 2, "5m": 2, "10m": 2, "30m": 0, "1h": 0},
				p50:  15 * minute, p99: 20 * minute, maxLate: 20 * minute,
				perUser: Distribution{Mean: 1.5, P50: 1, P99: 2, Max: 2}, minMs: t0, maxMs: t0 + 40*minute},
		},
		{
			name: "rejects",
			lines: []string{
				`not json`,
				`[1,2]`,
				`{"event_id": "a", "event_timestamp": "1"}`,
				`{"uuid": "u", "event_timestamp": "1"}`,
				`{"uuid": "u", "event_id": "a", "event_timestamp": "1.5"}`,
				`{"uuid": "u", "event_id": "a", "event_timestamp": -1}`,
				``,
				"\r",
				ev("u1", "a", t0) + "\r", // CRLF is fine
			},
			want: want{records: 9, valid: 1, users: 1,
				rejected: map[string]int64{"invalid_json": 2, "missing_user": 1, "missing_event_id": 1, "bad_time_format": 1, "time_out_of_range": 1, "empty_record": 2},
				late:     map[string]int64{"1m": 0, "5m": 0, "10m": 0, "30m": 0, "1h": 0},
				perUser:  Distribution{Mean: 1, P50: 1, P99: 1, Max: 1}, minMs: t0, maxMs: t0},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			p := writeFile(t, t.TempDir(), "in.jsonl", tc.lines...)
			r := checkFiles(t, Options{}, p)
			w := tc.want
			got := want{records: r.Records, valid: r.Valid, dups: r.Duplicates, ooo: r.OutOfOrder, users: r.Users,
				rejected: r.RejectedByReason, late: lateCounts(r), p50: r.Lateness.P50Ms, p99: r.Lateness.P99Ms,
				maxLate: r.Lateness.MaxMs, perUser: r.EventsPerUser}
			if r.EventTime != nil {
				got.minMs, got.maxMs = r.EventTime.MinMs, r.EventTime.MaxMs
			}
			if !reflect.DeepEqual(got, w) {
				t.Errorf("got  %+v\nwant %+v", got, w)
			}
			if r.Rejected+r.Valid != r.Records {
				t.Errorf("rejected %d + valid %d != records %d", r.Rejected, r.Valid, r.Records)
			}
			if r.Late != w.late["10m"] || r.AllowedLateness != "10m" {
				t.Errorf("late at --allowed-lateness %s = %d, want %d at 10m", r.AllowedLateness, r.Late, w.late["10m"])
			}
		})
	}
}

// TestFilesAreSeparateSources: lateness is per file, duplicates across
// files.
func TestFilesAreSeparateSources(t *testing.T) {
	dir := t.TempDir()
	a := writeFile(t, dir, "a.jsonl", ev("u1", "a", t0+60*minute), ev("u1", "b", t0+45*minute)) // 15m late in a
	b := writeFile(t, dir, "b.jsonl", ev("u2", "c", t0), ev("u1", "a", t0+60*minute), ev("u2", "d", t0+1))
	r := checkFiles(t, Options{}, filepath.Join(dir, "*.jsonl"))
	if len(r.Partitions) != 2 || r.Partitions[0].Name != a || r.Partitions[1].Name != b {
		t.Fatalf("partitions %+v", r.Partitions)
	}
	if r.Late != 1 || r.Partitions[0].Late != 1 || r.Partitions[1].Late != 0 {
		t.Errorf("late %d, by file %d %d; want 1: the second file's t0 is not behind the first file's max",
			r.Late, r.Partitions[0].Late, r.Partitions[1].Late)
	}
	if r.Duplicates != 1 || r.Partitions[1].Duplicates != 1 {
		t.Errorf("duplicates %d (in b: %d), want 1 across files", r.Duplicates, r.Partitions[1].Duplicates)
	}
	if got := r.Partitions[0].Lateness; got.Count != 1 || got.MaxMs != 15*minute || got.P50Ms != 15*minute {
		t.Errorf("lateness of a: %+v", got)
	}
}

func TestGzipStdinAndLongLines(t *testing.T) {
	dir := t.TempDir()
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	long := `{"uuid": "u1", "event_id": "x", "event_timestamp": "1", "pad": "` + strings.Repeat("x", 200) + `"}`
	fmt.Fprintf(zw, "%s\n%s\n%s", ev("u1", "a", t0), long, ev("u1", "b", t0-2*minute)) // no final newline
	zw.Close()
	gz := filepath.Join(dir, "events.log") // gzip found by content, not name
	os.WriteFile(gz, buf.Bytes(), 0o644)

	r, err := CheckFiles(context.Background(), Options{MaxRecordBytes: 100}, []string{gz, "-"},
		strings.NewReader(strings.Repeat("y", 5000)+"\n"+ev("u9", "z", t0)))
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]int64{"line_too_long": 2}
	if r.Records != 5 || !maps.Equal(r.RejectedByReason, want) || r.Valid != 3 {
		t.Errorf("records %d valid %d rejected %v; want 5, 3, %v", r.Records, r.Valid, r.RejectedByReason, want)
	}
	if len(r.Partitions) != 2 || r.Partitions[1].Name != "stdin" || r.Partitions[0].OutOfOrder != 1 {
		t.Errorf("partitions %+v", r.Partitions)
	}
	if lateCounts(r)["1m"] != 1 {
		t.Errorf("late at 1m: %v", lateCounts(r))
	}
}

func TestInputErrors(t *testing.T) {
	dir := t.TempDir()
	csv := writeFile(t, dir, "e.csv", "event_id,page_name,event_timestamp,booking_details,uuid")
	for _, tc := range []struct {
		in, want string
	}{
		{filepath.Join(dir, "nope.jsonl"), "no such file"},
		{filepath.Join(dir, "*.gz"), "no file matches"},
		{dir, "not a regular file"},
		{csv, "unsupported input format"},
	} {
		_, err := CheckFiles(context.Background(), Options{}, []string{tc.in}, nil)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: err %v, want %q", tc.in, err, tc.want)
		}
	}
}

func TestAllowedLatenessAndCandidates(t *testing.T) {
	p := writeFile(t, t.TempDir(), "in.jsonl",
		ev("u", "a", t0+time.Hour.Milliseconds()), ev("u", "b", t0), ev("u", "c", t0+50*minute), ev("u", "d", t0+58*minute))
	// lateness: 60m, 10m, 2m
	r := checkFiles(t, Options{AllowedLateness: 2 * time.Minute, AllowedLatenessSet: true, Candidates: []time.Duration{time.Minute, 2 * time.Minute}}, p)
	if r.AllowedLateness != "2m" || r.Late != 2 {
		t.Errorf("allowed %s late %d, want 2m and 2 (2m exactly is on time)", r.AllowedLateness, r.Late)
	}
	if got, want := lateCounts(r), map[string]int64{"1m": 3, "2m": 2}; !maps.Equal(got, want) {
		t.Errorf("late by %v, want %v (the allowed value listed once)", got, want)
	}
	if n := 0; true {
		for _, l := range r.LateBy {
			if l.Selected {
				n++
			}
		}
		if n != 1 {
			t.Errorf("%d rows selected, want 1", n)
		}
	}
	r = checkFiles(t, Options{AllowedLatenessSet: true}, p) // --allowed-lateness 0
	if r.Late != 3 || r.AllowedLateness != "0s" {
		t.Errorf("at 0: late %d (%s), want 3", r.Late, r.AllowedLateness)
	}
}

func TestReportOutputs(t *testing.T) {
	p := writeFile(t, t.TempDir(), "in.jsonl", ev("u1", "a", t0), ev("u1", "b", t0-20*minute), "oops")
	conds, err := ParseFailOn("rejected>10%, late>=1, duplicates>0")
	if err != nil {
		t.Fatal(err)
	}
	r := checkFiles(t, Options{FailOn: conds}, p)
	var text bytes.Buffer
	if err := r.WriteText(&text); err != nil {
		t.Fatal(err)
	}
	for _, w := range []string{"records", "invalid_json", "33.33%", "<- --allowed-lateness", "20m00s", "HELD", "64-bit hashes", "2023-11-14T22:13:20.000Z"} {
		if !strings.Contains(text.String(), w) {
			t.Errorf("text report lacks %q:\n%s", w, text.String())
		}
	}
	b, err := json.Marshal(r)
	if err != nil {
		t.Fatal(err)
	}
	var back map[string]any
	json.Unmarshal(b, &back)
	for _, k := range []string{"rejected_by_reason", "late_by_allowed_lateness", "partitions", "events_per_user", "duplicates_method", "fail_on"} {
		if _, ok := back[k]; !ok {
			t.Errorf("JSON lacks %q: %s", k, b)
		}
	}
	f := r.FailOn
	if !f.Failed || !f.Conditions[0].Held || !f.Conditions[1].Held || f.Conditions[2].Held {
		t.Errorf("fail-on %+v", f)
	}
}

func TestEmptyInput(t *testing.T) {
	p := writeFile(t, t.TempDir(), "empty.jsonl")
	r := checkFiles(t, Options{}, p)
	if r.Records != 0 || r.EventTime != nil || r.Users != 0 {
		t.Errorf("%+v", r)
	}
	if err := r.WriteText(&bytes.Buffer{}); err != nil {
		t.Fatal(err)
	}
}

// TestGzipMatchesPlain: a gzip input of many read-ahead blocks gives the
// same report as the plain file; a truncated one is an error.
func TestGzipMatchesPlain(t *testing.T) {
	dir := t.TempDir()
	var plain bytes.Buffer
	for i := range 40_000 {
		ts := t0 + int64(i)*sec
		if i%7 == 3 {
			ts -= 11 * minute
		}
		fmt.Fprintf(&plain, "%s\n", ev(fmt.Sprintf("u%d", i%500), fmt.Sprintf("e%d", i%39_000), ts))
	}
	var z bytes.Buffer
	zw := gzip.NewWriter(&z)
	zw.Write(plain.Bytes())
	zw.Close()
	p := filepath.Join(dir, "a.jsonl")
	gz := filepath.Join(dir, "a.jsonl.gz")
	cut := filepath.Join(dir, "cut.jsonl.gz")
	os.WriteFile(p, plain.Bytes(), 0o644)
	os.WriteFile(gz, z.Bytes(), 0o644)
	os.WriteFile(cut, z.Bytes()[:z.Len()/2], 0o644)
	a, b := checkFiles(t, Options{}, p), checkFiles(t, Options{}, gz)
	if a.Records != 40_000 || a.Duplicates != 1_000 || a.Late == 0 {
		t.Fatalf("plain: records %d duplicates %d late %d", a.Records, a.Duplicates, a.Late)
	}
	if a.Records != b.Records || a.Duplicates != b.Duplicates || a.Late != b.Late || a.OutOfOrder != b.OutOfOrder ||
		a.Lateness != b.Lateness || a.Users != b.Users || a.EventsPerUser != b.EventsPerUser {
		t.Errorf("gzip report differs:\nplain %+v\ngzip  %+v", a, b)
	}
	if _, err := CheckFiles(context.Background(), Options{}, []string{cut}, nil); err == nil || !strings.Contains(err.Error(), cut) {
		t.Errorf("truncated gzip: err %v, want one naming the file", err)
	}
}
