package pipeline

import (
	"fmt"
	"path"
	"slices"
	"strings"
	"time"

	"github.com/sessionize/sessionize/internal/kafka"
)

// fenceError says which of our partitions another writer has moved on a
// table: they have a new owner (we stalled past the group's session
// timeout, say, and a rebalance happened without us). Those partitions are
// dropped; the rest of the commit goes ahead. It matches errFenced.
type fenceError struct {
	table      string
	partitions []int32 // sorted
	detail     string
}

func (e *fenceError) Error() string {
	return fmt.Sprintf("%v: %s partitions %v: %s", errFenced, e.table, e.partitions, e.detail)
}

func (e *fenceError) Unwrap() error { return errFenced }

// fenceDetail describes the contested partitions' offsets for the log.
func fenceDetail(ids []int32, got func(int32) int64, want map[int32]int64) string {
	var b strings.Builder
	for i, id := range ids {
		if i > 0 {
			b.WriteString(", ")
		}
		fmt.Fprintf(&b, "partition %d at offset %d, we expected %d", id, got(id), want[id])
	}
	return b.String()
}

// checkpointDetail names, for the contested partitions whose checkpoint
// file is not the one we expect, the file the sessions table names: the
// other writer's commit (its writer is the file name's prefix).
func checkpointDetail(ids []int32, got, want map[int32]string) string {
	var b strings.Builder
	for _, id := range ids {
		if got[id] != want[id] {
			fmt.Fprintf(&b, "; partition %d names checkpoint %s, we expected %s", id, ckptName(got[id]), ckptName(want[id]))
		}
	}
	return b.String()
}

// dropContested forgets partitions another writer has taken over: their
// state, their rows of the commit in progress and what we expect of the
// tables. The group may still count them as ours (kgo has not heard of
// the rebalance yet, or the other writer is the stale one); their records
// are then ignored, and nothing of them is processed or committed again
// until OnAssigned gives them to us anew, which restores them from the
// tables. If the group still gives them to us after reclaimAfter, consume
// rejoins the group to make that happen.
func (p *Pipeline) dropContested(ids []int32) {
	if len(ids) == 0 {
		return
	}
	now := time.Now()
	p.forgetExpected(ids)
	for _, id := range ids {
		delete(p.parts, id)
		p.contested[id] = now
	}
	p.cfg.Metrics.SetAssigned(p.owned())
}

// forgetExpected forgets what we expect of the tables for ids: the first
// step of dropping them, which the commit that finds them contested takes
// at once, before it commits the rest (writeCommit).
func (p *Pipeline) forgetExpected(ids []int32) {
	for _, id := range ids {
		for _, m := range p.expected {
			delete(m, id)
		}
		delete(p.expectedCheckpoint, id)
	}
}

// reclaimAfter is how long a contested partition may stay assigned to us
// by the group before we rejoin to have it assigned anew. If another
// member took it over because our session had expired, kgo finds out
// within a session timeout and revokes it (lost) by itself.
func (p *Pipeline) reclaimAfter() time.Duration {
	st := p.cfg.Kafka.SessionTimeout
	if st <= 0 {
		st = kafka.DefaultSessionTimeout
	}
	return 2 * st
}

// stuckContested returns the contested partitions the group has kept
// giving us for longer than reclaimAfter.
func (p *Pipeline) stuckContested() []int32 {
	var out []int32
	for id, at := range p.contested {
		if time.Since(at) >= p.reclaimAfter() {
			out = append(out, id)
		}
	}
	slices.Sort(out)
	return out
}

// ckptName is a checkpoint's file name (<writer>-<seq>.ckpt), for the log.
func ckptName(uri string) string {
	if uri == "" {
		return "none"
	}
	return path.Base(uri)
}
