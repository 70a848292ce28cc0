package batch

import (
	"encoding/json"
	"strings"
	"testing"
	"unicode/utf8"
)

// plainJSONText reads words, overlapping words and half words: every byte
// that needs escaping or checking must be seen at every position of every
// length, and a string without one must take the fast path.
func TestPlainJSONTextEveryByteAndPosition(t *testing.T) {
	plain := func(s string) bool {
		for i := 0; i < len(s); i++ {
			if c := s[i]; c < 0x20 || c == '"' || c == '\\' || c >= utf8.RuneSelf {
				return false
			}
		}
		return true
	}
	for n := 1; n <= 24; n++ {
		for pos := 0; pos < n; pos++ {
			for c := 0; c < 256; c++ {
				b := []byte(strings.Repeat("a", n))
				b[pos] = byte(c)
				s := string(b)
				if got, want := plainJSONText(s), plain(s); got != want {
					t.Fatalf("%q: plainJSONText %v, want %v", s, got, want)
				}
			}
		}
	}
	if !plainJSONText("") {
		t.Error(`"" is plain`)
	}
}

// Whatever the path, the output is JSON that decodes to s, with invalid
// UTF-8 replaced.
func TestAppendJSONStringRoundTrips(t *testing.T) {
	for _, s := range []string{"", "a", "home", "results", "05efe8ea-e3e9-4740-8661-d3d7520ba4b4",
		`say "hi"`, `back\slash`, "tab\there", "nl\n", "\x00\x1f", "café", "naïve page", "bad \xe9 byte", "\xff", "ab\xe9"} {
		out := appendJSONString(nil, s)
		var got string
		if err := json.Unmarshal(out, &got); err != nil {
			t.Fatalf("%q: %s is not JSON: %v", s, out, err)
		}
		if want := strings.ToValidUTF8(s, "\ufffd"); got != want {
			t.Errorf("%q: decodes to %q, want %q", s, got, want)
		}
	}
}
