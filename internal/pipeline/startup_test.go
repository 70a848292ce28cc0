package pipeline_test

// Startup failures: what sessionize run says when Kafka is not there or the
// topic is missing. An external test package, so it can drive the CLI too
// (internal/cli imports this package).

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sessionize/sessionize/internal/cli"
	"github.com/sessionize/sessionize/internal/iceberg"
	"github.com/sessionize/sessionize/internal/kafka"
	"github.com/sessionize/sessionize/internal/pipeline"
	"github.com/sessionize/sessionize/internal/session"
)

// closedAddr returns a local address nothing listens on.
func closedAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr
}

// syncBuffer is a log sink the test reads while the pipeline writes.
type syncBuffer = pipeline.SyncBuffer

func startupConfig(servers []string, topic, warehouse string, logs *syncBuffer) pipeline.Config {
	cfg := pipeline.Config{
		Kafka:           kafka.SourceConfig{Servers: servers, Topic: topic, MaxWait: 200 * time.Millisecond, ConnectTimeout: time.Second},
		Warehouse:       iceberg.Config{Warehouse: warehouse},
		Rules:           session.DefaultRules(),
		AllowedLateness: time.Hour,
		CommitInterval:  300 * time.Millisecond,
		StopWhenIdle:    500 * time.Millisecond,
		Drain:           true,
		Logger:          slog.New(slog.DiscardHandler),
	}
	if logs != nil {
		cfg.Logger = slog.New(slog.NewTextHandler(logs, nil))
	}
	return cfg
}

func startBroker(t *testing.T) *kafka.Broker {
	t.Helper()
	b, err := kafka.StartBroker(t.Context(), kafka.BrokerConfig{Listen: "127.0.0.1:0", Partitions: 2}, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(b.Close)
	return b
}

// assertNothingCreated fails the test if a failed start left anything in
// its warehouse directory: a mistyped server or topic must not leave a
// catalog and empty tables behind (it did: the warehouse was opened, and
// its tables created, before Kafka was asked anything).
func assertNothingCreated(t *testing.T, warehouse string) {
	t.Helper()
	entries, err := os.ReadDir(warehouse)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		t.Fatal(err)
	}
	if len(entries) > 0 {
		t.Fatalf("the failed start left %s in the warehouse %s", entries[0].Name(), warehouse)
	}
}

// TestStartBrokerUnreachable: nothing listens at the address. Run fails
// after the connect timeout, no sooner and not much later, with an error
// that says so and names the address, and creates nothing.
func TestStartBrokerUnreachable(t *testing.T) {
	t.Parallel()
	addr := closedAddr(t)
	wh := filepath.Join(t.TempDir(), "warehouse")
	cfg := startupConfig([]string{addr}, "clickstream", wh, nil)
	started := time.Now()
	err := pipeline.Run(t.Context(), cfg)
	took := time.Since(started)
	if !errors.Is(err, kafka.ErrUnreachable) || !strings.Contains(fmt.Sprint(err), addr) {
		t.Fatalf("Run: %v; want an error wrapping kafka.ErrUnreachable that names %s", err, addr)
	}
	if took < 900*time.Millisecond || took > 4*time.Second {
		t.Fatalf("gave up after %s with a connect timeout of %s", took, cfg.Kafka.ConnectTimeout)
	}
	t.Logf("after %s: %v", took.Round(time.Millisecond), err)
	assertNothingCreated(t, wh)
}

// TestStartTopicMissing: the broker is up but the topic is not there. Run
// fails at once, naming the topic and the broker, and creates nothing.
func TestStartTopicMissing(t *testing.T) {
	t.Parallel()
	b := startBroker(t)
	wh := filepath.Join(t.TempDir(), "warehouse")
	cfg := startupConfig(b.Addrs(), "no-such-topic", wh, nil)
	started := time.Now()
	err := pipeline.Run(t.Context(), cfg)
	if !errors.Is(err, kafka.ErrTopicNotFound) || !strings.Contains(fmt.Sprint(err), `"no-such-topic"`) ||
		!strings.Contains(fmt.Sprint(err), b.Servers()) {
		t.Fatalf("Run: %v; want an error wrapping kafka.ErrTopicNotFound naming the topic and %s", err, b.Servers())
	}
	if took := time.Since(started); took > 3*time.Second {
		t.Fatalf("took %s to find the topic missing", took)
	}
	if _, err := kafka.TopicPartitions(t.Context(), b.Addrs(), kafka.Security{}, "no-such-topic"); !errors.Is(err, kafka.ErrTopicNotFound) {
		t.Fatalf("the failed run created the topic (or lookup failed): %v", err)
	}
	assertNothingCreated(t, wh)
}

// TestStartWaitsForTopic: with WaitForTopic, Run waits for a missing topic
// and says so in the log; once the topic is created and filled it reads it
// like any other.
func TestStartWaitsForTopic(t *testing.T) {
	t.Parallel()
	b := startBroker(t)
	const topic = "late-topic"
	wh := t.TempDir()
	logs := &syncBuffer{}
	cfg := startupConfig(b.Addrs(), topic, wh, logs)
	cfg.Kafka.WaitForTopic = true
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- pipeline.Run(ctx, cfg) }()

	deadline := time.Now().Add(10 * time.Second)
	for !strings.Contains(logs.String(), "topic does not exist yet") {
		select {
		case err := <-done:
			t.Fatalf("Run returned %v while the topic is missing; log:\n%s", err, logs)
		case <-time.After(50 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatalf("no log line about waiting for the topic; log:\n%s", logs)
		}
	}
	time.Sleep(700 * time.Millisecond) // still waiting, not failing
	select {
	case err := <-done:
		t.Fatalf("Run returned %v while the topic is missing", err)
	default:
	}

	pr, err := kafka.NewProducer(t.Context(), kafka.ProducerConfig{Servers: b.Addrs(), Topic: topic, CreateTopic: true, Partitions: 2}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer pr.Close()
	const t0 = 1_700_000_000_000
	events := 0
	for u := range 5 {
		for i := range 4 {
			line := fmt.Appendf(nil, `{"event_id":"e%d","page_name":"home","event_timestamp":"%d","uuid":"u%d"}`, i, t0+int64(i)*60_000, u)
			if err := pr.Send(t.Context(), fmt.Appendf(nil, "u%d", u), line); err != nil {
				t.Fatal(err)
			}
			events++
		}
	}
	if err := pr.Flush(t.Context()); err != nil {
		t.Fatal(err)
	}

	select {
	case err := <-done:
		if err != nil || ctx.Err() != nil {
			t.Fatalf("Run: %v (ctx: %v); log:\n%s", err, ctx.Err(), logs)
		}
	case <-ctx.Done():
		t.Fatalf("Run did not finish once the topic existed; log:\n%s", logs)
	}
	wh2, err := iceberg.Open(t.Context(), iceberg.Config{Warehouse: wh}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer wh2.Close()
	rows, err := wh2.ReadSessions(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	var inSessions int64
	for _, r := range rows {
		inSessions += r.EventCount
	}
	if len(rows) != 5 || inSessions != int64(events) {
		t.Fatalf("%d sessions with %d events, want 5 with %d", len(rows), inSessions, events)
	}
}

// TestCLIRunBrokerUnreachable: sessionize run against a closed port exits
// 1 after the default connect timeout (10s) with a message naming the
// address, and no stack trace. (--http-addr= turns the metrics listener
// off: its fixed default port would collide with other runs in tests.)
func TestCLIRunBrokerUnreachable(t *testing.T) {
	if testing.Short() {
		t.Skip("waits out the 10s default connect timeout")
	}
	t.Parallel()
	addr := closedAddr(t)
	var out, errb bytes.Buffer
	started := time.Now()
	code := cli.Main(t.Context(), []string{"run", "--kafka-servers", addr, "--warehouse", t.TempDir(), "--http-addr="}, strings.NewReader(""), &out, &errb)
	took := time.Since(started)
	stderr := errb.String()
	if code != cli.ExitError {
		t.Fatalf("exit %d, want %d; stderr:\n%s", code, cli.ExitError, stderr)
	}
	last := lastLine(stderr)
	if !strings.HasPrefix(last, "sessionize: ") || !strings.Contains(last, addr) || !strings.Contains(last, kafka.ErrUnreachable.Error()) {
		t.Fatalf("last line of stderr %q should name %s and say %q; stderr:\n%s", last, addr, kafka.ErrUnreachable, stderr)
	}
	if strings.Contains(stderr, "panic") || strings.Contains(stderr, "goroutine ") {
		t.Fatalf("stderr has a panic or trace:\n%s", stderr)
	}
	if took < kafka.DefaultConnectTimeout-time.Second || took > kafka.DefaultConnectTimeout+5*time.Second {
		t.Fatalf("exited after %s; the connect timeout is %s", took, kafka.DefaultConnectTimeout)
	}
	t.Logf("exit %d after %s: %s", code, took.Round(time.Millisecond), last)
}

// TestCLIRunTopicMissing: sessionize run for a topic the broker does not
// have exits 1 at once, naming the topic.
func TestCLIRunTopicMissing(t *testing.T) {
	t.Parallel()
	b := startBroker(t)
	var out, errb bytes.Buffer
	code := cli.Main(t.Context(), []string{"run", "--kafka-servers", b.Servers(), "--topic", "no-such-topic", "--warehouse", t.TempDir(), "--http-addr="},
		strings.NewReader(""), &out, &errb)
	last := lastLine(errb.String())
	if code != cli.ExitError || !strings.Contains(last, `"no-such-topic"`) || !strings.Contains(last, kafka.ErrTopicNotFound.Error()) {
		t.Fatalf("exit %d, last line %q; want exit %d naming the topic; stderr:\n%s", code, last, cli.ExitError, errb.String())
	}
}

func lastLine(s string) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	return lines[len(lines)-1]
}

// TestCLIRunRefusesAnotherGroup: sessionize run with another --group than
// the one whose output the tables hold exits 1 before consuming, saying
// which group to use.
func TestCLIRunRefusesAnotherGroup(t *testing.T) {
	t.Parallel()
	b := startBroker(t)
	if _, err := kafka.CreateTopic(t.Context(), b.Addrs(), kafka.Security{}, "clickstream", 2); err != nil {
		t.Fatal(err)
	}
	pr, err := kafka.NewProducer(t.Context(), kafka.ProducerConfig{Servers: b.Addrs(), Topic: "clickstream"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	start := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC).UnixMilli()
	for i := range 50 {
		line := fmt.Sprintf(`{"event_id": "e%d", "uuid": "u%d", "page_name": "home", "event_timestamp": "%d"}`, i, i%7, start+int64(i)*1000)
		if err := pr.Send(t.Context(), []byte(fmt.Sprint("u", i%7)), []byte(line)); err != nil {
			t.Fatal(err)
		}
	}
	if err := pr.Flush(t.Context()); err != nil {
		t.Fatal(err)
	}
	pr.Close()
	wh := t.TempDir()
	run := func(group string) (int, string) {
		var out, errb bytes.Buffer
		code := cli.Main(t.Context(), []string{"run", "--kafka-servers", b.Servers(), "--warehouse", wh, "--group", group,
			"--stop-when-idle", "300ms", "--commit-interval", "100ms", "--http-addr="}, strings.NewReader(""), &out, &errb)
		return code, errb.String()
	}
	if code, stderr := run("A"); code != cli.ExitOK {
		t.Fatalf("group A: exit %d; stderr:\n%s", code, stderr)
	}
	code, stderr := run("B")
	want := fmt.Sprintf(`sessionize: warehouse %s (namespace sessionize) holds the output of consumer group "A" on topic "clickstream"; `+
		`this run uses group "B". Run with --group A to continue it, or use another --warehouse or --namespace`, wh)
	if code != cli.ExitError || lastLine(stderr) != want {
		t.Fatalf("group B: exit %d, last line\n %s\nwant exit %d and\n %s\nstderr:\n%s", code, lastLine(stderr), cli.ExitError, want, stderr)
	}
	if strings.Contains(stderr, "joining consumer group") {
		t.Fatalf("group B joined the group before it was refused:\n%s", stderr)
	}
}
