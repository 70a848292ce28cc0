package pipeline

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/sessionize/sessionize/internal/iceberg"
)

// TestRestoreReplaysSinceCheckpoint: with --checkpoint-interval longer
// than the commits, commits name the first commit's checkpoint; a new
// owner restores from it, re-reads the records since and writes nothing
// twice: sessions, late and rejected rows and the account equal those of
// one writer that read everything.
func TestRestoreReplaysSinceCheckpoint(t *testing.T) {
	testReplay(t, time.Hour, 100)
}

// TestRestoreFromBackgroundCheckpoint: a checkpoint due by time is written
// in the background; the commit after it is written names it, and a
// restore re-reads from its offset.
func TestRestoreFromBackgroundCheckpoint(t *testing.T) {
	testReplay(t, time.Nanosecond, 200)
}

// testReplay: writer a commits at 100, 200 and 300 with the checkpoint
// interval given, then dies; b must restore at restoredAt and replay to
// 300.
func testReplay(t *testing.T, interval time.Duration, restoredAt int64) {
	b := startBroker(t, 1)
	const t0 = int64(1_767_225_600_000) // 2026-01-01
	newPipeline := func(wh, writer string) (*Pipeline, *[]CommitInfo) {
		cfg := runConfig(t, b, wh)
		cfg.Kafka.Group, cfg.AllowedLateness, cfg.CheckpointInterval = "replay", 10*time.Minute, interval
		var commits []CommitInfo
		cfg.OnCommit = func(c CommitInfo) { commits = append(commits, c) }
		return assignedPipeline(t, cfg, writer, 0), &commits
	}
	// Five users, a minute apart per record; every 60 records time jumps
	// 2 h (the open sessions close); every 23rd record is 3 h old (late)
	// and every 37th malformed.
	feed := func(p *Pipeline, from, to int64) {
		part := p.parts[0]
		for k := from; k < to; k++ {
			ts := t0 + k*60_000 + (k/60)*2*3_600_000
			et := ts
			if k%23 == 22 {
				et -= 3 * 3_600_000
			}
			v := fmt.Appendf(nil, `{"event_id": "e%d", "uuid": "u%d", "page_name": "p%d", "event_timestamp": "%d"}`, k, k%5, k%3, et)
			if k%37 == 36 {
				v = fmt.Appendf(nil, `{"broken": %d`, k)
			}
			part.process(&Record{Partition: 0, Offset: k, TimestampMs: ts, Value: v})
		}
		part.next = max(part.next, to)
		if part.replaying() && part.next >= part.replayTo {
			part.endReplay()
		}
		part.advance()
		p.dirty = true
	}
	finish := func(p *Pipeline) {
		p.parts[0].drain(p.parts[0].stream.MaxSeenMs())
		p.dirty = true
		if err := p.commit(t.Context()); err != nil {
			t.Fatal(err)
		}
	}

	// The reference: one writer reads all 500 records.
	refWH := t.TempDir()
	ref, _ := newPipeline(refWH, "ref")
	feed(ref, 0, 500)
	finish(ref)

	wh := t.TempDir()
	a, commits := newPipeline(wh, "a")
	for _, to := range []int64{100, 200, 300} {
		feed(a, to-100, to)
		if bg := a.background; bg != nil {
			<-bg.done // written before this commit: it names it
		}
		if err := a.commit(t.Context()); err != nil {
			t.Fatal(err)
		}
	}
	written := 0
	for _, c := range *commits {
		if c.StateWritten {
			written++
		}
	}
	// Only the first commit writes the state on the loop: it has none yet.
	if len(*commits) != 3 || written != 1 || !(*commits)[0].StateWritten || (*commits)[0].Sessions == 0 || (*commits)[2].Sessions == 0 {
		t.Fatalf("commits %+v: want 3, sessions in the first and the last, the first alone writing the state", *commits)
	}
	// a dies: no handover commit. b restores from the checkpoint the last
	// commit names.
	bp, _ := newPipeline(wh, "b")
	if part := bp.parts[0]; !part.replaying() || part.next != restoredAt || part.replayTo != 300 {
		t.Fatalf("restored at %d, replaying to %d (%v); want %d and 300", part.next, part.replayTo, part.replaying(), restoredAt)
	}
	feed(bp, restoredAt, 235)                      // the next batch crosses a 2 h jump (240) and the committed offset (300)
	if err := bp.commit(t.Context()); err != nil { // replaying: commits nothing
		t.Fatal(err)
	}
	feed(bp, 235, 500)
	if bp.parts[0].replaying() {
		t.Fatal("still replaying past the committed offset")
	}
	finish(bp)

	got, _ := tableLines(t, wh)
	want, _ := tableLines(t, refWH)
	if len(want) == 0 || !slices.Equal(got, want) {
		t.Fatalf("after the replay: %d sessions, one writer: %d; first difference: %s", len(got), len(want), firstDiff(got, want))
	}
	for _, read := range []func(*iceberg.Warehouse) (int, error){
		func(w *iceberg.Warehouse) (int, error) { r, err := w.ReadLate(t.Context()); return len(r), err },
		func(w *iceberg.Warehouse) (int, error) { r, err := w.ReadRejected(t.Context()); return len(r), err },
	} {
		n, err := read(openWarehouse(t, wh))
		if err != nil {
			t.Fatal(err)
		}
		nRef, err := read(openWarehouse(t, refWH))
		if err != nil {
			t.Fatal(err)
		}
		if n != nRef || n == 0 {
			t.Fatalf("%d late or rejected rows after the replay, %d from one writer", n, nRef)
		}
	}
	acc, err := Audit(t.Context(), openWarehouse(t, wh))
	if err != nil || !acc.Holds() || acc.Records != 500 {
		t.Fatalf("account after the replay: %s (%v)", acc, err)
	}
}
