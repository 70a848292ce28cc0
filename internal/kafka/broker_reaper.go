package kafka

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// memberReaper makes the bundled broker drop a group member that has not
// been heard from for its session timeout, which kfake does not always do.
//
// kfake (groups.go) starts a classic-group member's session timer only when
// a JoinGroup or SyncGroup response is handed to the member's connection:
// (*group).reply calls updateHeartbeat only if (*clientReq).reply returned
// true, and addMemberAndRebalance had stopped the member's only timer (the
// pending-member one). (*clientReq).reply selects between a send on the
// buffered response channel and the closed connection's done channel, so
// for a member whose connection died while its JoinGroup was parked, the
// timer starts or not at random. The member stays in the group with the
// partitions the leader gave it: completeRebalance keeps every member with a
// parked JoinGroup, dead connection or not, and completeLeaderSync clears the
// pending-sync deadline that would have dropped a member that never sends
// SyncGroup. Nothing removes it until some other member joins or leaves
// (and then only after the rebalance timeout). Kafka schedules the session
// expiry of every member when a join completes and keeps the pending-sync
// deadline until every member has synced.
//
// The reaper watches the group requests (JoinGroup, SyncGroup, Heartbeat,
// OffsetCommit) for each member's last request and session timeout, and
// every tick describes the groups. A member is dead when its last request
// is older than its session timeout (plus a margin) and the group was seen
// Stable after that request: its join, if that was the last request, has
// completed, so a live member would have synced or heartbeated since. A
// member parked in a JoinGroup of a rebalance still in progress is never
// taken for dead. The reaper sends a LeaveGroup on the dead member's behalf.
type memberReaper struct {
	c      *kfake.Cluster
	adm    *kadm.Client
	cl     *kgo.Client
	logger *slog.Logger
	tick   time.Duration
	margin time.Duration
	cancel context.CancelFunc
	done   chan struct{}

	mu      sync.Mutex
	members map[reaperKey]*reaperMember // by group and member ID
	session map[reaperKey]time.Duration // by group and instance ID, for static members
	stable  map[string]time.Time        // group -> start of the latest tick that saw it Stable

	// Members waiting in a JoinGroup (broker_parked_join.go).
	joins map[reaperKey]*parkedJoin
	gens  map[reaperKey]int32 // generation each member last used
	ours  map[reaperKey]int   // our keep-alive heartbeats not yet seen
}

type reaperKey struct{ group, id string }

type reaperMember struct {
	last    time.Time
	session time.Duration
}

const (
	reaperTick   = 250 * time.Millisecond
	reaperMargin = 500 * time.Millisecond
)

// startReaper begins watching c, which listens on addrs;
// opts are the TLS and SASL settings to reach it.
func startReaper(c *kfake.Cluster, addrs []string, opts []kgo.Opt, logger *slog.Logger) (*memberReaper, error) {
	cl, err := kgo.NewClient(append(opts, kgo.SeedBrokers(addrs...), kgo.ClientID("sessionize-broker-reaper"))...)
	if err != nil {
		return nil, err
	}
	r := &memberReaper{c: c, adm: kadm.NewClient(cl), cl: cl, logger: logger, tick: reaperTick, margin: reaperMargin,
		members: map[reaperKey]*reaperMember{}, session: map[reaperKey]time.Duration{}, stable: map[string]time.Time{},
		joins: map[reaperKey]*parkedJoin{}, gens: map[reaperKey]int32{}, ours: map[reaperKey]int{},
		done: make(chan struct{})}
	for _, key := range []kmsg.Key{kmsg.JoinGroup, kmsg.SyncGroup, kmsg.Heartbeat, kmsg.OffsetCommit, kmsg.LeaveGroup} {
		c.ControlKey(key.Int16(), func(req kmsg.Request) (kmsg.Response, error, bool) {
			c.KeepControl()
			r.observe(req)
			return nil, nil, false // observe only: kfake handles the request
		})
	}
	ctx, cancel := context.WithCancel(context.Background())
	r.cancel = cancel
	go r.loop(ctx)
	return r, nil
}

func (r *memberReaper) stop() {
	r.cancel()
	<-r.done
	r.cl.Close()
}

// observe records a group request. It runs on kfake's request loop, so it
// only updates maps.
func (r *memberReaper) observe(req kmsg.Request) {
	now := time.Now()
	r.mu.Lock()
	defer r.mu.Unlock()
	if hb, ok := req.(*kmsg.HeartbeatRequest); ok && r.ours[reaperKey{hb.Group, hb.MemberID}] > 0 {
		r.observeJoin(req, now) // our keep-alive: the member was not heard from
		return
	}
	r.observeJoin(req, now)
	heard := func(group, member string, instance *string) {
		if member == "" {
			return
		}
		k := reaperKey{group, member}
		m := r.members[k]
		if m == nil {
			m = &reaperMember{}
			r.members[k] = m
		}
		m.last = now
		if instance != nil && m.session == 0 {
			m.session = r.session[reaperKey{group, *instance}]
		}
	}
	switch req := req.(type) {
	case *kmsg.JoinGroupRequest:
		st := time.Duration(req.SessionTimeoutMillis) * time.Millisecond
		if req.InstanceID != nil {
			r.session[reaperKey{req.Group, *req.InstanceID}] = st
		}
		heard(req.Group, req.MemberID, req.InstanceID)
		if m := r.members[reaperKey{req.Group, req.MemberID}]; m != nil {
			m.session = st
		}
	case *kmsg.SyncGroupRequest:
		heard(req.Group, req.MemberID, req.InstanceID)
	case *kmsg.HeartbeatRequest:
		heard(req.Group, req.MemberID, req.InstanceID)
	case *kmsg.OffsetCommitRequest:
		heard(req.Group, req.MemberID, req.InstanceID)
	case *kmsg.LeaveGroupRequest:
		delete(r.members, reaperKey{req.Group, req.MemberID})
		for _, m := range req.Members {
			delete(r.members, reaperKey{req.Group, m.MemberID})
		}
	}
}

func (r *memberReaper) loop(ctx context.Context) {
	defer close(r.done)
	t := time.NewTicker(r.tick)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		r.keepParkedAlive(ctx)
		r.sweep(ctx)
	}
}

// sweep describes every classic group and drops the dead members.
func (r *memberReaper) sweep(ctx context.Context) {
	started := time.Now()
	tctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	listed, err := r.adm.ListGroups(tctx)
	if err != nil {
		return
	}
	groups := listed.Groups()
	if len(groups) == 0 {
		return
	}
	described, err := r.adm.DescribeGroups(tctx, groups...)
	if err != nil {
		return
	}
	type victim struct {
		group, member string
		instance      *string
		silent        time.Duration
		session       time.Duration
	}
	var dead []victim
	r.mu.Lock()
	current := map[reaperKey]bool{}
	for _, g := range described.Sorted() {
		for _, m := range g.Members {
			current[reaperKey{g.Group, m.MemberID}] = true
		}
	}
	for k, m := range r.members { // gone (left, expired) a while ago
		if !current[k] && started.Sub(m.last) > time.Minute {
			delete(r.members, k)
			r.forgetJoin(k)
		}
	}
	for _, g := range described.Sorted() {
		if g.Err != nil || g.ProtocolType != "consumer" {
			continue
		}
		if g.State == "Stable" {
			r.stable[g.Group] = started
		}
		stableAt := r.stable[g.Group]
		for _, m := range g.Members {
			k := reaperKey{g.Group, m.MemberID}
			rm := r.members[k]
			if rm == nil { // joined before we watched (a restored data dir)
				r.members[k] = &reaperMember{last: started}
				continue
			}
			if rm.session == 0 && m.InstanceID != nil {
				rm.session = r.session[reaperKey{g.Group, *m.InstanceID}]
			}
			if rm.session == 0 || !stableAt.After(rm.last) {
				continue
			}
			if silent := started.Sub(rm.last); silent > rm.session+r.margin {
				dead = append(dead, victim{g.Group, m.MemberID, m.InstanceID, silent, rm.session})
			}
		}
	}
	r.mu.Unlock()
	for _, v := range dead {
		req := kmsg.NewPtrLeaveGroupRequest()
		req.Group = v.group
		lm := kmsg.NewLeaveGroupRequestMember()
		lm.MemberID = v.member
		lm.InstanceID = v.instance
		lm.Reason = kmsg.StringPtr("sessionize broker: member not heard from for its session timeout")
		req.Members = append(req.Members, lm)
		if _, err := req.RequestWith(tctx, r.cl); err != nil {
			r.logger.Warn("could not drop a dead group member", "group", v.group, "member_id", v.member, "error", err)
			continue
		}
		r.logger.Warn("dropped a group member not heard from for its session timeout (kfake kept it: its connection died during a join)",
			"group", v.group, "member_id", v.member, "silent", v.silent.Round(time.Millisecond), "session_timeout", v.session)
	}
}
