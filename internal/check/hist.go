package check

import (
	"math"
	"math/bits"
	"slices"
)

// histogram counts positive int64 values (milliseconds of lateness) in
// log-linear buckets: values below 128 each have their own bucket, and every
// power of two above is split into 128 equal buckets, so a quantile read
// back is within 1/128 (< 0.8%) of the true value. The bucket slice grows
// only as far as the largest value seen: a source whose lateness stays
// under an hour needs about 2,000 buckets (16 KiB).
//
// Up to exactCap values are also kept as they are, so the quantiles of a
// source with few out-of-order records are exact (nearest rank); past
// that the histogram answers.
type histogram struct {
	counts []int64
	n      int64
	max    int64
	exact  []int64 // all values while n <= exactCap
}

// exactCap is how many values a histogram keeps exactly (128 KiB).
const exactCap = 1 << 14

const (
	histSubBits = 7
	histSub     = 1 << histSubBits // buckets per power of two, and the exact range
)

// bucketOf returns the bucket of v >= 0.
func bucketOf(v int64) int {
	if v < histSub {
		return int(v)
	}
	e := bits.Len64(uint64(v)) - histSubBits - 1 // v>>e is in [histSub, 2*histSub)
	return histSub + e*histSub + int(v>>e) - histSub
}

// bucketHigh returns the largest value that falls in bucket b.
func bucketHigh(b int) int64 {
	if b < histSub {
		return int64(b)
	}
	e := (b - histSub) / histSub
	m := int64((b-histSub)%histSub + histSub)
	return (m+1)<<e - 1
}

func (h *histogram) add(v int64) {
	b := bucketOf(v)
	if b >= len(h.counts) {
		h.grow(b)
	}
	h.counts[b]++
	h.n++
	if h.n <= exactCap {
		h.exact = append(h.exact, v)
	} else if h.exact != nil {
		h.exact = nil
	}
	if v > h.max {
		h.max = v
	}
}

func (h *histogram) grow(b int) {
	n := max(2*len(h.counts), b+1, 256)
	c := make([]int64, n)
	copy(c, h.counts)
	h.counts = c
}

func (h *histogram) merge(o *histogram) {
	if len(o.counts) > len(h.counts) {
		h.grow(len(o.counts) - 1)
	}
	for i, c := range o.counts {
		h.counts[i] += c
	}
	if h.n+o.n <= exactCap {
		h.exact = append(h.exact, o.exact...)
	} else {
		h.exact = nil
	}
	h.n += o.n
	h.max = max(h.max, o.max)
}

// isExact reports whether quantile is exact.
func (h *histogram) isExact() bool { return int64(len(h.exact)) == h.n }

// quantile returns the q-quantile (0 < q <= 1): the smallest bucket bound v
// such that at least ceil(q*n) values are <= v, capped at the exact max.
// 0 when the histogram is empty.
func (h *histogram) quantile(q float64) int64 {
	if h.n == 0 {
		return 0
	}
	rank := int64(math.Ceil(q*float64(h.n) - 1e-9))
	rank = min(max(rank, 1), h.n)
	if h.isExact() {
		v := slices.Clone(h.exact)
		slices.Sort(v)
		return v[rank-1]
	}
	var seen int64
	for b, c := range h.counts {
		seen += c
		if seen >= rank {
			return min(bucketHigh(b), h.max)
		}
	}
	return h.max
}
