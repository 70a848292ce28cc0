package cli

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/sr"
	"github.com/twmb/franz-go/pkg/sr/srfake"

	"github.com/sessionize/sessionize/internal/avro"
	"github.com/sessionize/sessionize/internal/check"
	"github.com/sessionize/sessionize/internal/iceberg"
	"github.com/sessionize/sessionize/internal/kafka"
)

// TestCheckKafkaAvro: check reads Avro values through a registry with
// basic auth (the password from a file, never printed), applies the event
// schema's flags to the decoded record, and counts the bad records by
// reason.
func TestCheckKafkaAvro(t *testing.T) {
	const schema = `{"type":"record","name":"C","fields":[
	  {"name":"user","type":{"type":"record","name":"U","fields":[{"name":"id","type":"string"}]}},
	  {"name":"id","type":"long"},{"name":"at","type":{"type":"long","logicalType":"timestamp-millis"}}]}`
	type u struct {
		ID string `avro:"id"`
	}
	type c struct {
		User u     `avro:"user"`
		ID   int64 `avro:"id"`
		At   int64 `avro:"at"`
	}
	reg := srfake.New(srfake.WithAuth("Basic " + base64.StdEncoding.EncodeToString([]byte("svc:pw-in-file"))))
	t.Cleanup(reg.Close)
	reg.SeedSchema("clicks-value", 1, 3, sr.Schema{Schema: schema, Type: sr.TypeAvro})
	value := func(id int, v c) []byte { return avroValue(t, schema, id, v) }
	b := testBroker(t)
	ctx := context.Background()
	if _, err := kafka.CreateTopic(ctx, b.Addrs(), kafka.Security{}, "clicks", 1); err != nil {
		t.Fatal(err)
	}
	cl, err := kgo.NewClient(kgo.SeedBrokers(b.Addrs()...), kgo.DefaultProduceTopic("clicks"))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	ts := int64(1_700_000_000_000)
	good := value(3, c{u{"alice"}, 1, ts})
	recs := []*kgo.Record{
		{Value: good},
		{Value: value(3, c{u{"alice"}, 2, ts + 1000})},
		{Value: value(3, c{u{"bob"}, 3, ts + 2000})},
		{Value: value(3, c{u{""}, 4, ts + 3000})}, // missing_user
		{Value: value(9, c{u{"bob"}, 5, ts})},     // avro_unknown_schema_id
		{Value: good[:len(good)-2]},               // avro_corrupt
		{Value: []byte(`{"uuid":"u","ts":1}`)},    // not_avro_wire_format
	}
	if err := cl.ProduceSync(ctx, recs...).FirstErr(); err != nil {
		t.Fatal(err)
	}
	pwFile := filepath.Join(t.TempDir(), "pw")
	if err := os.WriteFile(pwFile, []byte("pw-in-file\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	args := []string{"check", "--kafka-servers", b.Servers(), "--topic", "clicks", "--json",
		"--input-format", "avro", "--schema-registry", reg.URL(), "--schema-registry-username", "svc",
		"--user-field", "user.id", "--event-id-field", "id", "--time-field", "at", "--page-field", "none"}
	code, stdout, stderr := runCLI(t, append(args, "--schema-registry-password-file", pwFile)...)
	if code != ExitOK {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	var r check.Report
	if err := json.Unmarshal([]byte(stdout), &r); err != nil {
		t.Fatal(err)
	}
	want := map[string]int64{"missing_user": 1, "avro_unknown_schema_id": 1, "avro_corrupt": 1, "not_avro_wire_format": 1}
	if r.Records != 7 || r.Rejected != 4 || len(r.RejectedByReason) != len(want) {
		t.Fatalf("report %s", stdout)
	}
	for k, n := range want {
		if r.RejectedByReason[k] != n {
			t.Errorf("%s: %d, want %d", k, r.RejectedByReason[k], n)
		}
	}

	// The password from the environment; a wrong one fails the run
	// (exit 1, not a report of rejections) without printing it.
	t.Setenv("SESSIONIZE_SCHEMA_REGISTRY_PASSWORD", "pw-in-file")
	if code, _, stderr := runCLI(t, args...); code != ExitOK {
		t.Fatalf("password from the environment: exit %d: %s", code, stderr)
	}
	t.Setenv("SESSIONIZE_SCHEMA_REGISTRY_PASSWORD", "wrong-secret")
	code, stdout, stderr = runCLI(t, args...)
	if code != ExitError || !strings.Contains(stderr, "refused") || strings.Contains(stdout+stderr, "wrong-secret") {
		t.Fatalf("wrong password: exit %d\n%s%s", code, stdout, stderr)
	}
}

func TestInputFormatUsageErrors(t *testing.T) {
	in := filepath.Join(t.TempDir(), "e.jsonl")
	if err := os.WriteFile(in, []byte(`{"uuid":"u","event_id":"e","event_timestamp":1700000000000}`+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"run", "--kafka-servers", "127.0.0.1:1", "--input-format", "avro"}, "--schema-registry"},
		{[]string{"run", "--kafka-servers", "127.0.0.1:1", "--input-format", "xml"}, "json or avro"},
		{[]string{"run", "--kafka-servers", "127.0.0.1:1", "--schema-registry", "http://127.0.0.1:1"}, "--input-format avro"},
		{[]string{"check", "-i", in, "--input-format", "avro", "--schema-registry", "http://127.0.0.1:1"}, "Kafka record values"},
		{[]string{"run", "--kafka-servers", "127.0.0.1:1", "--input-format", "avro", "--schema-registry", "http://127.0.0.1:1",
			"--schema-registry-username", "svc", "--schema-registry-password", "typed-secret"}, "SESSIONIZE_SCHEMA_REGISTRY_PASSWORD"},
	} {
		code, stdout, stderr := runCLI(t, tc.args...)
		if code != ExitUsage || !strings.Contains(stderr, tc.want) || strings.Contains(stdout+stderr, "typed-secret") {
			t.Errorf("%v: exit %d, want 2 naming %q (and not the password): %s", tc.args, code, tc.want, stderr)
		}
	}
	t.Setenv("SESSIONIZE_SCHEMA_REGISTRY_PASSWORD", "env-secret")
	code, _, stderr := runCLI(t, "run", "--kafka-servers", "127.0.0.1:1", "--input-format", "avro", "--schema-registry", "http://127.0.0.1:1")
	if code != ExitUsage || !strings.Contains(stderr, "--schema-registry-username") || strings.Contains(stderr, "env-secret") {
		t.Errorf("a password without a user: exit %d: %s", code, stderr)
	}
}

// TestRunAvroEqualsBatch is the user's path end to end: Avro records with
// nested fields (and an unknown schema id and a corrupt one among them)
// through `run --input-format avro --stop-when-idle --drain` give the
// sessions `batch` gives over the same events as JSON lines, with the same
// event schema flags; table audit accounts for every record.
func TestRunAvroEqualsBatch(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the pipeline")
	}
	const schema = `{"type":"record","name":"Click","fields":[
	  {"name":"user","type":{"type":"record","name":"U","fields":[{"name":"id","type":"string"}]}},
	  {"name":"event_id","type":"string"},
	  {"name":"at","type":{"type":"long","logicalType":"timestamp-millis"}},
	  {"name":"page","type":["null",{"type":"record","name":"P","fields":[{"name":"path","type":"string"}]}]}]}`
	type u struct {
		ID string `avro:"id"`
	}
	type p struct {
		Path string `avro:"path"`
	}
	type click struct {
		User    u      `avro:"user"`
		EventID string `avro:"event_id"`
		At      int64  `avro:"at"`
		Page    *p     `avro:"page"`
	}
	reg := srfake.New()
	t.Cleanup(reg.Close)
	reg.SeedSchema("clicks-value", 1, 1, sr.Schema{Schema: schema, Type: sr.TypeAvro})
	encode := func(id int, c click) []byte { return avroValue(t, schema, id, c) }

	b := testBroker(t)
	ctx := context.Background()
	if _, err := kafka.CreateTopic(ctx, b.Addrs(), kafka.Security{}, "clicks", 2); err != nil {
		t.Fatal(err)
	}
	cl, err := kgo.NewClient(kgo.SeedBrokers(b.Addrs()...), kgo.DefaultProduceTopic("clicks"))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	day := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	var clicks []click
	for user := range 5 {
		for i, off := range []time.Duration{0, time.Minute, 3 * time.Minute, 50 * time.Minute, 52 * time.Minute} {
			clicks = append(clicks, click{User: u{fmt.Sprintf("u%d", user)}, EventID: fmt.Sprintf("e%d-%d", user, i),
				At: day.Add(time.Duration(user)*7*time.Minute + off).UnixMilli(), Page: &p{fmt.Sprintf("/p%d", i)}})
		}
	}
	// In time order, as a live topic has them: none is late.
	slices.SortStableFunc(clicks, func(a, b click) int { return int(a.At - b.At) })
	var recs []*kgo.Record
	var lines strings.Builder
	for _, c := range clicks {
		recs = append(recs, &kgo.Record{Key: []byte(c.User.ID), Value: encode(1, c)})
		fmt.Fprintf(&lines, `{"user":{"id":%q},"event_id":%q,"at":%d,"page":{"path":%q}}`+"\n", c.User.ID, c.EventID, c.At, c.Page.Path)
	}
	good := recs[0].Value
	recs = append(recs, &kgo.Record{Key: []byte("u1"), Value: encode(77, click{User: u{"u1"}, EventID: "x", At: day.UnixMilli()})},
		&kgo.Record{Key: []byte("u2"), Value: good[:len(good)-1]})
	if err := cl.ProduceSync(ctx, recs...).FirstErr(); err != nil {
		t.Fatal(err)
	}

	dir := t.TempDir()
	wh := filepath.Join(dir, "warehouse")
	fields := []string{"--user-field", "user.id", "--event-id-field", "event_id", "--time-field", "at", "--page-field", "page.path"}
	code, _, stderr := runCLI(t, append([]string{"run", "--kafka-servers", b.Servers(), "--topic", "clicks", "--warehouse", wh,
		"--input-format", "avro", "--schema-registry", reg.URL(), "--stop-when-idle", "1s", "--drain",
		"--commit-interval", "200ms", "--http-addr", ""}, fields...)...)
	if code != ExitOK {
		t.Fatalf("run: exit %d: %s", code, stderr)
	}
	in := writeFile(t, filepath.Join(dir, "events.jsonl"), lines.String())
	out := filepath.Join(dir, "sessions.jsonl")
	if code, _, stderr := runCLI(t, append([]string{"batch", "-i", in, "-o", out}, fields...)...); code != ExitOK {
		t.Fatalf("batch: exit %d: %s", code, stderr)
	}
	canon := func(rows []iceberg.SessionRow) []string {
		var s []string
		for _, r := range rows {
			j, _ := json.Marshal(r)
			s = append(s, string(j))
		}
		slices.Sort(s)
		return s
	}
	data, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	var batchRows []iceberg.SessionRow
	for _, l := range strings.Split(strings.TrimSpace(string(data)), "\n") {
		var r iceberg.SessionRow
		if err := json.Unmarshal([]byte(l), &r); err != nil {
			t.Fatal(err)
		}
		batchRows = append(batchRows, r)
	}
	got, want := canon(tableSessions(t, wh)), canon(batchRows)
	if len(want) != 10 || !slices.Equal(got, want) {
		t.Fatalf("run gave\n%s\nbatch gave\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	code, rep, text := auditJSON(t, wh)
	if code != 0 || !rep.OK || rep.Account.Records != int64(len(recs)) || rep.Account.Rejected != 2 {
		t.Fatalf("audit: exit %d, %+v\n%s", code, rep.Account, text)
	}
}

func avroValue(t *testing.T, schema string, id int, v any) []byte {
	t.Helper()
	b, err := avro.Marshal(schema, id, v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
