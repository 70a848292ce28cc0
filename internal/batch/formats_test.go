package batch

import (
	"encoding/csv"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"testing"
)

// TestInputFormatsGiveSameSessions: the same events as JSON lines, CSV and
// Parquet give identical sessions, and Parquet output holds the same
// sessions as JSON lines output.
func TestInputFormatsGiveSameSessions(t *testing.T) {
	dir := t.TempDir()
	evs := randomStream(rand.New(rand.NewPCG(5, 5)), 2000)

	jsonl := filepath.Join(dir, "in.jsonl")
	writeLines(t, jsonl, evs)

	csvPath := filepath.Join(dir, "in.csv")
	f, err := os.Create(csvPath)
	if err != nil {
		t.Fatal(err)
	}
	w := csv.NewWriter(f)
	w.Write([]string{"uuid", "event_timestamp", "event_id", "page_name", "booking_details"})
	var rows []testEventRow
	for _, e := range evs {
		ts := strconv.FormatInt(e.t, 10)
		w.Write([]string{e.uuid, ts, e.id, e.page, `{"price": 1, "note": "a, b"}`})
		rows = append(rows, testEventRow{UUID: e.uuid, EventID: e.id, PageName: e.page, TS: ts})
	}
	w.Flush()
	f.Close()
	pq := filepath.Join(dir, "in.parquet")
	if err := writeParquetEvents(pq, rows); err != nil {
		t.Fatal(err)
	}

	_, want := runBatch(t, Config{Inputs: []string{jsonl}, Output: filepath.Join(dir, "j.jsonl")})
	slices.Sort(want)
	for _, in := range []string{csvPath, pq} {
		sum, got := runBatch(t, Config{Inputs: []string{in}, Output: filepath.Join(dir, filepath.Base(in)+".out.jsonl")})
		slices.Sort(got)
		if !slices.Equal(got, want) || sum.RecordsRead != int64(len(evs)) {
			t.Fatalf("%s: %d sessions from %d records, JSON lines gave %d", in, len(got), sum.RecordsRead, len(want))
		}
	}

	out := filepath.Join(dir, "s.parquet")
	sum := runBatchNoRead(t, Config{Inputs: []string{jsonl}, Output: out})
	sessions, ids, err := readParquetSessions(out)
	if err != nil {
		t.Fatal(err)
	}
	if int64(len(sessions)) != sum.Sessions || len(ids) != len(sessions) {
		t.Fatalf("parquet output has %d sessions, summary says %d", len(sessions), sum.Sessions)
	}
	var fromParquet []string
	for i := range sessions {
		s := sessions[i]
		if ids[i] != s.ID() {
			t.Fatalf("session_id %s does not match its uuid and start", ids[i])
		}
		fromParquet = append(fromParquet, string(AppendSessionJSON(nil, &s)))
	}
	slices.Sort(fromParquet)
	if !slices.Equal(fromParquet, want) {
		t.Fatal("parquet output differs from JSON lines output")
	}
}

// runBatchNoRead runs batch for outputs that are not JSON lines.
func runBatchNoRead(t *testing.T, cfg Config) *Summary {
	t.Helper()
	cfg.Rules, cfg.Workers = defaultRulesForTest(), 2
	sum, err := Run(t.Context(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	return sum
}
