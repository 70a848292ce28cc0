package batch

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/arrow-go/v18/parquet/file"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"
)

// outputEvent is a row of --output-events.
type outputEvent struct {
	SessionID string `json:"session_id"`
	Index     int64  `json:"event_index"`
	Start     int64  `json:"session_start_time_ms"`
	UUID      string `json:"uuid"`
	EventID   string `json:"event_id"`
	Time      int64  `json:"event_timestamp"`
	Page      string `json:"page_name"`
	Raw       string `json:"raw"`
}

// readEvents reads an events file in either format.
func readEvents(t *testing.T, path string) []outputEvent {
	t.Helper()
	if !strings.HasSuffix(path, ".parquet") {
		return readJSONLines[outputEvent](t, path)
	}
	pf, err := file.OpenParquetFile(path, false)
	if err != nil {
		t.Fatal(err)
	}
	defer pf.Close()
	fr, err := pqarrow.NewFileReader(pf, pqarrow.ArrowReadProperties{BatchSize: 1000}, memory.DefaultAllocator)
	if err != nil {
		t.Fatal(err)
	}
	rr, err := fr.GetRecordReader(context.Background(), nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer rr.Release()
	var out []outputEvent
	for rr.Next() {
		var b bytes.Buffer
		if err := array.RecordToJSON(rr.RecordBatch(), &b); err != nil {
			t.Fatal(err)
		}
		dec := json.NewDecoder(&b)
		for dec.More() {
			var e outputEvent
			if err := dec.Decode(&e); err != nil {
				t.Fatal(err)
			}
			out = append(out, e)
		}
	}
	if err := rr.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// checkTagged is the events output's property: every event is in exactly
// one session row, under that row's session_id, user and start, at a
// distinct index, in session order, and each session row has exactly
// event_count events, the first at its start and the last at its end.
func checkTagged(t *testing.T, sessions []outputSession, events []outputEvent) {
	t.Helper()
	byID := map[string]*outputSession{}
	for i := range sessions {
		s := &sessions[i]
		if byID[s.ID] != nil {
			t.Fatalf("session id %s twice", s.ID)
		}
		byID[s.ID] = s
	}
	perSession := map[string][]outputEvent{}
	seen := map[[2]string]bool{}
	for _, e := range events {
		s := byID[e.SessionID]
		if s == nil {
			t.Fatalf("event %s has session_id %s, which no session row has", e.EventID, e.SessionID)
		}
		if e.UUID != s.UUID || e.Start != s.Start {
			t.Fatalf("event %+v is tagged with session %s of user %s starting %d", e, s.ID, s.UUID, s.Start)
		}
		k := [2]string{e.UUID, e.EventID}
		if seen[k] {
			t.Fatalf("event %v is in the events output twice", k)
		}
		seen[k] = true
		perSession[e.SessionID] = append(perSession[e.SessionID], e)
	}
	var total int64
	for id, s := range byID {
		evs := perSession[id]
		total += s.Count
		if int64(len(evs)) != s.Count {
			t.Fatalf("session %s has event_count %d but %d events", id, s.Count, len(evs))
		}
		slices.SortFunc(evs, func(a, b outputEvent) int { return int(a.Index - b.Index) })
		for i, e := range evs {
			if e.Index != int64(i) {
				t.Fatalf("session %s: indexes %v..., want 0..%d", id, e.Index, s.Count-1)
			}
			if i > 0 && (e.Time < evs[i-1].Time || e.Time == evs[i-1].Time && e.EventID < evs[i-1].EventID) {
				t.Fatalf("session %s: event %d is before event %d in session order", id, i, i-1)
			}
			if i < len(s.Pages) && e.Page != s.Pages[i] {
				t.Fatalf("session %s: event %d is on page %q, pages_visited says %q", id, i, e.Page, s.Pages[i])
			}
		}
		if evs[0].Time != s.Start || evs[len(evs)-1].Time != s.End {
			t.Fatalf("session %s spans %d..%d, its events %d..%d", id, s.Start, s.End, evs[0].Time, evs[len(evs)-1].Time)
		}
	}
	if total != int64(len(events)) {
		t.Fatalf("%d events, sessions count %d", len(events), total)
	}
}

// TestOutputEventsTagsEverySession: random inputs in one run, and the same
// split in two or three runs with --carry-open and --resume; JSON lines and
// Parquet. The property holds on each, the raw record is the input line of
// the event's first arrival, and the split runs tag the events exactly as
// one run does.
func TestOutputEventsTagsEverySession(t *testing.T) {
	r := rand.New(rand.NewPCG(13, 13))
	for iter := 0; iter < 12; iter++ {
		dir := t.TempDir()
		evs := randomStream(r, 50+r.IntN(400))
		all := filepath.Join(dir, "all.jsonl")
		writeLines(t, all, evs, "{broken")
		raw := map[[2]string]string{}
		for _, e := range evs {
			if _, ok := raw[[2]string{e.uuid, e.id}]; !ok {
				raw[[2]string{e.uuid, e.id}] = e.line()
			}
		}
		ext := []string{".jsonl", ".parquet"}[iter%2]
		cfg := Config{Inputs: []string{all}, Output: filepath.Join(dir, "all-out.jsonl"), OutputEvents: filepath.Join(dir, "all-events"+ext)}
		sum, _ := runBatch(t, cfg)
		sessions := readJSONLines[outputSession](t, cfg.Output)
		events := readEvents(t, cfg.OutputEvents)
		checkTagged(t, sessions, events)
		if int64(len(events)) != sum.EventsInSessions || int64(len(raw)) != sum.EventsInSessions {
			t.Fatalf("%d events written, %d distinct in the input, summary says %d in sessions", len(events), len(raw), sum.EventsInSessions)
		}
		for _, e := range events {
			if want := raw[[2]string{e.UUID, e.EventID}]; e.Raw != want {
				t.Fatalf("event %s raw %q, want %q", e.EventID, e.Raw, want)
			}
		}

		// The same input split by time over several runs.
		lo, hi := evs[0].t, evs[0].t
		for _, e := range evs {
			lo, hi = min(lo, e.t), max(hi, e.t)
		}
		cuts := []int64{lo + r.Int64N(hi-lo+1), lo + r.Int64N(hi-lo+1)}
		slices.Sort(cuts)
		cuts = append(cuts, hi+1)
		var splitSessions []outputSession
		var splitEvents []outputEvent
		state, from := "", int64(-1<<63)
		for k, cut := range cuts {
			var part []testEvent
			for _, e := range evs {
				if e.t >= from && e.t < cut {
					part = append(part, e)
				}
			}
			in := filepath.Join(dir, fmt.Sprintf("part%d.jsonl", k))
			writeLines(t, in, part)
			c := Config{Inputs: []string{in}, Output: filepath.Join(dir, fmt.Sprintf("out%d.jsonl", k)),
				OutputEvents: filepath.Join(dir, fmt.Sprintf("events%d%s", k, ext)), Resume: state}
			if k < len(cuts)-1 {
				c.CarryOpen = filepath.Join(dir, fmt.Sprintf("state%d", k))
			}
			runBatch(t, c)
			splitSessions = append(splitSessions, readJSONLines[outputSession](t, c.Output)...)
			splitEvents = append(splitEvents, readEvents(t, c.OutputEvents)...)
			state, from = c.CarryOpen, cut
		}
		checkTagged(t, splitSessions, splitEvents)
		key := func(e outputEvent) string { return fmt.Sprintf("%s/%d/%s/%s", e.SessionID, e.Index, e.EventID, e.Raw) }
		one, split := make([]string, len(events)), make([]string, len(splitEvents))
		for i, e := range events {
			one[i] = key(e)
		}
		for i, e := range splitEvents {
			split[i] = key(e)
		}
		slices.Sort(one)
		slices.Sort(split)
		if !slices.Equal(one, split) {
			t.Fatalf("iteration %d: split runs tag %d events, one run %d, differently (first %v vs %v)", iter, len(split), len(one), first(split), first(one))
		}
	}
}

// TestResumeWithEventsNeedsRawState: a state written without
// --output-events has no records to write; resuming with it is refused.
func TestResumeWithEventsNeedsRawState(t *testing.T) {
	dir := t.TempDir()
	in := filepath.Join(dir, "in.jsonl")
	writeLines(t, in, []testEvent{{"u", "e1", "home", 1_700_000_000_000}})
	state := filepath.Join(dir, "state")
	runBatch(t, Config{Inputs: []string{in}, Output: filepath.Join(dir, "a.jsonl"), CarryOpen: state})
	cfg := Config{Inputs: []string{in}, Output: filepath.Join(dir, "b.jsonl"), OutputEvents: filepath.Join(dir, "ev.jsonl"), Resume: state, Rules: defaultRulesForTest(), Workers: 1}
	_, err := Run(context.Background(), cfg)
	if err == nil || !strings.Contains(err.Error(), "written without --output-events") {
		t.Fatalf("err %v, want a refusal naming --output-events", err)
	}
}
