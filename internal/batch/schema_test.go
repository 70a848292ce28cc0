package batch

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sessionize/sessionize/internal/event"
	"github.com/sessionize/sessionize/internal/session"
)

// The example: four events in epoch seconds over 3 h 47 min.
const secondsInput = `{"uuid": "u1", "event_id": "a", "event_timestamp": 1764842400, "page_name": "home"}
{"uuid": "u1", "event_id": "b", "event_timestamp": 1764843000, "page_name": "search"}
{"uuid": "u1", "event_id": "c", "event_timestamp": 1764849600, "page_name": "results"}
{"uuid": "u1", "event_id": "d", "event_timestamp": 1764856020, "page_name": "book"}
`

func runSchema(t *testing.T, input string, sch event.Schema, maxRatio float64) (*Summary, []outputSession, string, error) {
	t.Helper()
	dir := t.TempDir()
	in := filepath.Join(dir, "in.jsonl")
	if err := os.WriteFile(in, []byte(input), 0o644); err != nil {
		t.Fatal(err)
	}
	cfg := Config{Inputs: []string{in}, Output: filepath.Join(dir, "out.jsonl"), Rejected: filepath.Join(dir, "rejected.jsonl"),
		Rules: session.DefaultRules(), Schema: sch, MaxRejectedRatio: maxRatio, Workers: 2}
	sum, err := Run(context.Background(), cfg)
	var got []outputSession
	if _, serr := os.Stat(cfg.Output); serr == nil {
		got = readJSONLines[outputSession](t, cfg.Output)
	}
	var text strings.Builder
	if sum != nil {
		sum.WriteText(&text)
	}
	return sum, got, text.String(), err
}

func TestEpochSecondsAreSeconds(t *testing.T) {
	sum, got, _, err := runSchema(t, secondsInput, event.Schema{}, 0.5)
	if err != nil {
		t.Fatal(err)
	}
	// 10 min, then 1 h 50 min, then 1 h 47 min gaps: three sessions.
	if len(got) != 3 || got[0].Start != 1764842400000 || len(sum.Advice) != 0 {
		t.Fatalf("sessions %+v, advice %v; want 3 sessions from 2025-12-04T10:00Z and no advice", got, sum.Advice)
	}
}

func TestStrictMillisWarnsOfSeconds(t *testing.T) {
	sch := event.Schema{Format: event.MustTimeFormat("ms", "")}
	sum, got, text, err := runSchema(t, secondsInput, sch, 0.5)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || sum.EventTimes.Before2000 != 4 {
		t.Fatalf("sessions %d, times %+v; want the one 13.6 s session of the strict rule, 4 times before 2000", len(got), sum.EventTimes)
	}
	if !strings.Contains(text, "did you mean --time-format s?") || !strings.Contains(text, "time event_timestamp (ms)") {
		t.Fatalf("summary lacks the unit advice or the fields:\n%s", text)
	}
}

func TestMillisAheadOfFileWarns(t *testing.T) {
	sch := event.Schema{Format: event.MustTimeFormat("s", "")}
	in := `{"uuid": "u1", "event_id": "a", "event_timestamp": 1764842400000}` + "\n"
	sum, _, text, err := runSchema(t, in, sch, 0)
	if err != nil {
		t.Fatal(err)
	}
	// Read as seconds, ms are past the year 9999: rejected, with advice.
	if sum.RejectedByReason["time_out_of_range"] != 1 || !strings.Contains(text, "check the unit, or give --time-format auto") {
		t.Fatalf("rejected %v:\n%s", sum.RejectedByReason, text)
	}
	// Times far after the file was written: not a unit mistake (a factor
	// of 1000 from today is past 9999 or before 2000), a wrong field.
	in = fmt.Sprintf(`{"uuid": "u1", "event_id": "a", "event_timestamp": %d}`+"\n", time.Now().Add(10*24*time.Hour).UnixMilli())
	sum, _, text, err = runSchema(t, in, event.Schema{}, 0.5)
	if err != nil {
		t.Fatal(err)
	}
	if sum.EventTimes.Ahead != 1 || !strings.Contains(text, "more than a day ahead of their file's or Kafka's time") ||
		!strings.Contains(text, "check that --time-field names the event time") {
		t.Fatalf("times %+v:\n%s", sum.EventTimes, text)
	}
}

func TestSparkTutorialFile(t *testing.T) {
	in := `{"user_id": "u1", "event_time": "2025-12-04T10:00:00Z", "page": "home"}
{"user_id": "u1", "event_time": "2025-12-04T10:05:00Z", "page": "cart"}
{"user_id": 42, "event_time": "2025-12-04T10:00:00Z", "page": "home"}
`
	sum, got, text, err := runSchema(t, in, event.Schema{}, 0.5)
	if !errors.Is(err, ErrTooManyRejected) || got != nil || sum.RejectedByReason["missing_user"] != 3 {
		t.Fatalf("err %v, sessions %v, rejected %v; want the run to fail with no sessions", err, got, sum.RejectedByReason)
	}
	if !strings.Contains(text, "no user field uuid; name yours with --user-field (a rejected record has the fields event_time, page, user_id)") {
		t.Fatalf("summary lacks the advice:\n%s", text)
	}
	sch, err := event.NewSchema([]string{"user_id"}, "none", "event_time", "page", event.TimeFormat{})
	if err != nil {
		t.Fatal(err)
	}
	sum, got, text, err = runSchema(t, in, sch, 0.5)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || got[0].UUID != "42" || got[1].UUID != "u1" || got[1].Count != 2 || sum.Rejected != 0 {
		t.Fatalf("sessions %+v, rejected %d", got, sum.Rejected)
	}
	if !strings.Contains(text, "user user_id, event id none (hash of the record), time event_time (auto), page page") {
		t.Fatalf("summary does not name the fields:\n%s", text)
	}
}
