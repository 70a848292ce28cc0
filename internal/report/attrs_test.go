package report

import (
	"context"
	"os"
	"path/filepath"
	"testing"
)

// TestAttributeRatesAndFunnelSteps: the boolean attributes of a batch
// sessions file (--session-attr NAME=any(...)) get a rate; other fields and
// pages_truncated do not; the funnel follows Options.Funnel.
func TestAttributeRatesAndFunnelSteps(t *testing.T) {
	path := filepath.Join(t.TempDir(), "s.jsonl")
	lines := `{"session_id":"a","uuid":"u1","session_start_time_ms":1,"session_end_time_ms":2,"event_count":2,"pages_visited":["home","cart"],"pages_truncated":false,"end_reason":"rule","converted":true,"mobile":false,"revenue":3.5}
{"session_id":"b","uuid":"u2","session_start_time_ms":1,"session_end_time_ms":2,"event_count":1,"pages_visited":["home"],"pages_truncated":true,"end_reason":"inactivity","converted":false,"mobile":false,"revenue":null}
{"session_id":"c","uuid":"u3","session_start_time_ms":1,"session_end_time_ms":2,"event_count":1,"pages_visited":["cart"],"pages_truncated":false,"end_reason":"inactivity","converted": true,"mobile":true}
{"session_id":"d","uuid":"u4","session_start_time_ms":1,"session_end_time_ms":2,"event_count":1,"pages_visited":["x"],"pages_truncated":false,"end_reason":"inactivity"}
`
	if err := os.WriteFile(path, []byte(lines), 0o644); err != nil {
		t.Fatal(err)
	}
	r, err := FromFile(context.Background(), path, nil, "", Options{Funnel: []string{"home", "cart"}})
	if err != nil {
		t.Fatal(err)
	}
	want := []AttributeRate{{Name: "converted", Sessions: 2, Of: 3, Rate: 2.0 / 3}, {Name: "mobile", Sessions: 1, Of: 3, Rate: 1.0 / 3}}
	if len(r.Attributes) != len(want) || r.Attributes[0] != want[0] || r.Attributes[1] != want[1] {
		t.Fatalf("attributes %+v, want %+v", r.Attributes, want)
	}
	if len(r.Funnel.Steps) != 2 || r.Funnel.Steps[0].Sessions != 2 || r.Funnel.Steps[1].Sessions != 1 || r.Funnel.Steps[1].Step != "cart" {
		t.Fatalf("funnel %+v", r.Funnel.Steps)
	}
}
