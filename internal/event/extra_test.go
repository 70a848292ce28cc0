package event

import (
	"strings"
	"testing"
)

// TestParseExtra: the extra fields (the session rules') come out of the
// same pass as the schema's, as present/absent values with their text, and
// a path may also be one of the schema's.
func TestParseExtra(t *testing.T) {
	paths := []string{"page_name", "d.device", "d.n", "ok", "tags", "d", "gone", "missing", "d.missing.deeper", "esc"}
	sch, err := Schema{}.WithExtra(paths)
	if err != nil {
		t.Fatal(err)
	}
	p := NewParser(sch, 0)
	rec := `{"uuid":"u","event_id":"e","event_timestamp":1700000000000,"page_name":"home","d":{"device":"ios","n":-1.5e3},` +
		`"ok":true,"tags":["a", "b"],"gone":null,"esc":"a\"b"}`
	var f Fields
	if r := p.Parse([]byte(rec), &f); r != OK {
		t.Fatalf("rejected: %v", r)
	}
	want := []string{"home", "ios", "-1.5e3", "true", `["a", "b"]`, `{"device":"ios","n":-1.5e3}`, "<absent>", "<absent>", "<absent>", `a"b`}
	if len(f.Extra) != len(want) {
		t.Fatalf("%d extra values, want %d", len(f.Extra), len(want))
	}
	for i, v := range f.Extra {
		got := "<absent>"
		if v.Present() {
			got = string(v.AppendText(nil))
		}
		if got != want[i] {
			t.Errorf("%s = %s, want %s", paths[i], got, want[i])
		}
	}
	if string(f.PageName) != "home" {
		t.Errorf("page %q: an extra path that is also the page must not take it away", f.PageName)
	}
	// The next record's fields do not keep the last one's values.
	if r := p.Parse([]byte(`{"uuid":"u","event_id":"e","event_timestamp":1}`), &f); r != OK || f.Extra[0].Present() {
		t.Fatalf("second record: %v, page_name present %v", r, f.Extra[0].Present())
	}
	if _, err := (Schema{}).WithExtra(strings.Split(strings.Repeat("x,", MaxExtraFields+1), ",")[:MaxExtraFields+1]); err == nil {
		t.Fatal("more extra fields than the parser tracks must be refused")
	}
}

// TestParseExtraAllocs: extra fields cost no allocation per record either.
func TestParseExtraAllocs(t *testing.T) {
	sch, err := Schema{}.WithExtra([]string{"page_name", "d.device", "esc"})
	if err != nil {
		t.Fatal(err)
	}
	p := NewParser(sch, 0)
	rec := []byte(`{"uuid":"u","event_id":"e","event_timestamp":1700000000000,"page_name":"home","d":{"device":"ios"},"esc":"a\"b"}`)
	var f Fields
	if n := testing.AllocsPerRun(100, func() { p.Parse(rec, &f) }); n != 0 {
		t.Fatalf("%v allocations per record", n)
	}
}
