package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sessionize/sessionize/internal/iceberg"
	"github.com/sessionize/sessionize/internal/kafka"
	"github.com/sessionize/sessionize/internal/pipeline"
	"github.com/sessionize/sessionize/internal/session"
)

// clickLines returns JSON lines of events of users u0..u<users-1> on the
// day starting at day: every user has two sessions (a gap of an hour), the
// first event of u0 comes twice, and one line is not JSON.
func clickLines(day time.Time, users int) string {
	var b strings.Builder
	for u := 0; u < users; u++ {
		for i, offset := range []time.Duration{0, time.Minute, 2 * time.Minute, time.Hour + 5*time.Minute, time.Hour + 6*time.Minute} {
			ms := day.Add(time.Duration(u)*3*time.Minute + offset).UnixMilli()
			fmt.Fprintf(&b, `{"event_id": "e%d-%d", "page_name": "p%d", "event_timestamp": "%d", "uuid": "u%d"}`+"\n", u, i, i, ms, u)
		}
	}
	b.WriteString(strings.SplitAfter(b.String(), "\n")[0]) // a duplicate
	b.WriteString("not json\n")
	return b.String()
}

func writeFile(t *testing.T, path, content string) string {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

func tableSessions(t *testing.T, warehouse string) []iceberg.SessionRow {
	t.Helper()
	wh, err := iceberg.Open(context.Background(), iceberg.Config{Warehouse: warehouse}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer wh.Close()
	rows, err := wh.ReadSessions(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return rows
}

func auditJSON(t *testing.T, warehouse string) (int, iceberg.Audit, string) {
	t.Helper()
	code, out, stderr := runCLI(t, "table", "audit", "--warehouse", warehouse, "--json")
	var rep iceberg.Audit
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Fatalf("audit --json: exit %d, %v: %s\n%s", code, err, out, stderr)
	}
	_, text, _ := runCLI(t, "table", "audit", "--warehouse", warehouse)
	return code, rep, text
}

// TestBatchTableIdempotent: batch --output-table twice on the same input
// writes the sessions once, also when the file was renamed and touched or
// comes on stdin; a changed input is refused until --replace-range says to
// rewrite its window; table audit accounts for every batch run.
func TestBatchTableIdempotent(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	wh := filepath.Join(dir, "warehouse")
	day := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	first := writeFile(t, filepath.Join(dir, "in.jsonl"), clickLines(day, 4))
	batch := func(args ...string) (int, string) {
		t.Helper()
		code, _, stderr := runCLI(t, append([]string{"batch", "--output-table", "sessions", "--warehouse", wh}, args...)...)
		return code, stderr
	}

	code, stderr := batch("-i", first, "--rejected", filepath.Join(dir, "rejected.jsonl"))
	if code != 0 || !strings.Contains(stderr, "8 sessions appended in snapshot") {
		t.Fatalf("first run: exit %d:\n%s", code, stderr)
	}
	if n := len(tableSessions(t, wh)); n != 8 {
		t.Fatalf("%d sessions after the first run, want 8", n)
	}
	// The account holds over a batch-written warehouse: 22 records = 20 in
	// sessions + 1 duplicate + 1 rejected (kept in rejected.jsonl).
	code, rep, text := auditJSON(t, wh)
	a := rep.Account
	if code != 0 || !rep.OK || a.Records != 22 || a.InSessions != 20 || a.Duplicates != 1 || a.RejectedNotInTable != 1 || a.BatchRuns != 1 {
		t.Fatalf("audit of a batch warehouse: exit %d, %+v\n%s", code, a, text)
	}
	if !strings.Contains(text, "rejected.jsonl") || !strings.Contains(text, "OK: every record is accounted for") {
		t.Fatalf("audit text:\n%s", text)
	}
	// report's quality section comes from the same account.
	code, reportOut, stderr := runCLI(t, "report", "--warehouse", wh, "--json")
	var r struct {
		Quality struct {
			Available    bool   `json:"available"`
			Records      *int64 `json:"records"`
			Rejected     *int64 `json:"rejected"`
			AccountHolds *bool  `json:"account_holds"`
		} `json:"quality"`
	}
	if err := json.Unmarshal([]byte(reportOut), &r); err != nil || code != 0 {
		t.Fatalf("report: exit %d, %v: %s", code, err, stderr)
	}
	if q := r.Quality; !q.Available || *q.Records != 22 || *q.Rejected != 1 || !*q.AccountHolds {
		t.Fatalf("report quality of a batch warehouse: %+v", q)
	}

	// The same content under another name, touched: the same run.
	renamed := writeFile(t, filepath.Join(dir, "copy.jsonl"), clickLines(day, 4))
	later := time.Now().Add(time.Hour)
	os.Chtimes(renamed, later, later)
	code, stderr = batch("-i", renamed, "--rejected", filepath.Join(dir, "rejected2.jsonl"))
	if code != 0 || !strings.Contains(stderr, "already written by snapshot") || !strings.Contains(stderr, "nothing to do") {
		t.Fatalf("second run: exit %d:\n%s", code, stderr)
	}
	if _, err := os.Stat(filepath.Join(dir, "rejected2.jsonl")); err == nil {
		t.Error("a run that does nothing wrote its --rejected file")
	}
	// And on stdin, where the content is known only once read.
	var out, errb bytes.Buffer
	code = Main(context.Background(), []string{"batch", "--output-table", "sessions", "--warehouse", wh, "-i", "-", "--rejected", filepath.Join(dir, "rejected3.jsonl")},
		strings.NewReader(clickLines(day, 4)), &out, &errb)
	if code != 0 || !strings.Contains(errb.String(), "already written by snapshot") {
		t.Fatalf("stdin run: exit %d:\n%s", code, errb.String())
	}
	if n := len(tableSessions(t, wh)); n != 8 {
		t.Fatalf("%d sessions after the same run three times, want 8", n)
	}

	// Different settings over the same events: other sessions, some with
	// the same ids (same user and start): refused, and nothing written.
	code, stderr = batch("-i", first, "--inactivity-timeout", "90m")
	if code != ExitError || !strings.Contains(stderr, "already holds sessions of this run") || !strings.Contains(stderr, "--replace-range") {
		t.Fatalf("overlapping run: exit %d:\n%s", code, stderr)
	}
	// A corrected file: one more user. Its sessions of u0..u3 are there.
	fixed := writeFile(t, filepath.Join(dir, "fixed.jsonl"), clickLines(day, 5))
	code, stderr = batch("-i", fixed)
	if code != ExitError || !strings.Contains(stderr, "8 of its 10 sessions are in the table already") || !strings.Contains(stderr, "batch run") {
		t.Fatalf("changed input: exit %d:\n%s", code, stderr)
	}
	if n := len(tableSessions(t, wh)); n != 8 {
		t.Fatalf("%d sessions after refused runs, want 8", n)
	}

	// --replace-range rewrites the day on purpose, in one snapshot.
	code, stderr = batch("-i", fixed, "--replace-range", "2026-11-01..2026-11-02")
	if code != 0 || !strings.Contains(stderr, "10 sessions appended") || !strings.Contains(stderr, "replacing 8 sessions (20 events)") {
		t.Fatalf("replace: exit %d:\n%s", code, stderr)
	}
	rows := tableSessions(t, wh)
	ids := map[string]bool{}
	for _, r := range rows {
		ids[r.SessionID] = true
	}
	if len(rows) != 10 || len(ids) != 10 {
		t.Fatalf("after the replace: %d sessions, %d distinct ids; want 10", len(rows), len(ids))
	}
	code, rep, text = auditJSON(t, wh)
	a = rep.Account
	if code != 0 || !rep.OK || a.Records != 22+27 || a.InSessions != 25 || a.Replaced != 20 || a.BatchRuns != 2 {
		t.Fatalf("audit after the replace: exit %d, %+v\n%s", code, a, text)
	}
	if !strings.Contains(text, "replaced 20") {
		t.Errorf("audit text lacks the replaced events:\n%s", text)
	}
	// The replacing run again is the same run.
	if code, stderr = batch("-i", fixed); code != 0 || !strings.Contains(stderr, "already written") {
		t.Fatalf("replacing run again: exit %d:\n%s", code, stderr)
	}
	// The first run's sessions were replaced: it is no longer "already
	// written", and the fixed run's sessions are in its way.
	if code, stderr = batch("-i", first); code != ExitError || !strings.Contains(stderr, "8 of its 8 sessions are in the table already") {
		t.Fatalf("replaced run again: exit %d:\n%s", code, stderr)
	}

	// Usage errors.
	if code, _, stderr := runCLI(t, "batch", "-i", first, "-o", filepath.Join(dir, "o.jsonl"), "--replace-range", "2026-11-01..2026-11-02"); code != ExitUsage || !strings.Contains(stderr, "--output-table") {
		t.Fatalf("--replace-range without a table: exit %d: %s", code, stderr)
	}
	if code, _ := batch("-i", first, "--replace-range", "2026-11-02..2026-11-01"); code != ExitUsage {
		t.Fatalf("backwards range: exit %d", code)
	}
}

// TestBatchAndStreamShareTheSessionsTable: a warehouse written by batch
// and then by the streaming job keeps both accounts (the pipeline's
// commits carry the batch runs forward), and a batch run over events the
// stream already wrote is refused.
func TestBatchAndStreamShareTheSessionsTable(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the pipeline")
	}
	t.Parallel()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	dir := t.TempDir()
	wh := filepath.Join(dir, "warehouse")
	october := writeFile(t, filepath.Join(dir, "october.jsonl"), clickLines(time.Date(2026, 10, 1, 0, 0, 0, 0, time.UTC), 3))
	if code, _, stderr := runCLI(t, "batch", "-i", october, "--output-table", "sessions", "--warehouse", wh); code != 0 {
		t.Fatalf("batch: exit %d: %s", code, stderr)
	}

	broker, err := kafka.StartBroker(ctx, kafka.BrokerConfig{Listen: "127.0.0.1:0", Partitions: 2}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer broker.Close()
	novemberLines := clickLines(time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC), 4)
	november := writeFile(t, filepath.Join(dir, "november.jsonl"), novemberLines)
	pr, err := kafka.NewProducer(ctx, kafka.ProducerConfig{Servers: broker.Addrs(), CreateTopic: true, Partitions: 2}, nil)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(novemberLines), "\n")
	for _, line := range lines {
		var ev struct{ UUID string }
		json.Unmarshal([]byte(line), &ev) // keyed by user, as produce does; "" for the bad line
		if err := pr.Send(ctx, []byte(ev.UUID), []byte(line)); err != nil {
			t.Fatal(err)
		}
	}
	if err := pr.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	pr.Close()
	err = pipeline.Run(ctx, pipeline.Config{
		Kafka:           kafka.SourceConfig{Servers: broker.Addrs(), Group: "mixed"},
		Warehouse:       iceberg.Config{Warehouse: wh},
		Rules:           session.DefaultRules(),
		AllowedLateness: pipeline.DefaultAllowedLateness,
		CommitInterval:  100 * time.Millisecond,
		StopWhenIdle:    time.Second,
		Drain:           true,
	})
	if err != nil {
		t.Fatalf("pipeline: %v", err)
	}

	code, rep, text := auditJSON(t, wh)
	a := rep.Account
	// 17 batch records (15 events, a duplicate, a bad line), 22 streamed.
	if code != 0 || !rep.OK || a.BatchRuns != 1 || a.Records != 17+int64(len(lines)) || len(rep.Partitions) != 2 {
		t.Fatalf("audit of a batch+stream warehouse: exit %d, %+v\n%s", code, a, text)
	}
	// The stream's commits kept the batch run: running it again is a no-op.
	if code, _, stderr := runCLI(t, "batch", "-i", october, "--output-table", "sessions", "--warehouse", wh); code != 0 || !strings.Contains(stderr, "already written") {
		t.Fatalf("batch again after the stream: exit %d: %s", code, stderr)
	}
	// The streamed events in batch would double the stream's sessions.
	code, _, stderr := runCLI(t, "batch", "-i", november, "--output-table", "sessions", "--warehouse", wh)
	if code != ExitError || !strings.Contains(stderr, "already holds sessions") || !strings.Contains(stderr, "the streaming job") {
		t.Fatalf("batch over streamed events: exit %d: %s", code, stderr)
	}
	if code, rep, text := auditJSON(t, wh); code != 0 || rep.Account.Records != a.Records {
		t.Fatalf("audit after the refused run: exit %d\n%s", code, text)
	}
}
