package session

import (
	"fmt"
	"testing"
)

// BenchmarkStreamAdd: events/s through Add and Advance on one core, 20k
// users in time order with occasional disorder; without remembered keys
// and with sessionize run's default bound. users=1M: a million users, each
// with an event every 17 minutes of event time, so all of them stay open
// (bench/freshness has 0.9-4.5M), far more than fit in cache.
func BenchmarkStreamAdd(b *testing.B) {
	for _, c := range []struct {
		name   string
		dedup  Dedup
		users  int
		stepMs int64
	}{
		{"dedup=off", Dedup{}, 20_000, 15},
		{"dedup=default", DefaultDedup(), 20_000, 15},
		{"users=1M/dedup=default", DefaultDedup(), 1_000_000, 1},
	} {
		b.Run(c.name, func(b *testing.B) { benchStreamAdd(b, c.dedup, c.users, c.stepMs) })
	}
}

func benchStreamAdd(b *testing.B, d Dedup, users int, stepMs int64) {
	uuids := make([]string, users)
	for i := range uuids {
		uuids[i] = fmt.Sprintf("5b0c%04x-6a1f-4c3e-9d2b-%012x", i%65536, i)
	}
	ids := make([]string, 1<<16)
	for i := range ids {
		ids[i] = fmt.Sprintf("%016x", i*7919)
	}
	s := NewStream(DefaultRules(), 10*min_)
	s.SetDedup(d)
	emitted := 0
	emit := func(*Session) { emitted++ }
	clock := t0
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		clock += stepMs
		t := clock
		if i%50 == 0 {
			t -= 60_000
		}
		s.Add(uuids[(i*7)%users], &Event{TimeMs: t, Seq: uint64(i), ID: ids[i&(1<<16-1)] + uuids[i%users][:4], Page: "results"})
		if i%1000 == 0 {
			s.Advance(emit)
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "events/s")
	b.ReportMetric(float64(s.DedupStats().Keys), "keys")
	b.ReportMetric(float64(s.DedupStats().Bytes)/(1<<20), "dedup_MiB")
}

// BenchmarkStreamCheckpoint: writing the state of 100k open sessions
// (five folded events and two pending each, all seven events' keys
// remembered under the default bound), and its size per session.
func BenchmarkStreamCheckpoint(b *testing.B) {
	const users = 100_000
	s := NewStream(DefaultRules(), 10*min_)
	s.SetDedup(DefaultDedup())
	pages := []string{"home", "search", "results", "details", "booking"}
	for k := 0; k < 7; k++ {
		for u := 0; u < users; u++ {
			uuid := fmt.Sprintf("5b0c%04x-6a1f-4c3e-9d2b-%012x", u%65536, u)
			s.Add(uuid, &Event{TimeMs: t0 + int64(k)*3*min_ + int64(u%1000), Seq: uint64(k*users + u), ID: fmt.Sprintf("%016x", k*users+u), Page: pages[(u+k)%5]})
		}
	}
	s.Advance(func(*Session) {})
	if s.OpenSessions() != users {
		b.Fatalf("open sessions %d", s.OpenSessions())
	}
	var buf []byte
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		buf = s.AppendState(buf[:0])
	}
	b.ReportMetric(float64(b.Elapsed().Milliseconds())/float64(b.N), "ms/checkpoint")
	b.ReportMetric(float64(len(buf))/users, "bytes/session")
}
