package avro

import (
	"context"
	"encoding/base64"
	"math/rand/v2"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	hamba "github.com/hamba/avro/v2"
	"github.com/twmb/franz-go/pkg/sr"
	"github.com/twmb/franz-go/pkg/sr/srfake"

	"github.com/sessionize/sessionize/internal/event"
)

func clickSchemaPaths(t testing.TB, format string) event.Schema {
	t.Helper()
	tf, err := event.ParseTimeFormat(format, "")
	if err != nil {
		t.Fatal(err)
	}
	s, err := event.NewSchema([]string{"user.id"}, "event_id", "occurred_at", "page.path", tf)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func newDecoder(t testing.TB, url string, s event.Schema) *Decoder {
	t.Helper()
	d, err := New(Config{Registry: RegistryConfig{URLs: []string{url}, RetryFor: time.Second}, Schema: s})
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func parse(t testing.TB, d *Decoder, rec []byte) (event.Fields, event.Reason) {
	t.Helper()
	if err := d.Prepare(context.Background(), rec); err != nil {
		t.Fatalf("prepare: %v", err)
	}
	var f event.Fields
	r := d.Parse(rec, &f)
	return f, r
}

func goodClick() click {
	return click{User: clickUser{ID: "u1", Tags: []string{"a", "b"}}, EventID: strp("e1"),
		OccurredAt: 1764547200123456, Page: &clickPage{Path: "/home"},
		Props: map[string]float64{"x": 1.5}, Kind: "CLICK", Seq: 7}
}

func TestDecoderRecords(t *testing.T) {
	reg := newFakeRegistry(t)
	reg.SeedSchema("proto-value", 1, 2, sr.Schema{Schema: `syntax = "proto3"; message M { string a = 1; }`, Type: sr.TypeProtobuf})
	good := encode(t, clickSchema, 1, goodClick())
	noPage := goodClick()
	noPage.Page = nil
	noID := goodClick()
	noID.EventID = nil
	emptyUser := goodClick()
	emptyUser.User.ID = ""
	bigArray := append(AppendWire(nil, 1), 0x02, 'u', 0xfe, 0xff, 0xff, 0xff, 0x0f) // user.id "u", tags: 2^31 items
	cases := []struct {
		name   string
		rec    []byte
		want   event.Reason
		fields event.Fields
	}{
		{"good", good, event.OK, event.Fields{UUID: []byte("u1"), EventID: []byte("e1"), TimestampMs: 1764547200123, PageName: []byte("/home")}},
		{"null page", encode(t, clickSchema, 1, noPage), event.OK, event.Fields{UUID: []byte("u1"), EventID: []byte("e1"), TimestampMs: 1764547200123}},
		{"null event id", encode(t, clickSchema, 1, noID), event.MissingEventID, event.Fields{}},
		{"empty user", encode(t, clickSchema, 1, emptyUser), event.MissingUser, event.Fields{}},
		{"json value", []byte(`{"uuid":"u1","event_id":"e1","event_timestamp":1}`), event.NotAvroWireFormat, event.Fields{}},
		{"short header", []byte{0, 0, 1}, event.NotAvroWireFormat, event.Fields{}},
		{"empty", nil, event.EmptyRecord, event.Fields{}},
		{"unknown schema id", encode(t, clickSchema, 99, goodClick()), event.AvroUnknownSchemaID, event.Fields{}},
		{"schema id -1", encode(t, clickSchema, -1, goodClick()), event.AvroUnknownSchemaID, event.Fields{}},
		{"protobuf schema", encode(t, clickSchema, 2, goodClick()), event.AvroBadSchema, event.Fields{}},
		{"truncated", good[:len(good)-3], event.AvroCorrupt, event.Fields{}},
		{"header only", good[:5], event.AvroCorrupt, event.Fields{}},
		{"bytes left over", append(append([]byte(nil), good...), 0), event.AvroCorrupt, event.Fields{}},
		{"bad union index", func() []byte {
			b := encode(t, clickSchema, 1, noID)
			// user "u1" (3 bytes), tags (1 count 2 + "a" + "b" = 5 bytes, end 1) -> event_id union index
			b[5+3+6] = 0x08
			return b
		}(), event.AvroCorrupt, event.Fields{}},
		{"huge array count", bigArray, event.AvroCorrupt, event.Fields{}},
	}
	d := newDecoder(t, reg.URL(), clickSchemaPaths(t, "auto"))
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			f, r := parse(t, d, c.rec)
			if r != c.want {
				t.Fatalf("reason %v, want %v", r, c.want)
			}
			if r == event.OK && (string(f.UUID) != string(c.fields.UUID) || string(f.EventID) != string(c.fields.EventID) ||
				f.TimestampMs != c.fields.TimestampMs || string(f.PageName) != string(c.fields.PageName)) {
				t.Fatalf("fields %q %q %d %q, want %q %q %d %q", f.UUID, f.EventID, f.TimestampMs, f.PageName,
					c.fields.UUID, c.fields.EventID, c.fields.TimestampMs, c.fields.PageName)
			}
		})
	}
}

// The event schema applies to the decoded record as to JSON: a plain long
// goes through the time format rules, an int id is taken as its text, a
// composite key keeps its parts, a field the writer schema lacks is
// missing.
func TestDecoderEventSchema(t *testing.T) {
	const plain = `{"type":"record","name":"E","fields":[
	  {"name":"account","type":"string"},{"name":"user_id","type":"long"},
	  {"name":"id","type":"int"},{"name":"ts","type":"long"},{"name":"kind","type":{"type":"enum","name":"K","symbols":["A","B"]}}]}`
	type rec struct {
		Account string `avro:"account"`
		UserID  int64  `avro:"user_id"`
		ID      int32  `avro:"id"`
		TS      int64  `avro:"ts"`
		Kind    string `avro:"kind"`
	}
	reg := srfake.New()
	t.Cleanup(reg.Close)
	reg.SeedSchema("e-value", 1, 5, sr.Schema{Schema: plain, Type: sr.TypeAvro})
	v := encode(t, plain, 5, rec{Account: "acme", UserID: 42, ID: 7, TS: 1764547200, Kind: "B"})
	schema := func(users []string, id, ts, page, format string) event.Schema {
		s, err := event.NewSchema(users, id, ts, page, event.MustTimeFormat(format, ""))
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	cases := []struct {
		name   string
		schema event.Schema
		want   event.Reason
		user   string
		id     string
		ms     int64
		page   string
	}{
		{"auto seconds", schema([]string{"user_id"}, "id", "ts", "kind", "auto"), event.OK, "42", "7", 1764547200000, "B"},
		{"strict ms", schema([]string{"user_id"}, "id", "ts", "none", "ms"), event.OK, "42", "7", 1764547200, ""},
		{"rfc3339 wants text", schema([]string{"user_id"}, "id", "ts", "none", "rfc3339"), event.BadTimeFormat, "", "", 0, ""},
		{"composite", schema([]string{"account", "user_id"}, "id", "ts", "none", "s"), event.OK, `["acme","42"]`, "7", 1764547200000, ""},
		{"absent user", schema([]string{"user.id"}, "id", "ts", "none", "s"), event.MissingUser, "", "", 0, ""},
		{"enum user is text", schema([]string{"kind"}, "id", "ts", "none", "s"), event.OK, "B", "7", 1764547200000, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			d := newDecoder(t, reg.URL(), c.schema)
			f, r := parse(t, d, v)
			if r != c.want {
				t.Fatalf("reason %v, want %v", r, c.want)
			}
			if r == event.OK && (string(f.UUID) != c.user || string(f.EventID) != c.id || f.TimestampMs != c.ms || string(f.PageName) != c.page) {
				t.Fatalf("got %q %q %d %q, want %q %q %d %q", f.UUID, f.EventID, f.TimestampMs, f.PageName, c.user, c.id, c.ms, c.page)
			}
		})
	}
}

// Logical types are read as such: timestamp-millis is milliseconds even
// where the magnitude rule would say seconds, date is days.
func TestDecoderLogicalTypes(t *testing.T) {
	const logical = `{"type":"record","name":"L","fields":[{"name":"u","type":"string"},
	  {"name":"ms","type":{"type":"long","logicalType":"timestamp-millis"}},
	  {"name":"day","type":{"type":"int","logicalType":"date"}}]}`
	type rec struct {
		U   string    `avro:"u"`
		MS  time.Time `avro:"ms"`
		Day time.Time `avro:"day"`
	}
	reg := srfake.New()
	t.Cleanup(reg.Close)
	reg.SeedSchema("l-value", 1, 3, sr.Schema{Schema: logical, Type: sr.TypeAvro})
	early := time.UnixMilli(86_400_123).UTC() // below the auto cut-off for seconds
	v := encode(t, logical, 3, rec{U: "u", MS: early, Day: time.Date(2025, 12, 4, 0, 0, 0, 0, time.UTC)})
	for _, c := range []struct {
		time string
		want int64
	}{{"ms", 86_400_123}, {"day", time.Date(2025, 12, 4, 0, 0, 0, 0, time.UTC).UnixMilli()}} {
		s, err := event.NewSchema([]string{"u"}, "none", c.time, "none", event.MustTimeFormat("auto", ""))
		if err != nil {
			t.Fatal(err)
		}
		f, r := parse(t, newDecoder(t, reg.URL(), s), v)
		if r != event.OK || f.TimestampMs != c.want {
			t.Fatalf("%s: %v %d, want %d", c.time, r, f.TimestampMs, c.want)
		}
	}
}

// Every truncation and byte flip of valid records decodes to some verdict:
// no panic, no hang, no huge allocation.
func TestDecoderCorruptNeverCrashes(t *testing.T) {
	reg := newFakeRegistry(t)
	d := newDecoder(t, reg.URL(), clickSchemaPaths(t, "auto"))
	good := encode(t, clickSchema, 1, goodClick())
	if _, r := parse(t, d, good); r != event.OK {
		t.Fatal(r)
	}
	rng := rand.New(rand.NewPCG(1, 2))
	var f event.Fields
	for i := range 20000 {
		b := append([]byte(nil), good...)
		switch i % 3 {
		case 0:
			b = b[:5+rng.IntN(len(b)-5)]
		case 1:
			b[5+rng.IntN(len(b)-5)] = byte(rng.IntN(256))
		default:
			for range 4 {
				b[5+rng.IntN(len(b)-5)] = byte(rng.IntN(256))
			}
		}
		d.Parse(b, &f)
	}
}

func TestDecoderCachesSchemas(t *testing.T) {
	reg := newFakeRegistry(t)
	var asked atomic.Int64
	reg.Intercept(func(w http.ResponseWriter, r *http.Request) bool { asked.Add(1); return false })
	d := newDecoder(t, reg.URL(), clickSchemaPaths(t, "auto"))
	good := encode(t, clickSchema, 1, goodClick())
	unknown := encode(t, clickSchema, 99, goodClick())
	for range 100 {
		if _, r := parse(t, d, good); r != event.OK {
			t.Fatal(r)
		}
		if _, r := parse(t, d, unknown); r != event.AvroUnknownSchemaID {
			t.Fatal(r)
		}
	}
	if n := asked.Load(); n != 2 {
		t.Fatalf("%d registry requests for 2 schema ids", n)
	}
}

func TestDecoderBasicAuth(t *testing.T) {
	auth := "Basic " + base64.StdEncoding.EncodeToString([]byte("svc:s3cret-pw"))
	reg := newFakeRegistry(t, srfake.WithAuth(auth))
	good := encode(t, clickSchema, 1, goodClick())
	d, err := New(Config{Registry: RegistryConfig{URLs: []string{reg.URL()}, Username: "svc", Password: "s3cret-pw"}, Schema: clickSchemaPaths(t, "auto")})
	if err != nil {
		t.Fatal(err)
	}
	if _, r := parse(t, d, good); r != event.OK {
		t.Fatalf("with the right password: %v", r)
	}
	bad, err := New(Config{Registry: RegistryConfig{URLs: []string{reg.URL()}, Username: "svc", Password: "wrong-pw"}})
	if err != nil {
		t.Fatal(err)
	}
	err = bad.Prepare(context.Background(), good)
	if err == nil || !strings.Contains(err.Error(), "refused") {
		t.Fatalf("wrong password: %v, want a refusal", err)
	}
	if strings.Contains(err.Error(), "wrong-pw") {
		t.Fatalf("the password is in the error: %v", err)
	}
	if _, err := New(Config{Registry: RegistryConfig{URLs: []string{"http://svc:pw@127.0.0.1:1"}}}); err == nil || strings.Contains(err.Error(), ":pw@") {
		t.Fatalf("credentials in the URL: %v, want a refusal that hides the password", err)
	}
}

// A registry that fails for a while is retried; one that stays down stops
// the caller with an error (never a rejection) after the bound.
func TestDecoderRegistryDown(t *testing.T) {
	reg := newFakeRegistry(t)
	var failures atomic.Int64
	failures.Store(2)
	reg.Intercept(func(w http.ResponseWriter, r *http.Request) bool {
		if failures.Add(-1) >= 0 {
			http.Error(w, `{"error_code":50001,"message":"store down"}`, http.StatusInternalServerError)
			return true
		}
		return false
	})
	good := encode(t, clickSchema, 1, goodClick())
	d := newDecoder(t, reg.URL(), clickSchemaPaths(t, "auto"))
	d.reg.retryFor = 10 * time.Second
	if _, r := parse(t, d, good); r != event.OK {
		t.Fatalf("after two 500s: %v", r)
	}

	down := newDecoder(t, "http://127.0.0.1:1", clickSchemaPaths(t, "auto")) // nothing listens on port 1
	start := time.Now()
	err := down.Prepare(context.Background(), good)
	if err == nil || !strings.Contains(err.Error(), "no answer after retrying") {
		t.Fatalf("registry down: %v", err)
	}
	if el := time.Since(start); el > 10*time.Second {
		t.Fatalf("gave up after %v, want within the 1s bound (and the last attempt's timeout)", el)
	}
	var f event.Fields
	if r := down.Parse(good, &f); r != event.AvroUnknownSchemaID {
		t.Fatalf("parse without a schema: %v", r)
	}
}

// An id the registry did not know is asked for again after the recheck
// interval, also while every record carries it: a schema registered late
// (a registry replica behind the producer's) serves the records after.
func TestDecoderRechecksUnknownID(t *testing.T) {
	reg := newFakeRegistry(t)
	d := newDecoder(t, reg.URL(), clickSchemaPaths(t, "auto"))
	d.recheck = 50 * time.Millisecond
	late := encode(t, clickSchema, 7, goodClick())
	if _, r := parse(t, d, late); r != event.AvroUnknownSchemaID {
		t.Fatalf("before the schema is registered: %v", r)
	}
	reg.SeedSchema("clicks-value", 2, 7, sr.Schema{Schema: clickSchema, Type: sr.TypeAvro})
	if _, r := parse(t, d, late); r != event.AvroUnknownSchemaID {
		t.Fatalf("within the recheck interval: %v, want still unknown (cached)", r)
	}
	time.Sleep(60 * time.Millisecond)
	if _, r := parse(t, d, late); r != event.OK {
		t.Fatalf("after the recheck interval: %v", r)
	}
}

// A schema that names a type of another subject through a reference is
// parsed with the referenced schema first.
func TestDecoderSchemaReferences(t *testing.T) {
	const page = `{"type":"record","name":"Page","namespace":"shop","fields":[{"name":"path","type":"string"}]}`
	const view = `{"type":"record","name":"View","namespace":"shop","fields":[
	  {"name":"uuid","type":"string"},{"name":"event_id","type":"string"},
	  {"name":"event_timestamp","type":"long"},{"name":"page","type":"shop.Page"}]}`
	reg := srfake.New()
	t.Cleanup(reg.Close)
	reg.SeedSchema("page-value", 1, 10, sr.Schema{Schema: page, Type: sr.TypeAvro})
	reg.SeedSchema("view-value", 1, 11, sr.Schema{Schema: view, Type: sr.TypeAvro,
		References: []sr.SchemaReference{{Name: "shop.Page", Subject: "page-value", Version: 1}}})
	cache := &hamba.SchemaCache{}
	if _, err := hamba.ParseWithCache(page, "", cache); err != nil {
		t.Fatal(err)
	}
	sch, err := hamba.ParseWithCache(view, "", cache)
	if err != nil {
		t.Fatal(err)
	}
	body, err := hamba.Marshal(sch, map[string]any{"uuid": "u", "event_id": "e", "event_timestamp": int64(1764547200000),
		"page": map[string]any{"path": "/x"}})
	if err != nil {
		t.Fatal(err)
	}
	s, err := event.NewSchema(nil, "event_id", "event_timestamp", "page.path", event.MustTimeFormat("auto", ""))
	if err != nil {
		t.Fatal(err)
	}
	f, r := parse(t, newDecoder(t, reg.URL(), s), append(AppendWire(nil, 11), body...))
	if r != event.OK || string(f.PageName) != "/x" || f.TimestampMs != 1764547200000 {
		t.Fatalf("%v %q %d", r, f.PageName, f.TimestampMs)
	}
}

// A 404 that is not the registry's "schema not found" (a wrong base URL,
// a proxy's page) fails at once instead of rejecting every record as
// unknown; so does another 4xx.
func TestDecoderWrongRegistryURL(t *testing.T) {
	reg := newFakeRegistry(t)
	reg.Intercept(func(w http.ResponseWriter, r *http.Request) bool {
		http.Error(w, "404 page not found", http.StatusNotFound)
		return true
	})
	d := newDecoder(t, reg.URL(), clickSchemaPaths(t, "auto"))
	d.reg.retryFor = time.Minute
	start := time.Now()
	err := d.Prepare(context.Background(), encode(t, clickSchema, 1, goodClick()))
	if err == nil || !strings.Contains(err.Error(), "base URL") || time.Since(start) > 5*time.Second {
		t.Fatalf("404 without the registry's error code: %v after %v", err, time.Since(start))
	}
}
