package rule

import (
	"strings"
	"testing"

	"github.com/sessionize/sessionize/internal/event"
)

// fieldsOf decodes the JSON object rec by s's schema, as a run's parser
// does, and returns its rule fields. rec needs no user or time: they are
// put in front.
func fieldsOf(t testing.TB, s *Set, rec string) []event.Value {
	t.Helper()
	base, err := event.NewSchema([]string{"uuid"}, "none", "event_timestamp", "none", event.MustTimeFormat("auto", ""))
	if err != nil {
		t.Fatal(err)
	}
	sch, err := s.Schema(base)
	if err != nil {
		t.Fatal(err)
	}
	body := strings.TrimSpace(rec)[1:]
	if strings.TrimSpace(body) != "}" {
		body = "," + body
	}
	var f event.Fields
	if r := event.NewParser(sch, 0).Parse([]byte(`{"uuid":"u","event_timestamp":1`+body), &f); r != event.OK {
		t.Fatalf("%s: rejected: %v", rec, r)
	}
	return f.Extra
}
