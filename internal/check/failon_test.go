package check

import (
	"reflect"
	"strings"
	"testing"
)

func TestParseFailOn(t *testing.T) {
	good := []struct {
		in   string
		want []Condition
	}{
		{"", nil},
		{"  ", nil},
		{"rejected>1%", []Condition{{Metric: "rejected", Op: ">", Value: 1, Percent: true, Text: "rejected>1%"}}},
		{"rejected>1%,late>0.1%,duplicates>2%", []Condition{
			{Metric: "rejected", Op: ">", Value: 1, Percent: true, Text: "rejected>1%"},
			{Metric: "late", Op: ">", Value: 0.1, Percent: true, Text: "late>0.1%"},
			{Metric: "duplicates", Op: ">", Value: 2, Percent: true, Text: "duplicates>2%"},
		}},
		{" rejected > 100 , bad_timestamp>=0", []Condition{
			{Metric: "rejected", Op: ">", Value: 100, Text: "rejected>100"},
			{Metric: "bad_timestamp", Op: ">=", Value: 0, Text: "bad_timestamp>=0"},
		}},
		{"out_of_order>=5.5%", []Condition{{Metric: "out_of_order", Op: ">=", Value: 5.5, Percent: true, Text: "out_of_order>=5.5%"}}},
		{"future_timestamp>0", []Condition{{Metric: "future_timestamp", Op: ">", Value: 0, Text: "future_timestamp>0"}}},
	}
	for _, tc := range good {
		got, err := ParseFailOn(tc.in)
		if err != nil || !reflect.DeepEqual(got, tc.want) {
			t.Errorf("ParseFailOn(%q) = %+v, %v; want %+v", tc.in, got, err, tc.want)
		}
	}
	bad := []struct{ in, want string }{
		{"rejected", "no comparison"},
		{"rejected>", "not a non-negative number"},
		{"rejected>abc", "not a non-negative number"},
		{"rejected>-1", "not a non-negative number"},
		{"rejected>1%%", "not a non-negative number"},
		{"rejected>NaN", "not a non-negative number"},
		{"rejected>0x10", "not a non-negative number"},
		{"rejected>101%", "at most 100%"},
		{"rejected<1%", "only > and >="},
		{"rejected=1", "only > and >="},
		{">1%", "no metric"},
		{"rejects>1%", `unknown metric "rejects"`},
		{"rejected>1%,", "empty condition"},
		{"rejected>1%,,late>1", "empty condition"},
	}
	for _, tc := range bad {
		_, err := ParseFailOn(tc.in)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("ParseFailOn(%q) error %v, want it to say %q", tc.in, err, tc.want)
		}
	}
}

func TestEvaluate(t *testing.T) {
	r := &Report{Records: 1000, Rejected: 10, Duplicates: 20, Late: 1, OutOfOrder: 0,
		RejectedByReason: map[string]int64{"invalid_json": 10}}
	cases := []struct {
		cond string
		held bool
	}{
		{"rejected>1%", false}, // exactly 1%
		{"rejected>=1%", true},
		{"rejected>0.99%", true},
		{"rejected>9", true},
		{"rejected>10", false},
		{"late>0.1%", false}, // exactly 0.1%
		{"late>=0.1%", true},
		{"duplicates>2%", false},
		{"duplicates>1.999%", true},
		{"out_of_order>0", false},
		{"invalid_json>=10", true},
		{"bad_timestamp>0", false},
	}
	for _, tc := range cases {
		conds, err := ParseFailOn(tc.cond)
		if err != nil {
			t.Fatal(err)
		}
		res := evaluate(r, conds)
		if res.Failed != tc.held || res.Conditions[0].Held != tc.held {
			t.Errorf("%s on %+v: held %v, want %v", tc.cond, r, res.Failed, tc.held)
		}
	}
	if evaluate(r, nil) != nil {
		t.Error("no conditions should give no verdict")
	}
	empty := &Report{}
	conds, _ := ParseFailOn("rejected>0%,rejected>=0")
	if res := evaluate(empty, conds); res.Conditions[0].Held || !res.Conditions[1].Held {
		t.Errorf("on no records: %+v", res)
	}
}
