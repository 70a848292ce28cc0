package report

import (
	"bytes"
	"encoding/json"
	"slices"
	"testing"

	"github.com/sessionize/sessionize/internal/batch"
	"github.com/sessionize/sessionize/internal/session"
)

// TestJSONSessionReadsBatchLines: the report's JSON lines reader, whose
// struct tags spell the session columns once more, knows every key batch
// writes and reads every value.
func TestJSONSessionReadsBatchLines(t *testing.T) {
	s := session.Session{UUID: "u", StartMs: 1000, EndMs: 61_000, EventCount: 2, Pages: []string{"home", "search"},
		PagesTruncated: true, EntryPage: "home", ExitPage: "search", EndReason: session.Inactivity}
	dec := json.NewDecoder(bytes.NewReader(batch.AppendSessionJSON(nil, &s)))
	dec.DisallowUnknownFields()
	var js jsonSession
	if err := dec.Decode(&js); err != nil {
		t.Fatalf("a batch line: %v", err)
	}
	if js.SessionID == nil || *js.SessionID != s.ID() || js.UUID == nil || *js.UUID != s.UUID ||
		js.SessionStartTimeMs == nil || *js.SessionStartTimeMs != s.StartMs || js.SessionEndTimeMs != s.EndMs ||
		js.SessionDurationSeconds != s.DurationSeconds() || js.EventCount == nil || *js.EventCount != s.EventCount ||
		!slices.Equal(js.PagesVisited, s.Pages) || js.PagesTruncated != s.PagesTruncated || js.EntryPage != s.EntryPage ||
		js.ExitPage != s.ExitPage || js.EndReason != s.EndReason.String() {
		t.Fatalf("read %+v from %+v", js, s)
	}
}
