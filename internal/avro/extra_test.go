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

// TestDecoderExtraBoolean: a boolean, which no role takes, is a rule
// field's "true" or "false"; a null one is missing.
func TestDecoderExtraBoolean(t *testing.T) {
	const paidSchema = `{"type":"record","name":"Paid","fields":[{"name":"uuid","type":"string"},{"name":"event_id","type":"string"},
 {"name":"event_timestamp","type":"long"},{"name":"paid","type":["null","boolean"]}]}`
	reg := newFakeRegistry(t)
	reg.SeedSchema("paid-value", 1, 5, srSchema(paidSchema))
	sch, err := event.Schema{}.WithExtra([]string{"paid"})
	if err != nil {
		t.Fatal(err)
	}
	d := newDecoder(t, reg.URL(), sch)
	for _, c := range []struct {
		paid any
		want string
	}{{true, "true"}, {false, "false"}, {nil, "<absent>"}} {
		rec := map[string]any{"uuid": "u", "event_id": "e", "event_timestamp": int64(1700000000000), "paid": c.paid}
		f, r := parse(t, d, encode(t, paidSchema, 5, rec))
		if r != event.OK {
			t.Fatalf("rejected: %v", r)
		}
		got := "<absent>"
		if f.Extra[0].Present() {
			got = string(f.Extra[0].AppendText(nil))
		}
		if got != c.want {
			t.Errorf("paid %v: %s, want %s", c.paid, got, c.want)
		}
	}
}
