package conformance

import (
	"os"
	"path/filepath"
	"testing"
)

func TestCheckRejected(t *testing.T) {
	cases := []struct {
		want, got map[string]int64
		ok        bool
	}{
		{map[string]int64{}, map[string]int64{}, true},
		{map[string]int64{}, nil, true},
		{map[string]int64{"bad_timestamp": 2}, map[string]int64{"missing_time": 1, "bad_time_format": 1}, true},
		{map[string]int64{"bad_timestamp": 2}, map[string]int64{"missing_time": 2, "invalid_json": 1}, false},
		{map[string]int64{"missing_uuid": 1, "missing_event_id": 1}, map[string]int64{"missing_user": 1, "event_id_not_string": 1}, true},
		{map[string]int64{"missing_event_id": 1, "event_id_not_string": 1}, map[string]int64{"missing_event_id": 2}, false},
		{map[string]int64{"missing_event_id": 1, "event_id_not_string": 1}, map[string]int64{"missing_event_id": 1, "event_id_not_string": 1}, true},
	}
	for _, tc := range cases {
		err := Case{Rejected: tc.want}.CheckRejected(tc.got)
		if (err == nil) != tc.ok {
			t.Errorf("want %v got %v: error %v, want ok=%v", tc.want, tc.got, err, tc.ok)
		}
	}
}

// The repository's cases always load; shared ones of the same name take
// their place, and new ones are added.
func TestCasesRepoAndShared(t *testing.T) {
	shared := t.TempDir()
	for name, desc := range map[string]string{"01-gap-boundary": "from shared", "99-new": "only shared"} {
		d := filepath.Join(shared, name)
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(d, "case.json"), []byte(`{"description": "`+desc+`"}`), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	t.Setenv("SESSIONIZE_CONFORMANCE_DIR", shared)
	byName := map[string]Case{}
	for _, c := range Cases(t) {
		if _, dup := byName[c.Name]; dup {
			t.Fatalf("case %s twice", c.Name)
		}
		byName[c.Name] = c
	}
	if byName["01-gap-boundary"].Description != "from shared" || byName["99-new"].Description != "only shared" {
		t.Fatalf("shared cases not used: %+v", byName["01-gap-boundary"])
	}
	if _, ok := byName["schema-time-auto"]; !ok {
		t.Fatal("the repository's cases are missing")
	}
}
