package iceberg

import (
	"errors"
	"strings"
	"testing"
)

// Malformed commits are refused before anything is written.
func TestCommitValidation(t *testing.T) {
	t.Parallel()
	ctx := testCtx(t)
	w := openWarehouse(t, Config{Warehouse: t.TempDir()})
	bad := map[string]Commit{
		"unknown table":   {Table: "nope", ExpectParentSnapshotID: NoSnapshot},
		"wrong row kind":  {Table: TableSessions, Late: sampleLate(1), ExpectParentSnapshotID: NoSnapshot},
		"two row kinds":   {Table: TableLate, Late: sampleLate(1), Rejected: sampleRejected(1), ExpectParentSnapshotID: NoSnapshot},
		"zero parent":     {Table: TableSessions},
		"reserved prop":   {Table: TableSessions, ExpectParentSnapshotID: NoSnapshot, Properties: map[string]string{CommitIDProperty: "x"}},
		"empty prop name": {Table: TableSessions, ExpectParentSnapshotID: NoSnapshot, Properties: map[string]string{"": "x"}},
	}
	for name, c := range bad {
		if _, err := w.Commit(ctx, c); err == nil || errors.Is(err, ErrConflict) {
			t.Errorf("%s: err = %v, want a validation error", name, err)
		}
	}
	if id := mustCurrentID(t, w, TableSessions); id != NoSnapshot {
		t.Fatalf("a refused commit created snapshot %d", id)
	}
	// A table that has a snapshot refuses "must be empty".
	s, err := w.Commit(ctx, Commit{Table: TableSessions, ExpectParentSnapshotID: NoSnapshot})
	if err != nil {
		t.Fatalf("empty commit: %v", err)
	}
	if _, err := w.Commit(ctx, Commit{Table: TableSessions, ExpectParentSnapshotID: NoSnapshot}); !errors.Is(err, ErrConflict) {
		t.Fatalf("expecting no snapshot on a table at %d: err = %v, want ErrConflict", s.ID, err)
	}
	if _, _, err := w.Current(ctx, "nope"); err == nil {
		t.Fatalf("Current of an unknown table succeeded")
	}
}

// A raw record value that is not UTF-8 is stored with U+FFFD in place of the
// bad bytes, and the row still round-trips.
func TestRawInvalidUTF8(t *testing.T) {
	t.Parallel()
	ctx := testCtx(t)
	w := openWarehouse(t, Config{Warehouse: t.TempDir()})
	rows := sampleRejected(2)
	rows[0].Raw = "ok\xff\xfebytes"
	rows[1].Raw = "plain ünïcödé"
	if _, err := w.Commit(ctx, Commit{Table: TableRejected, Rejected: rows, ExpectParentSnapshotID: NoSnapshot}); err != nil {
		t.Fatalf("commit: %v", err)
	}
	got, err := w.ReadRejected(ctx)
	if err != nil {
		t.Fatalf("read: %v", err)
	}
	sortRejected(got)
	if got[0].Raw != "ok\uFFFDbytes" || got[1].Raw != rows[1].Raw {
		t.Fatalf("raw values read back: %q, %q", got[0].Raw, got[1].Raw)
	}
	if !strings.Contains(got[0].Raw, "bytes") {
		t.Fatalf("valid bytes lost")
	}
}

// A catalog failure that is not a conflict (here: the database goes away
// mid-commit) must not be reported as a conflict, and the attempt's files
// are kept, since the outcome cannot be known.
func TestCommitUnknownOutcome(t *testing.T) {
	t.Parallel()
	ctx := testCtx(t)
	w := openWarehouse(t, Config{Warehouse: t.TempDir()})
	w.beforeCatalogCommit = func() { _ = w.conn.(*sqlConn).db.Close() }
	_, err := w.Commit(ctx, Commit{Table: TableSessions, Sessions: sampleSessions(3, "u"), ExpectParentSnapshotID: NoSnapshot})
	if !errors.Is(err, ErrCommitUnknown) || errors.Is(err, ErrConflict) {
		t.Fatalf("err = %v, want ErrCommitUnknown", err)
	}
	var parquet int
	for _, f := range listFiles(t, tableDir(w, TableSessions)) {
		if strings.HasSuffix(f, ".parquet") {
			parquet++
		}
	}
	if parquet == 0 {
		t.Fatalf("the data files of a commit with unknown outcome were deleted")
	}
}
