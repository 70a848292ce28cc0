package predicate

import (
	"strings"
	"testing"

	"github.com/sessionize/sessionize/internal/event"
)

// decoder decodes records (JSON objects with a "u" user and a "t" time)
// with fs's fields as the schema's extra fields, as a run's parser does.
func decoder(t testing.TB, fs *Fields) func(record string) []Value {
	t.Helper()
	base, err := event.NewSchema([]string{"u"}, "none", "t", "none", event.MustTimeFormat("auto", ""))
	if err != nil {
		t.Fatal(err)
	}
	sch, err := base.WithExtra(fs.Paths())
	if err != nil {
		t.Fatal(err)
	}
	ps := event.NewParser(sch, 0)
	var (
		f       event.Fields
		vals    []Value
		scratch []byte
	)
	return func(record string) []Value {
		if r := ps.Parse([]byte(record), &f); r != event.OK {
			t.Fatalf("%s: rejected: %v", record, r)
		}
		vals, scratch = Values(vals, f.Extra, scratch)
		return vals
	}
}

func eval(t *testing.T, expr, record string) bool {
	t.Helper()
	e, err := Parse(expr)
	if err != nil {
		t.Fatalf("%s: %v", expr, err)
	}
	var fs Fields
	f := e.Compile(&fs)
	return f(decoder(t, &fs)(record))
}

func TestEval(t *testing.T) {
	rec := `{"u":"x","t":1,"page_name":"logout","n":42,"ok":true,"gone":null,"event_details":{"device":"ios","tags":["a"]},"booking_details":{"amount":"12.5"}}`
	for _, c := range []struct {
		expr string
		want bool
	}{
		{"page_name=logout", true},
		{"page_name = 'logout'", true},
		{`page_name == "logout"`, true},
		{"page_name=home", false},
		{"page_name!=home", true},
		{"page_name != logout", false},
		{"missing != x", true},
		{"missing = x", false},
		{"n = 42", true},
		{"ok = true", true},
		{"gone = null", false},
		{"exists gone", false},
		{"exists page_name", true},
		{"exists(event_details.device)", true},
		{"exists event_details.nope", false},
		{"event_details.device in (android, ios)", true},
		{"event_details.device in ('android')", false},
		{"missing in (a, b)", false},
		{"page_name=home or page_name=logout", true},
		{"page_name=logout and n=41", false},
		{"page_name=home or page_name=logout and n=41", false},
		{"(page_name=home or page_name=logout) and n=42", true},
		{"not page_name=home", true},
		{"not (page_name=logout or n=1)", false},
		{"PAGE_NAME=logout", false}, // field names are case-sensitive
		{"page_name=logout AND exists n", true},
		{"booking_details.amount = 12.5", true},
		{"event_details.tags = '[\"a\"]'", true},
	} {
		if got := eval(t, c.expr, rec); got != c.want {
			t.Errorf("%s: %v, want %v", c.expr, got, c.want)
		}
	}
	// Integers (Avro longs, Parquet integer columns) compare as their
	// decimal text, like JSON numbers.
	var fs Fields
	f, _ := Parse("n = 42 and ts = 1700000000000")
	vals, _ := Values(nil, []event.Value{event.IntValue(42), event.MillisValue(1700000000000)}, nil)
	if fs.Add("n"); !f.Compile(&fs)(vals) {
		t.Error("integers do not compare as their text")
	}
}

// TestParseErrors: each message points at the bad token.
func TestParseErrors(t *testing.T) {
	for _, c := range []struct {
		expr, msg string
		col       int
	}{
		{"", "empty expression", 1},
		{"page_name=", "expected a value", 11},
		{"page_name logout", "expected =, != or in after the field page_name", 11},
		{"page_name=logout and", "expected a field name", 21},
		{"page_name=logout or or x=1", "expected a field name", 21},
		{"(page_name=logout", "expected ')' to close the '(' at column 1", 18},
		{"page_name=logout)", "expected and, or or the end", 17},
		{"page_name in logout", "expected '(' after in", 14},
		{"page_name in (a b)", "expected ',' or ')'", 17},
		{"page_name=logout & x=1", "unexpected character '&'", 18},
		{"page_name ! logout", "'!' must be followed by '='", 11},
		{"page_name='logout", "unterminated quoted value", 11},
		{"a..b = 1", "empty name between dots", 1},
		{"exists", "expected a field name, found end of expression", 7},
		{"and = 1", "expected a field name, exists, not or '('", 1},
	} {
		_, err := Parse(c.expr)
		pe, ok := err.(*Error)
		if !ok {
			t.Errorf("%q: err %v, want a *Error", c.expr, err)
			continue
		}
		if !strings.Contains(pe.Msg, c.msg) || pe.Pos+1 != c.col {
			t.Errorf("%q: %q at column %d, want %q at column %d", c.expr, pe.Msg, pe.Pos+1, c.msg, c.col)
		}
		lines := strings.Split(pe.Error(), "\n")
		if len(lines) != 3 || strings.Index(lines[2], "^") != 2+pe.Pos || lines[1] != "  "+c.expr {
			t.Errorf("%q: the caret is not under column %d:\n%s", c.expr, c.col, pe.Error())
		}
	}
}

// TestCanonical: String is the same for the same meaning and parses back
// to itself.
func TestCanonical(t *testing.T) {
	for _, c := range []struct{ a, b string }{
		{"page_name=logout", "page_name = 'logout'"},
		{"a=1 OR b=2 and c!=3", "a = 1 or (b = 2 and c != 3)"},
		{"not (a=1 or b=2)", "NOT(a = '1' or b = \"2\")"},
		{"exists(x.y)", "exists x.y"},
		{"x in (a,b)", "x IN ( a , b )"},
	} {
		ea, err := Parse(c.a)
		if err != nil {
			t.Fatal(err)
		}
		eb, err := Parse(c.b)
		if err != nil {
			t.Fatal(err)
		}
		if ea.String() != eb.String() {
			t.Errorf("%q -> %s, %q -> %s", c.a, ea, c.b, eb)
		}
		again, err := Parse(ea.String())
		if err != nil || again.String() != ea.String() {
			t.Errorf("%s does not parse back to itself: %v %v", ea, again, err)
		}
	}
}

func TestFields(t *testing.T) {
	e, err := Parse("a=1 or (b.c in (x) and exists a) or not d=2")
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(e.Fields(), ","); got != "a,b.c,d" {
		t.Fatalf("fields %s", got)
	}
	var fs Fields
	fs.Add("z")
	e.Compile(&fs)
	if got := strings.Join(fs.Paths(), ","); got != "z,a,b.c,d" {
		t.Fatalf("shared fields %s", got)
	}
}

func BenchmarkExtractEval(b *testing.B) {
	e, _ := Parse("page_name = logout or event_details.device in (ios, android)")
	var fs Fields
	f := e.Compile(&fs)
	decode := decoder(b, &fs)
	rec := string(`{"u":"x","t":1,"event_id":"3f1c","page_name":"results","event_timestamp":"1700000000000","uuid":"5b0c0001-6a1f-4c3e-9d2b-000000000001","event_details":{"device":"web","lang":"en"},"booking_details":{}}`)
	for b.Loop() {
		f(decode(rec))
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "records/s")
}
