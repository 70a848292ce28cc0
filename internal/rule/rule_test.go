package rule

import (
	"fmt"
	"strings"
	"testing"

	"github.com/sessionize/sessionize/internal/session"
)

func TestMarks(t *testing.T) {
	s, err := Parse("page_name = landing", "page_name in (logout, confirmation)")
	if err != nil {
		t.Fatal(err)
	}
	m := s.NewMarker()
	for rec, want := range map[string]session.Mark{
		`{"page_name":"landing"}`:      session.StartsSession,
		`{"page_name":"logout"}`:       session.EndsSession,
		`{"page_name":"confirmation"}`: session.EndsSession,
		`{"page_name":"home"}`:         0,
		`{}`:                           0,
	} {
		if got, _ := m.Eval(fieldsOf(t, s, rec), nil); got != want {
			t.Errorf("%s: mark %v, want %v", rec, got, want)
		}
	}
	r := s.Apply(session.DefaultRules())
	if r.StartOn != `page_name = "landing"` || r.EndOn != `page_name in ("logout", "confirmation")` {
		t.Fatalf("canonical texts %q, %q", r.StartOn, r.EndOn)
	}
	var none *Set
	if mk, _ := none.NewMarker().Eval(nil, nil); !none.Empty() || mk != 0 || none.Apply(r) != session.DefaultRules() {
		t.Fatal("a nil Set must have no rules")
	}
}

func TestParseErrorsNameTheFlag(t *testing.T) {
	_, err := Parse("", "page_name = ")
	if err == nil || !strings.HasPrefix(err.Error(), "--end-session-on: expected a value") || !strings.Contains(err.Error(), "^") {
		t.Fatalf("err %v", err)
	}
	_, err = Parse("page_name in (a", "")
	if err == nil || !strings.HasPrefix(err.Error(), "--start-session-on: ") {
		t.Fatalf("err %v", err)
	}
}

// TestEvalNeedsTheSetsSchema: values from a decoder built without
// Set.Schema would make every rule silently false; Eval says so instead.
func TestEvalNeedsTheSetsSchema(t *testing.T) {
	s, err := Parse("", "page_name = logout")
	if err != nil {
		t.Fatal(err)
	}
	defer func() {
		if r := recover(); r == nil || !strings.Contains(fmt.Sprint(r), "Set.Schema") {
			t.Fatalf("recovered %v, want a panic naming Set.Schema", r)
		}
	}()
	s.NewMarker().Eval(nil, nil)
}
