package event

import (
	"bytes"
	"testing"
)

// BenchmarkParseLimit measures what bounds BenchmarkParse, in bytes/s on
// one core over the same lines: validate_only is the parser's validating
// scan with no field wanted (no key compared, nothing assembled: the cost
// of checking that a line is JSON at all); read_cached scans the same
// bytes for a byte they do not hold (bytes.IndexByte, vectorised: reading
// them from the cache, about 270 KB), and read_memory the same over 64 MiB,
// more than any cache holds (memory bandwidth for one core).
func BenchmarkParseLimit(b *testing.B) {
	lines, size := parseBenchLines(parseBenchCases(b)[0].line)
	ps := NewParser(Schema{}, 0)
	b.Run("validate_only", func(b *testing.B) {
		measureRecords(b, size/len(lines), func(i int) {
			if l := lines[i%len(lines)]; ps.object(l, 0, 0, 0) != len(l) {
				b.Fatal("invalid")
			}
		})
	})
	b.Run("read_cached", func(b *testing.B) {
		measureRecords(b, size/len(lines), func(i int) {
			if bytes.IndexByte(lines[i%len(lines)], 0xff) >= 0 {
				b.Fatal("found")
			}
		})
	})
	b.Run("read_memory", func(b *testing.B) {
		big := bytes.Repeat(bytes.Join(lines, []byte{'\n'}), (64<<20)/size+1)
		chunk := size / len(lines)
		chunks := len(big) / chunk
		measureRecords(b, chunk, func(i int) {
			j := (i % chunks) * chunk
			if bytes.IndexByte(big[j:j+chunk], 0xff) >= 0 {
				b.Fatal("found")
			}
		})
	})
}
