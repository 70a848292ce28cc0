package cli

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sessionize/sessionize/internal/event"
)

// The user: a Spark-tutorial file. Without the schema flags batch
// fails and says what to give; with them it makes the sessions.
func TestBatchSchemaFlags(t *testing.T) {
	dir := t.TempDir()
	in := filepath.Join(dir, "events.jsonl")
	data := `{"user_id": "alice", "account_id": 7, "event_time": "2025-12-04T10:00:00Z", "page": {"path": "/home"}}
{"user_id": "alice", "account_id": 7, "event_time": "2025-12-04T10:05:00Z", "page": {"path": "/search"}}
{"user_id": "alice", "account_id": 8, "event_time": "2025-12-04T10:06:00Z", "page": {"path": "/home"}}
`
	if err := os.WriteFile(in, []byte(data), 0o644); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "sessions.jsonl")
	code, _, stderr := runCLI(t, "batch", "-i", in, "-o", out)
	if code != 1 || !strings.Contains(stderr, "no user field uuid; name yours with --user-field") ||
		!strings.Contains(stderr, "more than --max-rejected-ratio 0.5 allows") {
		t.Fatalf("exit %d, stderr:\n%s", code, stderr)
	}
	if _, err := os.Stat(out); err == nil {
		t.Fatal("sessions written past --max-rejected-ratio")
	}
	code, _, stderr = runCLI(t, "batch", "-i", in, "-o", out, "--user-field", "user_id", "--user-field", "account_id",
		"--time-field", "event_time", "--time-format", "rfc3339", "--event-id-field", "", "--page-field", "page.path")
	if code != 0 || !strings.Contains(stderr, "fields              user user_id+account_id, event id none (hash of the record), time event_time (rfc3339), page page.path") {
		t.Fatalf("exit %d, stderr:\n%s", code, stderr)
	}
	b, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	if s := string(b); strings.Count(s, "\n") != 2 || !strings.Contains(s, `"uuid":"[\"alice\",\"7\"]"`) || !strings.Contains(s, `"pages_visited":["/home","/search"]`) {
		t.Fatalf("sessions:\n%s", s)
	}
	if code, _, stderr := runCLI(t, "batch", "-i", in, "-o", out, "--time-format", "yyyy-MM"); code != ExitUsage || !strings.Contains(stderr, "--time-format") {
		t.Fatalf("bad layout: exit %d, stderr:\n%s", code, stderr)
	}
	if code, _, stderr := runCLI(t, "batch", "-i", in, "-o", out, "--user-field", "a..b"); code != ExitUsage || !strings.Contains(stderr, "empty name") {
		t.Fatalf("bad path: exit %d, stderr:\n%s", code, stderr)
	}
}

// produce --input keys a line by the schema's user key, also when the rest
// of the record is rejected.
func TestUUIDKeyBySchema(t *testing.T) {
	sch, err := event.NewSchema([]string{"user.id", "acct"}, "none", "ts", "", event.TimeFormat{})
	if err != nil {
		t.Fatal(err)
	}
	ps := event.NewParser(sch, 0)
	var f event.Fields
	for _, tc := range []struct{ line, key string }{
		{`{"user": {"id": "u1"}, "acct": 7, "ts": 1764842400}`, `["u1","7"]`},
		{`{"user": {"id": "u1"}, "acct": 7, "ts": "yesterday"}`, `["u1","7"]`}, // rejected, still keyed
		{`{"user": {"id": "u1"}, "ts": 1764842400}`, ""},
		{`{not json`, ""},
	} {
		if k := uuidKey(ps, &f, []byte(tc.line)); string(k) != tc.key || (k == nil) != (tc.key == "") {
			t.Errorf("%s: key %q, want %q", tc.line, k, tc.key)
		}
	}
}
