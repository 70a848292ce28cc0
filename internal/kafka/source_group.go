package kafka

import "context"

// Whole-topic and group views for a running member, over its own admin
// connection: --stop-when-idle asks them about once a second while the
// member waits for the rest of the topic, which would cost a connection
// each through TopicEnds and GroupMembers.

// TopicEnds is TopicEnds for the source's topic.
func (s *Source) TopicEnds(ctx context.Context) (map[int32]int64, error) {
	return topicEnds(ctx, s.adm, s.cfg.Topic)
}

// NoticeNewPartitions makes the consumer refresh its metadata now rather
// than at its next periodic refresh (metadataMaxAge): partitions added to
// the topic are assigned once the group's leader sees them, and a caller
// that found the topic's ends past the partitions it knew need not wait.
func (s *Source) NoticeNewPartitions() { s.cl.ForceMetadataRefresh() }

// GroupMembers is GroupMembers for the source's group and topic.
func (s *Source) GroupMembers(ctx context.Context) ([]MemberPartitions, error) {
	return groupMembers(ctx, s.adm, s.cfg.Group, s.cfg.Topic)
}

// MemberID returns the member id the group coordinator gave this member
// and whether it has completed a join (the id alone can come before the
// join does). It need not hold any partition: a group with more members
// than partitions leaves some with none.
func (s *Source) MemberID() (id string, joined bool) {
	id, gen := s.cl.GroupMetadata()
	return id, id != "" && gen > 0
}
