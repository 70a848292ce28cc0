package pipeline

import (
	"log/slog"
	"strings"
	"testing"
	"time"
)

func TestMemoryWatch(t *testing.T) {
	t0 := time.Date(2026, 12, 7, 10, 0, 0, 0, time.UTC)
	var live int64
	w := memoryWatch{limit: 1000, live: func() int64 { return live }}
	for i, step := range []struct {
		at   time.Duration
		live int64
		warn bool
	}{
		{0, 100, false},                             // far below
		{time.Second, 749, false},                   // just below 75%
		{2 * time.Second, 750, true},                // reaches it
		{3 * time.Second, 900, false},               // still high: said already
		{9 * time.Minute, 990, false},               // within memoryWarnEvery
		{10*time.Minute + 2*time.Second, 950, true}, // said again after it
		{11 * time.Minute, 200, false},              // back down
		{11*time.Minute + time.Second, 800, true},   // up again: said at once
	} {
		live = step.live
		got, warn := w.check(t0.Add(step.at))
		if got != step.live || warn != step.warn {
			t.Errorf("step %d (live %d at %s): got live %d, warn %v; want warn %v", i, step.live, step.at, got, warn, step.warn)
		}
	}
	none := memoryWatch{live: func() int64 { t.Fatal("read the heap without a limit"); return 0 }}
	if _, warn := none.check(t0); warn {
		t.Error("warned without a limit")
	}
}

func TestLiveHeapReads(t *testing.T) {
	if liveHeap() <= 0 {
		t.Fatal("the live heap reads as 0: the runtime metric is gone or renamed")
	}
}

// TestRunWarnsNearMemoryLimit: a run whose live heap is past 75% of its
// memory limit says so at a commit, with what to do; without a limit it
// does not.
func TestRunWarnsNearMemoryLimit(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the pipeline")
	}
	lines, keys := generated(t, 2_000, 50, 9)
	for _, tc := range []struct {
		name  string
		limit int64
		warn  bool
	}{{"no limit", 0, false}, {"limit below the live heap", 1 << 20, true}} {
		t.Run(tc.name, func(t *testing.T) {
			b := startBroker(t, 2)
			produceLines(t, b, lines, keys)
			cfg := runConfig(t, b, t.TempDir())
			cfg.MemoryLimit = tc.limit // only watched: the process's limit is left alone
			var logs SyncBuffer
			cfg.Logger = slog.New(slog.NewTextHandler(&logs, nil))
			runToEnd(t, cfg, 60*time.Second)
			warned := strings.Contains(logs.String(), "memory limit of 1 MiB: the collector runs all the time")
			if warned != tc.warn {
				t.Fatalf("warned %v, want %v:\n%s", warned, tc.warn, logs.String())
			}
			for _, l := range strings.Split(logs.String(), "\n") {
				if strings.Contains(l, "the memory limit of") {
					t.Log(l)
					break
				}
			}
			if tc.warn && (!strings.Contains(logs.String(), "open_sessions=") || !strings.Contains(logs.String(), "--memory-limit")) {
				t.Fatalf("the warning does not say what the memory holds or what to do:\n%s", logs.String())
			}
		})
	}
}
