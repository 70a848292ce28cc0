package pipeline

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sessionize/sessionize/internal/batch"
	"github.com/sessionize/sessionize/internal/iceberg"
	"github.com/sessionize/sessionize/internal/rule"
	"github.com/sessionize/sessionize/internal/session"
)

// TestEventsTable: a 3-partition topic with late and malformed records,
// sessionized with --events-table and drained; the events table tags
// every event exactly as batch --output-events does over the same records.
func TestEventsTable(t *testing.T) {
	b := startBroker(t, 3)
	in := procMakeInput(t, 6000, 150, 11)
	if err := procProduce(t.Context(), b, in.recs); err != nil {
		t.Fatal(err)
	}
	wh := t.TempDir()
	cfg := runConfig(t, b, wh)
	cfg.Warehouse.EventsTable = true
	cfg.CommitMaxRecords = 700 // several commits, with events of sessions still open
	if err := Run(t.Context(), cfg); err != nil {
		t.Fatal(err)
	}
	assertEventsTable(t, localWarehouse(t, wh), in.batchInput())
}

// eventKey is what must agree between the stream's events table and
// batch's events output.
func eventKey(sessionID string, index int64, eventID, raw string) string {
	return fmt.Sprintf("%s/%d/%s/%s", sessionID, index, eventID, raw)
}

// assertEventsTable checks warehouse's events table: no record's event
// twice, every event in exactly one session row under its id with indexes
// 0..event_count-1, and the same tagging as batch --output-events over
// lines.
func assertEventsTable(t *testing.T, warehouse testWarehouse, lines [][]byte) {
	t.Helper()
	assertEventsTableWith(t, warehouse, lines, session.DefaultRules(), nil)
}

// assertEventsTableWith is assertEventsTable for a run with other rules.
func assertEventsTableWith(t *testing.T, warehouse testWarehouse, lines [][]byte, rules session.Rules, set *rule.Set) {
	t.Helper()
	wh := warehouse.open(t)
	sessions, err := wh.ReadSessions(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	events, err := wh.ReadEvents(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	byID := map[string]iceberg.SessionRow{}
	for _, s := range sessions {
		byID[s.SessionID] = s
	}
	type at struct {
		p int32
		o int64
	}
	seen := map[at]bool{}
	indexes := map[string][]int64{}
	var got []string
	for _, e := range events {
		if seen[at{e.Partition, e.Offset}] {
			t.Fatalf("the event of partition %d offset %d is in the events table twice", e.Partition, e.Offset)
		}
		seen[at{e.Partition, e.Offset}] = true
		s, ok := byID[e.SessionID]
		if !ok {
			t.Fatalf("event %s has session_id %s, which no session row has", e.EventID, e.SessionID)
		}
		if s.UUID != e.UUID || s.SessionStartTimeMs != e.SessionStartTimeMs {
			t.Fatalf("event %+v is tagged with session %s of %s starting %d", e, s.SessionID, s.UUID, s.SessionStartTimeMs)
		}
		indexes[e.SessionID] = append(indexes[e.SessionID], e.EventIndex)
		got = append(got, eventKey(e.SessionID, e.EventIndex, e.EventID, e.Raw))
	}
	var total int64
	for id, s := range byID {
		total += s.EventCount
		ix := indexes[id]
		slices.Sort(ix)
		for i, x := range ix {
			if x != int64(i) {
				t.Fatalf("session %s has event indexes %v, want 0..%d", id, ix, s.EventCount-1)
			}
		}
		if int64(len(ix)) != s.EventCount {
			t.Fatalf("session %s has event_count %d but %d events", id, s.EventCount, len(ix))
		}
	}
	if total != int64(len(events)) {
		t.Fatalf("%d events, the sessions count %d", len(events), total)
	}
	want := batchEventKeys(t, lines, rules, set)
	slices.Sort(got)
	if !slices.Equal(got, want) {
		t.Fatalf("events table: %d rows, batch --output-events %d; first difference: %s", len(got), len(want), firstDiff(got, want))
	}
	t.Logf("events table: %d events in %d sessions, as batch tags them", len(events), len(sessions))
}

func batchEventKeys(t *testing.T, lines [][]byte, rules session.Rules, set *rule.Set) []string {
	t.Helper()
	dir := t.TempDir()
	in := filepath.Join(dir, "in.jsonl")
	if err := os.WriteFile(in, append(bytes.Join(lines, []byte("\n")), '\n'), 0o644); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "events.jsonl")
	if _, err := batch.Run(t.Context(), batch.Config{Inputs: []string{in}, Output: os.DevNull, OutputEvents: out,
		Rules: rules, RuleSet: set, Workers: 2}); err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	var keys []string
	for _, l := range bytes.Split(bytes.TrimSpace(data), []byte("\n")) {
		var e struct {
			SessionID string `json:"session_id"`
			Index     int64  `json:"event_index"`
			EventID   string `json:"event_id"`
			Raw       string `json:"raw"`
		}
		if err := json.Unmarshal(l, &e); err != nil {
			t.Fatal(err)
		}
		keys = append(keys, eventKey(e.SessionID, e.Index, e.EventID, e.Raw))
	}
	slices.Sort(keys)
	return keys
}

// TestEventsTableReplayAfterInterruptedCommit: the stop arrives while the
// catalog hangs in a sessions commit, after that commit's events snapshot
// landed (step 3b before 4): the events table is ahead of the sessions
// table. The restart replays from the sessions table's offsets and must
// not write those events again; answers of events commits are also lost
// now and then (the retry must find they landed).
func TestEventsTableReplayAfterInterruptedCommit(t *testing.T) {
	b := startBroker(t, 3)
	in := procMakeInput(t, 8000, 200, 17)
	if err := procProduce(t.Context(), b, in.recs); err != nil {
		t.Fatal(err)
	}
	wh := t.TempDir()
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	var sessionsCalls, eventsCalls atomic.Int64
	hung := make(chan struct{})
	cfg := runConfig(t, b, wh)
	cfg.Warehouse.EventsTable = true
	cfg.CommitMaxRecords = 1000
	cfg.stopGrace = 200 * time.Millisecond
	cfg.Warehouse.Faults = &iceberg.FaultInjector{
		BeforeCommit: func(actx context.Context, table string) error {
			if table == iceberg.TableSessions && sessionsCalls.Add(1) == 4 {
				close(hung)
				<-actx.Done()
				return actx.Err()
			}
			return nil
		},
		AfterCommit: func(_ context.Context, table string) error {
			if table == iceberg.TableEvents && eventsCalls.Add(1)%3 == 0 {
				return errors.New("injected: connection reset after the commit")
			}
			return nil
		},
	}
	go func() {
		select {
		case <-hung:
			cancel()
		case <-ctx.Done():
		}
	}()
	if err := Run(ctx, cfg); err == nil || !strings.Contains(err.Error(), "nothing was drained") {
		t.Fatalf("stopped during a hung commit: Run returned %v, want an error saying nothing was drained", err)
	}
	select {
	case <-hung:
	default:
		t.Fatal("the run ended before the fourth sessions commit")
	}
	w := openWarehouse(t, wh)
	evSnap, _, err := w.Current(t.Context(), iceberg.TableEvents)
	if err != nil {
		t.Fatal(err)
	}
	sessSnap, _, err := w.Current(t.Context(), iceberg.TableSessions)
	if err != nil {
		t.Fatal(err)
	}
	evProg, _ := parseProgress(evSnap.Summary)
	sessProg, _ := parseProgress(sessSnap.Summary)
	ahead := false
	for p, o := range evProg.offsets {
		ahead = ahead || o > sessProg.offsets[p]
	}
	if !ahead {
		t.Fatalf("events table at %v, sessions at %v: the interrupted commit did not leave the events table ahead", evProg.offsets, sessProg.offsets)
	}
	t.Logf("after the stop: events table at %v (settled %v), sessions at %v", evProg.offsets, evProg.settled, sessProg.offsets)

	cfg = runConfig(t, b, wh)
	cfg.Warehouse.EventsTable = true
	runToEnd(t, cfg, 60*time.Second)
	assertEventsTable(t, localWarehouse(t, wh), in.batchInput())
}

// TestEventsTableTurnedOnLater: --events-table on tables a run without it
// wrote. With sessions open, their first events are gone (the state keeps
// no placed event), so the run is refused and says how to start the table
// cleanly; after a --drain the table starts, saying which records it has
// no events of, and its sessions are whole. Before, the run went ahead and
// wrote sessions without their first events.
func TestEventsTableTurnedOnLater(t *testing.T) {
	b := startBroker(t, 2)
	lines, keys := generated(t, 4_000, 100, 13)
	produceLines(t, b, lines[:3_000], keys[:3_000])
	wh := t.TempDir()
	cfg := runConfig(t, b, wh)
	cfg.Drain = false // sessions stay open
	runToEnd(t, cfg, 60*time.Second)

	produceLines(t, b, lines[3_000:3_500], keys[3_000:3_500])
	cfg.Warehouse.EventsTable = true
	err := Run(t.Context(), cfg)
	if err == nil || !strings.Contains(err.Error(), "were sessionized without it") || !strings.Contains(err.Error(), "--drain") {
		t.Fatalf("Run with --events-table on open sessions of a run without it: %v", err)
	}

	cfg.Warehouse.EventsTable = false
	cfg.Drain = true
	runToEnd(t, cfg, 60*time.Second)
	produceLines(t, b, lines[3_500:], keys[3_500:])
	cfg.Warehouse.EventsTable = true
	var logs SyncBuffer
	cfg.Logger = slog.New(slog.NewTextHandler(&logs, nil))
	runToEnd(t, cfg, 60*time.Second)
	if !strings.Contains(logs.String(), "the events table has no events of these records") {
		t.Fatalf("no warning of the records without events:\n%s", logs.String())
	}
	// Every session in the events table has its events from index 0 on,
	// each once, and the session's row says as many.
	wh2 := openWarehouse(t, wh)
	evs, err := wh2.ReadEvents(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	indexes := map[string][]int64{}
	for _, e := range evs {
		if e.Raw == "" {
			t.Errorf("event %s of session %s has no raw record", e.EventID, e.SessionID)
		}
		indexes[e.SessionID] = append(indexes[e.SessionID], e.EventIndex)
	}
	_, rows := warehouseLines(t, wh2)
	counts := map[string]int64{}
	for _, r := range rows {
		counts[r.SessionID] = r.EventCount
	}
	if len(indexes) == 0 {
		t.Fatal("the events table is empty")
	}
	for id, ix := range indexes {
		slices.Sort(ix)
		for i, x := range ix {
			if x != int64(i) {
				t.Fatalf("session %s has events %v: not whole", id, ix)
			}
		}
		if counts[id] != int64(len(ix)) {
			t.Fatalf("session %s has %d events in the table, its row says %d", id, len(ix), counts[id])
		}
	}
}
