package kafka

import (
	"context"
	"time"

	"github.com/twmb/franz-go/pkg/kmsg"
)

// kfake (groups.go) lets the session timer of a member that rejoins keep
// running while its JoinGroup is parked for the rest of the group:
// updateMemberAndRebalance does not touch the timer that the member's last
// heartbeat set, and the member sends no heartbeat while it waits. When the
// rebalance waits longer than the member's session timeout for another
// member (one busy committing before it comes back to Poll, within its
// rebalance timeout), the timer removes the member without answering its
// JoinGroup. The rebalance then completes without it and gives its
// partitions to the others, while the member, still waiting for the answer
// (cooperative rebalancing keeps it consuming what it owns), never hears
// that it lost them: two members hold the same partitions. Kafka keeps a
// member alive while it awaits a join response, up to the rebalance
// timeout.
//
// So the reaper heartbeats on behalf of every member whose JoinGroup is
// parked, with the generation the member last used, until the member is
// heard from with a SyncGroup or a heartbeat of its own, leaves, or has
// waited its rebalance timeout (as in Kafka; a member whose connection died
// during the join is then the reaper's, see broker_reaper.go).

// parkedJoin is a member's JoinGroup not yet answered, as far as we know.
type parkedJoin struct {
	until      time.Time // the member's rebalance timeout after its join
	generation int32
	instance   *string // a static member's instance ID
}

// observeJoin runs in observe, with r.mu held, for the group requests
// that start or end a member's wait in JoinGroup.
func (r *memberReaper) observeJoin(req kmsg.Request, now time.Time) {
	switch req := req.(type) {
	case *kmsg.JoinGroupRequest:
		if req.MemberID == "" { // a new member: kfake runs no session timer for it yet
			return
		}
		k := reaperKey{req.Group, req.MemberID}
		r.joins[k] = &parkedJoin{until: now.Add(time.Duration(req.RebalanceTimeoutMillis) * time.Millisecond),
			generation: r.gens[k], instance: req.InstanceID}
	case *kmsg.SyncGroupRequest:
		k := reaperKey{req.Group, req.MemberID}
		r.gens[k] = req.Generation
		delete(r.joins, k)
	case *kmsg.HeartbeatRequest:
		k := reaperKey{req.Group, req.MemberID}
		if r.ours[k] > 0 { // our keep-alive, not the member
			r.ours[k]--
			return
		}
		r.gens[k] = req.Generation
		delete(r.joins, k)
	case *kmsg.LeaveGroupRequest:
		r.forgetJoin(reaperKey{req.Group, req.MemberID})
		for _, m := range req.Members {
			r.forgetJoin(reaperKey{req.Group, m.MemberID})
		}
	}
}

// forgetJoin forgets what observeJoin knows of a member, with r.mu held.
func (r *memberReaper) forgetJoin(k reaperKey) {
	delete(r.joins, k)
	delete(r.gens, k)
	delete(r.ours, k)
}

// keepParkedAlive sends one heartbeat for every member parked in a join.
// It runs every reaper tick, so it keeps alive members whose session
// timeout is longer than a tick (250ms).
func (r *memberReaper) keepParkedAlive(ctx context.Context) {
	now := time.Now()
	type beat struct {
		k reaperKey
		j parkedJoin
	}
	var beats []beat
	r.mu.Lock()
	for k, j := range r.joins {
		if now.After(j.until) {
			delete(r.joins, k)
			continue
		}
		r.ours[k]++
		beats = append(beats, beat{k, *j})
	}
	r.mu.Unlock()
	for _, b := range beats {
		req := kmsg.NewPtrHeartbeatRequest()
		req.Group, req.MemberID, req.Generation, req.InstanceID = b.k.group, b.k.id, b.j.generation, b.j.instance
		tctx, cancel := context.WithTimeout(ctx, time.Second)
		resp, err := req.RequestWith(tctx, r.cl)
		cancel()
		if err != nil {
			r.mu.Lock()
			r.ours[b.k] = max(0, r.ours[b.k]-1) // it may not have reached kfake
			r.mu.Unlock()
			continue
		}
		switch resp.ErrorCode {
		case 0, 27: // NONE, REBALANCE_IN_PROGRESS: kfake reset the member's timer
		default: // unknown member, another generation: nothing to keep alive
			r.mu.Lock()
			delete(r.joins, b.k)
			r.mu.Unlock()
		}
	}
}
