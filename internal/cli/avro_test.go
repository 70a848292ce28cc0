package cli

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	hamba "github.com/hamba/avro/v2"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/sr"
	"github.com/twmb/franz-go/pkg/sr/srfake"

	"github.com/sessionize/sessionize/internal/avro"
	"github.com/sessionize/sessionize/internal/check"
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
	sch, err := hamba.ParseWithCache(schema, "", &hamba.SchemaCache{})
	if err != nil {
		t.Fatal(err)
	}
	value := func(id int, v c) []byte {
		body, err := hamba.Marshal(sch, v)
		if err != nil {
			t.Fatal(err)
		}
		return append(avro.AppendWire(nil, id), body...)
	}
	b := testBroker(t)
	ctx := context.Background()
	if _, err := kafka.CreateTopic(ctx, b.Addrs(), "clicks", 1); err != nil {
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
			"--schema-registry-password", "x"}, "--schema-registry-username"},
	} {
		code, _, stderr := runCLI(t, tc.args...)
		if code != ExitUsage || !strings.Contains(stderr, tc.want) {
			t.Errorf("%v: exit %d, want 2 naming %q: %s", tc.args, code, tc.want, stderr)
		}
	}
}
