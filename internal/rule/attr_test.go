package rule

import (
	"strings"
	"testing"
)

// sessionAttrs folds records through the attributes of specs, as the
// engine does, and returns the values.
func sessionAttrs(t *testing.T, specs []string, records ...string) []Value {
	t.Helper()
	s, err := Parse("", "", specs...)
	if err != nil {
		t.Fatal(err)
	}
	m := s.NewMarker()
	fold := s.Fold()
	var state []byte
	for _, r := range records {
		_, in := m.Eval(fieldsOf(t, s, r), nil)
		state = fold(state, string(in))
	}
	vals, err := s.Values(state)
	if err != nil {
		t.Fatal(err)
	}
	return vals
}

func TestAttrAggregates(t *testing.T) {
	recs := []string{
		`{"page_name":"home","d":{"device":"ios"},"amount":"12.5"}`,
		`{"page_name":"search","d":{"device":"web"},"amount":7}`,
		`{"page_name":"confirmation","d":{"device":"ios"},"amount":"n/a"}`,
		`{"page_name":"home","amount":null}`,
	}
	for _, c := range []struct {
		spec string
		want Value
	}{
		{"x=first(d.device)", Value{Str: "ios"}},
		{"x=last(d.device)", Value{Str: "ios"}},
		{"x=last(page_name)", Value{Str: "home"}},
		{"x=count()", Value{Long: 4}},
		{"x=count(d.device)", Value{Long: 3}},
		{"x=count_distinct(d.device)", Value{Long: 2}},
		{"x=count_distinct(page_name)", Value{Long: 3}},
		{"x=sum(amount)", Value{Float: 19.5}},
		{"x=min(amount)", Value{Float: 7}},
		{"x=max(amount)", Value{Float: 12.5}},
		{"x=any(page_name = confirmation)", Value{Bool: true}},
		{"x=any(page_name = logout)", Value{Bool: false}},
		{"x=first(nothing)", Value{Null: true}},
		{"x=sum(nothing)", Value{Null: true}},
		{"x=count(nothing)", Value{Long: 0}},
		{"x=count_distinct(nothing)", Value{Long: 0}},
	} {
		got := sessionAttrs(t, []string{c.spec}, recs...)
		if got[0] != c.want {
			t.Errorf("%s: %+v, want %+v", c.spec, got[0], c.want)
		}
	}
	// Several at once share the record's fields; a session of no folded
	// events has nulls, zeros and false.
	got := sessionAttrs(t, []string{"a=first(d.device)", "b=sum(amount)", "c=any(exists d)"})
	if !got[0].Null || !got[1].Null || got[2].Bool {
		t.Fatalf("empty session: %+v", got)
	}
	got = sessionAttrs(t, []string{"a=first(d.device)", "b=sum(amount)", "c=any(exists d)", "d=count_distinct(page_name)"}, recs...)
	if got[0].Str != "ios" || got[1].Float != 19.5 || !got[2].Bool || got[3].Long != 3 {
		t.Fatalf("together: %+v", got)
	}
}

func TestAttrSpecErrors(t *testing.T) {
	for spec, want := range map[string]string{
		"revenue":                     "want NAME=AGG(ARG)",
		"Revenue=sum(x)":              "lower case",
		"revenue=total(x)":            `unknown aggregate "total"`,
		"revenue=sum x":               "want AGG(ARG)",
		"event_count=count()":         "is a column of every session",
		"x=sum()":                     "takes one field name",
		"x=first(a b)":                "takes one field name",
		"x=any(page_name = )":         "x=any(...): expected a value",
		"x=count_distinct(page_name)": "",
	} {
		_, err := Parse("", "", spec)
		if want == "" {
			if err != nil {
				t.Errorf("%s: %v", spec, err)
			}
			continue
		}
		if err == nil || !strings.Contains(err.Error(), want) || !strings.HasPrefix(err.Error(), "--session-attr ") {
			t.Errorf("%s: %v, want %q", spec, err, want)
		}
	}
	if _, err := Parse("", "", "a=count()", "a=sum(x)"); err == nil || !strings.Contains(err.Error(), "twice") {
		t.Errorf("a name given twice: %v", err)
	}
}
