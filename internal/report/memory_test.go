package report

import (
	"fmt"
	"runtime"
	"testing"
	"time"
)

// What the Accumulator keeps must not grow with the sessions, only with
// distinct values (users, durations, days...): a month of sessions has to
// fit. 256k more sessions of the same users on the same day cost (next
// to) nothing; one float64 and one int64 per session, as the accumulator
// once kept, would be 4 MiB.
func TestAccumulatorMemoryDoesNotGrowWithSessions(t *testing.T) {
	day := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC).UnixMilli()
	users := make([]string, 1000)
	for i := range users {
		users[i] = fmt.Sprintf("user-%04d", i)
	}
	pages := []string{"home", "search"}
	a := NewAccumulator(Options{})
	a.users.chunkSize = 1 << 16 // merge often, so the test can be short
	add := func(from, to int) {
		for i := from; i < to; i++ {
			s := Session{
				SessionID: "s", UUID: users[i%len(users)], SessionStartTimeMs: day + int64(i%86_400_000),
				SessionDurationSeconds: float64(i%100_000) / 1000, EventCount: int64(1 + i%40),
				PagesVisited: pages, EntryPage: "home", ExitPage: "search", EndReason: "inactivity",
			}
			a.Add(&s)
		}
	}
	heap := func() uint64 {
		runtime.GC()
		var m runtime.MemStats
		runtime.ReadMemStats(&m)
		return m.HeapAlloc
	}
	const step = 1 << 18
	add(0, step+step/8)
	before := heap()
	add(step+step/8, 2*step+step/8)
	growth := int64(heap()) - int64(before)
	t.Logf("heap growth over %d more sessions: %d bytes", step, growth)
	if growth > 1<<20 {
		t.Errorf("the accumulator grew by %.1f MiB over %d more sessions of the same users and durations; want under 1 MiB",
			float64(growth)/(1<<20), step)
	}
	if r := a.Report(); r.Sessions != 2*step+step/8 || r.Users != int64(len(users)) {
		t.Errorf("report: %d sessions, %d users", r.Sessions, r.Users)
	}
	runtime.KeepAlive(a)
}
