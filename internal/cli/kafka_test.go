package cli

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/klauspost/compress/gzip"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/sessionize/sessionize/internal/event"
	"github.com/sessionize/sessionize/internal/gen"
	"github.com/sessionize/sessionize/internal/kafka"
)

// syncBuffer is a bytes.Buffer safe to read while the CLI writes to it.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func TestBrokerCommandRunsUntilCancelled(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	dir := t.TempDir()
	bc := startBrokerCmd(t, "--listen", addr, "--data-dir", dir, "--partitions", "3")
	if bc.addr != addr {
		t.Fatalf("broker printed %q, want %s", bc.addr, addr)
	}
	ctx := context.Background()
	// It is a Kafka broker: a topic made through it gets its default partitions.
	pctx, pcancel := context.WithTimeout(ctx, 10*time.Second)
	defer pcancel()
	if _, err := kafka.CreateTopic(pctx, []string{addr}, kafka.Security{}, "t", 0); err != nil {
		t.Fatal(err)
	}
	if n, err := kafka.TopicPartitions(pctx, []string{addr}, kafka.Security{}, "t"); n != 3 || err != nil {
		t.Fatalf("topic has %d partitions (%v), want --partitions 3", n, err)
	}

	if code := bc.stop(t); code != ExitOK {
		t.Fatalf("exit %d after cancel: %s", code, bc.stderr.String())
	}
	for _, want := range []string{"listening", addr, "kafka broker stopped"} {
		if !strings.Contains(bc.stderr.String(), want) {
			t.Errorf("stderr does not mention %q: %s", want, bc.stderr.String())
		}
	}
	if _, err := net.DialTimeout("tcp", addr, time.Second); err == nil {
		t.Error("still listening after stop")
	}
	// The data directory kept the topic.
	b, err := kafka.StartBroker(context.Background(), kafka.BrokerConfig{Listen: "127.0.0.1:0", DataDir: dir}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	if n, err := kafka.TopicPartitions(context.Background(), b.Addrs(), kafka.Security{}, "t"); n != 3 || err != nil {
		t.Errorf("after restart: %d partitions, %v", n, err)
	}
}

func testBroker(t *testing.T) *kafka.Broker {
	t.Helper()
	b, err := kafka.StartBroker(context.Background(), kafka.BrokerConfig{Listen: "127.0.0.1:0"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(b.Close)
	return b
}

// readTopic reads n records of topic from the start.
func readTopic(t *testing.T, servers, topic string, n int) []*kgo.Record {
	t.Helper()
	cl, err := kgo.NewClient(kgo.SeedBrokers(kafka.SplitServers(servers)...), kgo.ConsumeTopics(topic),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	var out []*kgo.Record
	for len(out) < n {
		fs := cl.PollFetches(ctx)
		if ctx.Err() != nil {
			t.Fatalf("read %d of %d records", len(out), n)
		}
		out = append(out, fs.Records()...)
	}
	// Nothing more arrives.
	extra, ecancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer ecancel()
	if more := cl.PollFetches(extra).Records(); len(more) > 0 {
		t.Fatalf("%d records more than %d", len(more), n)
	}
	return out
}

func TestProduceInputSendsEveryLineToKafka(t *testing.T) {
	b := testBroker(t)
	lines := []string{
		`{"event_id": "a", "page_name": "home", "event_timestamp": "1700000000000", "uuid": "u1"}`,
		`{"event_id": "b", "page_name": "home", "event_timestamp": 1700000000001, "uuid": "u2"}`,
		`{"event_id": "c", "page_name": "x", "event_timestamp": "yesterday", "uuid": "u3"}`, // bad timestamp: still keyed
		`{"page_name": "x", "event_timestamp": "1700000000002", "uuid": "u4"}`,              // no event_id: still keyed
		`{"event_id": "d", "page_name": "x", "event_timestamp": "1700000000003"}`,           // no uuid
		`{"event_id": "e", "uuid": "u5", "page_name": "tru`,                                 // truncated
		`{'event_id': 'f', 'uuid': 'u6'}`,                                                   // not JSON
		``,
		`{"event_id": "g", "page_name": "home", "event_timestamp": "1700000000004", "uuid": "u1"}`,
		`{"event_id": "h", "page_name": "home", "event_timestamp": "1700000000005", "uuid": ""}`,
	}
	wantKey := []string{"u1", "u2", "u3", "u4", "", "", "", "", "u1", ""}
	dir := t.TempDir()
	plain := filepath.Join(dir, "in.jsonl")
	content := strings.Join(lines[:3], "\r\n") + "\r\n" + strings.Join(lines[3:], "\n") // CRLF, and no final newline
	os.WriteFile(plain, []byte(content), 0o644)
	gz := filepath.Join(dir, "in.data") // gzip found by content, not name
	var zb bytes.Buffer
	zw := gzip.NewWriter(&zb)
	zw.Write([]byte(content + "\n"))
	zw.Close()
	os.WriteFile(gz, zb.Bytes(), 0o644)

	for _, tc := range []struct{ name, file, topic string }{{"plain", plain, "replay"}, {"gzip", gz, "replay-gz"}} {
		t.Run(tc.name, func(t *testing.T) {
			code, _, stderr := runCLI(t, "produce", "--kafka-servers", b.Servers(), "--input", tc.file, "--topic", tc.topic)
			if code != ExitOK {
				t.Fatalf("exit %d: %s", code, stderr)
			}
			if !strings.Contains(stderr, fmt.Sprintf("sent %d records", len(lines))) || !strings.Contains(stderr, "5 without a uuid") {
				t.Errorf("summary: %s", stderr)
			}
			recs := readTopic(t, b.Servers(), tc.topic, len(lines))
			got := map[string]string{} // value -> key
			for _, r := range recs {
				if _, dup := got[string(r.Value)]; dup && string(r.Value) != "" {
					t.Errorf("line sent twice: %s", r.Value)
				}
				got[string(r.Value)] = string(r.Key)
				if (r.Key == nil) != (wantKeyOf(lines, wantKey, string(r.Value)) == "") {
					t.Errorf("record %q: key %q", r.Value, r.Key)
				}
			}
			for i, l := range lines {
				k, ok := got[l]
				if !ok {
					t.Errorf("line %d not sent: %q", i, l)
				} else if k != wantKey[i] {
					t.Errorf("line %d: key %q, want %q", i, k, wantKey[i])
				}
			}
			// Lines of one user keep their file order within the partition.
			var u1 []string
			for _, r := range recs {
				if string(r.Key) == "u1" {
					u1 = append(u1, string(r.Value))
				}
			}
			if len(u1) != 2 || u1[0] != lines[0] || u1[1] != lines[8] {
				t.Errorf("u1 records out of order: %q", u1)
			}
		})
	}
}

func wantKeyOf(lines, keys []string, value string) string {
	for i, l := range lines {
		if l == value {
			return keys[i]
		}
	}
	return "?"
}

func TestProduceGeneratorToKafkaKeysByUUID(t *testing.T) {
	b := testBroker(t)
	t.Setenv("SESSIONIZE_KAFKA_SERVERS", b.Servers()) // the env var works too
	const n = 3000
	code, stdout, stderr := runCLI(t, "produce", "--events", fmt.Sprint(n), "--seed", "5", "--num-users", "500", "--malformed-rate", "0.05", "--topic", "gen")
	if code != ExitOK {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	if stdout != "" {
		t.Errorf("stdout in Kafka mode: %q", stdout)
	}
	if !strings.Contains(stderr, fmt.Sprintf("sent %d records", n)) || !strings.Contains(stderr, `topic "gen"`) {
		t.Errorf("summary: %s", stderr)
	}
	cfg := gen.DefaultConfig()
	cfg.Events, cfg.Seed, cfg.NumUsers, cfg.MalformedRate = n, 5, 500, 0.05
	g, err := gen.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{}
	ps := event.NewParser(event.Schema{}, 0)
	var f event.Fields
	for {
		rec, ok := g.Next()
		if !ok {
			break
		}
		want[string(rec.Line)] = string(rec.UUID)
		// Replaying the generator's file (--input) keys each line alike.
		if k := uuidKey(ps, &f, rec.Line); string(k) != string(rec.UUID) || (k == nil) != (rec.UUID == nil) {
			t.Fatalf("line %q: --input key %q, generator key %q", rec.Line, k, rec.UUID)
		}
	}
	recs := readTopic(t, b.Servers(), "gen", n)
	nokey := 0
	for _, r := range recs {
		k, ok := want[string(r.Value)]
		if !ok {
			t.Fatalf("unexpected record %q", r.Value)
		}
		if string(r.Key) != k || (k == "") != (r.Key == nil) {
			t.Fatalf("record %q has key %q, want %q", r.Value, r.Key, k)
		}
		if r.Key == nil {
			nokey++
		}
	}
	if nokey == 0 {
		t.Error("no malformed record without a key: the test does not test that")
	}
}

func TestProduceKafkaRealtimePaces(t *testing.T) {
	b := testBroker(t)
	began := time.Now()
	code, _, stderr := runCLI(t, "produce", "--kafka-servers", b.Servers(), "--events", "100", "--rate", "200", "--num-users", "200000", "--realtime", "-q")
	if code != ExitOK {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	if d := time.Since(began); d < 400*time.Millisecond || d > 5*time.Second {
		t.Errorf("100 records at 200/s took %v, want about 0.5s", d)
	}
	readTopic(t, b.Servers(), kafka.DefaultTopic, 100)
}

func TestProduceKafkaUsageErrors(t *testing.T) {
	dir := t.TempDir()
	in := filepath.Join(dir, "in.jsonl")
	os.WriteFile(in, []byte(oneEvent), 0o644)
	cases := []struct {
		args []string
		want string
	}{
		{[]string{"produce", "--input", in}, "--kafka-servers"},
		{[]string{"produce", "--realtime", "-o", filepath.Join(dir, "x")}, "--kafka-servers"},
		{[]string{"produce", "--kafka-servers", "127.0.0.1:1", "-o", filepath.Join(dir, "x")}, "not both"},
		{[]string{"produce", "--kafka-servers", "127.0.0.1:1", "--input", in, "--events", "5"}, "--events"},
		{[]string{"produce", "--kafka-servers", "127.0.0.1:1", "--input", in, "--realtime"}, "--rate"},
		{[]string{"produce", "--kafka-servers", "127.0.0.1:1", "--partitions", "-2"}, "--partitions"},
		{[]string{"broker", "--partitions", "0"}, "--partitions"},
	}
	for _, tc := range cases {
		code, _, stderr := runCLI(t, tc.args...)
		if code != ExitUsage || !strings.Contains(stderr, tc.want) {
			t.Errorf("%v: exit %d, stderr %q; want usage error naming %s", tc.args, code, stderr, tc.want)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "x")); err == nil {
		t.Error("output written")
	}
	// A missing input file is named.
	code, _, stderr := runCLI(t, "produce", "--kafka-servers", "127.0.0.1:1", "--input", filepath.Join(dir, "nope.jsonl"))
	if code != ExitError || !strings.Contains(stderr, "nope.jsonl") || !strings.Contains(stderr, "no such file") {
		t.Errorf("missing input: exit %d, %q", code, stderr)
	}
}
