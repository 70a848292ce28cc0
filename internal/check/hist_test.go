package check

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"
)

func TestHistogramBuckets(t *testing.T) {
	prev := -1
	for _, v := range []int64{0, 1, 127, 128, 129, 255, 256, 257, 1000, 60_000, 3_600_000, 1 << 40, math.MaxInt64} {
		b := bucketOf(v)
		if b < prev {
			t.Errorf("bucketOf(%d) = %d, below the bucket of a smaller value", v, b)
		}
		prev = b
		hi := bucketHigh(b)
		if hi < v {
			t.Errorf("bucketHigh(bucketOf(%d)) = %d < value", v, hi)
		}
		if b > 0 && bucketHigh(b-1) >= v {
			t.Errorf("value %d also fits bucket %d", v, b-1)
		}
		if float64(hi-v) > float64(v)/histSub {
			t.Errorf("bucket of %d is too wide: up to %d", v, hi)
		}
	}
	if bucketHigh(bucketOf(math.MaxInt64)) != math.MaxInt64 {
		t.Error("the last bucket must end at MaxInt64")
	}
}

// TestHistogramQuantiles: exact up to exactCap values, then within 1/128
// of the nearest-rank quantile.
func TestHistogramQuantiles(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for _, n := range []int{1, 2, 3, 100, exactCap, exactCap + 1, 200_000} {
		var h histogram
		vals := make([]int64, n)
		for i := range vals {
			vals[i] = 1 + int64(rng.ExpFloat64()*60_000)
			h.add(vals[i])
		}
		slices.Sort(vals)
		for _, q := range []float64{0.5, 0.99, 1} {
			want := vals[int(math.Ceil(q*float64(n)))-1]
			got := h.quantile(q)
			if n <= exactCap {
				if got != want || !h.isExact() {
					t.Errorf("n=%d q=%v: %d, want exactly %d", n, q, got, want)
				}
				continue
			}
			if h.isExact() || got < want || float64(got-want) > float64(want)/histSub {
				t.Errorf("n=%d q=%v: %d, want within 1/128 above %d", n, q, got, want)
			}
		}
		if h.max != vals[n-1] {
			t.Errorf("max %d, want %d", h.max, vals[n-1])
		}
	}
}

func TestHistogramMerge(t *testing.T) {
	var a, b, all histogram
	for i := int64(1); i <= 1000; i++ {
		a.add(i * 7)
		all.add(i * 7)
	}
	for i := int64(1); i <= exactCap; i++ {
		b.add(i * 1000)
		all.add(i * 1000)
	}
	var m histogram
	m.merge(&a)
	if !m.isExact() || m.quantile(0.5) != a.quantile(0.5) {
		t.Errorf("merge of one exact histogram should stay exact")
	}
	m.merge(&b)
	if m.isExact() || m.n != all.n || m.max != all.max || m.quantile(0.5) != all.quantile(0.5) || m.quantile(0.99) != all.quantile(0.99) {
		t.Errorf("merged %d values: p50 %d p99 %d max %d; want %d %d %d", m.n, m.quantile(0.5), m.quantile(0.99), m.max,
			all.quantile(0.5), all.quantile(0.99), all.max)
	}
}

func TestHashSetAndCounts(t *testing.T) {
	s, c := newHashSet(), newHashCounts()
	want := map[uint64]uint32{}
	rng := rand.New(rand.NewPCG(3, 4))
	for i := range 100_000 {
		k := rng.Uint64() % 30_000 // many repeats, and key 0 (stored as 1: no key 1 here)
		if i == 0 || k == 1 {
			k = 0
		}
		_, seen := want[k]
		if s.add(k) == seen {
			t.Fatalf("add(%d) new = %v, want %v", k, seen, !seen)
		}
		want[k]++
		c.inc(k)
	}
	if s.len() != len(want) || c.len() != len(want) {
		t.Fatalf("len %d, %d; want %d", s.len(), c.len(), len(want))
	}
	var sum, got int64
	for _, n := range want {
		sum += int64(n)
	}
	c.each(func(n uint32) { got += int64(n) })
	if got != sum {
		t.Errorf("counts sum to %d, want %d", got, sum)
	}
}

// TestHashCountsPartitions: incAt tells keys of one partition from keys of
// several, also across the table's growth.
func TestHashCountsPartitions(t *testing.T) {
	c := newHashCounts()
	several := 0
	for k := uint64(2); k < 20_002; k++ { // 0 and 1 are one key (see hashSet)
		if c.incAt(k, int32(k%3)) {
			t.Fatalf("key %d: several partitions after one event", k)
		}
		if k%7 == 0 { // a second event, from another partition
			if !c.incAt(k, int32(k%3+1)) {
				t.Fatalf("key %d: two partitions not seen", k)
			}
			several++
		}
		if k%5 == 0 && c.incAt(k, int32(k%3)) { // again from its own
			t.Fatalf("key %d: one partition taken for several", k)
		}
	}
	if c.several != several || c.len() != 20_000 {
		t.Fatalf("%d keys, %d on several partitions; want 20000 and %d", c.len(), c.several, several)
	}
}
