package cli

import (
	"errors"
	"math"
	"runtime/debug"
	"strings"
	"testing"

	"github.com/KimMachineGun/automemlimit/memlimit"
)

func fixedLimit(n uint64, err error) func() (uint64, error) {
	return func() (uint64, error) { return n, err }
}

func TestMemoryAvailable(t *testing.T) {
	for _, tc := range []struct {
		name           string
		system, cgroup func() (uint64, error)
		want           int64
	}{
		{"RAM only", fixedLimit(16<<30, nil), fixedLimit(0, memlimit.ErrNoLimit), 16 << 30},
		{"cgroup below RAM", fixedLimit(16<<30, nil), fixedLimit(2<<30, nil), 2 << 30},
		{"cgroup above RAM", fixedLimit(4<<30, nil), fixedLimit(64<<30, nil), 4 << 30},
		{"cgroup unreadable", fixedLimit(4<<30, nil), fixedLimit(0, errors.New("no mountinfo")), 4 << 30},
		{"neither known", fixedLimit(0, memlimit.ErrNoLimit), fixedLimit(0, memlimit.ErrNoLimit), 123},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := memoryLimits{system: tc.system, cgroup: tc.cgroup}
			if got := m.available(123); got != tc.want {
				t.Fatalf("available = %d, want %d", got, tc.want)
			}
		})
	}
}

func TestRunMemoryLimit(t *testing.T) {
	// The GOMEMLIMIT cases read the runtime's limit, as the runtime set it
	// from the variable at start; set it as such a start would.
	defer debug.SetMemoryLimit(debug.SetMemoryLimit(math.MaxInt64))
	for _, tc := range []struct {
		name     string
		flag     int64
		env      string
		runtime  int64 // the runtime's limit (what GOMEMLIMIT set)
		cgroup   func() (uint64, error)
		want     int64
		wantFrom string
	}{
		{"flag wins", 3 << 30, "1GiB", 1 << 30, fixedLimit(8<<30, nil), 3 << 30, "--memory-limit"},
		{"GOMEMLIMIT before the cgroup", 0, "1GiB", 1 << 30, fixedLimit(8<<30, nil), 1 << 30, "GOMEMLIMIT=1GiB"},
		{"GOMEMLIMIT=off", 0, "off", math.MaxInt64, fixedLimit(8<<30, nil), 0, "GOMEMLIMIT=off"},
		{"90% of the cgroup", 0, "", math.MaxInt64, fixedLimit(2<<30, nil), (2 << 30 * 9 / 10) &^ (1<<20 - 1), "90% of the cgroup memory limit 2GiB"},
		{"no cgroup limit", 0, "", math.MaxInt64, fixedLimit(0, memlimit.ErrNoLimit), 0, "no cgroup memory limit"},
		{"cgroup unreadable", 0, "", math.MaxInt64, fixedLimit(0, errors.New("no mountinfo")), 0, "no cgroup memory limit"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			debug.SetMemoryLimit(tc.runtime)
			m := memoryLimits{cgroup: tc.cgroup, getenv: func(k string) string {
				if k == "GOMEMLIMIT" {
					return tc.env
				}
				return ""
			}}
			got, from := m.runMemoryLimit(tc.flag)
			if got != tc.want || !strings.Contains(from, tc.wantFrom) {
				t.Fatalf("runMemoryLimit(%d) = %d, %q; want %d, %q", tc.flag, got, from, tc.want, tc.wantFrom)
			}
		})
	}
}
