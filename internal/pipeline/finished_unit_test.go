package pipeline

import (
	"errors"
	"testing"

	"github.com/sessionize/sessionize/internal/kafka"
)

func TestDescribeUnfinished(t *testing.T) {
	left := []unfinishedPartition{{partition: 1, committed: 120, end: 500}, {partition: 3, committed: noOffset, end: 40}}
	members := []kafka.MemberPartitions{
		{MemberID: "sessionize-a1", Host: "/10.0.0.7", Partitions: []int32{0, 1}},
		{MemberID: "i-2-b7", InstanceID: "i-2", Host: "10.0.0.8:5123", Partitions: []int32{2, 3}},
	}
	for _, c := range []struct {
		name    string
		members []kafka.MemberPartitions
		err     error
		want    string
	}{
		{"held", members, nil, "partition 1: committed to offset 120 of 500, held by member sessionize-a1 on 10.0.0.7; " +
			"partition 3: nothing committed (end 40), held by member i-2-b7 (instance i-2) on 10.0.0.8:5123"},
		{"no holder", members[:1], nil, "partition 1: committed to offset 120 of 500, held by member sessionize-a1 on 10.0.0.7; " +
			`partition 3: nothing committed (end 40), held by no member of group "g"`},
		{"members unknown", nil, errors.New("coordinator not available"), "partition 1: committed to offset 120 of 500, holder unknown (coordinator not available); " +
			"partition 3: nothing committed (end 40), holder unknown (coordinator not available)"},
	} {
		t.Run(c.name, func(t *testing.T) {
			if got := describeUnfinished(left, c.members, c.err, "g"); got != c.want {
				t.Errorf("got\n %s\nwant\n %s", got, c.want)
			}
		})
	}
}
