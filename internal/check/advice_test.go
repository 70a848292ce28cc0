package check

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sessionize/sessionize/internal/event"
)

// check reads by the schema it is given, names it, and says what looks
// wrong with the likely fix.
func TestCheckAdvice(t *testing.T) {
	dir := t.TempDir()
	spark := filepath.Join(dir, "spark.jsonl")
	seconds := filepath.Join(dir, "seconds.jsonl")
	os.WriteFile(spark, []byte(`{"user_id": "u1", "event_time": "2025-12-04T10:00:00Z", "page": "home"}`+"\n"), 0o644)
	os.WriteFile(seconds, []byte(`{"uuid": "u1", "event_id": "a", "event_timestamp": 1764842400}`+"\n"+
		`{"uuid": "u1", "event_id": "b", "event_timestamp": 1764843000}`+"\n"), 0o644)

	r := checkFiles(t, Options{}, spark)
	var text bytes.Buffer
	if err := r.WriteText(&text); err != nil {
		t.Fatal(err)
	}
	if len(r.Advice) != 1 || !strings.Contains(text.String(), "warning          most records were rejected (1 of 1, most as missing_user)") ||
		!strings.Contains(text.String(), "fields           user uuid, event id event_id, time event_timestamp (auto), page page_name") {
		t.Fatalf("advice %v:\n%s", r.Advice, text.String())
	}

	sch, err := event.NewSchema([]string{"user_id"}, "none", "event_time", "page", event.TimeFormat{})
	if err != nil {
		t.Fatal(err)
	}
	if r := checkFiles(t, Options{Schema: sch}, spark); r.Valid != 1 || len(r.Advice) != 0 || r.Fields["user"].([]string)[0] != "user_id" {
		t.Fatalf("with the schema: valid %d, advice %v, fields %v", r.Valid, r.Advice, r.Fields)
	}

	if r := checkFiles(t, Options{}, seconds); r.Valid != 2 || len(r.Advice) != 0 {
		t.Fatalf("seconds by magnitude: valid %d, advice %v", r.Valid, r.Advice)
	}
	r = checkFiles(t, Options{Schema: event.Schema{Format: event.MustTimeFormat("ms", "")}}, seconds)
	if r.EventTimes.Before2000 != 2 || len(r.Advice) != 1 || !strings.Contains(r.Advice[0], "did you mean --time-format s?") {
		t.Fatalf("strict ms: times %+v, advice %v", r.EventTimes, r.Advice)
	}
}
