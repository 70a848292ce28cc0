package pipeline

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/sessionize/sessionize/internal/iceberg"
	"github.com/sessionize/sessionize/internal/kafka"
)

// --stop-when-idle stops a member only when the whole topic is finished:
// every partition committed in the sessions table up to its end as of the
// check, by whichever member held it. A member that stopped when only its
// own partitions were done would exit 0 with the partitions of a dead
// member (still in the group until its session times out) unprocessed.

// topicCheckEvery bounds how often a member idle at the end of its own
// partitions asks the broker for the topic's ends and the catalog for the
// committed offsets.
const topicCheckEvery = time.Second

// waitLogEvery is how often a waiting member says what it waits for.
const waitLogEvery = 10 * time.Second

// stopWait is what consume remembers while this member is idle at its end
// and waits for the rest of the topic.
type stopWait struct {
	since     time.Time // idle at its end, topic not finished, since
	lastCheck time.Time
	lastLog   time.Time
}

// busy is called when this member has records to process again: the wait
// (and the --stop-timeout clock) starts over when it is idle next.
func (w *stopWait) busy() { *w = stopWait{} }

// unfinishedPartition is a partition not yet committed up to its end.
type unfinishedPartition struct {
	partition int32
	committed int64 // noOffset: nothing committed yet
	end       int64
}

// idleAtEnd reports whether every partition this member owns has been
// read to its end. A member owning none is idle once it has joined the
// group (with more members than partitions some get nothing).
func (p *Pipeline) idleAtEnd(ctx context.Context) (bool, error) {
	if len(p.parts) == 0 {
		_, joined := p.src.MemberID()
		return joined, nil
	}
	return p.src.AtEnd(ctx)
}

// topicFinished is called while this member has been idle at its end for
// --stop-when-idle. It reports whether the whole topic is finished, so the
// member may stop. This member's own partitions count as finished (its
// final commit moves them to their end); any other partition when the
// sessions table has its offset at the partition's end. Until then it
// logs which partitions are unfinished and who holds them, at once and
// every waitLogEvery, and once --stop-timeout has passed it returns an
// error saying the same.
func (p *Pipeline) topicFinished(ctx context.Context, w *stopWait) (bool, error) {
	now := time.Now()
	if now.Sub(w.lastCheck) < topicCheckEvery {
		return false, nil
	}
	w.lastCheck = now
	if w.since.IsZero() {
		w.since = now
	}
	left, err := p.unfinishedPartitions(ctx)
	if err == nil && len(left) == 0 {
		return p.mayStopOwningNothing(ctx), nil
	}
	if err == nil {
		// Some may be partitions added to the topic since the group's
		// leader last looked: if this member leads, a refresh has the
		// group assign them now.
		p.src.NoticeNewPartitions()
	}
	waited := now.Sub(w.since)
	timedOut := p.cfg.StopTimeout > 0 && waited >= p.cfg.StopTimeout
	// A member with partitions of its own has just finished them: say at
	// once what it waits for. One with none (more members than
	// partitions) waits quietly for the first interval.
	logDue := now.Sub(w.lastLog) >= waitLogEvery && (len(p.parts) > 0 || waited >= waitLogEvery)
	if !timedOut && !logDue {
		return false, nil
	}
	w.lastLog = now
	var what string
	if err != nil {
		what = fmt.Sprintf("cannot tell which partitions are finished: %v", err)
	} else {
		members, err := p.src.GroupMembers(ctx)
		what = describeUnfinished(left, members, err, p.cfg.Kafka.Group)
	}
	if timedOut {
		return false, fmt.Errorf("--stop-when-idle: topic %q is not finished after waiting %s (--stop-timeout %s): %s. "+
			"Output committed so far is kept; run again to finish the topic (a dead member's partitions move to a live one once its --session-timeout passes)",
			p.cfg.Kafka.Topic, waited.Round(time.Millisecond), p.cfg.StopTimeout, what)
	}
	msg := "this member's partitions are read to their end; waiting for the rest of the topic before stopping"
	if len(p.parts) == 0 {
		msg = "this member holds no partition; waiting for the rest of the topic before stopping"
	}
	p.cfg.Logger.Info(msg, "waited", waited.Round(time.Second), "unfinished", what)
	return false, nil
}

// unfinishedPartitions compares every partition's end with the sessions
// table's committed offsets, leaving out this member's own partitions.
func (p *Pipeline) unfinishedPartitions(ctx context.Context) ([]unfinishedPartition, error) {
	ends, err := p.src.TopicEnds(ctx)
	if err != nil {
		return nil, err
	}
	prog, err := p.loadProgress(ctx, iceberg.TableSessions)
	if err != nil {
		return nil, err
	}
	var left []unfinishedPartition
	for id, end := range ends {
		if p.parts[id] != nil {
			continue
		}
		committed := offsetOr(prog, id, noOffset)
		if max(committed, 0) < end {
			left = append(left, unfinishedPartition{partition: id, committed: committed, end: end})
		}
	}
	slices.SortFunc(left, func(a, b unfinishedPartition) int { return int(a.partition - b.partition) })
	return left, nil
}

// mayStopOwningNothing: a member that owns no partition stops only if the
// group coordinator agrees it holds none. Its assignment may have been
// made and not yet handed to it (that happens in the next Poll), and then
// it would stop without draining partitions that are now its own.
func (p *Pipeline) mayStopOwningNothing(ctx context.Context) bool {
	if len(p.parts) > 0 {
		return true
	}
	id, joined := p.src.MemberID()
	if !joined {
		return false
	}
	members, err := p.src.GroupMembers(ctx)
	if err != nil {
		return false
	}
	for _, m := range members {
		if m.MemberID == id {
			return len(m.Partitions) == 0
		}
	}
	return false
}

// describeUnfinished says, per partition, where the tables are, where its
// end is and who holds it among the members of group (membersErr: the
// members could not be listed).
func describeUnfinished(left []unfinishedPartition, members []kafka.MemberPartitions, membersErr error, group string) string {
	holders := map[int32]string{}
	for _, m := range members {
		for _, id := range m.Partitions {
			holders[id] = describeMember(m)
		}
	}
	var b strings.Builder
	for i, u := range left {
		if i > 0 {
			b.WriteString("; ")
		}
		if u.committed == noOffset {
			fmt.Fprintf(&b, "partition %d: nothing committed (end %d)", u.partition, u.end)
		} else {
			fmt.Fprintf(&b, "partition %d: committed to offset %d of %d", u.partition, u.committed, u.end)
		}
		switch h, ok := holders[u.partition]; {
		case ok:
			b.WriteString(", held by " + h)
		case membersErr != nil:
			fmt.Fprintf(&b, ", holder unknown (%v)", membersErr)
		default:
			fmt.Fprintf(&b, ", held by no member of group %q", group)
		}
	}
	return b.String()
}

func describeMember(m kafka.MemberPartitions) string {
	s := "member " + m.MemberID
	if m.InstanceID != "" {
		s += " (instance " + m.InstanceID + ")"
	}
	if m.Host != "" {
		s += " on " + strings.TrimPrefix(m.Host, "/")
	}
	return s
}
