package event

import (
	"fmt"
	"runtime"
	"testing"
)

// BenchmarkParse measures records/s on one core for lines shaped like the
// generator's (about 240 bytes, nested details, some booking objects), with
// the default schema and with a custom one: a composite user key, one part
// nested, a numeric id, an RFC 3339 time and a nested page; and the
// default one with the fields of session rules as extra fields, read in
// the same pass (rule_fields: the page, a nested name, a number inside the
// sometimes-null booking object). Besides ns/op, MB/s (to hold against
// memory bandwidth, see BenchmarkParseLimit) and records/s it prints
// cpu-ns/op, the CPU time of the benchmark's thread per record, which
// other jobs on a shared machine disturb far less than the wall time.
// It uses only the package's API, so bench/package-vs-main.sh runs this
// same file against an older parser.
func BenchmarkParse(b *testing.B) {
	for _, bc := range parseBenchCases(b) {
		b.Run(bc.name, func(b *testing.B) {
			lines, size := parseBenchLines(bc.line)
			p := NewParser(bc.schema, 0)
			var f Fields
			measureRecords(b, size/len(lines), func(i int) {
				if r := p.Parse(lines[i%len(lines)], &f); r != OK {
					b.Fatal("rejected: ", r)
				}
			})
		})
	}
}

type parseBenchCase struct {
	name   string
	schema Schema
	line   func(i int, booking string) string
}

func parseBenchCases(b *testing.B) []parseBenchCase {
	custom, err := NewSchema([]string{"user.id", "account_id"}, "id", "occurred_at", "page.path", MustTimeFormat("auto", ""))
	if err != nil {
		b.Fatal(err)
	}
	rules, err := Schema{}.WithExtra([]string{"page_name", "event_details.event_name", "booking_details.price"})
	if err != nil {
		b.Fatal(err)
	}
	defaultLine := func(i int, booking string) string {
		return fmt.Sprintf(`{"event_id": "%016x", "page_name": "results", "event_timestamp": "%d", "booking_details": %s, "uuid": "7f3e%04x-1b2c-4d5e-8f90-%012x", "event_details": {"event_name": "page_view", "event_type": "view", "event_value": "results"}}`,
			uint64(i)*0x9e3779b97f4a7c15, 1764547200000+int64(i)*731, booking, i%5000, i)
	}
	return []parseBenchCase{
		{"default", Schema{}, defaultLine},
		{"custom_nested", custom, func(i int, booking string) string {
			return fmt.Sprintf(`{"id": %d, "page": {"path": "/results", "title": "Results"}, "occurred_at": "2025-12-01T00:%02d:%02d.%03dZ", "booking_details": %s, "user": {"id": "7f3e%04x-1b2c-4d5e-8f90", "plan": "free"}, "account_id": "acct-%d", "event_details": {"event_name": "page_view", "event_type": "view"}}`,
				uint64(i)*0x9e3779b9, i%60, i%60, i%1000, booking, i%5000, i%97)
		}},
		{"rule_fields", rules, defaultLine},
	}
}

// parseBenchLines makes 1,024 lines, one in ten with a booking object, and
// returns them and their total size.
func parseBenchLines(line func(i int, booking string) string) ([][]byte, int) {
	var lines [][]byte
	var size int
	for i := 0; i < 1024; i++ {
		booking := "null"
		if i%10 == 0 {
			booking = fmt.Sprintf(`{"hotel_id": "H%05d", "price": %d.99, "currency": "EUR", "nights": %d}`, i, 100+i%300, 1+i%7)
		}
		l := line(i, booking)
		lines = append(lines, []byte(l))
		size += len(l)
	}
	return lines, size
}

// measureRecords runs op b.N times, each on a record of about bytesPerOp,
// and reports records/s and the thread's CPU time per op.
func measureRecords(b *testing.B, bytesPerOp int, op func(i int)) {
	// One OS thread throughout, so its CPU clock is the benchmark's.
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	b.SetBytes(int64(bytesPerOp))
	b.ReportAllocs()
	b.ResetTimer()
	cpu0, cpuOK := threadCPU()
	for i := 0; i < b.N; i++ {
		op(i)
	}
	cpu1, _ := threadCPU()
	b.StopTimer()
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "records/s")
	if cpuOK {
		b.ReportMetric(float64((cpu1-cpu0).Nanoseconds())/float64(b.N), "cpu-ns/op")
	}
}
