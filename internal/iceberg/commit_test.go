package iceberg

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"reflect"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/apache/arrow-go/v18/parquet"
	"github.com/apache/arrow-go/v18/parquet/compress"
	"github.com/apache/arrow-go/v18/parquet/file"
)

// The commit tests run against every catalog: with the embedded SQLite
// catalog here, and with PostgreSQL in postgres_test.go.
var catalogSuite = []struct {
	name string
	run  func(t *testing.T, cfg Config)
}{
	{"RoundTrip", testRoundTrip},
	{"PropertiesSurviveReopen", testPropertiesSurviveReopen},
	{"EmptyCommit", testEmptyCommit},
	{"Conflict", testConflict},
	{"ConcurrentOpen", testConcurrentOpen},
	{"RacingWriters", testRacingWriters},
	{"UnknownOutcome", testUnknownOutcome},
	{"ReadOnly", testReadOnly},
	{"LoadParsesOnlyWhatMoved", testLoadParsesOnlyWhatMoved},
}

// The round trip again with bucket(8, uuid) partitioning.
func TestRoundTripUUIDBuckets(t *testing.T) {
	t.Parallel()
	testRoundTrip(t, Config{Warehouse: t.TempDir(), UUIDBuckets: 8})
}

func TestSQLiteCatalog(t *testing.T) {
	t.Parallel()
	for _, tc := range catalogSuite {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			tc.run(t, Config{Warehouse: t.TempDir()})
		})
	}
}

// testRoundTrip commits rows to each table and reads back exactly them,
// every field, including nulls, empty lists and the derived partition
// columns' effect (files land in day partitions).
func testRoundTrip(t *testing.T, cfg Config) {
	ctx := testCtx(t)
	w := openWarehouse(t, cfg)

	sessions := sampleSessions(200, "a")
	sessions[5].PagesVisited = []string{} // an empty list must survive
	s1, err := w.Commit(ctx, Commit{Table: TableSessions, Sessions: sessions, ExpectParentSnapshotID: NoSnapshot,
		Properties: map[string]string{"sessionize.offsets": "0:200"}})
	if err != nil {
		t.Fatalf("commit sessions: %v", err)
	}
	more := sampleSessions(50, "b")
	s2, err := w.Commit(ctx, Commit{Table: TableSessions, Sessions: more, ExpectParentSnapshotID: s1.ID})
	if err != nil {
		t.Fatalf("second commit sessions: %v", err)
	}
	if s2.ParentID != s1.ID || s1.ParentID != NoSnapshot {
		t.Fatalf("parents: first %d (want %d), second %d (want %d)", s1.ParentID, NoSnapshot, s2.ParentID, s1.ID)
	}
	if s2.SequenceNumber <= s1.SequenceNumber {
		t.Fatalf("sequence numbers did not grow: %d then %d", s1.SequenceNumber, s2.SequenceNumber)
	}
	if got := s2.Summary["total-records"]; got != "250" {
		t.Fatalf("total-records = %q, want 250", got)
	}

	late := sampleLate(30)
	if _, err := w.Commit(ctx, Commit{Table: TableLate, Late: late, ExpectParentSnapshotID: NoSnapshot}); err != nil {
		t.Fatalf("commit late: %v", err)
	}
	rejected := sampleRejected(40)
	if _, err := w.Commit(ctx, Commit{Table: TableRejected, Rejected: rejected, ExpectParentSnapshotID: NoSnapshot}); err != nil {
		t.Fatalf("commit rejected: %v", err)
	}

	gotSessions, err := w.ReadSessions(ctx)
	if err != nil {
		t.Fatalf("ReadSessions: %v", err)
	}
	want := append(append([]SessionRow{}, sessions...), more...)
	sortSessions(want)
	sortSessions(gotSessions)
	if !reflect.DeepEqual(gotSessions, want) {
		t.Fatalf("sessions read back differ: got %d rows, want %d; first got %+v, first want %+v",
			len(gotSessions), len(want), first(gotSessions), first(want))
	}

	gotLate, err := w.ReadLate(ctx)
	if err != nil {
		t.Fatalf("ReadLate: %v", err)
	}
	sortLate(gotLate)
	if !reflect.DeepEqual(gotLate, late) {
		t.Fatalf("late rows read back differ:\n got %+v\nwant %+v", first(gotLate), first(late))
	}

	gotRejected, err := w.ReadRejected(ctx)
	if err != nil {
		t.Fatalf("ReadRejected: %v", err)
	}
	sortRejected(gotRejected)
	if !reflect.DeepEqual(gotRejected, rejected) {
		t.Fatalf("rejected rows read back differ:\n got %+v\nwant %+v", first(gotRejected), first(rejected))
	}

	// The sample sessions straddle midnight UTC: two day partitions.
	var days []string
	for _, f := range tableFiles(t, w, TableSessions, "data") {
		day, _, _ := strings.Cut(f, "/")
		if len(days) == 0 || days[len(days)-1] != day {
			days = append(days, day)
		}
	}
	if want := []string{"session_start_day=2024-03-09", "session_start_day=2024-03-10"}; !reflect.DeepEqual(days, want) {
		t.Fatalf("sessions partitions = %v, want %v", days, want)
	}
	for _, f := range tableFiles(t, w, TableSessions, "data") {
		if !strings.HasSuffix(f, ".parquet") {
			t.Fatalf("unexpected data file %s", f)
		}
		assertZstd(t, "data/"+f, tableFile(t, w, TableSessions, "data/"+f))
	}
}

// TestSessionTimesWithoutDictionary: a commit of many sessions writes
// their times plain. A time to the millisecond is close to unique within a
// file, and before the properties said so, arrow-go hashed every end time
// and duration into a dictionary it kept.
func TestSessionTimesWithoutDictionary(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	w, err := Open(ctx, Config{Warehouse: t.TempDir()}, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	if _, err := w.Commit(ctx, Commit{Table: TableSessions, Sessions: sampleSessions(10_000, "plain"), ExpectParentSnapshotID: NoSnapshot}); err != nil {
		t.Fatal(err)
	}
	for _, f := range tableFiles(t, w, TableSessions, "data") {
		assertZstd(t, "data/"+f, tableFile(t, w, TableSessions, "data/"+f))
	}
}

// assertZstd fails unless every column chunk of a Parquet file is zstd
// compressed (the table property write.parquet.compression-codec), and
// unless session_id and the session's times, columns of distinct values,
// are written without a dictionary while end_reason, of three values, has
// one in a row group of some size
// (write.parquet.dict-encoding-enabled.column.*).
func assertZstd(t *testing.T, path string, f parquet.ReaderAtSeeker) {
	t.Helper()
	noDictionary := map[string]bool{"session_id": true, "session_start_time_ms": true, "session_end_time_ms": true,
		"session_duration_seconds": true, "session_start": true}
	r, err := file.NewParquetReader(f)
	if err != nil {
		t.Fatalf("open %s: %v", path, err)
	}
	defer r.Close()
	md := r.MetaData()
	for rg := range md.NumRowGroups() {
		rgm := md.RowGroup(rg)
		for c := range rgm.NumColumns() {
			cc, err := rgm.ColumnChunk(c)
			if err != nil {
				t.Fatalf("%s: column chunk %d: %v", path, c, err)
			}
			if cc.Compression() != compress.Codecs.Zstd {
				t.Fatalf("%s: column %d compressed with %v, want zstd", path, c, cc.Compression())
			}
			switch col := cc.PathInSchema().String(); {
			case noDictionary[col] && cc.HasDictionaryPage():
				t.Fatalf("%s: column %s has a dictionary page", path, col)
			case col == "end_reason" && rgm.NumRows() >= 50 && !cc.HasDictionaryPage():
				// (arrow-go may leave a column of a few rows plain)
				t.Fatalf("%s: column end_reason, three values in %d rows, has no dictionary page", path, rgm.NumRows())
			}
		}
	}
}

func first[T any](rows []T) any {
	if len(rows) == 0 {
		return nil
	}
	return rows[0]
}

// testPropertiesSurviveReopen: snapshot properties (the pipeline's offsets)
// are read back by a fresh Open, and the history lists every commit.
func testPropertiesSurviveReopen(t *testing.T, cfg Config) {
	ctx := testCtx(t)
	w := openWarehouse(t, cfg)
	parent := NoSnapshot
	for i := range 3 {
		s, err := w.Commit(ctx, Commit{
			Table:                  TableSessions,
			Sessions:               sampleSessions(10, "p"+strconv.Itoa(i)),
			Properties:             map[string]string{"sessionize.offsets": "0:" + strconv.Itoa(10*(i+1)), "sessionize.instance": "A"},
			ExpectParentSnapshotID: parent,
		})
		if err != nil {
			t.Fatalf("commit %d: %v", i, err)
		}
		parent = s.ID
	}
	if err := w.Close(); err != nil {
		t.Fatalf("close: %v", err)
	}

	w2 := openWarehouse(t, cfg)
	cur, ok, err := w2.Current(ctx, TableSessions)
	if err != nil || !ok {
		t.Fatalf("Current after reopen: ok=%t err=%v", ok, err)
	}
	if cur.ID != parent || cur.Summary["sessionize.offsets"] != "0:30" || cur.Summary["sessionize.instance"] != "A" {
		t.Fatalf("current after reopen = %+v, want id %d with offsets 0:30", cur, parent)
	}
	if cur.Summary[CommitIDProperty] == "" || cur.Summary["operation"] != "append" {
		t.Fatalf("summary lacks commit id or operation: %v", cur.Summary)
	}
	hist, err := w2.Snapshots(ctx, TableSessions)
	if err != nil {
		t.Fatalf("Snapshots: %v", err)
	}
	if len(hist) != 3 {
		t.Fatalf("history has %d snapshots, want 3", len(hist))
	}
	for i, s := range hist {
		want := "0:" + strconv.Itoa(10*(3-i))
		if s.Summary["sessionize.offsets"] != want {
			t.Fatalf("history[%d] offsets = %q, want %q (newest first)", i, s.Summary["sessionize.offsets"], want)
		}
		if i+1 < len(hist) && s.ParentID != hist[i+1].ID {
			t.Fatalf("history[%d].ParentID = %d, want %d", i, s.ParentID, hist[i+1].ID)
		}
	}
	if hist[2].ParentID != NoSnapshot {
		t.Fatalf("oldest snapshot parent = %d, want NoSnapshot", hist[2].ParentID)
	}
}

// testEmptyCommit: a commit with no rows still makes a snapshot carrying
// its properties, on an empty table and on one with data, and keeps the
// data.
func testEmptyCommit(t *testing.T, cfg Config) {
	ctx := testCtx(t)
	w := openWarehouse(t, cfg)

	e1, err := w.Commit(ctx, Commit{Table: TableLate, ExpectParentSnapshotID: NoSnapshot,
		Properties: map[string]string{"sessionize.offsets": "0:5"}})
	if err != nil {
		t.Fatalf("empty commit on empty table: %v", err)
	}
	if e1.Summary["sessionize.offsets"] != "0:5" || e1.Summary["added-data-files"] != "" && e1.Summary["added-data-files"] != "0" {
		t.Fatalf("empty snapshot summary = %v", e1.Summary)
	}
	late := sampleLate(3)
	d, err := w.Commit(ctx, Commit{Table: TableLate, Late: late, ExpectParentSnapshotID: e1.ID})
	if err != nil {
		t.Fatalf("data commit: %v", err)
	}
	e2, err := w.Commit(ctx, Commit{Table: TableLate, ExpectParentSnapshotID: d.ID,
		Properties: map[string]string{"sessionize.offsets": "0:9"}})
	if err != nil {
		t.Fatalf("empty commit after data: %v", err)
	}
	if e2.ParentID != d.ID || e2.Summary["total-records"] != "3" {
		t.Fatalf("empty commit after data = %+v", e2)
	}
	cur, _, err := w.Current(ctx, TableLate)
	if err != nil || cur.ID != e2.ID || cur.Summary["sessionize.offsets"] != "0:9" {
		t.Fatalf("Current = %+v, %v; want the empty snapshot %d", cur, err, e2.ID)
	}
	got, err := w.ReadLate(ctx)
	if err != nil {
		t.Fatalf("ReadLate: %v", err)
	}
	sortLate(got)
	if !reflect.DeepEqual(got, late) {
		t.Fatalf("rows after empty commit differ: %+v", got)
	}
}

// testConflict: two Warehouse values (as two processes would have). A
// commits; B, still expecting the old parent, gets ErrConflict, its files
// are gone and no row is duplicated. The catalog-side check is exercised
// too: B's stale view is injected after the pre-write check, so only the
// catalog's requirement can catch it.
func testConflict(t *testing.T, cfg Config) {
	ctx := testCtx(t)
	a := openWarehouse(t, cfg)
	b := openWarehouse(t, cfg)

	base, err := a.Commit(ctx, Commit{Table: TableSessions, Sessions: sampleSessions(20, "base"), ExpectParentSnapshotID: NoSnapshot})
	if err != nil {
		t.Fatalf("base commit: %v", err)
	}
	if _, err := a.Commit(ctx, Commit{Table: TableSessions, Sessions: sampleSessions(10, "a"), ExpectParentSnapshotID: base.ID}); err != nil {
		t.Fatalf("A's commit: %v", err)
	}
	before := tableFiles(t, a, TableSessions, "")

	// Seen before writing.
	_, err = b.Commit(ctx, Commit{Table: TableSessions, Sessions: sampleSessions(10, "b"), ExpectParentSnapshotID: base.ID})
	if !errors.Is(err, ErrConflict) {
		t.Fatalf("B's stale commit: err = %v, want ErrConflict", err)
	}
	if after := tableFiles(t, a, TableSessions, ""); !reflect.DeepEqual(after, before) {
		t.Fatalf("B's refused commit changed the table's files:\nbefore %v\nafter  %v", before, after)
	}

	// Seen only by the catalog: B loads the table and passes the pre-write
	// check, writes its files and stages its snapshot; then A commits;
	// then B's commit reaches the catalog, which must refuse it.
	b.beforeCatalogCommit = func() {
		if _, err := a.Commit(ctx, Commit{Table: TableSessions, Sessions: sampleSessions(5, "a2"),
			ExpectParentSnapshotID: mustCurrentID(t, a, TableSessions)}); err != nil {
			t.Errorf("A's racing commit: %v", err)
		}
	}
	_, err = b.Commit(ctx, Commit{Table: TableSessions, Sessions: sampleSessions(10, "b2"),
		ExpectParentSnapshotID: mustCurrentID(t, b, TableSessions)})
	b.beforeCatalogCommit = nil
	if !errors.Is(err, ErrConflict) {
		t.Fatalf("B's raced commit: err = %v, want ErrConflict", err)
	}
	t.Logf("catalog-side conflict: %v", err)
	// B's data files, manifests and manifest list must all be gone: every
	// file left in the table directory is referenced by some snapshot.
	assertNoOrphanFiles(t, a, TableSessions)

	rows, err := a.ReadSessions(ctx)
	if err != nil {
		t.Fatalf("ReadSessions: %v", err)
	}
	ids := map[string]int{}
	for _, r := range rows {
		ids[r.SessionID]++
		if strings.HasPrefix(r.SessionID, "b-") || strings.HasPrefix(r.SessionID, "b2-") {
			t.Fatalf("B's refused rows are in the table: %s", r.SessionID)
		}
	}
	for id, n := range ids {
		if n != 1 {
			t.Fatalf("session %s appears %d times", id, n)
		}
	}
	if len(rows) != 35 {
		t.Fatalf("table has %d rows, want 35 (20 base + 10 A + 5 A)", len(rows))
	}
}

// testRacingWriters: two writers (two Warehouse values) race for real, each
// reloading the head and committing on top of it until it has landed
// commitsEach commits. Every commit either lands once or fails with
// ErrConflict and leaves nothing behind: the table ends with exactly the
// landed rows and no orphan files.
func testRacingWriters(t *testing.T, cfg Config) {
	ctx := testCtx(t)
	const commitsEach, rowsPerCommit = 8, 5
	writers := []*Warehouse{openWarehouse(t, cfg), openWarehouse(t, cfg)}
	conflicts := make([]int, len(writers))
	var wg sync.WaitGroup
	for wi, w := range writers {
		wg.Go(func() {
			for landed, attempt := 0, 0; landed < commitsEach; attempt++ {
				if attempt > 200 {
					t.Errorf("writer %d: no progress after %d attempts", wi, attempt)
					return
				}
				head := mustCurrentID(t, w, TableSessions)
				tag := fmt.Sprintf("w%d-c%d", wi, landed)
				_, err := w.Commit(ctx, Commit{Table: TableSessions, Sessions: sampleSessions(rowsPerCommit, tag),
					ExpectParentSnapshotID: head, Properties: map[string]string{"writer": strconv.Itoa(wi)}})
				switch {
				case err == nil:
					landed++
				case errors.Is(err, ErrConflict):
					conflicts[wi]++
				default:
					t.Errorf("writer %d: %v", wi, err)
					return
				}
			}
		})
	}
	wg.Wait()
	if t.Failed() {
		return
	}
	t.Logf("conflicts per writer: %v", conflicts)
	rows, err := writers[0].ReadSessions(ctx)
	if err != nil {
		t.Fatalf("ReadSessions: %v", err)
	}
	if want := len(writers) * commitsEach * rowsPerCommit; len(rows) != want {
		t.Fatalf("table has %d rows, want %d", len(rows), want)
	}
	seen := map[string]bool{}
	for _, r := range rows {
		if seen[r.SessionID] {
			t.Fatalf("duplicate row %s", r.SessionID)
		}
		seen[r.SessionID] = true
	}
	hist, err := writers[1].Snapshots(ctx, TableSessions)
	if err != nil {
		t.Fatalf("Snapshots: %v", err)
	}
	if len(hist) != len(writers)*commitsEach {
		t.Fatalf("history has %d snapshots, want %d", len(hist), len(writers)*commitsEach)
	}
	assertNoOrphanFiles(t, writers[0], TableSessions)
}

// testUnknownOutcome: a commit whose answer is lost after the catalog
// recorded it (FaultInjector.AfterCommit) is ErrCommitUnknown, never a
// conflict, and its snapshot is in the table under its commit id; a
// commit that failed before the catalog recorded it (BeforeCommit) is
// ErrCommitUnknown too and the table has not moved. Either way the caller
// settles it by reloading, as the pipeline does.
func testUnknownOutcome(t *testing.T, cfg Config) {
	ctx := testCtx(t)
	var lose, fail atomic.Bool
	cfg.Faults = &FaultInjector{
		BeforeCommit: func(context.Context, string) error {
			if fail.Load() {
				return errors.New("connection reset")
			}
			return nil
		},
		AfterCommit: func(context.Context, string) error {
			if lose.Load() {
				return errors.New("connection reset")
			}
			return nil
		},
	}
	w := openWarehouse(t, cfg)
	base, err := w.Commit(ctx, Commit{Table: TableSessions, Sessions: sampleSessions(4, "base"), ExpectParentSnapshotID: NoSnapshot})
	if err != nil {
		t.Fatal(err)
	}

	lose.Store(true)
	_, err = w.Commit(ctx, Commit{Table: TableSessions, Sessions: sampleSessions(3, "lost"), ExpectParentSnapshotID: base.ID,
		Properties: map[string]string{"sessionize.test": "lost"}})
	lose.Store(false)
	if !errors.Is(err, ErrCommitUnknown) || errors.Is(err, ErrConflict) {
		t.Fatalf("answer lost: err = %v, want ErrCommitUnknown", err)
	}
	head, ok, err := w.Current(ctx, TableSessions)
	if err != nil || !ok || head.ID == base.ID || head.Summary["sessionize.test"] != "lost" || head.Summary[CommitIDProperty] == "" {
		t.Fatalf("after a lost answer the head is %+v (%v); want the lost commit's snapshot", head, err)
	}
	if _, err := w.Commit(ctx, Commit{Table: TableSessions, ExpectParentSnapshotID: base.ID}); !errors.Is(err, ErrConflict) {
		t.Fatalf("retry on the old parent after the commit landed: err = %v, want ErrConflict", err)
	}

	fail.Store(true)
	_, err = w.Commit(ctx, Commit{Table: TableSessions, Sessions: sampleSessions(2, "failed"), ExpectParentSnapshotID: head.ID})
	fail.Store(false)
	if !errors.Is(err, ErrCommitUnknown) || errors.Is(err, ErrConflict) {
		t.Fatalf("failed call: err = %v, want ErrCommitUnknown", err)
	}
	if got := mustCurrentID(t, w, TableSessions); got != head.ID {
		t.Fatalf("a call that failed before the catalog moved the table to %d", got)
	}
	rows, err := w.ReadSessions(ctx)
	if err != nil || len(rows) != 7 {
		t.Fatalf("%d rows (%v), want the 4 + 3 committed", len(rows), err)
	}
}
