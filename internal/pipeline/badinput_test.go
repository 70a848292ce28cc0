package pipeline

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"maps"
	"slices"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/sessionize/sessionize/internal/event"
	"github.com/sessionize/sessionize/internal/iceberg"
	"github.com/sessionize/sessionize/internal/kafka"
)

// TestBadInputOnTheTopic puts hostile records between valid ones on one
// partition: binary garbage, empty values (zero-length and null), a record
// over 1 MiB, an event from the year 3000, an event from 1990 once the
// watermark is far ahead, invalid UTF-8 outside and inside JSON strings,
// and nesting past the parser's depth limit. Each bad record lands in
// rejected_events (or late_events) with its reason and its bytes; the run
// carries on; every valid neighbour ends up in its session, as batch makes
// them.
func TestBadInputOnTheTopic(t *testing.T) {
	const (
		topic    = "clickstream"
		t0       = int64(1_700_000_000_000) // 2023-11-14: in the past, so not future_timestamp
		year3000 = int64(32_503_680_000_000)
		jan1990  = int64(631_152_000_000) // ms (a smaller number would be epoch seconds)
	)
	// The broker and the topic must take a record over 1 MiB: kfake's
	// message.max.bytes default is 1 MiB + 12, and franz-go's producer caps a
	// batch at 1,000,012 bytes before compression.
	b, err := kafka.StartBroker(t.Context(), kafka.BrokerConfig{Listen: "127.0.0.1:0", Partitions: 1}, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(b.Close)
	if err := b.Cluster().CreateTopic(topic, 1, map[string]string{"max.message.bytes": "4194304"}); err != nil {
		t.Fatal(err)
	}

	ev := func(uuid, id string, ts int64, extra string) []byte {
		return fmt.Appendf(nil, `{"event_id":%q,"page_name":"p-%s","event_timestamp":"%d","uuid":%q%s}`, id, id, ts, uuid, extra)
	}
	garbage := make([]byte, 512)
	rand.Read(garbage)
	garbage[0] = 0xff // never a '{'
	bigPage := make([]byte, 600<<10)
	rand.Read(bigPage)
	big := ev("u1", "big", t0+2_000, `,"event_details":{"blob":"`+hex.EncodeToString(bigPage)+`"}`) // incompressible, 1.2 MiB
	deep := []byte(`{"event_id":"deep","uuid":"u2","event_timestamp":"1700000003000","event_details":` +
		strings.Repeat("[", 10_000) + strings.Repeat("]", 10_000) + `}`)
	nested := ev("u2", "nested", t0+4_000, `,"event_details":`+strings.Repeat(`{"a":`, 100)+`1`+strings.Repeat(`}`, 100))

	type rec struct {
		value  []byte
		reason string // "": valid and on time; "late"; else the rejected reason
	}
	records := []rec{
		{ev("u1", "a1", t0, ""), ""},
		{ev("u2", "b1", t0+1_000, ""), ""},
		{garbage, event.InvalidJSON.String()},
		{[]byte{}, event.EmptyRecord.String()},
		{nil, event.EmptyRecord.String()}, // a tombstone
		{[]byte(" \n\t "), event.EmptyRecord.String()},
		{big, event.LineTooLong.String()},
		{ev("u1", "a2", t0+60_000, ""), ""}, // right after the big one
		{ev("u3", "future", year3000, ""), ReasonFutureTimestamp},
		{[]byte("{\"event_id\":\"x\",\xff\xfe}"), event.InvalidJSON.String()},
		// Invalid UTF-8 in a field that becomes a string column is
		// rejected: readers require UTF-8 and rewriting a uuid would
		// merge users.
		{[]byte("{\"event_id\":\"e1\",\"page_name\":\"home\",\"event_timestamp\":\"1700000005000\",\"uuid\":\"u\xff\xfe\"}"), event.InvalidUTF8.String()},
		{[]byte(`{"event_id":"c1","page_name":"caf` + "\xe9" + `","event_timestamp":"1700000006000","uuid":"u3"}`), event.InvalidUTF8.String()},
		{deep, event.InvalidJSON.String()},
		{nested, ""},
		{[]byte(`{"event_id":"nouuid","event_timestamp":"1700000007000"}`), event.MissingUser.String()},
		{[]byte(`{"uuid":"u1","event_timestamp":"1700000007000"}`), event.MissingEventID.String()},
		{[]byte(`{"uuid":"u1","event_id":"neg","event_timestamp":-5}`), event.TimeOutOfRange.String()},
		{[]byte(`[1,2,3]`), event.InvalidJSON.String()},
		{[]byte("\x00\x00\x00\x00"), event.InvalidJSON.String()},
		{ev("u2", "b2", t0+3*3_600_000, ""), ""}, // moves the watermark to t0+2h
		{ev("u1", "old", jan1990, ""), "late"},
		{ev("u1", "a3", t0+3*3_600_000+1_000, ""), ""},
		{ev("u4", "d1", t0+3*3_600_000+2_000, ""), ""},
		{ev("u4", "d2", t0+3*3_600_000+3_000, ""), ""},
	}

	cl, err := kgo.NewClient(kgo.SeedBrokers(b.Addrs()...), kgo.DefaultProduceTopic(topic),
		kgo.ProducerBatchMaxBytes(4<<20))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	for _, r := range records {
		if err := cl.ProduceSync(t.Context(), &kgo.Record{Value: r.value}).FirstErr(); err != nil {
			t.Fatalf("producing %d bytes: %v", len(r.value), err)
		}
	}

	wh := t.TempDir()
	cfg := runConfig(t, b, wh)
	cfg.StopWhenIdle = 500 * time.Millisecond
	runToEnd(t, cfg, 30*time.Second)

	w := openWarehouse(t, wh)
	rejected, err := w.ReadRejected(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	late, err := w.ReadLate(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	got := map[int64]string{}
	for _, r := range rejected {
		got[r.Offset] = r.Reason
		if r.Offset >= int64(len(records)) {
			continue
		}
		if want := string(records[r.Offset].value); r.Raw != strings.ToValidUTF8(want, "\uFFFD") {
			t.Errorf("offset %d (%s): raw is %d bytes, want the record's %d (invalid UTF-8 as U+FFFD)", r.Offset, r.Reason, len(r.Raw), len(want))
		}
		if r.KafkaTimestampMs <= 0 || r.Topic != topic || r.Partition != 0 {
			t.Errorf("offset %d: kafka timestamp %d, topic %q, partition %d", r.Offset, r.KafkaTimestampMs, r.Topic, r.Partition)
		}
	}
	for _, l := range late {
		got[l.Offset] = iceberg.LateReason
		if l.EventID != "old" || l.UUID != "u1" || l.EventTimestampMs != jan1990 || l.WatermarkMs == nil || *l.WatermarkMs != t0+2*3_600_000 {
			t.Errorf("late row %+v: want event old of u1 at %d below the watermark %d", l, jan1990, t0+2*3_600_000)
		}
	}
	want := map[int64]string{}
	var valid [][]byte
	for i, r := range records {
		if r.reason != "" {
			want[int64(i)] = r.reason
		} else {
			valid = append(valid, r.value)
		}
	}
	if !maps.Equal(got, want) {
		for _, off := range slices.Sorted(maps.Keys(want)) {
			if got[off] != want[off] {
				t.Errorf("offset %d: reason %q, want %q", off, got[off], want[off])
			}
		}
		for off, r := range got {
			if _, ok := want[off]; !ok {
				t.Errorf("offset %d (valid) is in the tables as %q", off, r)
			}
		}
	}

	sessions := assertExactlyOnce(t, wh, valid, len(records))
	if sessions.Rejected+sessions.Late != int64(len(want)) {
		t.Errorf("account %s, want %d rejected or late", sessions, len(want))
	}
	_, rows := tableLines(t, wh)
	for _, r := range rows {
		if !utf8.ValidString(r.UUID) || slices.ContainsFunc(r.PagesVisited, func(p string) bool { return !utf8.ValidString(p) }) {
			t.Errorf("invalid UTF-8 reached the sessions table: %q %q", r.UUID, r.PagesVisited)
		}
	}
}
