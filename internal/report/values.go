package report

import (
	"cmp"
	"iter"
	"maps"
	"math"
	"slices"
)

// The report's percentiles (median, p95, and the p99 the charts clip at)
// are exact, yet its memory does not grow with the number of sessions:
// durations and event counts are kept as exact counts per distinct value
// rather than as one value per session. A session's duration is a whole
// number of milliseconds over 1000 (end - start), so it has at most a few
// million possible values however many sessions there are.

// valueCounts is an exact multiset of numbers, read in ascending order.
type valueCounts interface {
	// total is how many values were added.
	total() int64
	// sum is their sum.
	sum() float64
	// ascending yields each distinct value, smallest first, with how many
	// times it was added.
	ascending() iter.Seq2[float64, int64]
}

// intCounts counts integers (events per session, sessions per user): a
// map, since they take few distinct values.
type intCounts struct {
	m    map[int64]int64
	n    int64
	sumV int64
}

func newIntCounts() *intCounts { return &intCounts{m: map[int64]int64{}} }

func (c *intCounts) add(v, times int64) {
	c.m[v] += times
	c.n += times
	c.sumV += v * times
}

func (c *intCounts) counts() valueCounts { return intCountsView{c} }

type intCountsView struct{ c *intCounts }

func (v intCountsView) total() int64 { return v.c.n }
func (v intCountsView) sum() float64 { return float64(v.c.sumV) }
func (v intCountsView) ascending() iter.Seq2[float64, int64] {
	return func(yield func(float64, int64) bool) {
		for _, k := range slices.Sorted(maps.Keys(v.c.m)) {
			if !yield(float64(k), v.c.m[k]) {
				return
			}
		}
	}
}

// Durations on the millisecond grid below pagedMs are counted in pages of
// pageMs consecutive milliseconds, allocated when first touched: 32 KiB
// per 16 s of durations, 16 MiB at most (2.3 h, above the default maximum
// session duration of 2 h). Any other value (longer, negative, not a whole
// millisecond, e.g. from a hand-made file) goes to a map, which costs
// memory per distinct value.
const (
	pageBits = 14
	pageMs   = 1 << pageBits
	pagedMs  = 1 << 23
)

// durationCounts counts session durations in seconds, exactly.
type durationCounts struct {
	pages [pagedMs / pageMs]*[pageMs]uint16
	// wrapped holds multiples of 2^16 for a millisecond whose uint16
	// count wrapped around (durations of 0 are common: one-event
	// sessions).
	wrapped map[int64]int64
	other   map[float64]int64
	nan     int64
	n       int64
	sumMs   int64   // exact sum of the paged values, in milliseconds
	sumRest float64 // sum of the others
}

func newDurationCounts() *durationCounts {
	return &durationCounts{wrapped: map[int64]int64{}, other: map[float64]int64{}}
}

func (c *durationCounts) add(seconds float64) {
	c.n++
	ms := math.Round(seconds * 1000)
	if ms >= 0 && ms < pagedMs && ms/1000 == seconds {
		i := int64(ms)
		p := c.pages[i>>pageBits]
		if p == nil {
			p = new([pageMs]uint16)
			c.pages[i>>pageBits] = p
		}
		p[i&(pageMs-1)]++
		if p[i&(pageMs-1)] == 0 {
			c.wrapped[i] += 1 << 16
		}
		c.sumMs += i
		return
	}
	if math.IsNaN(seconds) {
		c.nan++ // NaN != NaN: as a map key every one would be new
		return
	}
	c.other[seconds]++
	c.sumRest += seconds
}

func (c *durationCounts) counts() valueCounts { return durationView{c} }

type durationView struct{ c *durationCounts }

func (v durationView) total() int64 { return v.c.n }

func (v durationView) sum() float64 {
	if v.c.nan > 0 {
		return math.NaN()
	}
	return float64(v.c.sumMs)/1000 + v.c.sumRest
}

// ascending merges the pages with the other values; NaNs come first, as
// slices.Sort orders them.
func (v durationView) ascending() iter.Seq2[float64, int64] {
	c := v.c
	return func(yield func(float64, int64) bool) {
		if c.nan > 0 && !yield(math.NaN(), c.nan) {
			return
		}
		others := slices.Sorted(maps.Keys(c.other))
		emitOthersBelow := func(limit float64) bool {
			for len(others) > 0 && others[0] < limit {
				if !yield(others[0], c.other[others[0]]) {
					return false
				}
				others = others[1:]
			}
			return true
		}
		for pi, p := range c.pages {
			if p == nil {
				continue
			}
			for j, cnt := range p {
				ms := int64(pi)<<pageBits | int64(j)
				n := int64(cnt) + c.wrapped[ms]
				if n == 0 {
					continue
				}
				s := float64(ms) / 1000
				if !emitOthersBelow(s) || !yield(s, n) {
					return
				}
			}
		}
		emitOthersBelow(math.Inf(1))
		for _, o := range others { // +Inf
			if !yield(o, c.other[o]) {
				return
			}
		}
	}
}

// atRanks returns the values at the given 0-based ranks of the sorted
// values, in one ascending pass.
func atRanks(c valueCounts, ranks ...int64) []float64 {
	out := make([]float64, len(ranks))
	order := make([]int, len(ranks))
	for i := range order {
		order[i] = i
	}
	slices.SortFunc(order, func(a, b int) int { return cmp.Compare(ranks[a], ranks[b]) })
	var seen int64
	k := 0
	for v, n := range c.ascending() {
		seen += n
		for k < len(order) && ranks[order[k]] < seen {
			out[order[k]] = v
			k++
		}
		if k == len(order) {
			break
		}
	}
	return out
}

// nearestRankIndex is the 0-based rank of the nearest-rank q-quantile of
// n values: the smallest value with at least q of the values at or below
// it.
func nearestRankIndex(n int64, q float64) int64 {
	return max(0, min(int64(math.Ceil(q*float64(n)))-1, n-1))
}

// stats summarises values: mean, median (the mean of the two middle
// values for an even count), nearest-rank p95, min, max, distribution.
func stats(c valueCounts, buckets []BucketDef) Stats {
	st := Stats{Distribution: distribution(buckets, c)}
	n := c.total()
	if n == 0 {
		return st
	}
	st.Mean = ptr(c.sum() / float64(n))
	r := atRanks(c, 0, n-1, (n-1)/2, n/2, nearestRankIndex(n, 0.95))
	st.Min, st.Max = ptr(r[0]), ptr(r[1])
	st.Median = ptr(r[2])
	if n%2 == 0 {
		st.Median = ptr((r[2] + r[3]) / 2)
	}
	st.P95 = ptr(r[4])
	return st
}

func distribution(defs []BucketDef, c valueCounts) []Bucket {
	out := make([]Bucket, len(defs))
	for i, d := range defs {
		out[i] = Bucket{Label: d.Label, Min: d.Min}
		if !math.IsInf(d.Max, 1) {
			out[i].Max = ptr(d.Max)
		}
	}
	for v, n := range c.ascending() {
		for i, d := range defs {
			if v >= d.Min && v < d.Max {
				out[i].Count += n
				break
			}
		}
	}
	for i := range out {
		out[i].Share = ratio(out[i].Count, c.total())
	}
	return out
}
