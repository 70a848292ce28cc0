package pipeline

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/sr"
	"github.com/twmb/franz-go/pkg/sr/srfake"

	"github.com/sessionize/sessionize/internal/avro"
	"github.com/sessionize/sessionize/internal/decode"
	"github.com/sessionize/sessionize/internal/event"
	"github.com/sessionize/sessionize/internal/session"
)

// avroClickSchema keeps the user and the page in nested records and the
// time as a timestamp-millis logical type: the event schema's dotted paths
// and logical types are what the test is about.
const avroClickSchema = `{"type":"record","name":"Click","namespace":"test","fields":[
 {"name":"user","type":{"type":"record","name":"User","fields":[{"name":"id","type":"string"}]}},
 {"name":"event_id","type":"string"},
 {"name":"ts","type":{"type":"long","logicalType":"timestamp-millis"}},
 {"name":"page","type":["null",{"type":"record","name":"Page","fields":[{"name":"name","type":"string"}]}]},
 {"name":"tags","type":{"type":"array","items":"string"}}
]}`

// testClick is one event: encoded to Avro by the test, and written as a
// JSON line of the same shape for batch.
type testClick struct {
	User    string
	EventID string
	TsMs    int64
	Page    string
}

func (c testClick) json() []byte {
	return fmt.Appendf(nil, `{"user":{"id":%q},"event_id":%q,"ts":%d,"page":{"name":%q},"tags":["a",%q]}`, c.User, c.EventID, c.TsMs, c.Page, c.Page)
}

// avroClickSchemaPaths is the event schema of avroClickSchema.
func avroClickSchemaPaths(t *testing.T) event.Schema {
	t.Helper()
	s, err := event.NewSchema([]string{"user.id"}, "event_id", "ts", "page.name", event.MustTimeFormat("ms", ""))
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// testClicks are n events of users over a few hours, with gaps past the
// inactivity timeout and re-sent duplicates.
func testClicks(n, users int, seed uint64) []testClick {
	rng := rand.New(rand.NewPCG(seed, 7))
	now := int64(1_700_000_000_000)
	var out []testClick
	for i := range n {
		if i > 0 && rng.IntN(20) == 0 {
			out = append(out, out[len(out)-1-rng.IntN(min(len(out), 30))]) // a re-sent copy
			continue
		}
		now += int64(rng.IntN(20_000))
		if rng.IntN(60) == 0 {
			now += 35 * 60_000 // everyone's session ends
		}
		out = append(out, testClick{User: fmt.Sprintf("user-%02d", rng.IntN(users)), EventID: fmt.Sprintf("e%05d", i),
			TsMs: now, Page: fmt.Sprintf("p%d", rng.IntN(5))})
	}
	return out
}

// avroClickValue encodes c in the wire format with hamba's reflection
// encoder, a code path apart from the decoding plan.
func avroClickValue(t *testing.T, id int, c testClick) []byte {
	t.Helper()
	type user struct {
		ID string `avro:"id"`
	}
	type page struct {
		Name string `avro:"name"`
	}
	type click struct {
		User    user     `avro:"user"`
		EventID string   `avro:"event_id"`
		Ts      int64    `avro:"ts"`
		Page    *page    `avro:"page"`
		Tags    []string `avro:"tags"`
	}
	v, err := avro.Marshal(avroClickSchema, id, click{User: user{c.User}, EventID: c.EventID, Ts: c.TsMs, Page: &page{c.Page}, Tags: []string{"a", c.Page}})
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func avroRunConfig(t *testing.T, b brokerAddrs, wh, registry string) Config {
	cfg := runConfig(t, b, wh)
	cfg.InputFormat = decode.Avro
	cfg.SchemaRegistry = avro.RegistryConfig{URLs: []string{registry}, RetryFor: time.Second}
	cfg.Schema = avroClickSchemaPaths(t)
	cfg.StopWhenIdle = 500 * time.Millisecond
	return cfg
}

// TestAvroTopicEqualsBatch: Avro records from a schema registry, with an
// unknown schema id, corrupt and non-Avro values among them, give the
// tables batch gives over the same events as JSON, and every bad record is
// in rejected_events with its reason.
func TestAvroTopicEqualsBatch(t *testing.T) {
	reg := srfake.New()
	t.Cleanup(reg.Close)
	reg.SeedSchema("clickstream-value", 1, 1, sr.Schema{Schema: avroClickSchema, Type: sr.TypeAvro})
	b := startBroker(t, 1)

	clicks := testClicks(600, 20, 1)
	var values, keys, lines [][]byte
	want := map[int64]string{}
	bad := func(v []byte, reason event.Reason) {
		want[int64(len(values))] = reason.String()
		values, keys = append(values, v), append(keys, []byte("bad"))
	}
	for i, c := range clicks {
		v := avroClickValue(t, 1, c)
		values, keys, lines = append(values, v), append(keys, []byte(c.User)), append(lines, c.json())
		switch i {
		case 100:
			bad(avroClickValue(t, 42, c), event.AvroUnknownSchemaID)
		case 200:
			bad(v[:len(v)-4], event.AvroCorrupt)
		case 300:
			bad(c.json(), event.NotAvroWireFormat)
		case 400:
			bad(avroClickValue(t, 1, testClick{EventID: "nouser", TsMs: c.TsMs}), event.MissingUser)
		}
	}
	produceLines(t, b, values, keys)

	wh := t.TempDir()
	runToEnd(t, avroRunConfig(t, b, wh, reg.URL()), 60*time.Second)
	assertAvroRun(t, wh, lines, want, len(values))
}

// assertAvroRun checks a finished Avro run: its sessions are batch's over
// lines (the valid events as JSON), rejected_events holds exactly the
// offsets of rejected with their reasons, and the account holds for all
// records.
func assertAvroRun(t *testing.T, wh string, lines [][]byte, rejected map[int64]string, records int) {
	t.Helper()
	got, _ := tableLines(t, wh)
	want := batchLinesSchema(t, lines, session.DefaultRules(), avroClickSchemaPaths(t))
	if len(want) < 20 {
		t.Fatalf("batch made only %d sessions: the test events are wrong", len(want))
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("stream gave %d sessions, batch %d; first difference: %s", len(got), len(want), firstDiff(got, want))
	}
	w := openWarehouse(t, wh)
	rows, err := w.ReadRejected(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	gotReasons := map[int64]string{}
	for _, r := range rows {
		gotReasons[r.Offset] = r.Reason
	}
	if fmt.Sprint(gotReasons) != fmt.Sprint(rejected) {
		t.Fatalf("rejected by offset %v, want %v", gotReasons, rejected)
	}
	a, err := Audit(t.Context(), w)
	if err != nil {
		t.Fatal(err)
	}
	if a.Records != int64(records) || !a.Holds() || a.Rejected != int64(len(rejected)) || a.Open != 0 {
		t.Fatalf("produced %d records, %d bad; %s", records, len(rejected), a)
	}
}

// TestAvroRegistryDownStopsRun: a registry that cannot serve a record's
// schema is no reason to reject the record: the run fails with a clear
// error after the retry bound, what came before is committed, and a run
// after the registry is back resumes at that record.
func TestAvroRegistryDownStopsRun(t *testing.T) {
	reg := srfake.New()
	t.Cleanup(reg.Close)
	reg.SeedSchema("clickstream-value", 1, 1, sr.Schema{Schema: avroClickSchema, Type: sr.TypeAvro})
	reg.SeedSchema("clickstream-value", 2, 2, sr.Schema{Schema: avroClickSchema, Type: sr.TypeAvro})
	var down atomic.Bool
	down.Store(true)
	reg.Intercept(func(w http.ResponseWriter, r *http.Request) bool {
		if down.Load() && strings.HasSuffix(r.URL.Path, "/ids/2") {
			http.Error(w, "registry overloaded", http.StatusServiceUnavailable)
			return true
		}
		return false
	})
	b := startBroker(t, 1)
	clicks := testClicks(30, 3, 2)
	var values, keys [][]byte
	for i, c := range clicks {
		id := 1
		if i >= 20 {
			id = 2 // the producer moved to a new schema version
		}
		values, keys = append(values, avroClickValue(t, id, c)), append(keys, []byte("k"))
	}
	produceLines(t, b, values, keys)

	// SIGTERM while the fetch is retried is a stop like any other: what
	// came before is committed, and Run returns nil.
	wh := t.TempDir()
	cfg := avroRunConfig(t, b, wh, reg.URL())
	cfg.SchemaRegistry.RetryFor = time.Minute
	ctx, cancel := context.WithCancel(t.Context())
	time.AfterFunc(1500*time.Millisecond, cancel)
	if err := Run(ctx, cfg); err != nil {
		t.Fatalf("Run stopped while retrying the registry: %v", err)
	}
	if a, err := Audit(t.Context(), openWarehouse(t, wh)); err != nil || a.Records != 20 || a.Rejected != 0 {
		t.Fatalf("after a stop while retrying: %s, %v; want the 20 records before it committed and none rejected", a, err)
	}

	wh = t.TempDir()
	cfg = avroRunConfig(t, b, wh, reg.URL())
	err := Run(t.Context(), cfg)
	if err == nil || !strings.Contains(err.Error(), "schema id 2") || !strings.Contains(err.Error(), "no answer after retrying") {
		t.Fatalf("Run with the registry down: %v", err)
	}
	a, err := Audit(t.Context(), openWarehouse(t, wh))
	if err != nil {
		t.Fatal(err)
	}
	if a.Records != 20 || a.Rejected != 0 {
		t.Fatalf("after the failed run: %s, want the 20 records before it committed and none rejected", a)
	}

	down.Store(false)
	runToEnd(t, cfg, 30*time.Second)
	if a, err = Audit(t.Context(), openWarehouse(t, wh)); err != nil {
		t.Fatal(err)
	}
	if a.Records != int64(len(values)) || a.Rejected != 0 || !a.Holds() {
		t.Fatalf("after the registry came back: %s, want all %d records, none rejected", a, len(values))
	}
}
