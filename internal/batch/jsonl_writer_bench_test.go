package batch

import "testing"

// BenchmarkAppendJSONString formats the strings of a session: its uuid and
// page names, none of which needs escaping.
func BenchmarkAppendJSONString(b *testing.B) {
	strs := []string{"05efe8ea-e3e9-4740-8661-d3d7520ba4b4", "home", "search", "results", "details", "booking", "results"}
	var buf []byte
	for b.Loop() {
		buf = buf[:0]
		for _, s := range strs {
			buf = appendJSONString(buf, s)
		}
	}
}
