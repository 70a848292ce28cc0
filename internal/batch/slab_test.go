package batch

import (
	"fmt"
	"math/rand/v2"
	"reflect"
	"testing"

	"github.com/cespare/xxhash/v2"

	"github.com/sessionize/sessionize/internal/session"
)

type slabEvent struct {
	uuid  string
	ev    session.Event
	parts int
}

// buildSlabs routes evs to parts slabs the way the partitioner does (one
// user table for all), with hash giving each uuid's hash, and returns the
// slabs and each partition's events in order.
func buildSlabs(evs []slabEvent, parts int, hash func(string) uint64) ([][]byte, [][]slabEvent) {
	bs := make([]slabBuilder, parts)
	var users slabUsers
	want := make([][]slabEvent, parts)
	for _, e := range evs {
		h := hash(e.uuid)
		i := int(xxhash.Sum64String(e.uuid) % uint64(parts)) // a user's events all go to one
		bs[i].add(&users, h, e.ev.Seq, e.ev.TimeMs, []byte(e.uuid), []byte(e.ev.ID), []byte(e.ev.Page), []byte(e.ev.Raw), e.ev.Mark, []byte(e.ev.Attrs))
		want[i] = append(want[i], e)
	}
	slabs := make([][]byte, parts)
	for i := range bs {
		slabs[i] = bs[i].take()
	}
	return slabs, want
}

func decodeAll(t *testing.T, d *slabDecoder, data []byte) []slabEvent {
	t.Helper()
	var got []slabEvent
	if err := d.decode(data, func(uuid string, ev *session.Event) {
		got = append(got, slabEvent{uuid: uuid, ev: *ev})
	}); err != nil {
		t.Fatal(err)
	}
	return got
}

func randomSlabEvents(r *rand.Rand, n, users int) []slabEvent {
	evs := make([]slabEvent, 0, n)
	seq := uint64(r.IntN(1 << 40))
	t := int64(1_700_000_000_000)
	for range n {
		seq += uint64(1 + r.IntN(3))
		if r.IntN(10) == 0 {
			seq += uint64(r.IntN(1 << 30)) // a far jump
		}
		t += r.Int64N(20_000) - 8_000 // out of order too
		e := session.Event{TimeMs: t, Seq: seq, ID: fmt.Sprintf("e%d", r.IntN(1000)), Mark: session.Mark(r.IntN(3))}
		if r.IntN(5) > 0 {
			e.Page = fmt.Sprintf("/page/%d", r.IntN(40))
		}
		if r.IntN(3) == 0 {
			e.Raw = fmt.Sprintf(`{"raw":%d}`, r.IntN(1e6))
		}
		if r.IntN(4) == 0 {
			e.Attrs = string([]byte{byte(r.IntN(256)), 0, byte(r.IntN(256))})
		}
		if r.IntN(50) == 0 {
			e.TimeMs = -1 << 62 // far from the last
		}
		evs = append(evs, slabEvent{uuid: fmt.Sprintf("user-%d", r.IntN(users)), ev: e})
	}
	return evs
}

// TestSlabRoundTrip: what the slabs of a unit hold decodes to the same
// events, user by user and in order, alone and back to back (as in a
// spill file), with real hashes and with every user's hash the same (a
// tag collision on every lookup); and a slab uses a user's uuid once.
func TestSlabRoundTrip(t *testing.T) {
	r := rand.New(rand.NewPCG(4, 4))
	for _, c := range []struct {
		name  string
		users int
		hash  func(string) uint64
	}{
		{"xxhash, few users", 5, xxhash.Sum64String},
		{"xxhash, many users", 3000, xxhash.Sum64String},
		{"one hash for all", 300, func(string) uint64 { return 42 << 32 }},
	} {
		t.Run(c.name, func(t *testing.T) {
			var d slabDecoder
			for iter := range 20 {
				evs := randomSlabEvents(r, 1+r.IntN(4000), c.users)
				slabs, want := buildSlabs(evs, 7, c.hash)
				var joined []byte
				var all []slabEvent
				for i, slab := range slabs {
					got := decodeAll(t, &d, slab)
					if !reflect.DeepEqual(got, want[i]) && len(got)+len(want[i]) > 0 {
						t.Fatalf("iteration %d, partition %d: %d events decoded, %d encoded, or they differ", iter, i, len(got), len(want[i]))
					}
					joined = append(joined, slab...)
					all = append(all, want[i]...)
				}
				if got := decodeAll(t, &d, joined); !reflect.DeepEqual(got, all) && len(all) > 0 {
					t.Fatalf("iteration %d: slabs back to back decoded to %d events, want %d, or they differ", iter, len(got), len(all))
				}
			}
		})
	}
	slabs, _ := buildSlabs([]slabEvent{
		{uuid: "0123456789abcdef0123456789abcdef", ev: session.Event{TimeMs: 1, Seq: 1, ID: "a"}},
		{uuid: "0123456789abcdef0123456789abcdef", ev: session.Event{TimeMs: 2, Seq: 2, ID: "b"}},
		{uuid: "0123456789abcdef0123456789abcdef", ev: session.Event{TimeMs: 3, Seq: 3, ID: "c"}},
	}, 1, xxhash.Sum64String)
	if len(slabs[0]) >= 2*32 { // 55 bytes: the uuid once, 7 for each later event
		t.Fatalf("three events of one user took %d bytes: the uuid is not stored once", len(slabs[0]))
	}
}

// TestSlabPastFindableOffsets: a user first seen past the offsets users
// can be found at (4 GiB into a slab; here lowered to 300 bytes) has its
// uuid written at each of its events, and every event still decodes to
// its user; users seen before stay found.
func TestSlabPastFindableOffsets(t *testing.T) {
	r := rand.New(rand.NewPCG(6, 6))
	evs := randomSlabEvents(r, 500, 50)
	distinct := map[string]bool{}
	for _, e := range evs {
		distinct[e.uuid] = true
	}
	for _, c := range []struct {
		maxOff    uint64
		wantNames func(n int) bool // uuids written, of 500 events
	}{
		{0, func(n int) bool { return n == len(distinct) }},
		{300, func(n int) bool { return n > len(distinct) && n < len(evs) }},
	} {
		var s slabBuilder
		u := slabUsers{maxOff: c.maxOff}
		for _, e := range evs {
			s.add(&u, xxhash.Sum64String(e.uuid), e.ev.Seq, e.ev.TimeMs, []byte(e.uuid), []byte(e.ev.ID), []byte(e.ev.Page), []byte(e.ev.Raw), e.ev.Mark, []byte(e.ev.Attrs))
		}
		var d slabDecoder
		if got := decodeAll(t, &d, s.take()); !reflect.DeepEqual(got, evs) {
			t.Fatalf("maxOff %d: %d events decoded, %d encoded, or they differ", c.maxOff, len(got), len(evs))
		}
		if !c.wantNames(len(d.users)) {
			t.Fatalf("maxOff %d: %d uuids written for %d events of %d users", c.maxOff, len(d.users), len(evs), len(distinct))
		}
	}
}

// TestSlabCorruptData: a truncated or altered slab gives errCorruptSlab or
// some events, never a panic or a read outside it.
func TestSlabCorruptData(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 1))
	slabs, _ := buildSlabs(randomSlabEvents(r, 300, 20), 1, xxhash.Sum64String)
	slab := slabs[0]
	var d slabDecoder
	nop := func(string, *session.Event) {}
	for n := range len(slab) {
		if err := d.decode(slab[:n:n], nop); err != errCorruptSlab && n > 0 {
			t.Fatalf("slab cut to %d of %d bytes: %v, want errCorruptSlab", n, len(slab), err)
		}
	}
	for range 5000 {
		bad := append([]byte(nil), slab...)
		for range 1 + r.IntN(3) {
			bad[r.IntN(len(bad))] = byte(r.IntN(256))
		}
		_ = d.decode(bad[:len(bad):len(bad)], nop)
	}
}

// FuzzSlabDecode: any bytes decode to errCorruptSlab or to events, never
// a panic (a spill file is read back from disk, where anything can happen
// to it).
func FuzzSlabDecode(f *testing.F) {
	slabs, _ := buildSlabs(randomSlabEvents(rand.New(rand.NewPCG(2, 9)), 40, 5), 2, xxhash.Sum64String)
	for _, s := range slabs {
		f.Add(s)
	}
	f.Add(append(append([]byte(nil), slabs[0]...), slabs[1]...))
	var d slabDecoder
	f.Fuzz(func(t *testing.T, data []byte) {
		n := 0
		err := d.decode(data[:len(data):len(data)], func(string, *session.Event) { n++ })
		if err != nil && err != errCorruptSlab {
			t.Fatalf("error %v, want errCorruptSlab", err)
		}
	})
}
