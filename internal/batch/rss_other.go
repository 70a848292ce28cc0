//go:build !linux

package batch

func peakRSS() int64 { return 0 }
