package pipeline

import (
	"fmt"
	"maps"
	"testing"
	"time"

	"github.com/sessionize/sessionize/internal/decode"
	"github.com/sessionize/sessionize/internal/session"
)

func rec(off int64, ts int64, uuid, id string) Record {
	return Record{Offset: off, TimestampMs: 1_800_000_000_000, Value: []byte(fmt.Sprintf(
		`{"event_id": %q, "page_name": "home", "event_timestamp": "%d", "uuid": %q}`, id, ts, uuid))}
}

func TestPartitionOutcomes(t *testing.T) {
	const t0 = 1_700_000_000_000
	p := newPartition(0, session.NewStream(session.DefaultRules(), 600_000), 0, 0, 0, time.Hour)
	ps := jsonDecoder(t)
	records := []Record{
		rec(0, t0, "u", "a"),
		rec(1, t0+3_600_000, "v", "b"), // watermark t0+50m
		rec(2, t0, "u", "late"),        // late
		rec(3, t0+3_600_000, "v", "b"), // duplicate
		{Offset: 4, TimestampMs: 1_800_000_000_000, Value: []byte("not json")},
		rec(5, 1_800_000_000_000+2*3_600_000, "w", "future"), // 2h ahead of its Kafka timestamp
		rec(2, t0, "u", "replayed below next"),               // ignored: offset already processed
	}
	for i := range records {
		p.processWith(ps, &records[i])
	}
	p.advance()
	sessions, _, late, rejected := p.takeOutput()
	if len(sessions) != 1 || sessions[0].UUID != "u" {
		t.Fatalf("sessions %+v", sessions)
	}
	if len(late) != 1 || late[0].EventID != "late" || late[0].WatermarkMs != t0+3_600_000-600_000 {
		t.Fatalf("late %+v", late)
	}
	if len(rejected) != 2 || rejected[0].Reason != "invalid_json" || rejected[1].Reason != ReasonFutureTimestamp {
		t.Fatalf("rejected %+v", rejected)
	}
	c := p.counters()
	want := Counters{Records: 6, Rejected: 2, Late: 1, Duplicates: 1, InSessions: 1, Open: 1}
	if c != want {
		t.Fatalf("counters %+v, want %+v", c, want)
	}
	if c.Records != c.Rejected+c.Late+c.Duplicates+c.InSessions+c.Open {
		t.Fatal("counters do not add up")
	}
}

// TestReplaySkipsCommittedRows: after a crash between the late/rejected
// commits and the sessions commit, replay must not write those rows again.
func TestReplaySkipsCommittedRows(t *testing.T) {
	const t0 = 1_700_000_000_000
	p := newPartition(0, session.NewStream(session.DefaultRules(), 600_000), 0, 3, 2, time.Hour)
	ps := jsonDecoder(t)
	for _, r := range []Record{rec(0, t0+3_600_000, "v", "b"), rec(1, t0, "u", "late1"), {Offset: 2, Value: []byte("{")}, rec(3, t0, "u", "late2")} {
		p.processWith(ps, &r)
	}
	_, _, late, rejected := p.takeOutput()
	if len(late) != 1 || late[0].EventID != "late2" || len(rejected) != 1 {
		t.Fatalf("late %+v rejected %+v", late, rejected)
	}
	if c := p.counters(); c.Late != 2 || c.Rejected != 1 {
		t.Fatalf("suppressed rows must still be counted: %+v", c)
	}
}

func TestCheckpointRoundTrip(t *testing.T) {
	s := session.NewStream(session.DefaultRules(), 600_000)
	s.Add("u", &session.Event{TimeMs: 1, ID: "a", Page: "p"})
	parts := []partitionCheckpoint{{partition: 3, next: 10, rejected: 2, state: s.AppendState(nil)}, {partition: 1, next: 5, state: session.NewStream(session.DefaultRules(), 600_000).AppendState(nil)}}
	data, err := encodeCheckpoint(parts)
	if err != nil {
		t.Fatal(err)
	}
	got, err := decodeCheckpoint(data)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || got[3].next != 10 || got[3].rejected != 2 || got[1].next != 5 {
		t.Fatalf("%+v", got)
	}
	st, err := got[3].restore(session.DefaultRules(), 600_000)
	if err != nil || st.OpenSessions() != 1 {
		t.Fatalf("restore: %v", err)
	}
	if _, err := decodeCheckpoint([]byte("garbage")); err == nil {
		t.Fatal("garbage accepted")
	}
}

func TestProgressMerge(t *testing.T) {
	base := progress{topic: "t", offsets: map[int32]int64{0: 5, 1: 7}, checkpoints: map[int32]string{0: "a", 1: "b"}, counters: map[int32]Counters{}}
	ours := progress{topic: "t", offsets: map[int32]int64{1: 9}, checkpoints: map[int32]string{1: "c"}, counters: map[int32]Counters{1: {Records: 9}}}
	props := base.merged(ours).properties("g", "w1")
	back, err := parseProgress(props)
	if err != nil {
		t.Fatal(err)
	}
	if !maps.Equal(back.offsets, map[int32]int64{0: 5, 1: 9}) || back.checkpoints[0] != "a" || back.checkpoints[1] != "c" || back.counters[1].Records != 9 {
		t.Fatalf("%+v", back)
	}
	if base.offsets[1] != 7 {
		t.Fatal("merge modified its base")
	}
}

// TestReplayKeepsTheDedupBound: restarted after a crash with another
// --dedup-window, a partition replays the records whose late rows are
// committed already under the bound they were first judged by (so they
// are late again, and their rows stay the only ones), and applies the new
// bound from there on.
func TestReplayKeepsTheDedupBound(t *testing.T) {
	const t0 = 1_700_000_000_000
	ps := jsonDecoder(t)
	first := session.NewStream(session.DefaultRules(), 600_000)
	first.SetDedup(session.Dedup{}) // no keys: as before they existed
	p := newPartition(0, first, 0, 0, 0, time.Hour)
	for _, r := range []Record{rec(0, t0, "u", "a"), rec(1, t0+45*60_000, "v", "x")} { // u's session closes
		p.processWith(ps, &r)
	}
	p.advance()
	state := first.AppendState(nil) // the checkpoint of the last sessions commit: next 2
	copyOfA := rec(2, t0, "u", "a")
	p.processWith(ps, &copyOfA)
	if _, _, late, _ := p.takeOutput(); len(late) != 1 {
		t.Fatalf("without keys the copy must be late: %+v", late)
	}
	// The late row of offset 2 was committed (late offset 3); then a crash.
	restored, err := session.RestoreStream(session.DefaultRules(), 600_000, state)
	if err != nil {
		t.Fatal(err)
	}
	q := newPartition(0, restored, 2, 3, 0, time.Hour)
	q.setDedup(session.DefaultDedup())
	for _, r := range []Record{rec(2, t0, "u", "a"), rec(3, t0+36*60_000, "w", "y"), rec(4, t0+80*60_000, "v", "z"), rec(5, t0+36*60_000, "w", "y")} {
		q.processWith(ps, &r)
		q.advance() // w's session closes at offset 4; the copy at 5 is below the watermark
	}
	_, _, late, _ := q.takeOutput()
	if c := q.counters(); len(late) != 0 || c.Late != 1 || c.Duplicates != 1 {
		t.Fatalf("the replayed copy must be late again (its row is committed), the copy after the replay a duplicate: late rows %d, %+v", len(late), c)
	}
	if restored.Dedup() != session.DefaultDedup() {
		t.Fatalf("bound %+v after the replay", restored.Dedup())
	}

	// The other way: a copy first judged a duplicate under the keys stays
	// one on replay, though the new bound remembers nothing.
	first = session.NewStream(session.DefaultRules(), 600_000)
	first.SetDedup(session.DefaultDedup())
	p = newPartition(0, first, 0, 0, 0, time.Hour)
	for _, r := range []Record{rec(0, t0, "u", "a"), rec(1, t0+45*60_000, "v", "x")} {
		p.processWith(ps, &r)
	}
	p.advance()
	state = first.AppendState(nil)
	// Offsets 2 (a duplicate) and 3 (late) were processed, the late row
	// of 3 committed (late offset 4); then a crash.
	if restored, err = session.RestoreStream(session.DefaultRules(), 600_000, state); err != nil {
		t.Fatal(err)
	}
	q = newPartition(0, restored, 2, 4, 0, time.Hour)
	q.setDedup(session.Dedup{})
	for _, r := range []Record{rec(2, t0, "u", "a"), rec(3, t0, "u", "b"), rec(4, t0, "u", "a")} {
		q.processWith(ps, &r)
	}
	_, _, late, _ = q.takeOutput()
	if c := q.counters(); len(late) != 1 || late[0].Offset != 4 || c.Late != 2 || c.Duplicates != 1 {
		t.Fatalf("the replayed duplicate must stay one, the copy after the replay (no keys) be late: late rows %+v, %+v", late, c)
	}
}

// jsonDecoder is the default JSON decoder, for feeding partitions records
// by hand.
func jsonDecoder(t *testing.T) decode.Decoder {
	t.Helper()
	d, err := decode.New(decode.Config{})
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// processWith is process with the partition's decoder set to d (as
// OnAssigned sets it).
func (p *partition) processWith(d decode.Decoder, r *Record) {
	p.parser = d
	p.process(r)
}
