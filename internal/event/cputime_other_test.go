//go:build !linux

package event

import "time"

// threadCPU is not measured here: benchmarks then report wall time only.
func threadCPU() (time.Duration, bool) { return 0, false }
