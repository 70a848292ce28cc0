//go:build unix

package pipeline

import (
	"errors"
	"slices"
	"testing"

	"github.com/sessionize/sessionize/internal/iceberg"
)

// TestFenceStaleOwnerDrainAtStop: a drain at stop closes sessions without
// moving any offset, so a fence that compares offsets alone cannot see
// that another writer drained (or restored) the same partition. Seen in
// TestScaleOutUnderFailures: after the broker restart the group gave
// partitions 0 and 1 to A and D while B2 still held them (kgo never told
// B2), and at SIGTERM all three drained them at the same offsets: every
// session open there was written twice (44 session_ids).
//
// Here A owns partition 0 and commits; B is assigned it too (A has not
// heard that it lost it) and restores from A's commit. Whoever commits
// second after a drain, or after the other's drain, must be fenced on
// partition 0 and write nothing of it.
func TestFenceStaleOwnerDrainAtStop(t *testing.T) {
	b := startBroker(t, 1)
	for _, tc := range []struct {
		name string
		// second runs after first has drained and committed partition 0.
		second func(t *testing.T, p *Pipeline) error
	}{
		{"both drain", func(t *testing.T, p *Pipeline) error { return p.stop() }},
		{"the other reads on and commits", func(t *testing.T, p *Pipeline) error {
			feedClosing(p, 0, 10, 15)
			return p.commit(t.Context())
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			wh := t.TempDir()
			newPipeline := func(writer string) *Pipeline {
				cfg := runConfig(t, b, wh)
				cfg.Kafka.Group, cfg.AllowedLateness = "stale-drain", 0 // a session closes at the next event
				p := unpolledPipeline(t, cfg, openWarehouse(t, wh), writer)
				if _, err := p.OnAssigned(t.Context(), []int32{0}); err != nil {
					t.Fatal(err)
				}
				return p
			}
			a := newPipeline("a")
			feedClosing(a, 0, 0, 10) // 9 sessions closed, u0's 10th open
			if err := a.commit(t.Context()); err != nil {
				t.Fatal(err)
			}
			bp := newPipeline("b") // restores partition 0 from A's commit, 10th session open

			if err := a.stop(); err != nil { // drains the 10th session and commits it
				t.Fatal(err)
			}
			err := tc.second(t, bp)
			if tc.name != "both drain" && !errors.Is(err, errFenced) {
				t.Errorf("B's commit after A's drain returned %v, want it fenced", err)
			}
			if err != nil && !errors.Is(err, errFenced) {
				t.Fatal(err)
			}

			if rows := sessionRowsOnce(t, wh); len(rows) != 10 {
				t.Errorf("%d sessions, want 10 (9 closed by A's commit, 1 by its drain)", len(rows))
			}
		})
	}
}

// TestCheckFenceCheckpoints: on the sessions table a partition naming a
// checkpoint file other than the one we expect was committed by another
// writer, even at the offsets we expect (its drain at stop) or at ours; one
// naming this commit's file for every partition is our attempt, landed.
func TestCheckFenceCheckpoints(t *testing.T) {
	p := &Pipeline{
		expected:           map[string]map[int32]int64{iceberg.TableSessions: {0: 100, 1: 200}},
		expectedCheckpoint: map[int32]string{0: "a-1.ckpt", 1: "a-1.ckpt"},
	}
	for _, tc := range []struct {
		name        string
		offsets     map[int32]int64 // ours; the table's are in table
		table       map[int32]int64
		checkpoints map[int32]string
		done        bool
		fenced      []int32
	}{
		{"untouched", map[int32]int64{0: 100, 1: 260}, map[int32]int64{0: 100, 1: 200},
			map[int32]string{0: "a-1.ckpt", 1: "a-1.ckpt"}, false, nil},
		{"our drain landed", map[int32]int64{0: 100, 1: 200}, map[int32]int64{0: 100, 1: 200},
			map[int32]string{0: "a-2.ckpt", 1: "a-2.ckpt"}, true, nil},
		{"our commit landed", map[int32]int64{0: 150, 1: 260}, map[int32]int64{0: 150, 1: 260},
			map[int32]string{0: "a-2.ckpt", 1: "a-2.ckpt"}, true, nil},
		{"another writer drained one", map[int32]int64{0: 100, 1: 200}, map[int32]int64{0: 100, 1: 200},
			map[int32]string{0: "b-7.ckpt", 1: "a-1.ckpt"}, false, []int32{0}},
		{"another writer committed one at our offsets", map[int32]int64{0: 150, 1: 260}, map[int32]int64{0: 150, 1: 200},
			map[int32]string{0: "b-7.ckpt", 1: "a-1.ckpt"}, false, []int32{0}},
		{"another writer committed both at our offsets", map[int32]int64{0: 150, 1: 260}, map[int32]int64{0: 150, 1: 260},
			map[int32]string{0: "b-7.ckpt", 1: "b-7.ckpt"}, false, []int32{0, 1}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ours := progress{offsets: tc.offsets, checkpoints: map[int32]string{0: "a-2.ckpt", 1: "a-2.ckpt"}}
			done, err := p.checkFence(iceberg.TableSessions, progress{offsets: tc.table, checkpoints: tc.checkpoints}, ours)
			var fe *fenceError
			if errors.As(err, &fe) != (tc.fenced != nil) || (fe != nil && !slices.Equal(fe.partitions, tc.fenced)) ||
				(err != nil && fe == nil) || done != tc.done {
				t.Fatalf("table at %v naming %v: done %v, err %v; want done %v, fenced %v", tc.table, tc.checkpoints, done, err, tc.done, tc.fenced)
			}
		})
	}
}
