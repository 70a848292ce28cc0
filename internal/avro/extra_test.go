package avro

import (
	"testing"

	"github.com/sessionize/sessionize/internal/event"
)

// TestDecoderExtraFields: the schema's extra fields (what session rules
// read) are decoded by the same plan as the event's own: strings, enums,
// integers, nested fields, a path that is also the page, nulls and paths
// the writer schema lacks.
func TestDecoderExtraFields(t *testing.T) {
	reg := newFakeRegistry(t)
	paths := []string{"kind", "seq", "page.path", "user.id", "event_id", "nope", "user.tags"}
	sch, err := clickSchemaPaths(t, "auto").WithExtra(paths)
	if err != nil {
		t.Fatal(err)
	}
	d := newDecoder(t, reg.URL(), sch)
	c := goodClick()
	f, r := parse(t, d, encode(t, clickSchema, 1, c))
	if r != event.OK {
		t.Fatalf("rejected: %v", r)
	}
	want := []string{"CLICK", "7", "/home", "u1", "e1", "<absent>", "<present>"}
	for i, v := range f.Extra {
		got := "<absent>"
		switch {
		case v.Present() && v.Kind == event.Other:
			got = "<present>" // an array: present, no text
		case v.Present():
			got = string(v.AppendText(nil))
		}
		if got != want[i] {
			t.Errorf("%s = %s, want %s", paths[i], got, want[i])
		}
	}
	if string(f.PageName) != "/home" || string(f.UUID) != "u1" {
		t.Errorf("page %q, user %q: extra paths must not take the schema's fields away", f.PageName, f.UUID)
	}
	c.EventID = nil
	c.Seq = 8
	if f, r = parse(t, d, encode(t, clickSchema, 1, c)); r != event.MissingEventID || f.Extra[4].Present() {
		t.Fatalf("null event id: %v, extra present %v", r, f.Extra[4].Present())
	}
}
