package cli

import (
	"fmt"
	"log/slog"
	"math"
	"os"
	"runtime/debug"

	"github.com/KimMachineGun/automemlimit/memlimit"
)

// The memory a process may use is the smaller of the machine's and its
// cgroup's (a container's) limit. Reading the cgroup limit means finding
// the process's cgroup, v1 or v2, through /proc/self/mountinfo and the
// hierarchy above it; memlimit does that, as many Go services rely on, so
// it is not written again here.
type memoryLimits struct {
	cgroup func() (uint64, error) // memlimit.ErrNoLimit: none
	system func() (uint64, error)
	getenv func(string) string
}

func hostMemoryLimits() memoryLimits {
	return memoryLimits{cgroup: memlimit.FromCgroup, system: memlimit.FromSystem, getenv: os.Getenv}
}

// available is the memory the process may use: the smaller of RAM and
// the cgroup limit; fallback if neither is known.
func (m memoryLimits) available(fallback int64) int64 {
	limit := int64(math.MaxInt64)
	if n, err := m.system(); err == nil && n > 0 && n < uint64(limit) {
		limit = int64(n)
	}
	if n, err := m.cgroup(); err == nil && n > 0 && n < uint64(limit) {
		limit = int64(n)
	}
	if limit == math.MaxInt64 {
		return fallback
	}
	return limit
}

// defaultMemoryLimit is batch's budget when --memory-limit is not given: a
// quarter of the memory available, so containers are safe.
func defaultMemoryLimit() int64 { return hostMemoryLimits().available(8<<30) / 4 }

// runLimitRatio is the share of a container's memory that run leaves to
// the Go runtime by default; the rest is for what its limit does not
// count and the cgroup does, such as the page cache of the files written.
const runLimitRatio = 0.9

// runMemoryLimit is the soft memory limit (debug.SetMemoryLimit) run
// sets, and what it says about it. Go does not take one from a container
// by itself, and a stream job's heap grows to twice its live state before
// the collector runs (GOGC=100): a job whose open state fits its container
// with room to spare was killed by the kernel for garbage. With the
// limit the collector runs as often as it must to stay below it. Order:
// --memory-limit, then GOMEMLIMIT (the Go runtime has set it already),
// then runLimitRatio of the cgroup limit; none without a cgroup limit.
// 0: no limit.
func (m memoryLimits) runMemoryLimit(flag int64) (limit int64, from string) {
	if flag > 0 {
		return flag, "--memory-limit"
	}
	if v := m.getenv("GOMEMLIMIT"); v != "" {
		if n := debug.SetMemoryLimit(-1); n != math.MaxInt64 {
			return n, "GOMEMLIMIT=" + v
		}
		return 0, "GOMEMLIMIT=" + v
	}
	n, err := m.cgroup()
	if err != nil || n == 0 || n > math.MaxInt64 {
		return 0, "no cgroup memory limit"
	}
	limit = int64(float64(n)*runLimitRatio) &^ (1<<20 - 1) // whole MiB, for the log
	return limit, fmt.Sprintf("%.0f%% of the cgroup memory limit %s", runLimitRatio*100, formatBytes(int64(n)))
}

// applyRunMemoryLimit sets run's soft memory limit and logs it; it returns
// the limit (0: none) and what puts the previous one back.
func applyRunMemoryLimit(flag int64, logger *slog.Logger) (int64, func()) {
	limit, from := hostMemoryLimits().runMemoryLimit(flag)
	if limit <= 0 {
		logger.Debug("no memory limit", "why", from)
		return 0, func() {}
	}
	prev := debug.SetMemoryLimit(limit)
	logger.Info("memory limit", "limit", formatBytes(limit), "from", from)
	return limit, func() { debug.SetMemoryLimit(prev) }
}
