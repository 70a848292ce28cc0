package iceberg

import (
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
)

// sessionsOverDays commits perDay sessions on each of days consecutive UTC
// days, one commit per day, and returns the first day's midnight.
func sessionsOverDays(t *testing.T, w *Warehouse, days, perDay int) time.Time {
	t.Helper()
	ctx := testCtx(t)
	day0 := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	parent := NoSnapshot
	for d := range days {
		rows := sampleSessions(perDay, "day"+string(rune('a'+d)))
		for i := range rows {
			// Spread over the day, first and last millisecond included.
			start := day0.AddDate(0, 0, d).UnixMilli() + int64(i)*(24*3600_000-1)/int64(max(perDay-1, 1))
			rows[i].SessionEndTimeMs += start - rows[i].SessionStartTimeMs
			rows[i].SessionStartTimeMs = start
		}
		s, err := w.Commit(ctx, Commit{Table: TableSessions, Sessions: rows, ExpectParentSnapshotID: parent})
		if err != nil {
			t.Fatalf("commit day %d: %v", d, err)
		}
		parent = s.ID
	}
	return day0
}

// A window is pushed into the scan: only the data files of the days it
// covers are opened, and exactly the rows with from <= start < to come
// back, at millisecond precision at both ends.
func TestScanWindowPrunesDayPartitions(t *testing.T) {
	t.Parallel()
	ctx := testCtx(t)
	w := openWarehouse(t, Config{Warehouse: t.TempDir()})
	const days, perDay = 5, 40
	day0 := sessionsOverDays(t, w, days, perDay)
	ms := func(tm time.Time) int64 { return tm.UnixMilli() }

	cases := []struct {
		name      string
		from, to  time.Time
		wantFiles int64
	}{
		{"open", time.Time{}, time.Time{}, days},
		{"one day", day0.AddDate(0, 0, 2), day0.AddDate(0, 0, 3), 1},
		{"from only", day0.AddDate(0, 0, 3), time.Time{}, 2},
		{"to only", time.Time{}, day0.AddDate(0, 0, 1), 1},
		// Mid-day bounds with sub-millisecond parts: two partial days.
		{"partial days", day0.AddDate(0, 0, 1).Add(6*time.Hour + 500*time.Microsecond), day0.AddDate(0, 0, 2).Add(time.Hour + 999*time.Microsecond), 2},
		{"before the data", day0.AddDate(0, 0, -3), day0.AddDate(0, 0, -1), 0},
	}
	all, err := w.ReadSessions(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var want int64
			for _, r := range all {
				if (tc.from.IsZero() || r.SessionStartTimeMs >= ms(tc.from)) && (tc.to.IsZero() || r.SessionStartTimeMs < ms(tc.to)) {
					want++
				}
			}
			var got int64
			stats, err := w.Scan(ctx, TableSessions, ScanOptions{From: tc.from, To: tc.to, Columns: []string{"session_start_time_ms"}},
				func(rec arrow.RecordBatch) error {
					return VisitSessions(rec, []string{"session_start_time_ms"}, func(r *SessionRow) {
						if (!tc.from.IsZero() && r.SessionStartTimeMs < ms(tc.from)) || (!tc.to.IsZero() && r.SessionStartTimeMs >= ms(tc.to)) {
							t.Errorf("row outside the window: start %d", r.SessionStartTimeMs)
						}
						got++
					})
				})
			if err != nil {
				t.Fatal(err)
			}
			if got != want || stats.Rows != want {
				t.Errorf("rows = %d (stats %d), want %d", got, stats.Rows, want)
			}
			if stats.Files != tc.wantFiles {
				t.Errorf("files opened = %d, want %d of %d (partition pruning)", stats.Files, tc.wantFiles, days)
			}
		})
	}
}

// Only the selected columns are decoded and handed over.
func TestScanSelectsColumns(t *testing.T) {
	t.Parallel()
	ctx := testCtx(t)
	w := openWarehouse(t, Config{Warehouse: t.TempDir()})
	sessionsOverDays(t, w, 2, 10)
	_, err := w.Scan(ctx, TableSessions, ScanOptions{Columns: []string{"uuid", "event_count"}}, func(rec arrow.RecordBatch) error {
		if n := rec.NumCols(); n != 2 {
			t.Errorf("record has %d columns (%v), want 2", n, rec.Schema())
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	// A required column the scan did not select is an error, not zeros.
	_, err = w.Scan(ctx, TableSessions, ScanOptions{Columns: []string{"uuid"}}, func(rec arrow.RecordBatch) error {
		return VisitSessions(rec, []string{"uuid", "event_count"}, func(*SessionRow) {})
	})
	if err == nil {
		t.Fatal("VisitSessions without a required column: no error")
	}
}

// The streaming aggregates agree with counting the rows read in full.
func TestAggregatesMatchFullReads(t *testing.T) {
	t.Parallel()
	ctx := testCtx(t)
	w := openWarehouse(t, Config{Warehouse: t.TempDir()})

	// Empty tables: zero, no error.
	if rows, events, err := w.SessionTotals(ctx); err != nil || rows != 0 || events != 0 {
		t.Fatalf("empty SessionTotals = %d, %d, %v", rows, events, err)
	}
	sessionsOverDays(t, w, 3, 25)
	late := sampleLate(30)
	if _, err := w.Commit(ctx, Commit{Table: TableLate, Late: late, ExpectParentSnapshotID: NoSnapshot}); err != nil {
		t.Fatal(err)
	}
	rejected := sampleRejected(17)
	rejected[3].Reason = "bad_timestamp"
	if _, err := w.Commit(ctx, Commit{Table: TableRejected, Rejected: rejected, ExpectParentSnapshotID: NoSnapshot}); err != nil {
		t.Fatal(err)
	}

	sessions, err := w.ReadSessions(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var wantEvents int64
	for _, s := range sessions {
		wantEvents += s.EventCount
	}
	rows, events, err := w.SessionTotals(ctx)
	if err != nil || rows != int64(len(sessions)) || events != wantEvents {
		t.Errorf("SessionTotals = %d rows, %d events, %v; want %d, %d", rows, events, err, len(sessions), wantEvents)
	}

	for _, tc := range []struct {
		table string
		parts []int32
	}{
		{TableLate, func() (p []int32) {
			for _, r := range late {
				p = append(p, r.Partition)
			}
			return p
		}()},
		{TableRejected, func() (p []int32) {
			for _, r := range rejected {
				p = append(p, r.Partition)
			}
			return p
		}()},
	} {
		want := map[int32]int64{}
		for _, p := range tc.parts {
			want[p]++
		}
		got, err := w.RowsByPartition(ctx, tc.table)
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != len(want) {
			t.Errorf("%s RowsByPartition = %v, want %v", tc.table, got, want)
		}
		for p, n := range want {
			if got[p] != n {
				t.Errorf("%s RowsByPartition = %v, want %v", tc.table, got, want)
			}
		}
	}
	if _, err := w.RowsByPartition(ctx, TableSessions); err == nil {
		t.Error("RowsByPartition(sessions): no error")
	}

	byReason, err := w.RejectedByReason(ctx)
	if err != nil || len(byReason) != 2 || byReason["unparsable"] != 16 || byReason["bad_timestamp"] != 1 {
		t.Errorf("RejectedByReason = %v, %v", byReason, err)
	}
}
