package iceberg

import (
	"errors"
	"fmt"
	"path/filepath"
	"testing"
)

// TestCommitReplace: a commit with Replace deletes exactly the sessions
// starting in the range, rewriting a file that has rows on both sides,
// and appends its rows, in one snapshot that is pinned to its parent.
func TestCommitReplace(t *testing.T) {
	t.Parallel()
	ctx := testCtx(t)
	w := openWarehouse(t, Config{Warehouse: filepath.Join(t.TempDir(), "wh")})

	// A replace on a table with no snapshot is a plain append.
	fresh := sampleSessions(100, "old")
	first, err := w.Commit(ctx, Commit{Table: TableSessions, Sessions: fresh, ExpectParentSnapshotID: NoSnapshot,
		Replace: &StartRange{FromMs: 0, ToMs: 1}})
	if err != nil {
		t.Fatal(err)
	}
	r := StartRange{FromMs: baseMs + 10_000, ToMs: baseMs + 30_000} // inside the first day's file
	var ids []string
	var events int64
	if err := w.SessionStarts(ctx, first.ID, r, func(id string, startMs, n int64) {
		if !r.Contains(startMs) {
			t.Errorf("session %s starts at %d, outside %s", id, startMs, r)
		}
		ids = append(ids, id)
		events += n
	}); err != nil {
		t.Fatal(err)
	}
	if len(ids) != 20 {
		t.Fatalf("SessionStarts found %d sessions in %s, want 20", len(ids), r)
	}
	var want int64
	for _, s := range fresh[10:30] {
		want += s.EventCount
	}
	if events != want {
		t.Fatalf("SessionStarts: %d events, want %d", events, want)
	}

	repl := sampleSessions(5, "new")
	for i := range repl {
		repl[i].SessionStartTimeMs = r.FromMs + int64(i)*100
	}
	snap, err := w.Commit(ctx, Commit{Table: TableSessions, Sessions: repl, ExpectParentSnapshotID: first.ID, Replace: &r,
		Properties: map[string]string{"sessionize.test": "x"}})
	if err != nil {
		t.Fatal(err)
	}
	if op := snap.Summary["operation"]; op != "overwrite" || snap.Summary["sessionize.test"] != "x" || snap.Summary[CommitIDProperty] == "" {
		t.Fatalf("replace snapshot summary: %v", snap.Summary)
	}
	rows, err := w.ReadSessions(ctx)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]bool{}
	for _, row := range rows {
		got[row.SessionID] = true
	}
	if len(rows) != 85 || len(got) != 85 {
		t.Fatalf("after the replace: %d rows (%d ids), want 100 - 20 + 5", len(rows), len(got))
	}
	for i := range 100 {
		id := fmt.Sprintf("old-session-%06d", i)
		if got[id] == (i >= 10 && i < 30) {
			t.Errorf("session %s: in the table %v", id, got[id])
		}
	}
	for _, s := range repl {
		if !got[s.SessionID] {
			t.Errorf("replacing session %s missing", s.SessionID)
		}
	}

	// Pinned to the parent like every commit.
	if _, err := w.Commit(ctx, Commit{Table: TableSessions, Sessions: repl, ExpectParentSnapshotID: first.ID, Replace: &r}); !errors.Is(err, ErrConflict) {
		t.Fatalf("replace on a stale parent: %v, want ErrConflict", err)
	}
	if _, err := w.Commit(ctx, Commit{Table: TableLate, ExpectParentSnapshotID: NoSnapshot, Replace: &r}); err == nil {
		t.Fatal("replace accepted for late_events")
	}
}
