package iceberg

import (
	"encoding/json"
	"fmt"
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/sessionize/sessionize/internal/testservers"
)

// readWithSpecReader returns the rows of table's current snapshot as the
// independent reader (testservers.ReadIcebergTable) finds them, one JSON
// object per row.
func readWithSpecReader(t *testing.T, w *Warehouse, table string) []string {
	t.Helper()
	d, err := w.Describe(testCtx(t), table)
	if err != nil {
		t.Fatal(err)
	}
	return testservers.ReadIcebergTable(t, testCtx(t), d.MetadataLocation)
}

// TestIndependentReaderReadsTheTables: engines other than iceberg-go
// (Spark, Trino, DuckDB, PyIceberg) read the tables users get. A reader
// that follows the spec with other libraries, over every table after
// appends, a compaction (manifests with deleted entries, rewritten files)
// and a replace of a range of sessions, finds the file sizes, record
// counts and Parquet field ids the manifests promise, and the same rows as
// our own reader.
func TestIndependentReaderReadsTheTables(t *testing.T) {
	ctx := testCtx(t)
	w := openWarehouse(t, Config{Warehouse: t.TempDir(), EventsTable: true})

	commit := func(c Commit) {
		t.Helper()
		cur, ok, err := w.Current(ctx, c.Table)
		if err != nil {
			t.Fatal(err)
		}
		c.ExpectParentSnapshotID = NoSnapshot
		if ok {
			c.ExpectParentSnapshotID = cur.ID
		}
		if _, err := w.Commit(ctx, c); err != nil {
			t.Fatalf("commit to %s: %v", c.Table, err)
		}
	}
	for i, tag := range []string{"a", "b", "c"} {
		sessions := sampleSessions(120+10*i, tag)
		sessions[3].PagesVisited = []string{} // an empty list
		sessions[4].UUID = `user "quoted" \ ünïcode`
		commit(Commit{Table: TableSessions, Sessions: sessions})
		commit(Commit{Table: TableLate, Late: sampleLate(20 + i)})
		commit(Commit{Table: TableRejected, Rejected: sampleRejected(15 + i)})
		commit(Commit{Table: TableEvents, Events: sampleEvents(40+i, tag)})
	}
	rep, err := w.Maintain(ctx, MaintainOptions{MinInputFiles: 2, SkipExpiry: true, SkipOrphans: true, SkipCheckpoints: true})
	if err != nil {
		t.Fatalf("maintain: %v", err)
	}
	for _, tm := range rep.Tables { // the reader is to see rewritten files and deleted entries
		if tm.RewrittenFiles == 0 {
			t.Fatalf("maintenance compacted nothing in %s: %+v", tm.Table, tm)
		}
	}
	// The sample sessions start a second apart from baseMs: replace the
	// ones of its 30th to 60th second.
	replace := sampleSessions(10, "r")
	for i := range replace {
		replace[i].SessionStartTimeMs = baseMs + 30_000 + int64(i)*1000
		replace[i].SessionEndTimeMs = replace[i].SessionStartTimeMs
	}
	commit(Commit{Table: TableSessions, Sessions: replace, Replace: &StartRange{FromMs: baseMs + 30_000, ToMs: baseMs + 60_000}})

	t.Run(TableSessions, func(t *testing.T) {
		ours, err := w.ReadSessions(ctx)
		if err != nil {
			t.Fatal(err)
		}
		var theirs []SessionRow
		for _, line := range readWithSpecReader(t, w, TableSessions) {
			var r SessionRow
			var derived struct {
				Start string `json:"session_start"`
			}
			if err := json.Unmarshal([]byte(line), &r); err != nil {
				t.Fatalf("%v: %s", err, line)
			}
			if err := json.Unmarshal([]byte(line), &derived); err != nil {
				t.Fatal(err)
			}
			// DuckDB writes a timestamptz as "2024-03-09 23:59:00.5+00".
			want := time.UnixMilli(r.SessionStartTimeMs).UTC().Format("2006-01-02 15:04:05.999") + "+00"
			if derived.Start != want {
				t.Fatalf("session_start %q of a session starting at %d ms, want %q", derived.Start, r.SessionStartTimeMs, want)
			}
			if r.PagesVisited == nil {
				r.PagesVisited = []string{}
			}
			theirs = append(theirs, r)
		}
		for i := range ours {
			if ours[i].PagesVisited == nil {
				ours[i].PagesVisited = []string{}
			}
		}
		sortSessions(ours)
		sortSessions(theirs)
		// 390 appended, 30 of each of the three commits in the range, 10
		// put in their place.
		if want := 390 - 3*30 + 10; len(ours) != want {
			t.Fatalf("our reader found %d sessions, want %d", len(ours), want)
		}
		if !reflect.DeepEqual(theirs, ours) {
			t.Fatalf("the independent reader found %d sessions, ours %d; first theirs %+v, ours %+v", len(theirs), len(ours), first(theirs), first(ours))
		}
	})
	t.Run(TableLate, func(t *testing.T) {
		ours, err := w.ReadLate(ctx)
		if err != nil {
			t.Fatal(err)
		}
		compareRows(t, readWithSpecReader(t, w, TableLate), ours, func(r LateRow) map[string]any {
			return map[string]any{"raw": r.Raw, "topic": r.Topic, "partition": r.Partition, "offset": r.Offset,
				"kafka_timestamp_ms": r.KafkaTimestampMs, "watermark_ms": r.WatermarkMs, "reason": LateReason,
				"event_id": r.EventID, "uuid": r.UUID, "event_timestamp_ms": r.EventTimestampMs,
				"kafka_timestamp": duckTimestamp(r.KafkaTimestampMs)}
		})
	})
	t.Run(TableRejected, func(t *testing.T) {
		ours, err := w.ReadRejected(ctx)
		if err != nil {
			t.Fatal(err)
		}
		compareRows(t, readWithSpecReader(t, w, TableRejected), ours, func(r RejectedRow) map[string]any {
			return map[string]any{"raw": r.Raw, "reason": r.Reason, "topic": r.Topic, "partition": r.Partition, "offset": r.Offset,
				"kafka_timestamp_ms": r.KafkaTimestampMs, "watermark_ms": r.WatermarkMs, "kafka_timestamp": duckTimestamp(r.KafkaTimestampMs)}
		})
	})
	t.Run(TableEvents, func(t *testing.T) {
		ours, err := w.ReadEvents(ctx)
		if err != nil {
			t.Fatal(err)
		}
		compareRows(t, readWithSpecReader(t, w, TableEvents), ours, func(r EventRow) map[string]any {
			return map[string]any{"session_id": r.SessionID, "event_index": r.EventIndex, "session_start_time_ms": r.SessionStartTimeMs,
				"uuid": r.UUID, "event_id": r.EventID, "event_timestamp_ms": r.EventTimestampMs, "page_name": r.PageName,
				"raw": r.Raw, "partition": r.Partition, "offset": r.Offset, SessionStartColumn: duckTimestamp(r.SessionStartTimeMs)}
		})
	})
}

// TestIndependentReaderChecksUUIDBuckets: with --uuid-buckets the sessions
// are also partitioned by bucket(N, uuid), and an engine prunes a query on
// one user to one bucket: the reader computes each row's bucket with the
// spec's murmur3 and finds it equal to its file's partition value.
func TestIndependentReaderChecksUUIDBuckets(t *testing.T) {
	w := openWarehouse(t, Config{Warehouse: t.TempDir(), UUIDBuckets: 4})
	sessions := sampleSessions(300, "a")
	sessions[7].UUID = "ünïcode user ✓"
	if _, err := w.Commit(testCtx(t), Commit{Table: TableSessions, Sessions: sessions, ExpectParentSnapshotID: NoSnapshot}); err != nil {
		t.Fatal(err)
	}
	if n := len(tableFiles(t, w, TableSessions, "data")); n < 4 {
		t.Fatalf("%d data files: the sessions did not spread over the buckets", n)
	}
	if rows := readWithSpecReader(t, w, TableSessions); len(rows) != len(sessions) {
		t.Fatalf("the independent reader found %d sessions, want %d", len(rows), len(sessions))
	}
}

// TestIndependentReaderReadsAddedAttributes: a --session-attr added by a
// later run evolves the sessions table's schema; the files written before
// have no such column, which the spec reads as null (the column is
// optional), and the reader finds every value where it was written.
func TestIndependentReaderReadsAddedAttributes(t *testing.T) {
	w2, _ := attrsAddedLater(t, t.TempDir())
	got := map[string]string{}
	for _, line := range readWithSpecReader(t, w2, TableSessions) {
		var r struct {
			ID        string   `json:"session_id"`
			Converted *bool    `json:"converted"`
			Revenue   *float64 `json:"revenue"`
			Product   *string  `json:"product"`
		}
		if err := json.Unmarshal([]byte(line), &r); err != nil {
			t.Fatal(err)
		}
		got[r.ID] = fmt.Sprintf("%s|%s|%s", deref(r.Converted), deref(r.Revenue), deref(r.Product))
	}
	want := map[string]string{
		"a-session-000000": "false|0|null", "a-session-000001": "true|10.5|null", "a-session-000002": "false|null|null",
		"b-session-000000": "true|1|hotel",
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("the independent reader found %v, want %v", got, want)
	}
}

func deref[T any](p *T) string {
	if p == nil {
		return "null"
	}
	return fmt.Sprint(*p)
}

// duckTimestamp is how DuckDB's to_json writes a timestamptz of ms.
func duckTimestamp(ms int64) string {
	return time.UnixMilli(ms).UTC().Format("2006-01-02 15:04:05.999") + "+00"
}

// compareRows checks that the reader's JSON rows are ours, in any order:
// each of ours as the JSON object asJSON makes of it.
func compareRows[R any](t *testing.T, theirs []string, ours []R, asJSON func(R) map[string]any) {
	t.Helper()
	canon := func(v any) string {
		b, err := json.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		var m map[string]any // a map: keys sorted when marshalled again
		if err := json.Unmarshal(b, &m); err != nil {
			t.Fatal(err)
		}
		b, _ = json.Marshal(m)
		return string(b)
	}
	want := make([]string, len(ours))
	for i, r := range ours {
		want[i] = canon(asJSON(r))
	}
	got := make([]string, len(theirs))
	for i, line := range theirs {
		got[i] = canon(json.RawMessage(line))
	}
	slices.Sort(want)
	slices.Sort(got)
	if len(want) == 0 {
		t.Fatal("our reader found no rows: nothing to compare")
	}
	if !slices.Equal(got, want) {
		for i := range min(len(got), len(want)) {
			if got[i] != want[i] {
				t.Fatalf("the independent reader found %d rows, ours %d; first difference:\ntheirs %s\nours   %s", len(got), len(want), got[i], want[i])
			}
		}
		t.Fatalf("the independent reader found %d rows, ours %d", len(got), len(want))
	}
}
