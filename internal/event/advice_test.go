package event

import (
	"strings"
	"testing"
)

func TestAdvice(t *testing.T) {
	ms := MustTimeFormat("ms", "")
	strict := Schema{Format: ms}.OrDefault()
	cases := []struct {
		name     string
		s        Schema
		records  int64
		rejected map[string]int64
		tc       TimeCheck
		sample   string
		want     []string // substrings, one per advice line; none: no advice
	}{
		{"all fine", DefaultSchema(), 100, map[string]int64{"invalid_json": 1}, TimeCheck{Events: 99}, "", nil},
		{"half is not most", DefaultSchema(), 100, map[string]int64{"missing_user": 50}, TimeCheck{Events: 50}, "", nil},
		{"wrong user field", DefaultSchema(), 10, map[string]int64{"missing_user": 9}, TimeCheck{Events: 1}, `{"user_id": 1, "ts": 2}`,
			[]string{"most records were rejected (9 of 10, most as missing_user) reading them with user uuid, event id event_id, time event_timestamp (auto), page page_name: no user field uuid; name yours with --user-field (a rejected record has the fields ts, user_id)"}},
		{"dates under strict ms", strict, 10, map[string]int64{"time_not_number": 10}, TimeCheck{}, "",
			[]string{"--time-format auto, rfc3339 or a layout"}},
		{"seconds read as ms", strict, 10, nil, TimeCheck{Events: 10, Before2000: 10, SampleMs: 1764842400, hasSample: true}, "",
			[]string{"10 are before 2000 (e.g. 1970-01-21T10:14:02.4Z, reading event_timestamp as --time-format ms); did you mean --time-format s?"}},
		{"ns read as us, ahead of the file", Schema{Format: MustTimeFormat("us", "")}.OrDefault(), 10, nil,
			TimeCheck{Events: 10, Ahead: 10, SampleMs: 1764842400000000, SampleRefMs: 1764842400000, hasSample: true}, "",
			[]string{"did you mean --time-format ns?"}},
		{"future on Kafka", DefaultSchema(), 100, map[string]int64{FutureTimestamp: 5}, TimeCheck{Events: 95}, "",
			[]string{"5 of 100 records were rejected as future_timestamp"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got := Advice(tc.s, tc.records, tc.rejected, &tc.tc, []byte(tc.sample))
			if len(got) != len(tc.want) {
				t.Fatalf("advice %q, want %d lines", got, len(tc.want))
			}
			for i, w := range tc.want {
				if !strings.Contains(got[i], w) {
					t.Errorf("advice %q lacks %q", got[i], w)
				}
			}
		})
	}
}
