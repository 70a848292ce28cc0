package event

import (
	"encoding/json"
	"strings"
	"testing"
	"unicode/utf8"
)

func TestParse(t *testing.T) {
	cases := []struct {
		name   string
		in     string
		reason Reason
		ts     int64
		page   string
	}{
		{"string timestamp", `{"event_id":"a","uuid":"u","event_timestamp":"1700000000000","page_name":"home"}`, OK, 1700000000000, "home"},
		{"integer timestamp", `{"event_id":"a","uuid":"u","event_timestamp":1700000000000}`, OK, 1700000000000, ""},
		{"nested details ignored", `{"event_id":"a","uuid":"u","event_timestamp":"1","event_details":{"uuid":"x"},"booking_details":{"price":3}}`, OK, 1000, ""},
		{"escaped strings", `{"event_id":"a\"b","uuid":"\u00e9","event_timestamp":"5","page_name":"p\\q"}`, OK, 5000, `p\q`},
		{"not json", `{not json`, InvalidJSON, 0, ""},
		{"array", `[1,2]`, InvalidJSON, 0, ""},
		{"string", `"x"`, InvalidJSON, 0, ""},
		{"trailing garbage", `{"uuid":"u"} x`, InvalidJSON, 0, ""},
		{"missing uuid", `{"event_id":"b","event_timestamp":"1"}`, MissingUser, 0, ""},
		{"empty uuid", `{"uuid":"","event_id":"b","event_timestamp":"1"}`, MissingUser, 0, ""},
		{"numeric uuid is its text", `{"uuid":7,"event_id":"b","event_timestamp":"1700000000000"}`, OK, 1700000000000, ""},
		{"fractional uuid", `{"uuid":7.5,"event_id":"b","event_timestamp":"1"}`, UserNotString, 0, ""},
		{"object uuid", `{"uuid":{"id":"x"},"event_id":"b","event_timestamp":"1"}`, UserNotString, 0, ""},
		{"bool event_id", `{"uuid":"u","event_id":true,"event_timestamp":"1"}`, EventIDNotString, 0, ""},
		{"BOM skipped", "\xef\xbb\xbf{\"uuid\":\"u\",\"event_id\":\"b\",\"event_timestamp\":1700000000000}", OK, 1700000000000, ""},
		{"seconds by magnitude", `{"uuid":"u","event_id":"c","event_timestamp":1700000000}`, OK, 1700000000000, ""},
		{"rfc3339 string", `{"uuid":"u","event_id":"c","event_timestamp":"2023-11-14T22:13:20.5Z"}`, OK, 1700000000500, ""},
		{"missing event_id", `{"uuid":"u","event_timestamp":"1"}`, MissingEventID, 0, ""},
		{"null event_id", `{"uuid":"u","event_id":null,"event_timestamp":"1"}`, MissingEventID, 0, ""},
		{"word timestamp", `{"uuid":"u","event_id":"c","event_timestamp":"yesterday"}`, BadTimeFormat, 0, ""},
		{"null timestamp", `{"uuid":"u","event_id":"c","event_timestamp":null}`, MissingTime, 0, ""},
		{"missing timestamp", `{"uuid":"u","event_id":"c"}`, MissingTime, 0, ""},
		{"float timestamp", `{"uuid":"u","event_id":"c","event_timestamp":1.7e12}`, TimeNotNumber, 0, ""},
		{"negative timestamp", `{"uuid":"u","event_id":"c","event_timestamp":-5}`, TimeOutOfRange, 0, ""},
		{"signed string timestamp", `{"uuid":"u","event_id":"c","event_timestamp":"+5"}`, BadTimeFormat, 0, ""},
		{"overflowing timestamp", `{"uuid":"u","event_id":"c","event_timestamp":"99999999999999999999"}`, TimeOutOfRange, 0, ""},
		{"empty string timestamp", `{"uuid":"u","event_id":"c","event_timestamp":""}`, MissingTime, 0, ""},
		{"blank line", `   `, EmptyRecord, 0, ""},
		{"invalid utf-8 in uuid", "{\"uuid\":\"u\xff\",\"event_id\":\"a\",\"event_timestamp\":\"1\"}", InvalidUTF8, 0, ""},
		{"invalid utf-8 in page", "{\"uuid\":\"u\",\"event_id\":\"a\",\"event_timestamp\":\"1\",\"page_name\":\"caf\xe9\"}", InvalidUTF8, 0, ""},
		{"invalid utf-8 elsewhere is kept", "{\"uuid\":\"u\",\"event_id\":\"a\",\"event_timestamp\":\"1\",\"x\":\"\xff\"}", OK, 1000, ""},
		{"too long", `{"uuid":"u","event_id":"c","event_timestamp":"1","page_name":"` + strings.Repeat("x", 200) + `"}`, LineTooLong, 0, ""},
	}
	p := NewParser(Schema{}, 128)
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var f Fields
			r := p.Parse([]byte(tc.in), &f)
			if r != tc.reason {
				t.Fatalf("reason = %v, want %v", r, tc.reason)
			}
			if r == OK && (f.TimestampMs != tc.ts || string(f.PageName) != tc.page) {
				t.Fatalf("got ts=%d page=%q, want %d %q", f.TimestampMs, f.PageName, tc.ts, tc.page)
			}
		})
	}
}

// FuzzParse checks that no input crashes or hangs the parser and that
// whatever it accepts really is a JSON object with the required fields.
func FuzzParse(f *testing.F) {
	for _, s := range []string{
		`{"event_id":"a","page_name":"home","event_timestamp":"1700000000000","booking_details":null,"uuid":"u1","event_details":{"event_name":"page_view","event_type":"view","event_value":"home"}}`,
		`{"event_id":"a","uuid":"u","event_timestamp":1700000000000}`,
		`{not json`, `[1,2]`, `{"uuid":"u","event_id":"c","event_timestamp":"yesterday"}`,
		`{"a":[[[[[[[[[[{}]]]]]]]]]]}`, "\x00\xff", `{"uuid":"\ud800","event_id":"x","event_timestamp":"1"}`,
	} {
		f.Add([]byte(s))
	}
	p := NewParser(Schema{}, 1<<16)
	f.Fuzz(func(t *testing.T, in []byte) {
		var fl Fields
		r := p.Parse(in, &fl)
		if r == LineTooLong || r == EmptyRecord || r == InvalidUTF8 {
			return
		}
		var m map[string]any
		isObject := json.Unmarshal(in, &m) == nil && m != nil
		if (r == InvalidJSON) == isObject {
			t.Fatalf("reason %v, but encoding/json says object=%v", r, isObject)
		}
		if r != OK || !utf8.Valid(in) {
			// encoding/json rewrites invalid UTF-8; we keep the bytes.
			return
		}
		if u, isStr := m["uuid"].(string); isStr && (u != string(fl.UUID) || u == "") {
			t.Fatalf("uuid %q, encoding/json %q", fl.UUID, u)
		}
		if id, isStr := m["event_id"].(string); isStr && (id != string(fl.EventID) || id == "") {
			t.Fatalf("event_id %q, encoding/json %q", fl.EventID, id)
		}
		if fl.TimestampMs < 0 {
			t.Fatalf("negative timestamp accepted")
		}
	})
}

// TestParseStringBytes: the eight-bytes-a-step string scan finds every
// quote, backslash and control byte wherever it falls in a word, and in
// the last bytes of a record (read as the record's last word, shifted):
// every byte value at each position of a string near the end of the
// record, as a kept field (uuid) and as a skipped one, is accepted exactly
// when encoding/json's checker accepts the record, and the uuid comes out
// as encoding/json decodes it.
func TestParseStringBytes(t *testing.T) {
	p := NewParser(Schema{}, 0)
	head := `{"event_id":"e","event_timestamp":1700000000000,`
	for c := 0; c < 256; c++ {
		for pos := 0; pos < 18; pos++ {
			for tail := 0; tail < 10; tail++ {
				s := strings.Repeat("a", pos) + string([]byte{byte(c)}) + strings.Repeat("b", tail)
				for _, rec := range []string{
					head + `"uuid":"` + s + `"}`,
					head + `"uuid":"u","x":"` + s + `"}`,
					head + `"uuid":"u","` + s + `":1}`,
				} {
					var f Fields
					r := p.Parse([]byte(rec), &f)
					if valid := json.Valid([]byte(rec)); (r != InvalidJSON) != valid {
						t.Fatalf("%q: reason %v, encoding/json valid %v", rec, r, valid)
					}
					var m map[string]any
					if r == OK && json.Unmarshal([]byte(rec), &m) == nil && utf8.Valid([]byte(rec)) && m["uuid"] != string(f.UUID) {
						t.Fatalf("%q: uuid %q, encoding/json %q", rec, f.UUID, m["uuid"])
					}
				}
			}
		}
	}
}
