package pipeline

import (
	"bytes"
	"fmt"
	"log/slog"
	"slices"
	"testing"
)

// TestDrainAtStopTakesTheWholeTopicsEnd: with several members, one that
// stops with Drain closes its open sessions as of the latest event time of
// the whole topic, as batch does over the same records, not as of its own
// partitions' latest. Member A holds partition 1, whose one event is two
// hours after partition 0's last, and commits it with its session open;
// member B holds partition 0 and stops. B's user went quiet for longer
// than the inactivity timeout before the topic's last event: batch ends
// that session by inactivity, and so must B's drain (not end_of_input).
// Then partition 1's owner stops too; the table must be batch's output.
func TestDrainAtStopTakesTheWholeTopicsEnd(t *testing.T) {
	b := startBroker(t, 2)
	wh := t.TempDir()
	const t0 = int64(1_767_225_600_000) // 2026-01-01
	type rec struct {
		partition int32
		offset    int64
		user      string
		ts        int64
	}
	recs := []rec{
		{0, 0, "u0", t0},
		{0, 1, "u0", t0 + 60_000},
		{1, 0, "u1", t0 + 2*3600_000},
	}
	value := func(r rec) []byte {
		return fmt.Appendf(nil, `{"event_id": "e%d-%d", "uuid": "%s", "page_name": "home", "event_timestamp": "%d"}`, r.partition, r.offset, r.user, r.ts)
	}
	var lines [][]byte
	for _, r := range recs {
		lines = append(lines, value(r))
	}
	member := func(writer string, partition int32) *Pipeline {
		cfg := runConfig(t, b, wh)
		cfg.Kafka.Group = "drain"
		p := unpolledPipeline(t, cfg, openWarehouse(t, wh), writer)
		if _, err := p.OnAssigned(t.Context(), []int32{partition}); err != nil {
			t.Fatal(err)
		}
		for _, r := range recs {
			if r.partition == partition {
				p.parts[partition].process(&Record{Partition: r.partition, Offset: r.offset, TimestampMs: r.ts, Value: value(r)})
			}
		}
		p.parts[partition].advance()
		p.dirty = true
		return p
	}

	// One member at a time in the group: a source that is never polled
	// cannot take part in a rebalance, so the next joins once it has left.
	a := member("a", 1)
	if err := a.commit(t.Context()); err != nil {
		t.Fatal(err)
	}
	a.src.Close() // a leaves, partition 1's open session in its checkpoint
	bm := member("b", 0)
	if err := bm.stop(); err != nil {
		t.Fatal(err)
	}
	bm.src.Close()
	a2 := member("a2", 1) // partition 1's next owner, restored from a's commit
	if err := a2.stop(); err != nil {
		t.Fatal(err)
	}
	got, _ := tableLines(t, wh)
	if want := batchLines(t, lines); !slices.Equal(got, want) {
		t.Fatalf("sessions after both members drained:\n%s\nbatch over the same records:\n%s", got, want)
	}
}

// TestStopFencedSaysSo: a member whose final commit at stop is refused
// because another member has taken over its partitions (it was dropped
// from the group while stalled, say) writes nothing and exits cleanly:
// the new owner carries on from the tables. But it must say so, or its
// log reads as if its last records were never committed by anyone.
func TestStopFencedSaysSo(t *testing.T) {
	b := startBroker(t, 1)
	wh := t.TempDir()
	const t0 = int64(1_767_225_600_000) // 2026-01-01
	feed := func(p *Pipeline, from, to int64) {
		for k := from; k < to; k++ {
			ts := t0 + k*60_000
			p.parts[0].process(&Record{Partition: 0, Offset: k, TimestampMs: ts,
				Value: fmt.Appendf(nil, `{"event_id": "e%d", "uuid": "u", "page_name": "home", "event_timestamp": "%d"}`, k, ts)})
		}
		p.parts[0].advance()
		p.dirty = true
	}
	var log bytes.Buffer
	member := func(writer string) *Pipeline {
		cfg := runConfig(t, b, wh)
		cfg.Kafka.Group = "stop"
		cfg.Logger = slog.New(slog.NewTextHandler(&log, nil))
		p := unpolledPipeline(t, cfg, openWarehouse(t, wh), writer)
		if _, err := p.OnAssigned(t.Context(), []int32{0}); err != nil {
			t.Fatal(err)
		}
		return p
	}
	a := member("a")
	feed(a, 0, 10)
	if err := a.commit(t.Context()); err != nil {
		t.Fatal(err)
	}
	// a stalls here and is dropped from the group. Its source is left
	// open: closing it would revoke partition 0 and commit, as a member
	// that is not stalled does.
	feed(a, 10, 20)
	bm := member("b") // the new owner, restored from a's commit
	feed(bm, 10, 25)
	if err := bm.commit(t.Context()); err != nil {
		t.Fatal(err)
	}
	log.Reset()
	if err := a.stop(); err != nil {
		t.Fatalf("a's stop: %v; want nil (its partitions are b's now)", err)
	}
	if !logHasLine(log.String(), "level=WARN", "final commit", "writer=a", "fenced") {
		t.Fatalf("a's stop, fenced, logged:\n%s", log.String())
	}
}
