package cli

import (
	"bufio"
	"os"
	"strconv"
	"strings"
)

// defaultMemoryLimit is a quarter of the memory available to the process:
// the smaller of physical RAM and the cgroup limit, so containers are safe.
func defaultMemoryLimit() int64 {
	limit := int64(8 << 30)
	if ram := memTotal(); ram > 0 {
		limit = ram
	}
	if b, err := os.ReadFile("/sys/fs/cgroup/memory.max"); err == nil {
		if n, err := strconv.ParseInt(strings.TrimSpace(string(b)), 10, 64); err == nil && n > 0 && n < limit {
			limit = n
		}
	}
	return limit / 4
}

func memTotal() int64 {
	f, err := os.Open("/proc/meminfo")
	if err != nil {
		return 0
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) >= 2 && fields[0] == "MemTotal:" {
			kb, err := strconv.ParseInt(fields[1], 10, 64)
			if err == nil {
				return kb * 1024
			}
		}
	}
	return 0
}
