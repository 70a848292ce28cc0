package iceberg

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/apache/iceberg-go"
	"github.com/apache/iceberg-go/table"
)

// pipelineWriter commits like internal/pipeline does: on the table's
// current snapshot, with the summary properties of every partition copied
// from it and its own partitions' entries replaced, retrying conflicts; and
// it checks, as the pipeline's fencing does, that its partitions' offsets
// in the table are still the ones it last wrote.
type pipelineWriter struct {
	t      testing.TB
	w      *Warehouse
	table  string
	writer string
	// committed[p] is the offset we last committed for partition p.
	committed map[int]int64
	seq       int
	conflicts int
}

func newPipelineWriter(t testing.TB, w *Warehouse, table, writer string) *pipelineWriter {
	return &pipelineWriter{t: t, w: w, table: table, writer: writer, committed: map[int]int64{}}
}

// commit appends rows as partition p's progress up to offset next.
// Checkpoint names one checkpoint file for p ("" for none).
func (pw *pipelineWriter) commit(ctx context.Context, c Commit, p int, next int64, checkpoint string) (Snapshot, error) {
	for attempt := 0; ; attempt++ {
		cur, ok, err := pw.w.Current(ctx, pw.table)
		if err != nil {
			return Snapshot{}, err
		}
		parent := NoSnapshot
		offsets, checkpoints, counters := map[string]int64{}, map[string]string{}, map[string]map[string]int64{}
		if ok {
			parent = cur.ID
			if err := decodeProp(cur.Summary, "sessionize.offsets", &offsets); err != nil {
				return Snapshot{}, err
			}
			if err := decodeProp(cur.Summary, "sessionize.checkpoints", &checkpoints); err != nil {
				return Snapshot{}, err
			}
			if err := decodeProp(cur.Summary, "sessionize.counters", &counters); err != nil {
				return Snapshot{}, err
			}
		}
		key := strconv.Itoa(p)
		if want, mine := pw.committed[p]; mine && offsets[key] != want {
			return Snapshot{}, fmt.Errorf("fenced: %s partition %d is at offset %d in snapshot %d, we committed %d",
				pw.table, p, offsets[key], parent, want)
		}
		offsets[key] = next
		if checkpoint != "" {
			checkpoints[key] = checkpoint
		}
		counters[key] = map[string]int64{"records": next}
		c.Properties = map[string]string{
			"sessionize.topic":   "clicks",
			"sessionize.group":   "grp",
			"sessionize.writer":  pw.writer,
			"sessionize.offsets": encodeProp(offsets),
		}
		if len(checkpoints) > 0 {
			c.Properties["sessionize.checkpoints"] = encodeProp(checkpoints)
		}
		c.Properties["sessionize.counters"] = encodeProp(counters)
		c.Table = pw.table
		c.ExpectParentSnapshotID = parent
		s, err := pw.w.Commit(ctx, c)
		if errors.Is(err, ErrConflict) {
			pw.conflicts++
			continue
		}
		if err != nil {
			return Snapshot{}, err
		}
		pw.committed[p] = next
		return s, nil
	}
}

func decodeProp(summary map[string]string, key string, v any) error {
	if s := summary[key]; s != "" {
		if err := json.Unmarshal([]byte(s), v); err != nil {
			return fmt.Errorf("property %s: %w", key, err)
		}
	}
	return nil
}

func encodeProp(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

// pipelineProps returns the sessionize.* properties of a summary, without
// the per-commit id.
func pipelineProps(summary map[string]string) map[string]string {
	out := map[string]string{}
	for k, v := range summary {
		if strings.HasPrefix(k, "sessionize.") && k != CommitIDProperty {
			out[k] = v
		}
	}
	return out
}

func sessionIDs(rows []SessionRow) []string {
	ids := make([]string, len(rows))
	for i, r := range rows {
		ids[i] = r.SessionID
	}
	slices.Sort(ids)
	return ids
}

// backdate sets the modification time of every file under dir to age ago.
func backdate(t testing.TB, dir string, age time.Duration) {
	t.Helper()
	old := time.Now().Add(-age)
	for _, f := range listFiles(t, dir) {
		if err := os.Chtimes(filepath.Join(dir, f), old, old); err != nil {
			t.Fatal(err)
		}
	}
}

func dataFileCount(t testing.TB, w *Warehouse, name string) int {
	t.Helper()
	tbl, err := w.load(testCtx(t), name)
	if err != nil {
		t.Fatal(err)
	}
	st, err := tableStats(testCtx(t), tbl)
	if err != nil {
		t.Fatal(err)
	}
	return st.DataFiles
}

// scanEverySnapshot reads every snapshot left in the table's metadata, so
// a file some snapshot still needs but maintenance deleted is found.
func scanEverySnapshot(t testing.TB, w *Warehouse, name string) {
	t.Helper()
	ctx := testCtx(t)
	tbl, err := w.load(ctx, name)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range tbl.Metadata().Snapshots() {
		_, batches, err := tbl.Scan(table.WithSnapshotID(s.SnapshotID)).ToArrowRecords(ctx)
		if err != nil {
			t.Fatalf("%s: scan snapshot %d: %v", name, s.SnapshotID, err)
		}
		for rec, err := range batches {
			if err != nil {
				t.Fatalf("%s: read snapshot %d: %v", name, s.SnapshotID, err)
			}
			rec.Release()
		}
	}
}

func TestMaintainCompactsExpiresAndDeletesOrphans(t *testing.T) {
	t.Parallel()
	ctx := testCtx(t)
	w := openWarehouse(t, Config{Warehouse: t.TempDir()})

	// 40 small pipeline commits over three Kafka partitions, each with a
	// new checkpoint for the committing partition: partition 2 commits
	// last early on, so its checkpoint is the oldest one still in use.
	sessions := newPipelineWriter(t, w, TableSessions, "w1")
	late := newPipelineWriter(t, w, TableLate, "w1")
	var checkpoints []string
	const commits = 40
	for i := range commits {
		p := i % 2
		if i == 3 {
			p = 2
		}
		uri, err := w.WriteFile(ctx, fmt.Sprintf("grp/w1-%08d.ckpt", i), []byte("state"))
		if err != nil {
			t.Fatal(err)
		}
		checkpoints = append(checkpoints, uri)
		rows := sampleSessions(70, fmt.Sprintf("c%02d", i)) // two day partitions
		if _, err := sessions.commit(ctx, Commit{Sessions: rows}, p, int64(i+1)*100, uri); err != nil {
			t.Fatalf("commit %d: %v", i, err)
		}
		if i%4 == 0 {
			lr := sampleLate(3)
			for j := range lr {
				lr[j].Offset = int64(i*10 + j)
			}
			if _, err := late.commit(ctx, Commit{Late: lr}, p, int64(i+1)*100, ""); err != nil {
				t.Fatalf("late commit %d: %v", i, err)
			}
		}
	}

	// The safety age is a few seconds here, and every snapshot so far is
	// older (snapshot times cannot be faked); every file written so far
	// is two hours old. Then some files appear that no snapshot
	// references: old ones, and young ones (their time in the future, to
	// stay young however slow the test runs), standing for the files of
	// commits in flight.
	orphanAge := 3 * time.Second
	if raceEnabled {
		orphanAge = 10 * time.Second // compaction must take less than half of it
	}
	time.Sleep(orphanAge + 100*time.Millisecond)
	sessDir := tableDir(w, TableSessions)
	backdate(t, w.cfg.Warehouse, 2*time.Hour)
	oldOrphan := filepath.Join(sessDir, "data", "old-orphan.parquet")
	youngOrphan := filepath.Join(sessDir, "data", "young-orphan.parquet")
	oldMeta := filepath.Join(sessDir, "metadata", "old-orphan-m0.avro")
	youngCheckpoint, err := w.WriteFile(ctx, "grp/w2-00000001.ckpt", []byte("in flight"))
	if err != nil {
		t.Fatal(err)
	}
	youngPath, _ := w.checkpointPath(youngCheckpoint)
	for _, p := range []string{oldOrphan, youngOrphan, oldMeta} {
		if err := os.WriteFile(p, []byte("x"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	for p, at := range map[string]time.Time{oldOrphan: time.Now().Add(-2 * time.Hour), oldMeta: time.Now().Add(-2 * time.Hour),
		youngOrphan: time.Now().Add(time.Hour), youngPath: time.Now().Add(time.Hour)} {
		if err := os.Chtimes(p, at, at); err != nil {
			t.Fatal(err)
		}
	}

	beforeRows, err := w.ReadSessions(ctx)
	if err != nil {
		t.Fatal(err)
	}
	beforeLate, err := w.ReadLate(ctx)
	if err != nil {
		t.Fatal(err)
	}
	head, _, err := w.Current(ctx, TableSessions)
	if err != nil {
		t.Fatal(err)
	}
	lateHead, _, err := w.Current(ctx, TableLate)
	if err != nil {
		t.Fatal(err)
	}
	filesBefore := dataFileCount(t, w, TableSessions)

	// Snapshots older than 1ns may go: all but the last 5 and those that
	// committed a checkpoint still in use.
	rep, err := w.Maintain(ctx, MaintainOptions{OlderThan: time.Nanosecond, RetainLast: 5, OrphanAge: orphanAge})
	if err != nil {
		t.Fatalf("Maintain: %v", err)
	}
	t.Logf("report: %+v", rep)

	afterRows, err := w.ReadSessions(ctx)
	if err != nil {
		t.Fatal(err)
	}
	sortSessions(beforeRows)
	sortSessions(afterRows)
	if !reflect.DeepEqual(afterRows, beforeRows) {
		t.Fatalf("sessions changed: %d rows before, %d after", len(beforeRows), len(afterRows))
	}
	afterLate, err := w.ReadLate(ctx)
	if err != nil {
		t.Fatal(err)
	}
	sortLate(beforeLate)
	sortLate(afterLate)
	if !reflect.DeepEqual(afterLate, beforeLate) {
		t.Fatalf("late rows changed: %d before, %d after", len(beforeLate), len(afterLate))
	}

	// The pipeline's view is unchanged.
	for _, tc := range []struct {
		name   string
		before Snapshot
	}{{TableSessions, head}, {TableLate, lateHead}} {
		now, _, err := w.Current(ctx, tc.name)
		if err != nil {
			t.Fatal(err)
		}
		if now.ID == tc.before.ID {
			t.Fatalf("%s: maintenance made no snapshot", tc.name)
		}
		if got, want := pipelineProps(now.Summary), pipelineProps(tc.before.Summary); !maps.Equal(got, want) {
			t.Fatalf("%s: sessionize properties changed:\n got %v\nwant %v", tc.name, got, want)
		}
	}

	// Fewer files: the rows span two days, so two files remain.
	filesAfter := dataFileCount(t, w, TableSessions)
	if filesAfter != 2 || filesAfter >= filesBefore {
		t.Fatalf("sessions data files: %d before, %d after; want 2 after", filesBefore, filesAfter)
	}
	sr := rep.Tables[0]
	if sr.Table != TableSessions || sr.RewrittenFiles != filesBefore || sr.Before.DataFiles != filesBefore || sr.After.DataFiles != 2 {
		t.Fatalf("sessions report: %+v", sr)
	}
	if sr.After.Manifests >= sr.Before.Manifests {
		t.Fatalf("manifests: %d before, %d after", sr.Before.Manifests, sr.After.Manifests)
	}

	// Fewer snapshots: the last 5 plus those that committed a checkpoint
	// still in use: certainly commit 3's (partition 2 never committed
	// again), maybe also partition 0's last one, if the maintenance
	// snapshots pushed it out of the last 5.
	tbl, err := w.load(ctx, TableSessions)
	if err != nil {
		t.Fatal(err)
	}
	snaps := tbl.Metadata().Snapshots()
	if len(snaps) != 5+sr.KeptForCheckpoints || sr.KeptForCheckpoints < 1 || sr.After.Snapshots != len(snaps) ||
		sr.ExpiredSnapshots+len(snaps) <= commits {
		t.Fatalf("%d snapshots left, %d expired, %d kept for checkpoints", len(snaps), sr.ExpiredSnapshots, sr.KeptForCheckpoints)
	}
	found := false
	for _, s := range snaps {
		if s.Summary != nil && strings.Contains(s.Summary.Properties["sessionize.checkpoints"], checkpoints[3]) &&
			s.Summary.Properties[MaintenanceActionProperty] == "" && s.SequenceNumber == 4 {
			found = true
		}
	}
	if !found {
		t.Fatalf("the snapshot that committed %s was expired", checkpoints[3])
	}
	scanEverySnapshot(t, w, TableSessions)
	scanEverySnapshot(t, w, TableLate)

	// Orphans: old ones gone, young ones kept; the files of the expired
	// snapshots (two hours old) are gone too.
	for p, want := range map[string]bool{oldOrphan: false, oldMeta: false, youngOrphan: true} {
		if _, err := os.Stat(p); (err == nil) != want {
			t.Errorf("%s: exists=%v, want %v", p, err == nil, want)
		}
	}
	// What only the expired snapshots referenced is gone: every one of
	// their manifest lists, and no file is left that no snapshot needs.
	manifestLists := 0
	for _, f := range sr.DeletedFiles {
		if strings.HasPrefix(filepath.Base(f), "snap-") {
			manifestLists++
		}
	}
	if manifestLists != sr.ExpiredSnapshots {
		t.Errorf("deleted %d manifest lists, want one per expired snapshot (%d)", manifestLists, sr.ExpiredSnapshots)
	}
	for _, name := range TableNames() {
		tbl, err := w.load(ctx, name)
		if err != nil {
			t.Fatal(err)
		}
		res, err := tbl.DeleteOrphanFiles(ctx, table.WithFilesOlderThan(0), table.WithDryRun(true))
		if err != nil {
			t.Fatal(err)
		}
		if len(res.OrphanFileLocations) > 0 {
			t.Errorf("%s: files no snapshot references are left: %v", name, res.OrphanFileLocations)
		}
	}

	// Checkpoints: the ones the current snapshot names stay, the young
	// unreferenced one stays, the old unreferenced ones go.
	var current map[string]string
	if err := decodeProp(head.Summary, "sessionize.checkpoints", &current); err != nil {
		t.Fatal(err)
	}
	inUse := slices.Collect(maps.Values(current))
	for i, uri := range append(checkpoints, youngCheckpoint) {
		path, _ := w.checkpointPath(uri)
		_, err := os.Stat(path)
		want := slices.Contains(inUse, uri) || uri == youngCheckpoint
		if (err == nil) != want {
			t.Errorf("checkpoint %d %s: exists=%v, want %v", i, uri, err == nil, want)
		}
	}
	if len(rep.CheckpointsDeleted) != len(checkpoints)-len(inUse) {
		t.Errorf("deleted %d checkpoints, want %d", len(rep.CheckpointsDeleted), len(checkpoints)-len(inUse))
	}

	// A second run finds little to do and changes nothing either.
	rep2, err := w.Maintain(ctx, MaintainOptions{OlderThan: time.Nanosecond, RetainLast: 5, OrphanAge: orphanAge})
	if err != nil {
		t.Fatalf("second Maintain: %v", err)
	}
	if rep2.Tables[0].RewrittenFiles != 0 {
		t.Errorf("second run rewrote %d files", rep2.Tables[0].RewrittenFiles)
	}
	again, err := w.ReadSessions(ctx)
	if err != nil {
		t.Fatal(err)
	}
	sortSessions(again)
	if !reflect.DeepEqual(again, beforeRows) {
		t.Fatal("sessions changed in the second run")
	}

	// The pipeline goes on on top of maintenance snapshots.
	if _, err := sessions.commit(ctx, Commit{Sessions: sampleSessions(3, "after")}, 0, 99999, ""); err != nil {
		t.Fatalf("pipeline commit after maintenance: %v", err)
	}
}

func TestMaintainDryRunChangesNothing(t *testing.T) {
	t.Parallel()
	ctx := testCtx(t)
	w := openWarehouse(t, Config{Warehouse: t.TempDir()})
	pw := newPipelineWriter(t, w, TableSessions, "w1")
	for i := range 6 {
		if _, err := pw.commit(ctx, Commit{Sessions: sampleSessions(5, fmt.Sprint(i))}, 0, int64(i+1), ""); err != nil {
			t.Fatal(err)
		}
	}
	backdate(t, w.cfg.Warehouse, 2*time.Hour)
	before := listFiles(t, w.cfg.Warehouse)
	head := mustCurrentID(t, w, TableSessions)
	rep, err := w.Maintain(ctx, MaintainOptions{OlderThan: time.Nanosecond, RetainLast: 1, DryRun: true})
	if err != nil {
		t.Fatal(err)
	}
	if rep.Tables[0].RewrittenFiles == 0 || rep.Tables[0].ExpiredSnapshots != 5 {
		t.Fatalf("dry run report: %+v", rep.Tables[0])
	}
	if got := mustCurrentID(t, w, TableSessions); got != head {
		t.Fatalf("dry run committed: head %d -> %d", head, got)
	}
	if after := listFiles(t, w.cfg.Warehouse); !slices.Equal(after, before) {
		t.Fatalf("dry run touched files")
	}
}

func TestExpireSnapshotsKeepsRetainLastAndYoung(t *testing.T) {
	t.Parallel()
	ctx := testCtx(t)
	w := openWarehouse(t, Config{Warehouse: t.TempDir()})
	pw := newPipelineWriter(t, w, TableRejected, "w1")
	for i := range 12 {
		if _, err := pw.commit(ctx, Commit{Rejected: sampleRejected(2)}, 0, int64(i+1), ""); err != nil {
			t.Fatal(err)
		}
	}
	// Everything is younger than an hour: nothing goes.
	rep, err := w.ExpireSnapshots(ctx, TableRejected, ExpireOptions{OlderThan: time.Hour, RetainLast: 2})
	if err != nil || len(rep.Expired) != 0 {
		t.Fatalf("young snapshots: expired %v, err %v", rep.Expired, err)
	}
	rep, err = w.ExpireSnapshots(ctx, TableRejected, ExpireOptions{OlderThan: time.Nanosecond, RetainLast: 4, DeleteFiles: true})
	if err != nil || len(rep.Expired) != 8 {
		t.Fatalf("expired %v, err %v; want 8", rep.Expired, err)
	}
	snaps, err := w.Snapshots(ctx, TableRejected)
	if err != nil || len(snaps) != 4 {
		t.Fatalf("%d snapshots left, err %v", len(snaps), err)
	}
	rows, err := w.ReadRejected(ctx)
	if err != nil || len(rows) != 24 {
		t.Fatalf("%d rejected rows after expiry, err %v", len(rows), err)
	}
	scanEverySnapshot(t, w, TableRejected)
}

func TestReadUserSessions(t *testing.T) {
	t.Parallel()
	ctx := testCtx(t)
	for _, buckets := range []int{0, 4} {
		w := openWarehouse(t, Config{Warehouse: t.TempDir(), UUIDBuckets: buckets})
		all := sampleSessions(300, "r")
		if _, err := w.Commit(ctx, Commit{Table: TableSessions, Sessions: all, ExpectParentSnapshotID: NoSnapshot}); err != nil {
			t.Fatal(err)
		}
		got, err := w.ReadUserSessions(ctx, "user-0005")
		if err != nil {
			t.Fatal(err)
		}
		var want []SessionRow
		for _, r := range all {
			if r.UUID == "user-0005" {
				want = append(want, r)
			}
		}
		if !reflect.DeepEqual(got, want) { // sampleSessions is in start order
			t.Fatalf("buckets=%d: got %d sessions, want %d", buckets, len(got), len(want))
		}
		if none, err := w.ReadUserSessions(ctx, "nobody"); err != nil || len(none) != 0 {
			t.Fatalf("unknown user: %d rows, %v", len(none), err)
		}
	}
}

// TestMaintainAlongsideWriters runs maintenance over and over while
// writers commit like the pipeline. No writer commit may be lost, no
// writer may see its offsets change under it (it would think it was
// fenced), and every row must be in the table exactly once.
//
// As in run --maintain-every, maintenance and the writers share one
// Warehouse, whose commit lock makes them take turns: writers that commit
// back to back must not starve maintenance (before the lock it gave up
// after 50 lost races on a loaded machine), and no writer commit is lost
// to a maintenance commit.
func TestMaintainAlongsideWriters(t *testing.T) {
	t.Parallel()
	testMaintainAlongsideWriters(t, Config{Warehouse: t.TempDir()}, alongside{orphanAge: 4 * time.Second, pause: 5 * time.Millisecond})
}

// Maintenance on a handle of its own (as sessionize table maintain in
// another process) races the writers instead; it wins often enough
// against writers that commit five times a second.
func TestMaintainAlongsideWritersOtherHandle(t *testing.T) {
	t.Parallel()
	testMaintainAlongsideWriters(t, Config{Warehouse: t.TempDir()}, alongside{orphanAge: 4 * time.Second, pause: 200 * time.Millisecond, ownHandle: true})
}

// The same with a PostgreSQL catalog, whose database other warehouses'
// namespaces share (as the catalog suite's do).
func TestMaintainAlongsideWritersPostgres(t *testing.T) {
	t.Parallel()
	uri := startPostgres(t)
	other := openWarehouse(t, Config{Warehouse: t.TempDir(), CatalogURI: uri, Namespace: "t_elsewhere"})
	if _, err := newPipelineWriter(t, other, TableSessions, "x").commit(testCtx(t), Commit{Sessions: sampleSessions(3, "x")}, 0, 1, "file:///elsewhere/x.ckpt"); err != nil {
		t.Fatal(err)
	}
	testMaintainAlongsideWriters(t, Config{Warehouse: t.TempDir(), CatalogURI: uri, Namespace: "t_maintain"}, alongside{orphanAge: 4 * time.Second, pause: 5 * time.Millisecond})
}

// alongside paces testMaintainAlongsideWriters: files of expired snapshots
// become orphans; they are deleted once older than orphanAge, so the
// writers go on for longer than that, pausing between commits. ownHandle
// gives maintenance a Warehouse of its own, without the writers' lock.
type alongside struct {
	orphanAge, pause time.Duration
	ownHandle        bool
}

func testMaintainAlongsideWriters(t *testing.T, cfg Config, pace alongside) {
	orphanAge := pace.orphanAge
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute) // slow under -race
	defer cancel()
	w := openWarehouse(t, cfg)
	maint := w
	if pace.ownHandle {
		maint = openWarehouse(t, cfg)
	}

	minDuration := 2*orphanAge + time.Second
	exerciseOrphans := true
	switch {
	case raceEnabled:
		// Compacting one group may take seconds: with a short orphan
		// age maintenance would (rightly) refuse to run. No files get
		// old enough to go while the writers run.
		orphanAge, minDuration, exerciseOrphans = time.Minute, 3*time.Second, false
	case testing.Short():
		minDuration, exerciseOrphans = time.Second, false
	}
	var (
		wg          sync.WaitGroup
		done        atomic.Bool
		stop        atomic.Bool // enough maintenance runs
		mu          sync.Mutex
		written     = map[string][]string{} // table -> row ids
		writerErr   error
		writerStats []string
	)
	writer := func(table string, p int) {
		defer wg.Done()
		pw := newPipelineWriter(t, w, table, fmt.Sprintf("writer-%s-%d", table, p))
		started := time.Now()
		for i := 0; i < 60 || time.Since(started) < minDuration || !stop.Load(); i++ {
			tag := fmt.Sprintf("%s-p%d-c%04d", table, p, i)
			var c Commit
			var ids []string
			switch table {
			case TableSessions:
				c.Sessions = sampleSessions(4, tag)
				for _, r := range c.Sessions {
					ids = append(ids, r.SessionID)
				}
			case TableLate:
				c.Late = sampleLate(2)
				for j := range c.Late {
					c.Late[j].EventID = fmt.Sprintf("%s-%d", tag, j)
					ids = append(ids, c.Late[j].EventID)
				}
			}
			if i%5 == 4 {
				c.Sessions, c.Late, ids = nil, nil, nil // an offsets-only commit
			}
			if _, err := pw.commit(ctx, c, p, int64(i+1), ""); err != nil {
				mu.Lock()
				writerErr = errors.Join(writerErr, fmt.Errorf("%s partition %d commit %d: %w", table, p, i, err))
				mu.Unlock()
				return
			}
			mu.Lock()
			written[table] = append(written[table], ids...)
			mu.Unlock()
			// A pipeline commits every --commit-interval (10s by
			// default); back to back, maintenance (whose commits take
			// longer to stage) would never win a race.
			time.Sleep(pace.pause)
		}
		mu.Lock()
		writerStats = append(writerStats, fmt.Sprintf("%s p%d: %d conflicts", table, p, pw.conflicts))
		mu.Unlock()
	}
	wg.Add(2)
	go writer(TableSessions, 0)
	go writer(TableLate, 1)
	go func() { wg.Wait(); done.Store(true) }()

	runs, gaveUp, conflicts, rewritten, expired, deleted := 0, 0, 0, 0, 0, 0
	for !done.Load() {
		rep, err := maint.Maintain(ctx, MaintainOptions{OlderThan: time.Nanosecond, RetainLast: 3, OrphanAge: orphanAge})
		for _, tm := range rep.Tables {
			deleted += len(tm.DeletedFiles)
			conflicts += tm.Conflicts
			rewritten += tm.RewrittenFiles
			expired += tm.ExpiredSnapshots
		}
		if errors.Is(err, ErrConflict) && pace.ownHandle && gaveUp < 20 {
			// Lost the race MaxAttempts times in a row (slow machines,
			// -race): the pipeline wins; maintenance tries again. On the
			// writers' handle it never races them.
			gaveUp++
			t.Logf("Maintain gave up: %v", err)
			continue
		}
		if errors.Is(err, errCompactionTooSlow) && gaveUp < 20 {
			// A loaded machine: maintenance refused, safely, to risk its
			// output against the short orphan age; it tries again.
			gaveUp++
			t.Logf("Maintain refused: %v", err)
			continue
		}
		if err != nil {
			stop.Store(true)
			wg.Wait()
			t.Fatalf("Maintain run %d: %v", runs, err)
		}
		runs++
		if runs >= 4 {
			stop.Store(true)
		}
	}
	wg.Wait()
	if writerErr != nil {
		t.Fatal(writerErr)
	}
	t.Logf("%d maintenance runs (%d more gave up after too many lost races): %d conflicts retried, %d files rewritten, %d snapshots expired, %d files deleted; writers: %v",
		runs, gaveUp, conflicts, rewritten, expired, deleted, writerStats)
	if !pace.ownHandle && conflicts > 0 {
		t.Errorf("maintenance lost %d races to writers on its own Warehouse: the commit lock should make them take turns", conflicts)
	}
	if runs < 4 || rewritten == 0 || expired == 0 || (deleted == 0 && exerciseOrphans) {
		t.Fatalf("maintenance did too little to test anything: %d runs, %d files rewritten, %d snapshots expired, %d files deleted",
			runs, rewritten, expired, deleted)
	}

	// One more run with nobody writing, then check every row.
	if _, err := maint.Maintain(ctx, MaintainOptions{OlderThan: time.Nanosecond, RetainLast: 3}); err != nil {
		t.Fatal(err)
	}
	rows, err := w.ReadSessions(ctx)
	if err != nil {
		t.Fatal(err)
	}
	got := sessionIDs(rows)
	want := slices.Sorted(slices.Values(written[TableSessions]))
	if !slices.Equal(got, want) {
		t.Fatalf("sessions: %d rows in the table, %d committed (rows lost or duplicated)", len(got), len(want))
	}
	lateRows, err := w.ReadLate(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var gotLate []string
	for _, r := range lateRows {
		gotLate = append(gotLate, r.EventID)
	}
	slices.Sort(gotLate)
	if wantLate := slices.Sorted(slices.Values(written[TableLate])); !slices.Equal(gotLate, wantLate) {
		t.Fatalf("late_events: %d rows in the table, %d committed", len(gotLate), len(wantLate))
	}
	scanEverySnapshot(t, w, TableSessions)
	scanEverySnapshot(t, w, TableLate)
}

// A checkpoints property maintenance cannot read stops it from deleting
// checkpoints or expiring snapshots: it must not guess what is in use.
func TestMaintainRefusesUnreadableCheckpoints(t *testing.T) {
	t.Parallel()
	ctx := testCtx(t)
	w := openWarehouse(t, Config{Warehouse: t.TempDir()})
	uri, err := w.WriteFile(ctx, "grp/old.ckpt", []byte("state"))
	if err != nil {
		t.Fatal(err)
	}
	backdate(t, w.checkpointDir(), 2*time.Hour)
	parent := NoSnapshot
	for i := range 3 {
		s, err := w.Commit(ctx, Commit{Table: TableSessions, ExpectParentSnapshotID: parent, Sessions: sampleSessions(2, fmt.Sprint(i)),
			Properties: map[string]string{"sessionize.offsets": `{"0":1}`, "sessionize.checkpoints": "[" + uri + "]"}})
		if err != nil {
			t.Fatal(err)
		}
		parent = s.ID
	}
	if _, err := w.Maintain(ctx, MaintainOptions{OlderThan: time.Nanosecond, RetainLast: 1, Tables: []string{TableSessions}}); err == nil ||
		!strings.Contains(err.Error(), "sessionize.checkpoints") {
		t.Fatalf("Maintain: %v, want an error about the checkpoints property", err)
	}
	if n := len(listFiles(t, w.checkpointDir())); n != 1 {
		t.Fatalf("%d checkpoint files left, want 1", n)
	}
	if snaps, _ := w.Snapshots(ctx, TableSessions); len(snaps) != 3 {
		t.Fatalf("%d snapshots left, want 3", len(snaps))
	}
}

// TestMaintainCoversTheEventsTable: the opt-in events table gets a file
// per commit like the others, so maintenance must compact it and expire
// its snapshots too; it did only the three others, so a run with
// --events-table and --maintain-every grew the events table's small files
// and snapshots without bound. A warehouse opened without the events
// table (sessionize table maintain has no --events-table) maintains it
// once it exists.
func TestMaintainCoversTheEventsTable(t *testing.T) {
	ctx := testCtx(t)
	dir := t.TempDir()
	w := openWarehouse(t, Config{Warehouse: dir, EventsTable: true})
	for i, tag := range []string{"a", "b", "c"} {
		cur, ok, err := w.Current(ctx, TableEvents)
		if err != nil {
			t.Fatal(err)
		}
		parent := NoSnapshot
		if ok {
			parent = cur.ID
		}
		if _, err := w.Commit(ctx, Commit{Table: TableEvents, Events: sampleEvents(40+i, tag), ExpectParentSnapshotID: parent}); err != nil {
			t.Fatal(err)
		}
	}
	// The same warehouse as the table commands open it.
	later := openWarehouse(t, Config{Warehouse: dir})
	if !slices.Contains(later.Tables(), TableEvents) {
		t.Fatalf("a warehouse opened without the events table does not list it: %v", later.Tables())
	}
	rep, err := later.Maintain(ctx, MaintainOptions{MinInputFiles: 2, OlderThan: time.Nanosecond, RetainLast: 1, SkipOrphans: true, SkipCheckpoints: true})
	if err != nil {
		t.Fatalf("maintain: %v", err)
	}
	var events *TableMaintenance
	for i := range rep.Tables {
		if rep.Tables[i].Table == TableEvents {
			events = &rep.Tables[i]
		}
	}
	switch {
	case events == nil:
		t.Fatalf("maintenance left the events table alone: %+v", rep.Tables)
	case events.After.DataFiles != 1 || events.After.Records != 40+41+42 || events.ExpiredSnapshots == 0:
		t.Fatalf("events table after maintenance: %+v", *events)
	}
	rows, err := later.ReadEvents(ctx)
	if err != nil || len(rows) != 40+41+42 {
		t.Fatalf("events after maintenance: %d rows, %v", len(rows), err)
	}
}

// TestUnreadableEventsTableIsLeftOut: an events table this sessionize
// cannot read (another schema: another tool's table of that name, or a
// future sessionize's) does not fail an open that did not ask for it; it is
// left out of Tables (so maintenance skips it) with a warning. A run that
// asks for it is refused, as before.
func TestUnreadableEventsTableIsLeftOut(t *testing.T) {
	ctx := testCtx(t)
	dir := t.TempDir()
	w := openWarehouse(t, Config{Warehouse: dir})
	other := iceberg.NewSchema(0, iceberg.NestedField{ID: 1, Name: "something_else", Type: iceberg.PrimitiveTypes.String, Required: true})
	if _, err := w.cat.CreateTable(ctx, w.ident(TableEvents), other); err != nil {
		t.Fatal(err)
	}
	var logs strings.Builder
	later, err := Open(ctx, Config{Warehouse: dir}, slog.New(slog.NewTextHandler(&logs, nil)))
	if err != nil {
		t.Fatalf("an open that did not ask for the events table failed on it: %v", err)
	}
	defer later.Close()
	if slices.Contains(later.Tables(), TableEvents) || !strings.Contains(logs.String(), "leaving the events table out") {
		t.Fatalf("tables %v; log:\n%s", later.Tables(), logs.String())
	}
	if _, err := later.Maintain(ctx, MaintainOptions{}); err != nil {
		t.Fatalf("maintain: %v", err)
	}
	if _, err := Open(ctx, Config{Warehouse: dir, EventsTable: true}, testLogger(t)); err == nil || !strings.Contains(err.Error(), "schema mismatch") {
		t.Fatalf("an open with the events table: %v, want a schema mismatch", err)
	}
}
