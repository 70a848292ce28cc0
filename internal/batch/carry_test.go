package batch

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/sessionize/sessionize/internal/session"
)

type testEvent struct {
	uuid, id, page string
	t              int64
}

func (e testEvent) line() string {
	return fmt.Sprintf(`{"event_id": %q, "page_name": %q, "event_timestamp": "%d", "uuid": %q}`, e.id, e.page, e.t, e.uuid)
}

// randomStream makes a few hours of activity for some users: bursts, long
// pauses, long sessions, out-of-order arrival and redeliveries.
func randomStream(r *rand.Rand, n int) []testEvent {
	const minute = 60_000
	users := 2 + r.IntN(30)
	clock := make([]int64, users)
	for i := range clock {
		clock[i] = 1_700_000_000_000 + r.Int64N(60*minute)
	}
	var out []testEvent
	for i := 0; i < n; i++ {
		u := r.IntN(users)
		switch r.IntN(12) {
		case 0:
			clock[u] += 30*minute + r.Int64N(3) - 1
		case 1:
			clock[u] += r.Int64N(4 * 60 * minute)
		default:
			clock[u] += r.Int64N(8 * minute)
		}
		e := testEvent{fmt.Sprintf("user-%d", u), fmt.Sprintf("ev-%d", i), fmt.Sprintf("p%d", r.IntN(6)), clock[u] - r.Int64N(3*minute)}
		out = append(out, e)
		if r.IntN(15) == 0 {
			out = append(out, e) // redelivery
		}
	}
	return out
}

func writeLines(t *testing.T, path string, evs []testEvent, extra ...string) {
	t.Helper()
	var b strings.Builder
	for _, e := range evs {
		b.WriteString(e.line())
		b.WriteByte('\n')
	}
	for _, x := range extra {
		b.WriteString(x)
		b.WriteByte('\n')
	}
	if err := os.WriteFile(path, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
}

func runBatch(t *testing.T, cfg Config) (*Summary, []string) {
	t.Helper()
	if cfg.Rules == (session.Rules{}) {
		cfg.Rules = session.DefaultRules()
	}
	if cfg.Workers == 0 {
		cfg.Workers = 2
	}
	sum, err := Run(context.Background(), cfg)
	if err != nil {
		t.Fatalf("batch %v: %v", cfg.Inputs, err)
	}
	b, err := os.ReadFile(cfg.Output)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	if len(lines) == 1 && lines[0] == "" {
		lines = nil
	}
	return sum, lines
}

// TestCarryResumeEqualsOneRun: sessionizing A+B in one run gives exactly
// the sessions (ids, end reasons and all) of running A with --carry-open and
// then B with --resume, for random split points in time, also across three
// runs.
func TestCarryResumeEqualsOneRun(t *testing.T) {
	r := rand.New(rand.NewPCG(42, 7))
	var everCarried int64
	for iter := 0; iter < 40; iter++ {
		dir := t.TempDir()
		evs := randomStream(r, 50+r.IntN(400))
		all := filepath.Join(dir, "all.jsonl")
		writeLines(t, all, evs, "{broken")
		_, want := runBatch(t, Config{Inputs: []string{all}, Output: filepath.Join(dir, "all-out.jsonl")})

		lo, hi := evs[0].t, evs[0].t
		for _, e := range evs {
			lo, hi = min(lo, e.t), max(hi, e.t)
		}
		cuts := []int64{lo + r.Int64N(hi-lo+1)}
		if iter%2 == 0 {
			cuts = append(cuts, lo+r.Int64N(hi-lo+1))
			slices.Sort(cuts)
		}
		cuts = append(cuts, hi+1)
		var got []string
		state := ""
		from := int64(-1 << 63)
		var resumedTotal, carriedTotal int64
		for k, cut := range cuts {
			var part []testEvent
			for _, e := range evs {
				if e.t >= from && e.t < cut {
					part = append(part, e)
				}
			}
			in := filepath.Join(dir, fmt.Sprintf("part%d.jsonl", k))
			writeLines(t, in, part)
			cfg := Config{Inputs: []string{in}, Output: filepath.Join(dir, fmt.Sprintf("out%d.jsonl", k)), Resume: state}
			if k < len(cuts)-1 {
				cfg.CarryOpen = filepath.Join(dir, fmt.Sprintf("state%d", k))
			}
			sum, lines := runBatch(t, cfg)
			if !sum.InvariantHolds {
				t.Fatalf("invariant: %+v", sum)
			}
			resumedTotal += sum.ResumedEvents
			carriedTotal += sum.CarriedEvents
			got = append(got, lines...)
			state, from = cfg.CarryOpen, cut
		}
		everCarried += carriedTotal
		if resumedTotal != carriedTotal {
			t.Fatalf("iteration %d: carried %d events but resumed %d", iter, carriedTotal, resumedTotal)
		}
		slices.Sort(got)
		slices.Sort(want)
		if !slices.Equal(got, want) {
			t.Fatalf("iteration %d (cuts %v): split runs differ from one run\n got %d sessions\nwant %d sessions\nfirst got:  %v\nfirst want: %v",
				iter, cuts, len(got), len(want), first(got), first(want))
		}
	}
	if everCarried == 0 {
		t.Fatal("no run carried an open session: the test exercised nothing")
	}
}

func first(s []string) string {
	if len(s) == 0 {
		return ""
	}
	return s[0]
}

func TestResumeRejectsOtherRules(t *testing.T) {
	dir := t.TempDir()
	in := filepath.Join(dir, "in.jsonl")
	writeLines(t, in, []testEvent{{"u", "a", "home", 1_700_000_000_000}})
	state := filepath.Join(dir, "state")
	runBatch(t, Config{Inputs: []string{in}, Output: filepath.Join(dir, "o1.jsonl"), CarryOpen: state})
	rules := session.DefaultRules()
	rules.InactivityMs = 5 * 60_000
	_, err := Run(context.Background(), Config{Inputs: []string{in}, Output: filepath.Join(dir, "o2.jsonl"), Resume: state, Rules: rules})
	if err == nil || !strings.Contains(err.Error(), "resume with the same values") {
		t.Fatalf("want an error naming the rule mismatch, got %v", err)
	}
	if _, err := os.Stat(filepath.Join(dir, "o2.jsonl")); !os.IsNotExist(err) {
		t.Fatalf("failed run left an output file")
	}
}

func defaultRulesForTest() session.Rules { return session.DefaultRules() }

// TestResumeLateEventIsLate: after a run with --carry-open closed a user's
// session, a --resume run given an older event of that user (a re-sent copy
// of its first event, or one that arrived late) must not write a second
// session for it (the copy's would even have the same session_id): it is
// counted as late, listed in --rejected with reason "late", and the
// summary says so.
func TestResumeLateEventIsLate(t *testing.T) {
	const t0, minute = int64(1_700_000_000_000), int64(60_000)
	dir := t.TempDir()
	a := filepath.Join(dir, "a.jsonl")
	writeLines(t, a, []testEvent{
		{"u", "u1", "home", t0}, {"u", "u2", "search", t0 + minute}, // closes: the input goes on for two hours
		{"x", "x1", "home", t0 + 2*60*minute - 10*minute}, // still open at the end: carried
		{"y", "y1", "home", t0 + 2*60*minute},             // the end; carried too
	})
	state := filepath.Join(dir, "state")
	sumA, outA := runBatch(t, Config{Inputs: []string{a}, Output: filepath.Join(dir, "a-out.jsonl"), CarryOpen: state})
	if sumA.Sessions != 1 || sumA.CarriedSessions != 2 {
		t.Fatalf("first run: %d sessions, %d carried", sumA.Sessions, sumA.CarriedSessions)
	}
	b := filepath.Join(dir, "b.jsonl")
	writeLines(t, b, []testEvent{
		{"u", "u1", "home", t0},                             // re-sent copy of the closed session's first event
		{"u", "u9", "details", t0 + 5*minute},               // late: it belonged in the closed session
		{"w", "w1", "home", t0 + 60*minute},                 // older than the first run's end: late too
		{"x", "x2", "search", t0 + 2*60*minute + minute},    // continues the carried session
		{"w", "w2", "home", t0 + 2*60*minute + 2*minute},    // after the first run's end
		{"x", "x0", "results", t0 + 2*60*minute - 5*minute}, // older than the end, but within x's carried session
	})
	rejected := filepath.Join(dir, "rejected.jsonl")
	cfg := Config{Inputs: []string{b}, Output: filepath.Join(dir, "b-out.jsonl"), Resume: state, Rejected: rejected}
	sumB, outB := runBatch(t, cfg)
	ids := map[string]string{}
	for _, l := range append(outA, outB...) {
		var s struct {
			ID   string `json:"session_id"`
			UUID string `json:"uuid"`
		}
		if err := json.Unmarshal([]byte(l), &s); err != nil {
			t.Fatal(err)
		}
		if prev, ok := ids[s.ID]; ok {
			t.Fatalf("session_id %s written twice:\n %s\n %s", s.ID, prev, l)
		}
		ids[s.ID] = l
	}
	for _, l := range outB {
		if strings.Contains(l, `"uuid":"u"`) {
			t.Fatalf("second run wrote another session of u: %s", l)
		}
	}
	if !sumB.InvariantHolds || sumB.Late != 3 || sumB.EventsInSessions != 5 || sumB.Rejected != 0 {
		t.Fatalf("second run: late %d (want 3), in sessions %d (want 5: x's three, y1, w2), rejected %d, invariant %v",
			sumB.Late, sumB.EventsInSessions, sumB.Rejected, sumB.InvariantHolds)
	}
	rej, err := os.ReadFile(rejected)
	if err != nil {
		t.Fatal(err)
	}
	if n := strings.Count(string(rej), `"reason":"late"`); n != 3 || !strings.Contains(string(rej), `b.jsonl:2"`) {
		t.Fatalf("rejected file lists %d late records, want 3 with their file:line:\n%s", n, rej)
	}
	var text strings.Builder
	sumB.WriteText(&text)
	if !strings.Contains(text.String(), "late                3 (older than 2023-11-15T00:13:20Z") || !strings.Contains(text.String(), "+ late") {
		t.Fatalf("summary does not explain the late events:\n%s", text.String())
	}
}
