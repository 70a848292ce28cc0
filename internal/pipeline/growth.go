package pipeline

import (
	"context"
	"time"
)

// Kafka's default partitioner sends a key to hash(key) mod the topic's
// partition count, so partitions added to the topic move users to other
// partitions. Each partition is sessionized on its own (that is what lets
// instances share them), so a user whose session was open when their
// events moved has it ended by inactivity on the old partition and a new
// one started on the new: two sessions where batch, seeing all the
// events, has one. Nothing is lost or counted twice; the sessions of the
// users that moved are split once, at the change. The run says so when it
// sees the topic has more partitions than the tables were written with.

// growthCheckTimeout bounds the check's broker call: it runs while the
// group waits for this member to take its partitions, and a broker that
// fails requests must not hold the assignment up (the check is only
// advice; it runs again at the next assignment).
const growthCheckTimeout = 3 * time.Second

// checkTopicGrowth compares the topic's partition count now with recorded,
// the most partitions the sessions table's writers had seen (0: none
// recorded), warning once if the topic has grown, and keeps the count for
// the next commits to record.
func (p *Pipeline) checkTopicGrowth(ctx context.Context, recorded int) {
	if p.src == nil {
		return // a test's pipeline without a source
	}
	ctx, cancel := context.WithTimeout(ctx, growthCheckTimeout)
	defer cancel()
	ends, err := p.src.TopicEnds(ctx)
	if err != nil {
		p.cfg.Logger.Debug("topic partition count unknown", "err", err)
		return
	}
	n := len(ends)
	if recorded > 0 && n > recorded && !p.warnedGrowth {
		p.warnedGrowth = true
		p.cfg.Logger.Warn("the topic has more partitions than when the tables were written: a producer partitioning by user key (Kafka's default) now sends some users' events to another partition, "+
			"and a session of theirs that was open then is split in two (ended by inactivity on the old partition, started anew on the new one); "+
			"nothing is lost, and sessions are whole again from the change on. Batch over the same events joins them",
			"topic", p.cfg.Kafka.Topic, "partitions", n, "before", recorded)
	}
	p.topicPartitions = max(p.topicPartitions, n, recorded)
}
