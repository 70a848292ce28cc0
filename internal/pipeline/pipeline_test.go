package pipeline

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sessionize/sessionize/internal/batch"
	"github.com/sessionize/sessionize/internal/decode"
	"github.com/sessionize/sessionize/internal/event"
	"github.com/sessionize/sessionize/internal/gen"
	"github.com/sessionize/sessionize/internal/iceberg"
	"github.com/sessionize/sessionize/internal/kafka"
	"github.com/sessionize/sessionize/internal/session"
	"github.com/sessionize/sessionize/internal/testservers"
)

// SyncBuffer is a log sink a test reads while the pipeline writes
// (exported for the external test package too).
type SyncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *SyncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *SyncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func testLogger(t *testing.T) *slog.Logger {
	if testing.Verbose() {
		return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelInfo}))
	}
	return slog.New(slog.DiscardHandler)
}

// startBroker starts an in-memory kfake broker with topic "clickstream".
func startBroker(t *testing.T, partitions int32) *kafka.Broker {
	t.Helper()
	// Short session timeouts let tests see a dead member go within a second.
	b, err := kafka.StartBroker(t.Context(), kafka.BrokerConfig{Listen: "127.0.0.1:0", Partitions: int(partitions),
		MinSessionTimeout: testMinSessionTimeout}, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(b.Close)
	if _, err := kafka.CreateTopic(t.Context(), b.Addrs(), kafka.Security{}, "clickstream", partitions); err != nil {
		t.Fatal(err)
	}
	return b
}

// produceLines sends lines keyed by uuid, the way sessionize produce does.
func produceLines(t *testing.T, b *kafka.Broker, lines [][]byte, keys [][]byte) {
	t.Helper()
	if err := produce(t.Context(), b, lines, keys); err != nil {
		t.Fatal(err)
	}
}

// produce is produceLines for any goroutine: it returns the error.
func produce(ctx context.Context, b *kafka.Broker, lines, keys [][]byte) error {
	pr, err := kafka.NewProducer(ctx, kafka.ProducerConfig{Servers: b.Addrs(), Topic: "clickstream"}, nil)
	if err != nil {
		return err
	}
	defer pr.Close()
	for i := range lines {
		if err := pr.Send(ctx, keys[i], lines[i]); err != nil {
			return err
		}
	}
	return pr.Flush(ctx)
}

// generated returns n generated records (lines and uuid keys).
func generated(t *testing.T, n int64, users int, seed uint64) (lines, keys [][]byte) {
	t.Helper()
	cfg := gen.DefaultConfig()
	cfg.Events, cfg.NumUsers, cfg.Seed = n, users, seed
	g, err := gen.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	for {
		r, ok := g.Next()
		if !ok {
			return lines, keys
		}
		lines = append(lines, bytes.Clone(r.Line))
		keys = append(keys, bytes.Clone(r.UUID))
	}
}

// brokerAddrs is a broker clients can connect to: the in-process
// *kafka.Broker or a `sessionize broker` child process (procBroker).
type brokerAddrs interface{ Addrs() []string }

func runConfig(t *testing.T, b brokerAddrs, warehouse string) Config {
	return Config{
		Kafka:            kafka.SourceConfig{Servers: b.Addrs(), Topic: "clickstream", MaxWait: 200 * time.Millisecond, MaxPollRecords: 1000},
		Warehouse:        iceberg.Config{Warehouse: warehouse},
		Rules:            session.DefaultRules(),
		AllowedLateness:  time.Hour,
		CommitInterval:   300 * time.Millisecond,
		CommitMaxRecords: 5000,
		StopWhenIdle:     time.Second,
		Drain:            true,
		Logger:           testLogger(t),
	}
}

// unpolledPipeline is a Pipeline on cfg (validated here) and wh whose
// source is never polled: its assignment callbacks never run, so a test
// calls OnAssigned itself and feeds records with process, driving the
// commit path step by step as writer.
func unpolledPipeline(t *testing.T, cfg Config, wh *iceberg.Warehouse, writer string) *Pipeline {
	t.Helper()
	if err := cfg.validate(); err != nil {
		t.Fatal(err)
	}
	decoders := func() (decode.Decoder, error) { return decode.New(decode.Config{Schema: cfg.Schema}) }
	if _, err := decoders(); err != nil {
		t.Fatal(err)
	}
	p := &Pipeline{cfg: cfg, wh: wh, decoders: decoders, writer: writer}
	p.reset()
	// The source joins a Kafka group of its own (named after the writer):
	// members that are never polled would hold up each other's rebalances.
	// The tables still record cfg.Kafka.Group, the group they belong to.
	kcfg := cfg.Kafka
	kcfg.Group = writer
	src, err := kafka.NewSource(t.Context(), kcfg, p, nil)
	if err != nil {
		t.Fatal(err)
	}
	p.src = src
	t.Cleanup(func() { p.fenced = true; src.Close() })
	return p
}

// assignedPipeline is an unpolledPipeline on its own Warehouse of cfg
// (validated first: that fills in the defaults Open needs) to which the
// test has assigned parts.
func assignedPipeline(t *testing.T, cfg Config, writer string, parts ...int32) *Pipeline {
	t.Helper()
	if err := cfg.validate(); err != nil {
		t.Fatal(err)
	}
	w, err := iceberg.Open(t.Context(), cfg.Warehouse, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { w.Close() })
	p := unpolledPipeline(t, cfg, w, writer)
	if _, err := p.OnAssigned(t.Context(), parts); err != nil {
		t.Fatal(err)
	}
	return p
}

// batchLines sessionizes lines with batch mode and returns its JSON lines.
func batchLines(t *testing.T, lines [][]byte) []string {
	t.Helper()
	return batchLinesWith(t, lines, session.DefaultRules())
}

func batchLinesWith(t *testing.T, lines [][]byte, rules session.Rules) []string {
	t.Helper()
	return batchLinesSchema(t, lines, rules, event.Schema{})
}

// batchLinesSchema is batchLinesWith for events of another schema.
func batchLinesSchema(t *testing.T, lines [][]byte, rules session.Rules, sch event.Schema) []string {
	t.Helper()
	dir := t.TempDir()
	in := filepath.Join(dir, "in.jsonl")
	if err := os.WriteFile(in, append(bytes.Join(lines, []byte("\n")), '\n'), 0o644); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "out.jsonl")
	if _, err := batch.Run(t.Context(), batch.Config{Inputs: []string{in}, Output: out, Rules: rules, Schema: sch, Workers: 2}); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	got := slices.DeleteFunc(bytes.Split(b, []byte("\n")), func(l []byte) bool { return len(l) == 0 })
	s := make([]string, len(got))
	for i := range got {
		s[i] = string(got[i])
	}
	slices.Sort(s)
	return s
}

func openWarehouse(t *testing.T, warehouse string) *iceberg.Warehouse {
	t.Helper()
	return localWarehouse(t, warehouse).open(t)
}

// tableLines reads the sessions table back as batch's JSON lines.
func tableLines(t *testing.T, warehouse string) ([]string, []iceberg.SessionRow) {
	t.Helper()
	return warehouseLinesOf(t, openWarehouse(t, warehouse), false)
}

// tableLinesOf is tableLines; underRules, session ids also hash the first
// event's id (session.Session.FirstEventID), which the table does not keep,
// so they are taken as they are, not checked.
func tableLinesOf(t *testing.T, warehouse string, underRules bool) ([]string, []iceberg.SessionRow) {
	t.Helper()
	return warehouseLinesOf(t, openWarehouse(t, warehouse), underRules)
}

// warehouseLines reads the sessions table of wh back as batch's JSON lines.
func warehouseLines(t *testing.T, wh *iceberg.Warehouse) ([]string, []iceberg.SessionRow) {
	t.Helper()
	return warehouseLinesOf(t, wh, false)
}

// warehouseLinesOf is warehouseLines, with tableLinesOf's underRules.
func warehouseLinesOf(t *testing.T, wh *iceberg.Warehouse, underRules bool) ([]string, []iceberg.SessionRow) {
	t.Helper()
	rows, err := wh.ReadSessions(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	return sessionLinesOf(t, rows, underRules), rows
}

// independentLines is tableLines through the independent reader
// (testservers.ReadIcebergTable): the sessions as an engine other than
// iceberg-go finds them.
func independentLines(t *testing.T, wh *iceberg.Warehouse) []string {
	t.Helper()
	d, err := wh.Describe(t.Context(), iceberg.TableSessions)
	if err != nil {
		t.Fatal(err)
	}
	var rows []iceberg.SessionRow
	for _, line := range testservers.ReadIcebergTable(t, t.Context(), d.MetadataLocation) {
		var r iceberg.SessionRow
		if err := json.Unmarshal([]byte(line), &r); err != nil {
			t.Fatalf("%v: %s", err, line)
		}
		rows = append(rows, r)
	}
	return sessionLinesOf(t, rows, false)
}

// sessionLinesOf gives table rows as batch's session JSON lines, sorted.
func sessionLinesOf(t *testing.T, rows []iceberg.SessionRow, underRules bool) []string {
	t.Helper()
	out := make([]string, len(rows))
	for i, r := range rows {
		s := session.Session{UUID: r.UUID, StartMs: r.SessionStartTimeMs, EndMs: r.SessionEndTimeMs, EventCount: r.EventCount,
			Pages: r.PagesVisited, PagesTruncated: r.PagesTruncated, EntryPage: r.EntryPage, ExitPage: r.ExitPage}
		var ok bool
		if s.EndReason, ok = session.ParseEndReason(r.EndReason); !ok {
			t.Fatalf("session %s: end_reason %q", r.SessionID, r.EndReason)
		}
		line := batch.AppendSessionJSON(nil, &s)
		if underRules {
			line = bytes.Replace(line, []byte(s.ID()), []byte(r.SessionID), 1)
		} else if r.SessionID != s.ID() {
			t.Fatalf("session_id %s is not the id of %s@%d", r.SessionID, r.UUID, r.SessionStartTimeMs)
		}
		out[i] = string(line)
	}
	slices.Sort(out)
	return out
}

// TestStreamEqualsBatch: the whole generated stream through a real broker
// and the pipeline into Iceberg gives exactly batch's sessions (ids and end
// reasons included), and the tables alone account for every record.
func TestStreamEqualsBatch(t *testing.T) {
	b := startBroker(t, 3)
	lines, keys := generated(t, 20_000, 300, 3)
	produceLines(t, b, lines, keys)
	wh := t.TempDir()
	var commits int
	cfg := runConfig(t, b, wh)
	cfg.OnCommit = func(CommitInfo) { commits++ }
	ctx, cancel := context.WithTimeout(t.Context(), 60*time.Second)
	defer cancel()
	if err := Run(ctx, cfg); err != nil {
		t.Fatal(err)
	}
	got, _ := tableLines(t, wh)
	want := batchLines(t, lines)
	if !slices.Equal(got, want) {
		t.Fatalf("stream gave %d sessions, batch %d; first difference: %s", len(got), len(want), firstDiff(got, want))
	}
	if got := independentLines(t, openWarehouse(t, wh)); !slices.Equal(got, want) {
		t.Fatalf("the independent reader finds %d sessions in the table, batch gave %d; first difference: %s", len(got), len(want), firstDiff(got, want))
	}
	a, err := Audit(t.Context(), openWarehouse(t, wh))
	if err != nil {
		t.Fatal(err)
	}
	if a.Late != 0 || a.Open != 0 {
		t.Fatalf("late %d (lateness 1h should leave none), open %d after drain", a.Late, a.Open)
	}
	if a.Records != int64(len(lines)) || !a.Holds() {
		t.Fatalf("produced %d; %s", len(lines), a)
	}
	if commits < 3 {
		t.Fatalf("only %d commits: the test should cross several", commits)
	}
}

func firstDiff(a, b []string) string {
	for i := range min(len(a), len(b)) {
		if a[i] != b[i] {
			return fmt.Sprintf("\n got  %s\n want %s", a[i], b[i])
		}
	}
	return "(one is a prefix of the other)"
}

// TestBatchToTableEqualsStream: batch --output-table writes the same rows
// (same session ids) to the sessions table as the streaming job.
func TestBatchToTableEqualsStream(t *testing.T) {
	lines, _ := generated(t, 5_000, 100, 9)
	dir := t.TempDir()
	in := filepath.Join(dir, "in.jsonl")
	if err := os.WriteFile(in, append(bytes.Join(lines, []byte("\n")), '\n'), 0o644); err != nil {
		t.Fatal(err)
	}
	wh := filepath.Join(dir, "warehouse")
	_, err := batch.Run(t.Context(), batch.Config{Inputs: []string{in}, Rules: session.DefaultRules(), Workers: 2,
		Table: &batch.TableOutput{Table: iceberg.TableSessions, Warehouse: iceberg.Config{Warehouse: wh}}})
	if err != nil {
		t.Fatal(err)
	}
	got, _ := tableLines(t, wh)
	if want := batchLines(t, lines); !slices.Equal(got, want) {
		t.Fatalf("table has %d sessions, batch file %d: %s", len(got), len(want), firstDiff(got, want))
	}
}

// logHasLine reports whether some line of log contains every one of parts.
func logHasLine(log string, parts ...string) bool {
	for _, line := range strings.Split(log, "\n") {
		all := true
		for _, p := range parts {
			all = all && strings.Contains(line, p)
		}
		if all {
			return true
		}
	}
	return false
}
