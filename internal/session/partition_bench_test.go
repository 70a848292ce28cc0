package session

import (
	"encoding/binary"
	"fmt"
	"math/rand/v2"
	"testing"
	"unsafe"

	"github.com/cespare/xxhash/v2"
)

// BenchmarkEngine measures the engine alone on pre-parsed events: one core,
// 1M events of 20k users in roughly time order with a little disorder and
// 1% redeliveries, grouped, ordered, deduplicated and folded into sessions.
func BenchmarkEngine(b *testing.B) {
	uuids := make([]string, 20_000)
	for i := range uuids {
		uuids[i] = fmt.Sprintf("5b0c%04x-6a1f-4c3e-9d2b-%012x", i%65536, i)
	}
	benchEngine(b, uuids)
}

// BenchmarkEnginePartitionOf256 is BenchmarkEngine with the users batch
// gives one of 256 partitions: their xxhash is equal modulo 256.
func BenchmarkEnginePartitionOf256(b *testing.B) {
	uuids := make([]string, 0, 20_000)
	for i := 0; len(uuids) < cap(uuids); i++ {
		if u := fmt.Sprintf("5b0c%04x-6a1f-4c3e-9d2b-%012x", i%65536, i); xxhash.Sum64String(u)%256 == 0 {
			uuids = append(uuids, u)
		}
	}
	benchEngine(b, uuids)
}

func benchEngine(b *testing.B, uuids []string) {
	const n = 1_000_000
	users := len(uuids)
	r := rand.New(rand.NewPCG(7, 7))
	// Inputs hold no pointers, like batch's encoded slabs, so the GC
	// cost measured is the engine's own.
	type in struct {
		uuid [36]byte
		t    int64
		id   uint64
	}
	evs := make([]in, n)
	clock := t0
	for i := range evs {
		clock += r.Int64N(40)
		t := clock
		if r.IntN(50) == 0 {
			t -= r.Int64N(5 * min_)
		}
		u := uuids[int(float64(users)*r.Float64()*r.Float64())] // skewed activity
		evs[i] = in{t: t, id: r.Uint64()}
		copy(evs[i].uuid[:], u)
		if r.IntN(100) == 0 && i > 0 {
			evs[i] = evs[i-1]
		}
	}
	b.ResetTimer()
	var sessions int64
	p := NewPartition(DefaultRules())
	for i := 0; i < b.N; i++ {
		p.Grow(n, n*24) // batch knows its partition sizes
		var id [16]byte
		var ev Event // filled in place, as batch's decodeSlab does
		for j := range evs {
			e := &evs[j]
			binary.BigEndian.PutUint64(id[:], e.id)
			ev.TimeMs, ev.Seq, ev.ID, ev.Page = e.t, uint64(j), unsafe.String(&id[0], 16), "results"
			p.Add(unsafe.String(&e.uuid[0], 36), &ev)
		}
		res := p.Close(clock, nil, func(*Session) {})
		sessions = res.Sessions
	}
	b.ReportMetric(float64(b.N)*n/b.Elapsed().Seconds(), "events/s")
	b.ReportMetric(float64(sessions), "sessions")
}
