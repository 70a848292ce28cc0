package kafka

import (
	"context"
	"errors"
	"fmt"
	"slices"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
)

// TopicEnds returns, for every partition of topic, its last stable offset:
// the end a read_committed reader reaches. It is what "the whole topic"
// means for --stop-when-idle and for `table audit --kafka-servers`: a run
// has finished a partition when its committed offset is at least this.
func TopicEnds(ctx context.Context, servers []string, sec Security, topic string) (map[int32]int64, error) {
	if err := connect(ctx, servers, sec, 0, nil); err != nil {
		return nil, err
	}
	cl, err := newClient(servers, sec, nil)
	if err != nil {
		return nil, err
	}
	defer cl.Close()
	return topicEnds(ctx, kadm.NewClient(cl), topic)
}

func topicEnds(ctx context.Context, adm *kadm.Client, topic string) (map[int32]int64, error) {
	if _, err := topicPartitions(ctx, adm, topic); err != nil {
		return nil, err
	}
	ends, err := adm.ListCommittedOffsets(ctx, topic) // LSO: the read_committed end
	if err == nil {
		err = ends.Error()
	}
	if err != nil {
		return nil, fmt.Errorf("kafka: listing end offsets of %q: %w", topic, err)
	}
	out := map[int32]int64{}
	ends.Each(func(o kadm.ListedOffset) {
		if o.Topic == topic {
			out[o.Partition] = o.Offset
		}
	})
	return out, nil
}

// MemberPartitions is one consumer-group member and the partitions of a
// topic it holds, as the group coordinator sees it.
type MemberPartitions struct {
	MemberID   string
	InstanceID string // static membership id, "" if none
	ClientID   string
	Host       string
	Partitions []int32
}

// GroupMembers describes group and returns its members with the partitions
// of topic each holds, sorted by member id. It is for messages that say who
// holds what ("partition 3 is held by member ... on host ..."); it returns
// no members for a group that is empty or unknown.
func GroupMembers(ctx context.Context, servers []string, sec Security, group, topic string) ([]MemberPartitions, error) {
	if err := connect(ctx, servers, sec, 0, nil); err != nil {
		return nil, err
	}
	cl, err := newClient(servers, sec, nil)
	if err != nil {
		return nil, err
	}
	defer cl.Close()
	return groupMembers(ctx, kadm.NewClient(cl), group, topic)
}

func groupMembers(ctx context.Context, adm *kadm.Client, group, topic string) ([]MemberPartitions, error) {
	groups, err := adm.DescribeGroups(ctx, group)
	if err != nil {
		return nil, fmt.Errorf("kafka: describing group %q: %w", group, err)
	}
	g, ok := groups[group]
	if !ok {
		return nil, nil
	}
	if errors.Is(g.Err, kerr.GroupIDNotFound) {
		return nil, nil
	}
	if g.Err != nil {
		return nil, fmt.Errorf("kafka: describing group %q: %w", group, g.Err)
	}
	var out []MemberPartitions
	for _, m := range g.Members {
		mp := MemberPartitions{MemberID: m.MemberID, ClientID: m.ClientID, Host: m.ClientHost}
		if m.InstanceID != nil {
			mp.InstanceID = *m.InstanceID
		}
		if a, ok := m.Assigned.AsConsumer(); ok {
			for _, t := range a.Topics {
				if t.Topic == topic {
					mp.Partitions = append(mp.Partitions, t.Partitions...)
				}
			}
		}
		slices.Sort(mp.Partitions)
		out = append(out, mp)
	}
	slices.SortFunc(out, func(a, b MemberPartitions) int {
		switch {
		case a.MemberID < b.MemberID:
			return -1
		case a.MemberID > b.MemberID:
			return 1
		}
		return 0
	})
	return out, nil
}
