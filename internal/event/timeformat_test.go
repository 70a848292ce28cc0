package event

import (
	"regexp"
	"testing"
	"time"
)

var rfc3339Shape = regexp.MustCompile(`^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]([01]\d|2[0-3]):[0-5]\d)$`)

func TestTimeFormats(t *testing.T) {
	ms := time.Date(2025, 12, 4, 10, 0, 0, 0, time.UTC).UnixMilli() // 1764842400000
	cases := []struct {
		format, tz string
		kind       Kind
		in         string
		want       int64
		reason     Reason
	}{
		{"auto", "", Number, "1764842400", ms, OK},
		{"auto", "", Number, "1764842400000", ms, OK},
		{"auto", "", Number, "1764842400000123", ms, OK},
		{"auto", "", Number, "1764842400000123456", ms, OK},
		{"auto", "", String, "1764842400", ms, OK},
		{"auto", "", String, "2025-12-04T10:00:00Z", ms, OK},
		{"auto", "", String, "2025-12-04T11:00:00+01:00", ms, OK},
		{"auto", "", String, "2025-12-04 10:00:00.250", ms + 250, OK},
		{"auto", "Europe/Berlin", String, "2025-12-04 11:00:00", ms, OK},
		{"auto", "", String, "yesterday", 0, BadTimeFormat},
		{"auto", "", String, "", 0, MissingTime},
		{"auto", "", Number, "1.5", 0, TimeNotNumber},
		{"auto", "", Number, "-1", 0, TimeOutOfRange},
		{"auto", "", String, "2025-02-30T00:00:00Z", 0, BadTimeFormat},
		{"s", "", Number, "1764842400", ms, OK},
		{"s", "", Number, "1764842400000", 0, TimeOutOfRange},
		{"ms", "", Number, "1764842400", 1764842400, OK},
		{"ms", "", String, "1764842400000", ms, OK},
		{"ms", "", String, "2025-12-04T10:00:00Z", 0, TimeNotNumber},
		{"us", "", Number, "1764842400000999", ms, OK},
		{"ns", "", Number, "1764842400000999999", ms, OK},
		{"rfc3339", "", String, "2025-12-04T10:00:00.123456Z", ms + 123, OK},
		{"rfc3339", "", String, "2025-12-04T10:00:00", 0, BadTimeFormat},
		{"rfc3339", "", Number, "1764842400", 0, BadTimeFormat},
		{"yyyy-MM-dd HH:mm:ss[.fff]", "", String, "2025-12-04 10:00:00", ms, OK},
		{"yyyy-MM-dd HH:mm:ss[.fff]", "", String, "2025-12-04 10:00:00.5", ms + 500, OK},
		{"yyyy-MM-dd HH:mm:ss[.fff]", "America/New_York", String, "2025-12-04 05:00:00", ms, OK},
		{"yyyy-MM-dd HH:mm:ss[.fff]", "", String, "2025-12-04T10:00:00", 0, BadTimeFormat},
		{"dd/MM/yyyy'T'HH:mm:ss", "", String, "04/12/2025T10:00:00", ms, OK},
	}
	for _, tc := range cases {
		tf := MustTimeFormat(tc.format, tc.tz)
		var got int64
		var r Reason
		if tc.kind == Number {
			got, r = tf.FromNumber([]byte(tc.in))
		} else {
			got, r = tf.FromText([]byte(tc.in))
		}
		if r != tc.reason || (r == OK && got != tc.want) {
			t.Errorf("%s %s %q: got %d %v, want %d %v", tc.format, tc.tz, tc.in, got, r, tc.want, tc.reason)
		}
	}
}

func TestParseTimeFormatErrors(t *testing.T) {
	for _, f := range []string{"yyyy-MM-dd", "hh:mm", "yyyy-MM-dd HH:mm:ss[.SSS"} {
		if _, err := ParseTimeFormat(f, ""); err == nil {
			t.Errorf("%q: no error", f)
		}
	}
	if _, err := ParseTimeFormat("s", "Mars/Olympus"); err == nil {
		t.Error("unknown zone accepted")
	}
}

// FuzzTimeText: no input crashes the date readers; what they accept is in
// range, and an RFC 3339 time that time.Parse reads gives the same
// milliseconds.
func FuzzTimeText(f *testing.F) {
	for _, s := range []string{"2025-12-04T10:00:00Z", "2025-12-04T10:00:00.123456789+01:00", "2025-12-04 10:00:00",
		"1764842400", "9999-12-31T23:59:59Z", "2025-12-04T10:00:00-23:59", "2025-12-04 10:00:00.5", "x"} {
		f.Add(s)
	}
	formats := []TimeFormat{MustTimeFormat("auto", ""), MustTimeFormat("rfc3339", ""), MustTimeFormat("s", ""),
		MustTimeFormat("yyyy-MM-dd HH:mm:ss[.fff]", "Europe/Berlin"), MustTimeFormat("dd/MM/yyyy'T'HH:mm:ss", "")}
	f.Fuzz(func(t *testing.T, s string) {
		for _, tf := range formats {
			ms, r := tf.FromText([]byte(s))
			if r == OK && (ms < 0 || ms > maxMs) {
				t.Fatalf("%s %q: %d accepted", tf, s, ms)
			}
		}
		// time.Parse is laxer than RFC 3339 (it takes a one-digit hour):
		// compare on the strict shape only.
		want, err := time.Parse(time.RFC3339Nano, s)
		if err != nil || !rfc3339Shape.MatchString(s) || want.Year() < 1970 || want.UnixMilli() < 0 || want.UnixMilli() > maxMs {
			return
		}
		ms, r := formats[1].FromText([]byte(s))
		if r != OK || ms != want.UnixMilli() {
			t.Fatalf("rfc3339 %q: got %d %v, time.Parse %d", s, ms, r, want.UnixMilli())
		}
	})
}
