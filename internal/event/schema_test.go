package event

import (
	"bytes"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"unicode/utf8"
)

func TestParseWithSchema(t *testing.T) {
	spark := mustSchema(t, []string{"user_id"}, "", "event_time", "page", "auto", "")
	nested := mustSchema(t, []string{"user.id", "account_id"}, "id", "ts", "page.path", "s", "")
	cases := []struct {
		name   string
		s      Schema
		in     string
		reason Reason
		uuid   string
		id     string // "#" for a record hash
		ts     int64
		page   string
	}{
		{"spark tutorial", spark, `{"user_id": "u1", "event_time": "2025-12-04T10:00:00Z", "page": "home"}`, OK, "u1", "#", 1764842400000, "home"},
		{"numeric user", spark, `{"user_id": 42, "event_time": "2025-12-04T10:00:00Z"}`, OK, "42", "#", 1764842400000, ""},
		{"spark missing user", spark, `{"uuid": "u1", "event_time": "2025-12-04T10:00:00Z"}`, MissingUser, "", "", 0, ""},
		{"nested composite", nested, `{"user": {"id": 7, "name": "x"}, "account_id": "a\"1", "id": 99, "ts": 1764842400, "page": {"path": "/home", "q": {}}}`, OK, `["7","a\"1"]`, "99", 1764842400000, "/home"},
		{"nested user not an object", nested, `{"user": "7", "account_id": "a", "id": 1, "ts": 1764842400}`, MissingUser, "", "", 0, ""},
		{"nested user is an object", nested, `{"user": {"id": {"x": 1}}, "account_id": "a", "id": 1, "ts": 1764842400}`, UserNotString, "", "", 0, ""},
		{"composite part missing", nested, `{"user": {"id": "7"}, "id": 1, "ts": 1764842400}`, MissingUser, "", "", 0, ""},
		{"nested page absent", nested, `{"user": {"id": "7"}, "account_id": "a", "id": "e", "ts": 1764842400}`, OK, `["7","a"]`, "e", 1764842400000, ""},
		{"strict seconds reject a date", nested, `{"user": {"id": "7"}, "account_id": "a", "id": "e", "ts": "2025-12-04T10:00:00Z"}`, TimeNotNumber, "", "", 0, ""},
		{"invalid json still checked in skipped parts", nested, `{"user": {"id": "7"}, "account_id": "a", "id": "e", "ts": 1, "x": [1,}`, InvalidJSON, "", "", 0, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			p := NewParser(tc.s, 0)
			var f Fields
			r := p.Parse([]byte(tc.in), &f)
			if r != tc.reason {
				t.Fatalf("reason %v, want %v", r, tc.reason)
			}
			if r != OK {
				return
			}
			id := string(f.EventID)
			if tc.id == "#" && len(id) == EventIDHashLen {
				id = "#"
			}
			if string(f.UUID) != tc.uuid || id != tc.id || f.TimestampMs != tc.ts || string(f.PageName) != tc.page {
				t.Fatalf("got %q %q %d %q, want %q %q %d %q", f.UUID, f.EventID, f.TimestampMs, f.PageName, tc.uuid, tc.id, tc.ts, tc.page)
			}
		})
	}
}

func TestNoEventIDHashesTheRecord(t *testing.T) {
	p := NewParser(mustSchema(t, []string{"u"}, "none", "t", "", "ms", ""), 0)
	var a, b, c Fields
	p.Parse([]byte(`{"u":"x","t":1764842400000,"p":"home"}`), &a)
	ida := string(a.EventID)
	p.Parse([]byte(`{"u":"x","t":1764842400000,"p":"home"}`), &b)
	idb := string(b.EventID)
	p.Parse([]byte(`{"u":"x","t":1764842400000,"p":"cart"}`), &c)
	if ida != idb || ida == string(c.EventID) || len(ida) != EventIDHashLen {
		t.Fatalf("ids %q %q %q: identical records must share an id, others not", ida, idb, c.EventID)
	}
}

func TestNewSchemaErrors(t *testing.T) {
	for _, tc := range []struct {
		user             []string
		id, tm, page, is string
	}{
		{[]string{"a..b"}, "id", "t", "", "empty name"},
		{[]string{"u"}, "u", "t", "", "both"},
		{[]string{"u"}, "id", "", "", "time field"},
		{[]string{"1", "2", "3", "4", "5", "6", "7", "8", "9"}, "id", "t", "", "at most"},
	} {
		_, err := NewSchema(tc.user, tc.id, tc.tm, tc.page, TimeFormat{})
		if err == nil || !strings.Contains(err.Error(), tc.is) {
			t.Errorf("%v: error %v, want one saying %q", tc, err, tc.is)
		}
	}
}

func TestDefaultSchemaDescribe(t *testing.T) {
	want := "user uuid, event id event_id, time event_timestamp (auto), page page_name"
	if got := (Schema{}).OrDefault().Describe(); got != want {
		t.Fatalf("got %q, want %q", got, want)
	}
}

func mustSchema(t testing.TB, user []string, id, tm, page, format, tz string) Schema {
	t.Helper()
	s, err := NewSchema(user, id, tm, page, MustTimeFormat(format, tz))
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// FuzzParseSchema: the hand-written parser and the generic path decoders of
// other formats use (encoding/json with UseNumber, Assembler.FromMap) agree
// on every record, for a schema with nested paths and a composite key.
func FuzzParseSchema(f *testing.F) {
	for _, s := range []string{
		`{"user": {"id": "u1"}, "acct": 7, "id": "e", "ts": "2025-12-04T10:00:00Z", "p": {"q": "home"}}`,
		`{"user": {"id": 1.5}, "acct": "a", "id": 3, "ts": 1764842400, "p": {"q": 1}}`,
		`{"user": "x", "acct": null, "ts": true}`, `{"user": {"id": "a\u00e9\n"}, "acct": "b", "id": "c", "ts": "1764842400000", "user": {"id": "z"}}`,
	} {
		f.Add([]byte(s))
	}
	sch, err := NewSchema([]string{"user.id", "acct"}, "id", "ts", "p.q", TimeFormat{})
	if err != nil {
		f.Fatal(err)
	}
	p := NewParser(sch, 1<<16)
	asm := NewAssembler(sch)
	f.Fuzz(func(t *testing.T, in []byte) {
		var got Fields
		r := p.Parse(in, &got)
		if r == LineTooLong || r == EmptyRecord || !utf8.Valid(in) || bytes.HasPrefix(in, utf8BOM) {
			return
		}
		var m map[string]any
		d := json.NewDecoder(bytes.NewReader(in))
		d.UseNumber()
		err := d.Decode(&m)
		if err == nil && len(bytes.TrimLeft(in[d.InputOffset():], " \t\r\n")) > 0 {
			err = errors.New("trailing data")
		}
		if err != nil || m == nil {
			if r != InvalidJSON {
				t.Fatalf("reason %v, encoding/json: %v", r, err)
			}
			return
		}
		var v Values
		asm.FromMap(m, &v)
		var want Fields
		wr := asm.Assemble(&v, in, &want)
		if r != wr || (r == OK && (string(got.UUID) != string(want.UUID) || string(got.EventID) != string(want.EventID) ||
			got.TimestampMs != want.TimestampMs || string(got.PageName) != string(want.PageName))) {
			t.Fatalf("parser %v %q %q %d %q, generic %v %q %q %d %q", r, got.UUID, got.EventID, got.TimestampMs, got.PageName,
				wr, want.UUID, want.EventID, want.TimestampMs, want.PageName)
		}
	})
}

// TestAppendJSONString: a composite user key's parts are escaped as the
// byte-at-a-time loop did (quote, backslash, control bytes; everything
// else copied), at every position relative to the eight-byte steps.
func TestAppendJSONString(t *testing.T) {
	ref := func(s []byte) []byte {
		const hex = "0123456789abcdef"
		b := []byte{'"'}
		for _, c := range s {
			switch {
			case c == '"' || c == '\\':
				b = append(b, '\\', c)
			case c < 0x20:
				b = append(b, '\\', 'u', '0', '0', hex[c>>4], hex[c&15])
			default:
				b = append(b, c)
			}
		}
		return append(b, '"')
	}
	for c := 0; c < 256; c++ {
		for pos := 0; pos < 20; pos++ {
			for tail := 0; tail < 10; tail++ {
				s := []byte(strings.Repeat("a", pos) + string([]byte{byte(c)}) + strings.Repeat("\xe9", tail))
				if got, want := appendJSONString(nil, s), ref(s); string(got) != string(want) {
					t.Fatalf("%q: got %q, want %q", s, got, want)
				}
			}
		}
	}
}
