package event

import (
	"fmt"
	"testing"
)

// BenchmarkParse measures records/s on one core for lines shaped like the
// generator's (about 240 bytes, nested details, some booking objects).
func BenchmarkParse(b *testing.B) {
	var lines [][]byte
	var size int
	for i := 0; i < 1024; i++ {
		booking := "null"
		if i%10 == 0 {
			booking = fmt.Sprintf(`{"hotel_id": "H%05d", "price": %d.99, "currency": "EUR", "nights": %d}`, i, 100+i%300, 1+i%7)
		}
		l := fmt.Sprintf(`{"event_id": "%016x", "page_name": "results", "event_timestamp": "%d", "booking_details": %s, "uuid": "7f3e%04x-1b2c-4d5e-8f90-%012x", "event_details": {"event_name": "page_view", "event_type": "view", "event_value": "results"}}`,
			uint64(i)*0x9e3779b97f4a7c15, 1764547200000+int64(i)*731, booking, i%5000, i)
		lines = append(lines, []byte(l))
		size += len(l)
	}
	p := NewParser(Schema{}, 0)
	var f Fields
	b.SetBytes(int64(size / len(lines)))
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if p.Parse(lines[i%len(lines)], &f) != OK {
			b.Fatal("rejected")
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "records/s")
}
