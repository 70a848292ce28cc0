package batch

import (
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/sessionize/sessionize/internal/iceberg"
	"github.com/sessionize/sessionize/internal/input"
	"github.com/sessionize/sessionize/internal/session"
)

// manyUsersStream spreads events over enough users that every one of the
// 64 partitions folds some, with page names of many lengths, so a reused
// result's buffers and arena hold another partition's data when they are
// folded into again.
func manyUsersStream(r *rand.Rand, users, n int) []testEvent {
	const minute = 60_000
	clock := make([]int64, users)
	for i := range clock {
		clock[i] = 1_700_000_000_000 + r.Int64N(60*minute)
	}
	evs := make([]testEvent, 0, n)
	for i := 0; i < n; i++ {
		u := r.IntN(users)
		if r.IntN(8) == 0 {
			clock[u] += 31 * minute
		} else {
			clock[u] += r.Int64N(5 * minute)
		}
		page := fmt.Sprintf("/p%d/%s", r.IntN(50), strings.Repeat("x", r.IntN(40)))
		evs = append(evs, testEvent{fmt.Sprintf("user-%d", u), fmt.Sprintf("ev-%d", i), page, clock[u]})
	}
	return evs
}

// oracleSessions folds evs in one Partition, which reuses nothing across
// partitions, up to the end of the input as batch does, and returns the
// sessions, copied.
func oracleSessions(evs []testEvent) []session.Session {
	p := session.NewPartition(session.DefaultRules())
	end := int64(-1 << 63)
	for i, e := range evs {
		p.Add(e.uuid, &session.Event{TimeMs: e.t, Seq: uint64(i), ID: e.id, Page: e.page})
		end = max(end, e.t)
	}
	var out []session.Session
	p.Close(end, nil, func(s *session.Session) {
		c := *s
		c.Pages = slices.Clone(s.Pages)
		out = append(out, c)
	})
	return out
}

// TestReusedFoldMemoryGivesOneFoldsSessions: batch folds its 64 partitions
// into results it reuses once they are written (foldAll). Its sessions, as
// JSON lines, must equal those of a single fold of all events, on one
// worker and on two; and the table output, whose rows keep the sessions'
// strings until the commit and so must not get its arenas reused, must
// hold the same sessions.
func TestReusedFoldMemoryGivesOneFoldsSessions(t *testing.T) {
	evs := manyUsersStream(rand.New(rand.NewPCG(5, 8)), 900, 12000)
	oracle := oracleSessions(evs)
	var want []string
	for i := range oracle {
		want = append(want, strings.TrimSuffix(string(AppendSessionJSON(nil, &oracle[i])), "\n"))
	}
	slices.Sort(want)

	dir := t.TempDir()
	in := filepath.Join(dir, "in.jsonl")
	writeLines(t, in, evs)
	for _, workers := range []int{1, 2} {
		wh := iceberg.Config{Warehouse: filepath.Join(dir, fmt.Sprintf("wh%d", workers))}
		cfg := Config{Inputs: []string{in}, Output: filepath.Join(dir, fmt.Sprintf("out%d.jsonl", workers)),
			Rules: session.DefaultRules(), Workers: workers, Table: &TableOutput{Table: iceberg.TableSessions, Warehouse: wh}}
		sum, got := runBatch(t, cfg)
		if sum.Partitions < 64 || sum.Users != 900 {
			t.Fatalf("%d workers: %d partitions, %d users; the test needs every partition used", workers, sum.Partitions, sum.Users)
		}
		slices.Sort(got)
		if !slices.Equal(got, want) {
			t.Fatalf("%d workers: %d sessions, one fold %d, or they differ; first difference:\n%s", workers, len(got), len(want), firstDiff(got, want))
		}
		rows, _ := tableRows(t, wh)
		var gotRows []string
		for _, r := range rows {
			gotRows = append(gotRows, fmt.Sprint(r.SessionID, r.UUID, r.SessionStartTimeMs, r.SessionEndTimeMs, r.EventCount, r.PagesVisited, r.EntryPage, r.ExitPage, r.EndReason))
		}
		var wantRows []string
		for i := range oracle {
			s := &oracle[i]
			wantRows = append(wantRows, fmt.Sprint(s.ID(), s.UUID, s.StartMs, s.EndMs, s.EventCount, s.Pages, s.EntryPage, s.ExitPage, s.EndReason))
		}
		slices.Sort(gotRows)
		slices.Sort(wantRows)
		if !slices.Equal(gotRows, wantRows) {
			t.Fatalf("%d workers: table has %d sessions, one fold %d, or they differ; first difference:\n%s", workers, len(gotRows), len(wantRows), firstDiff(gotRows, wantRows))
		}
	}
}

func firstDiff(got, want []string) string {
	for i := range min(len(got), len(want)) {
		if got[i] != want[i] {
			return "got  " + got[i] + "\nwant " + want[i]
		}
	}
	return fmt.Sprintf("lengths %d and %d", len(got), len(want))
}

// TestSummaryReadSeconds: the summary splits the run's time at the end of
// the input, and prints both parts.
func TestSummaryReadSeconds(t *testing.T) {
	dir := t.TempDir()
	in := filepath.Join(dir, "in.jsonl")
	writeLines(t, in, manyUsersStream(rand.New(rand.NewPCG(1, 2)), 50, 2000))
	sum, _ := runBatch(t, Config{Inputs: []string{in}, Output: filepath.Join(dir, "out.jsonl")})
	if !(sum.ReadSeconds > 0 && sum.ReadSeconds <= sum.ElapsedSeconds) {
		t.Fatalf("read %v s of %v s elapsed", sum.ReadSeconds, sum.ElapsedSeconds)
	}
	var b strings.Builder
	sum.WriteText(&b)
	if want := fmt.Sprintf("(reading %.2fs, sessionizing and writing %.2fs)", sum.ReadSeconds, sum.ElapsedSeconds-sum.ReadSeconds); !strings.Contains(b.String(), want) {
		t.Fatalf("summary text lacks %q:\n%s", want, b.String())
	}
}

// TestPartitionsForBoundsPartitionSize: however large the memory limit (or
// none), a partition is planned for at most maxPartitionInput of input.
func TestPartitionsForBoundsPartitionSize(t *testing.T) {
	for _, c := range []struct {
		size, limit int64
		want        int
	}{
		{1 << 30, 0, 64},
		{1 << 30, 64 << 30, 64},
		{200 << 30, 64 << 30, 256},   // 200 GiB: 1 GiB each would need 200
		{200 << 30, 0, 256},          // no limit: the same
		{200 << 30, 1 << 30, 2048},   // the memory limit asks for more
		{1 << 50, 64 << 30, 1 << 16}, // the cap
	} {
		got := partitionsFor([]input.File{{Path: "in.jsonl", Size: c.size}}, c.limit)
		if got != c.want {
			t.Errorf("%d GiB input, limit %d GiB: %d partitions, want %d", c.size>>30, c.limit>>30, got, c.want)
		}
	}
}

// TestFoldRefusesPartitionPastArena: a partition whose encoded events pass
// 4 GiB is refused with an error naming the cause, not handed to the
// engine, whose arena would panic.
func TestFoldRefusesPartitionPastArena(t *testing.T) {
	mib := make([]byte, 1<<20) // the same MiB 4,097 times: no 4 GiB needed
	slabs := make([][]byte, 4097)
	for i := range slabs {
		slabs[i] = mib
	}
	var r partResult
	foldPartition(session.NewPartition(session.DefaultRules()), slabs, 0, false, &r)
	if r.err == nil || !strings.Contains(r.err.Error(), "more than one partition can fold") {
		t.Fatalf("err %v, want the partition refused", r.err)
	}
}
