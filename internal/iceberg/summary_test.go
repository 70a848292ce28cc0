package iceberg

import (
	"maps"
	"reflect"
	"testing"
)

func TestSummaryRoundTrip(t *testing.T) {
	want := Summary{
		Topic: "clicks", Group: "g", Writer: "w1",
		Offsets:         map[int32]int64{0: 12, 3: 7},
		Checkpoints:     map[int32]string{0: "a.ckpt", 3: "a.ckpt"},
		Counters:        map[int32]Counters{0: {Records: 12, InSessions: 10, Duplicates: 2}},
		Settled:         map[int32]int64{0: 99, 3: 9223372036854775807},
		TopicPartitions: 6,
		BatchRuns: []BatchRun{{ID: "r1", CommittedMs: 5, Inputs: []string{"in.jsonl"}, InputCount: 1, FromMs: 1, ToMs: 2,
			Sessions: 3, Counters: Counters{Records: 9, InSessions: 8, Rejected: 1}, RejectedTo: "rej.jsonl",
			Replaced: &ReplacedRange{FromMs: 0, ToMs: 10, Sessions: 1, Events: 4}}},
		BatchRun: "r1",
		Other:    map[string]string{"sessionize.future": "x"},
	}
	props := want.Properties()
	got, err := ParseSummary(props)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("round trip:\n got %+v\nwant %+v", got, want)
	}

	// Carried keeps everything but what describes one snapshot.
	props[CommitIDProperty] = "attempt"
	props["operation"] = "append"
	carried := Carried(props)
	if _, ok := carried[CommitIDProperty]; ok {
		t.Error("commit id carried")
	}
	if _, ok := carried["operation"]; ok {
		t.Error("non-sessionize property carried")
	}
	if s, _ := ParseSummary(carried); s.BatchRun != "" || len(s.BatchRuns) != 1 || !maps.Equal(s.Offsets, want.Offsets) {
		t.Errorf("carried: %+v", s)
	}

	empty, err := ParseSummary(nil)
	if err != nil || empty.Offsets == nil || empty.Checkpoints == nil || empty.Counters == nil || len(empty.Properties()) != 0 {
		t.Fatalf("empty summary: %+v, %v, %v", empty, err, empty.Properties())
	}
	if _, err := ParseSummary(map[string]string{"sessionize.offsets": `{"x":1}`}); err == nil {
		t.Error("bad partition key accepted")
	}
	for _, bad := range []string{"x", "-1", "2.5"} {
		if _, err := ParseSummary(map[string]string{"sessionize.topic-partitions": bad}); err == nil {
			t.Errorf("topic partitions %q accepted", bad)
		}
	}
}
