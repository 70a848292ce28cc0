package cli

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/sessionize/sessionize/internal/gen"
	"github.com/sessionize/sessionize/internal/iceberg"
	"github.com/sessionize/sessionize/internal/kafka"
	"github.com/sessionize/sessionize/internal/pipeline"
	"github.com/sessionize/sessionize/internal/session"
)

// pipelineWarehouse writes what one pipeline commit on partition 0 would:
// late and rejected rows, then sessions with offsets and counters that add
// up. It returns the warehouse directory.
func pipelineWarehouse(t *testing.T) string {
	t.Helper()
	ctx := context.Background()
	dir := filepath.Join(t.TempDir(), "warehouse")
	wh, err := iceberg.Open(ctx, iceberg.Config{Warehouse: dir}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer wh.Close()
	ckpt, err := wh.WriteFile(ctx, "sessionize/abc123-00000001.ckpt", []byte("state"))
	if err != nil {
		t.Fatal(err)
	}
	const ms = 1700000000000
	props := func(extra map[string]string) map[string]string {
		p := map[string]string{"sessionize.topic": "clickstream", "sessionize.group": "sessionize",
			"sessionize.writer": "abc123", "sessionize.offsets": `{"0":20}`}
		for k, v := range extra {
			p[k] = v
		}
		return p
	}
	wm := int64(ms - 600000)
	if _, err := wh.Commit(ctx, iceberg.Commit{Table: iceberg.TableLate, ExpectParentSnapshotID: iceberg.NoSnapshot, Properties: props(nil),
		Late: []iceberg.LateRow{{Raw: `{"uuid":"u1"}`, Topic: "clickstream", Partition: 0, Offset: 7, KafkaTimestampMs: ms,
			WatermarkMs: &wm, EventID: "e7", UUID: "u1", EventTimestampMs: ms - 3600000}}}); err != nil {
		t.Fatal(err)
	}
	if _, err := wh.Commit(ctx, iceberg.Commit{Table: iceberg.TableRejected, ExpectParentSnapshotID: iceberg.NoSnapshot, Properties: props(nil),
		Rejected: []iceberg.RejectedRow{
			{Raw: "not json", Reason: "invalid_json", Topic: "clickstream", Partition: 0, Offset: 3, KafkaTimestampMs: ms},
			{Raw: "{}", Reason: "missing_uuid", Topic: "clickstream", Partition: 0, Offset: 4, KafkaTimestampMs: ms},
		}}); err != nil {
		t.Fatal(err)
	}
	// 2+3+4 = 9 events in sessions, 1 duplicate, 1 late, 2 rejected, 2
	// open: 15 records.
	counters, _ := json.Marshal(map[string]iceberg.Counters{"0": {Records: 15, Rejected: 2, Late: 1, Duplicates: 1, InSessions: 9, Open: 2}})
	checkpoints, _ := json.Marshal(map[string]string{"0": ckpt})
	var rows []iceberg.SessionRow
	for i, n := range []int64{2, 3, 4} {
		start := int64(ms + i*7200000)
		rows = append(rows, iceberg.SessionRow{SessionID: "s" + string(rune('a'+i)), UUID: []string{"u1", "u2", "u1"}[i],
			SessionStartTimeMs: start, SessionEndTimeMs: start + 60000, SessionDurationSeconds: 60, EventCount: n,
			PagesVisited: []string{"home", "search"}, EntryPage: "home", ExitPage: "search", EndReason: "inactivity"})
	}
	if _, err := wh.Commit(ctx, iceberg.Commit{Table: iceberg.TableSessions, ExpectParentSnapshotID: iceberg.NoSnapshot, Sessions: rows,
		Properties: props(map[string]string{"sessionize.counters": string(counters), "sessionize.checkpoints": string(checkpoints)})}); err != nil {
		t.Fatal(err)
	}
	return dir
}

func TestTableDescribe(t *testing.T) {
	t.Parallel()
	dir := pipelineWarehouse(t)
	code, out, stderr := runCLI(t, "table", "describe", "--warehouse", dir)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	for _, want := range []string{
		"table sessionize.sessions", "table sessionize.late_events", "table sessionize.rejected_events",
		"session_id", "day", "write.parquet.compression-codec = zstd",
		"current snapshot", "1 data files", "3 records", "append", "abc123", "0:20", "abc123-00000001.ckpt(0)",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("describe output lacks %q:\n%s", want, out)
		}
	}

	code, out, stderr = runCLI(t, "table", "describe", "sessions", "--warehouse", dir, "--json")
	if code != 0 {
		t.Fatalf("--json: exit %d: %s", code, stderr)
	}
	var descs []iceberg.TableDescription
	if err := json.Unmarshal([]byte(out), &descs); err != nil || len(descs) != 1 || descs[0].Current.Records != 3 {
		t.Fatalf("--json: %v, %+v", err, descs)
	}

	if code, _, stderr := runCLI(t, "table", "describe", "nope", "--warehouse", dir); code != ExitUsage || !strings.Contains(stderr, "nope") {
		t.Fatalf("unknown table: exit %d, %s", code, stderr)
	}
	missing := filepath.Join(t.TempDir(), "none")
	if code, _, stderr := runCLI(t, "table", "describe", "--warehouse", missing); code != ExitError || !strings.Contains(stderr, "no warehouse") {
		t.Fatalf("missing warehouse: exit %d, %s", code, stderr)
	}
}

func TestTableAudit(t *testing.T) {
	t.Parallel()
	dir := pipelineWarehouse(t)
	code, out, stderr := runCLI(t, "table", "audit", "--warehouse", dir)
	if code != 0 {
		t.Fatalf("exit %d: %s\n%s", code, stderr, out)
	}
	for _, want := range []string{"records 15 = in sessions 9 + duplicates 1 + late 1 + rejected 2 + still open 2: OK", "PARTITION", "OK: every record"} {
		if !strings.Contains(out, want) {
			t.Errorf("audit output lacks %q:\n%s", want, out)
		}
	}

	// Maintenance keeps the account: it changes files, not rows or counters.
	if code, out, stderr := runCLI(t, "table", "maintain", "--warehouse", dir, "--older-than", "0", "--retain-last", "1", "--min-input-files", "1"); code != 0 {
		t.Fatalf("maintain: exit %d: %s\n%s", code, stderr, out)
	}
	if code, out, stderr := runCLI(t, "table", "audit", "--warehouse", dir); code != 0 || !strings.Contains(out, "OK") {
		t.Fatalf("audit after maintain: exit %d: %s\n%s", code, stderr, out)
	}

	// A counter that claims one more record than the tables hold.
	ctx := context.Background()
	wh, err := iceberg.Open(ctx, iceberg.Config{Warehouse: dir}, nil)
	if err != nil {
		t.Fatal(err)
	}
	cur, _, err := wh.Current(ctx, iceberg.TableSessions)
	if err != nil {
		t.Fatal(err)
	}
	props := map[string]string{}
	for k, v := range cur.Summary {
		if strings.HasPrefix(k, "sessionize.") && k != iceberg.CommitIDProperty {
			props[k] = v
		}
	}
	counters, _ := json.Marshal(map[string]iceberg.Counters{"0": {Records: 16, Rejected: 2, Late: 1, Duplicates: 1, InSessions: 9, Open: 2}})
	props["sessionize.counters"] = string(counters)
	if _, err := wh.Commit(ctx, iceberg.Commit{Table: iceberg.TableSessions, ExpectParentSnapshotID: cur.ID, Properties: props}); err != nil {
		t.Fatal(err)
	}
	wh.Close()
	code, out, _ = runCLI(t, "table", "audit", "--warehouse", dir)
	if code != ExitError || !strings.Contains(out, "DOES NOT ADD UP") {
		t.Fatalf("broken account: exit %d:\n%s", code, out)
	}
}

func TestTableSessionsAndMaintain(t *testing.T) {
	t.Parallel()
	dir := pipelineWarehouse(t)
	code, out, stderr := runCLI(t, "table", "sessions", "--warehouse", dir, "--uuid", "u1")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	if !strings.Contains(out, "user u1: 2 sessions, 6 events") || strings.Index(out, "sa") > strings.Index(out, "sc") {
		t.Fatalf("sessions output:\n%s", out)
	}
	if code, _, stderr := runCLI(t, "table", "sessions", "--warehouse", dir); code != ExitUsage || !strings.Contains(stderr, "--uuid") {
		t.Fatalf("no --uuid: exit %d, %s", code, stderr)
	}

	code, out, stderr = runCLI(t, "table", "maintain", "--warehouse", dir, "--older-than", "0", "--retain-last", "1", "--dry-run")
	if code != 0 || !strings.Contains(out, "would be expired") {
		t.Fatalf("dry run: exit %d: %s\n%s", code, stderr, out)
	}
	code, out, stderr = runCLI(t, "table", "maintain", "--warehouse", dir, "--orphan-age", "0s")
	if code != ExitUsage || !strings.Contains(stderr, "--orphan-age") {
		t.Fatalf("--orphan-age 0: exit %d: %s", code, stderr)
	}
	code, out, stderr = runCLI(t, "table", "maintain", "--warehouse", dir, "--json")
	if code != 0 {
		t.Fatalf("maintain: exit %d: %s\n%s", code, stderr, out)
	}
	var rep iceberg.MaintainReport
	if err := json.Unmarshal([]byte(out), &rep); err != nil || len(rep.Tables) != 3 {
		t.Fatalf("maintain --json: %v\n%s", err, out)
	}
	code, out, _ = runCLI(t, "table", "sessions", "--warehouse", dir, "--uuid", "u1", "--json")
	if code != 0 || strings.Count(out, "\n") != 2 || !strings.Contains(out, `"session_id":"sa"`) {
		t.Fatalf("sessions --json after maintain: exit %d:\n%s", code, out)
	}
}

// TestMaintainAlongsidePipeline runs the streaming pipeline with many small
// commits while maintenance runs over and over on its own Warehouse handle
// in another goroutine (as run --maintain-every would), and compares the
// tables with those of the same pipeline run without maintenance: equal
// rows, an account that adds up, and no fencing.
func TestMaintainAlongsidePipeline(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the pipeline twice")
	}
	t.Parallel()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	broker, err := kafka.StartBroker(ctx, kafka.BrokerConfig{Listen: "127.0.0.1:0", Partitions: 3}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer broker.Close()
	gcfg := gen.DefaultConfig()
	gcfg.Seed, gcfg.Events, gcfg.NumUsers = 11, 20000, 400
	g, err := gen.New(gcfg)
	if err != nil {
		t.Fatal(err)
	}
	pr, err := kafka.NewProducer(ctx, kafka.ProducerConfig{Servers: broker.Addrs(), CreateTopic: true, Partitions: 3}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer pr.Close()
	// The first run reads while the events arrive in small steps, so it
	// commits often; the second reads them all at once.
	produced := make(chan error, 1)
	go func() {
		for i := 0; ; i++ {
			r, ok := g.Next()
			if !ok {
				break
			}
			if err := pr.Send(ctx, r.UUID, r.Line); err != nil {
				produced <- err
				return
			}
			if i%400 == 399 {
				if err := pr.Flush(ctx); err != nil {
					produced <- err
					return
				}
				time.Sleep(40 * time.Millisecond)
			}
		}
		produced <- pr.Flush(ctx)
	}()

	run := func(group string, maintain bool) (*iceberg.Warehouse, string, int) {
		t.Helper()
		dir := filepath.Join(t.TempDir(), "warehouse")
		var logs syncBuffer
		var commits atomic.Int64
		cfg := pipeline.Config{
			Kafka:            kafka.SourceConfig{Servers: broker.Addrs(), Group: group},
			Warehouse:        iceberg.Config{Warehouse: dir},
			Rules:            session.DefaultRules(),
			AllowedLateness:  pipeline.DefaultAllowedLateness,
			CommitInterval:   50 * time.Millisecond,
			CommitMaxRecords: 400,
			StopWhenIdle:     2 * time.Second,
			Drain:            true,
			OnCommit:         func(pipeline.CommitInfo) { commits.Add(1) },
			Logger:           slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelInfo})),
		}
		// Open first so the maintainer finds the tables.
		wh, err := iceberg.Open(ctx, cfg.Warehouse, nil)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { wh.Close() })
		var done atomic.Bool
		maintained := make(chan error, 1)
		runs := 0
		if maintain {
			go func() {
				for !done.Load() {
					_, err := wh.Maintain(ctx, iceberg.MaintainOptions{OlderThan: time.Nanosecond, RetainLast: 2, OrphanAge: time.Minute})
					if errors.Is(err, iceberg.ErrConflict) {
						continue // lost too many races with the pipeline; it wins
					}
					if err != nil {
						maintained <- err
						return
					}
					runs++
				}
				maintained <- nil
			}()
		}
		err = pipeline.Run(ctx, cfg)
		done.Store(true)
		if maintain {
			if merr := <-maintained; merr != nil {
				t.Fatalf("Maintain: %v", merr)
			}
			t.Logf("%d maintenance runs during the pipeline run", runs)
		}
		if err != nil {
			t.Fatalf("pipeline: %v\n%s", err, logs.String())
		}
		return wh, logs.String(), int(commits.Load())
	}
	wh, logs, commits := run("maintained", true)
	if err := <-produced; err != nil {
		t.Fatal(err)
	}
	if strings.Contains(logs, "fenced") {
		t.Fatalf("the pipeline was fenced by maintenance:\n%s", logs)
	}
	if commits < 10 {
		t.Fatalf("only %d pipeline commits", commits)
	}
	ref, _, _ := run("reference", false)

	audit, err := wh.Audit(ctx)
	if err != nil {
		t.Fatal(err)
	}
	acct := audit.Account
	if !acct.Holds() || acct.Records != gcfg.Events {
		t.Fatalf("account with maintenance: %s (produced %d)", acct, gcfg.Events)
	}
	want, err := ref.ReadSessions(ctx)
	if err != nil {
		t.Fatal(err)
	}
	got, err := wh.ReadSessions(ctx)
	if err != nil {
		t.Fatal(err)
	}
	bySession := func(a, b iceberg.SessionRow) int { return cmp.Compare(a.SessionID, b.SessionID) }
	slices.SortFunc(want, bySession)
	slices.SortFunc(got, bySession)
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("sessions differ with maintenance: %d rows, %d without", len(got), len(want))
	}
	wantLate, _ := ref.ReadLate(ctx)
	gotLate, _ := wh.ReadLate(ctx)
	wantRej, _ := ref.ReadRejected(ctx)
	gotRej, _ := wh.ReadRejected(ctx)
	if len(gotLate) != len(wantLate) || len(gotRej) != len(wantRej) {
		t.Fatalf("late %d vs %d, rejected %d vs %d", len(gotLate), len(wantLate), len(gotRej), len(wantRej))
	}
	d, err := wh.Describe(ctx, iceberg.TableSessions)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%d pipeline commits; sessions table left with %d snapshots, %d data files", commits, len(d.Snapshots), d.Current.DataFiles)
	if d.Current.DataFiles >= commits || len(d.Snapshots) >= commits {
		t.Errorf("maintenance did not reduce files or snapshots")
	}
}

// TestTableAuditChecksTopicEnds: the tables alone look complete when a run
// stopped early; with --kafka-servers the audit compares every partition
// of the topic with its end and fails for those behind.
func TestTableAuditChecksTopicEnds(t *testing.T) {
	t.Parallel()
	dir := pipelineWarehouse(t) // topic clickstream, partition 0 committed to offset 20
	ctx := context.Background()
	b, err := kafka.StartBroker(ctx, kafka.BrokerConfig{Listen: "127.0.0.1:0", Partitions: 3}, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(b.Close)
	produceTo := func(counts map[int32]int) {
		t.Helper()
		cl, err := kgo.NewClient(kgo.SeedBrokers(b.Addrs()...), kgo.RecordPartitioner(kgo.ManualPartitioner()),
			kgo.AllowAutoTopicCreation())
		if err != nil {
			t.Fatal(err)
		}
		defer cl.Close()
		for p, n := range counts {
			for i := 0; i < n; i++ {
				if err := cl.ProduceSync(ctx, &kgo.Record{Topic: "clickstream", Partition: p, Value: []byte(oneEvent)}).FirstErr(); err != nil {
					t.Fatal(err)
				}
			}
		}
	}
	produceTo(map[int32]int{0: 20})

	// Without --kafka-servers: OK, but it says what it did not check.
	code, out, stderr := runCLI(t, "table", "audit", "--warehouse", dir)
	if code != 0 || !strings.Contains(out, "completeness against the topic was not checked") || !strings.Contains(out, "--kafka-servers") {
		t.Fatalf("without --kafka-servers: exit %d: %s\n%s", code, stderr, out)
	}
	// Partition 0 is at its end; 1 and 2 are empty: complete.
	code, out, stderr = runCLI(t, "table", "audit", "--warehouse", dir, "--kafka-servers", b.Servers())
	if code != 0 || !strings.Contains(out, `every partition of topic "clickstream" is committed up to its end`) {
		t.Fatalf("complete topic: exit %d: %s\n%s", code, stderr, out)
	}
	// Records the run never got to: partition 0 past its commit, 2 never read.
	produceTo(map[int32]int{0: 3, 2: 5})
	code, out, stderr = runCLI(t, "table", "audit", "--warehouse", dir, "--kafka-servers", b.Servers())
	for _, want := range []string{
		"partition 0: behind the topic: committed up to offset 20, the partition ends at 23: 3 records not in the tables",
		"partition 2: behind the topic: nothing committed, the partition ends at 5: 5 records not in the tables",
		`INCOMPLETE: 2 of 3 partitions of topic "clickstream" are behind their end; 8 records are not in the tables`,
	} {
		if !strings.Contains(out, want) {
			t.Errorf("audit output lacks %q:\n%s", want, out)
		}
	}
	if code != ExitError || !strings.Contains(stderr, "do not hold the whole topic") {
		t.Fatalf("incomplete topic: exit %d: %s\n%s", code, stderr, out)
	}
	code, out, _ = runCLI(t, "table", "audit", "--warehouse", dir, "--kafka-servers", b.Servers(), "--json")
	var rep iceberg.Audit
	if err := json.Unmarshal([]byte(out), &rep); err != nil || code != ExitError || rep.OK || !rep.TopicChecked || len(rep.Partitions) != 3 || rep.Partitions[2].Behind != 5 {
		t.Fatalf("--json: exit %d, %v: %+v", code, err, rep)
	}
	if code, _, stderr := runCLI(t, "table", "audit", "--warehouse", dir, "--kafka-servers", b.Servers(), "--topic", "other"); code != ExitError || !strings.Contains(stderr, `not "other"`) {
		t.Fatalf("other topic: exit %d: %s", code, stderr)
	}
}

// TestTableCommandsSeeTheEventsTable: the table commands have no
// --events-table; once a run has made the events table, describe shows it
// and maintain maintains it (by default and by --table events), and a
// warehouse without it says so for describe events.
func TestTableCommandsSeeTheEventsTable(t *testing.T) {
	t.Parallel()
	dir := pipelineWarehouse(t)
	if code, _, stderr := runCLI(t, "table", "describe", "events", "--warehouse", dir); code != ExitError || !strings.Contains(stderr, "--events-table") {
		t.Fatalf("describe events without the table: exit %d, %s", code, stderr)
	}
	ctx := context.Background()
	wh, err := iceberg.Open(ctx, iceberg.Config{Warehouse: dir, EventsTable: true}, nil)
	if err != nil {
		t.Fatal(err)
	}
	_, err = wh.Commit(ctx, iceberg.Commit{Table: iceberg.TableEvents, ExpectParentSnapshotID: iceberg.NoSnapshot,
		Events: []iceberg.EventRow{{SessionID: "sa", SessionStartTimeMs: 1700000000000, UUID: "u1", EventID: "e1",
			EventTimestampMs: 1700000000000, PageName: "home", Raw: `{"uuid":"u1"}`, Offset: 5}}})
	if cerr := wh.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		t.Fatal(err)
	}
	code, out, stderr := runCLI(t, "table", "describe", "--warehouse", dir)
	if code != 0 || !strings.Contains(out, "table sessionize.events") {
		t.Fatalf("describe: exit %d, %s\n%s", code, stderr, out)
	}
	code, out, stderr = runCLI(t, "table", "maintain", "--warehouse", dir, "--dry-run")
	if code != 0 || !strings.Contains(out, "events:") {
		t.Fatalf("maintain: exit %d, %s\n%s", code, stderr, out)
	}
	code, out, stderr = runCLI(t, "table", "maintain", "--warehouse", dir, "--dry-run", "--table", "events")
	if code != 0 || !strings.Contains(out, "events:") || strings.Contains(out, "sessions:") {
		t.Fatalf("maintain --table events: exit %d, %s\n%s", code, stderr, out)
	}
}
