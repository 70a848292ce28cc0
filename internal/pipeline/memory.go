package pipeline

import (
	"fmt"
	"runtime/metrics"
	"time"
)

// A job's memory is mostly its open state: the open sessions, the events
// within --allowed-lateness of the watermark, the remembered dedup keys.
// Under a memory limit (Config.MemoryLimit) the collector runs as often as
// it must to stay below it, which is cheap while the live heap is a small
// share of the limit and takes more and more of the CPU as it nears it.
// Past a container's limit the kernel kills the process, and a restart
// from the checkpoint needs the same memory again. So the job says so well
// before, with what the memory holds and what to do.
const (
	// memoryWarnShare of the limit taken by the live heap (what the last
	// collection found in use) warns: the collector then runs after every
	// quarter of the limit allocated, three times as often as GOGC=100
	// alone would have it, and more often as the heap grows.
	memoryWarnShare = 0.75
	// memoryWarnEvery spaces the warnings while the heap stays high.
	memoryWarnEvery = 10 * time.Minute
)

// memoryWatch decides when the live heap is worth a warning.
type memoryWatch struct {
	limit  int64        // 0: none, never warn
	live   func() int64 // the live heap, in bytes
	warned time.Time    // last warning; zero: none since the heap was low
}

func newMemoryWatch(limit int64) memoryWatch {
	return memoryWatch{limit: limit, live: liveHeap}
}

// check reports the live heap and whether to warn now.
func (w *memoryWatch) check(now time.Time) (live int64, warn bool) {
	if w.limit <= 0 {
		return 0, false
	}
	live = w.live()
	if float64(live) < memoryWarnShare*float64(w.limit) {
		w.warned = time.Time{} // said again if it comes back
		return live, false
	}
	if !w.warned.IsZero() && now.Sub(w.warned) < memoryWarnEvery {
		return live, false
	}
	w.warned = now
	return live, true
}

// liveHeap is the heap the last collection found in use.
func liveHeap() int64 {
	s := []metrics.Sample{{Name: "/gc/heap/live:bytes"}}
	metrics.Read(s)
	if s[0].Value.Kind() != metrics.KindUint64 {
		return 0
	}
	return int64(s[0].Value.Uint64())
}

// warnMemory logs, at a commit, that the live heap nears the memory limit.
func (p *Pipeline) warnMemory(now time.Time) {
	live, warn := p.memory.check(now)
	if !warn {
		return
	}
	var sessions, events, keys, keyBytes int64
	for _, part := range p.parts {
		sessions += int64(part.stream.OpenSessions())
		events += part.counters().Open
		d := part.stream.DedupStats()
		keys += int64(d.Keys)
		keyBytes += d.Bytes
	}
	state := fmt.Sprintf("the live heap, %.0f MiB, is %d%% of the memory limit of %.0f MiB: the collector runs more and more often to stay below it, and past it a container kills the process",
		mib(live), live*100/p.memory.limit, mib(p.memory.limit))
	if live >= p.memory.limit {
		state = fmt.Sprintf("the live heap, %.0f MiB, is past the memory limit of %.0f MiB: the collector runs all the time, and a container would kill the process",
			mib(live), mib(p.memory.limit))
	}
	p.cfg.Logger.Warn(state+"; give the job more memory (the container's, or --memory-limit), share the partitions with more instances (same --group), or remember fewer dedup keys (--dedup-window, --dedup-max-keys)",
		"live_heap_bytes", live, "memory_limit_bytes", p.memory.limit, "open_sessions", sessions, "open_events", events,
		"dedup_keys", keys, "dedup_bytes", keyBytes, "partitions", len(p.parts))
}

func mib(n int64) float64 { return float64(n) / (1 << 20) }
