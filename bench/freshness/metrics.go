package main

import (
	"bufio"
	"fmt"
	"io"
	"math"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"
)

// scrape is what the harness reads from the run's /metrics: the
// close-to-visible histogram (cumulative, as Prometheus serves it) and the
// consumer lag summed over the partitions.
type scrape struct {
	buckets map[float64]float64 // upper bound (le) -> cumulative count; +Inf included
	count   float64
	lag     float64
	hasLag  bool
}

const histName = "sessionize_close_to_visible_seconds"

func fetchScrape(url string) (scrape, error) {
	cl := http.Client{Timeout: 10 * time.Second}
	resp, err := cl.Get(url)
	if err != nil {
		return scrape{}, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return scrape{}, fmt.Errorf("GET %s: %s", url, resp.Status)
	}
	return parseScrape(resp.Body)
}

// parseScrape reads the Prometheus text format, keeping only the series
// the harness needs.
func parseScrape(r io.Reader) (scrape, error) {
	s := scrape{buckets: map[float64]float64{}}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if line == "" || line[0] == '#' {
			continue
		}
		sp := strings.LastIndexByte(line, ' ')
		if sp < 0 {
			continue
		}
		name, val := line[:sp], line[sp+1:]
		v, err := strconv.ParseFloat(val, 64)
		if err != nil {
			continue
		}
		switch {
		case strings.HasPrefix(name, histName+"_bucket{"):
			le := between(name, `le="`, `"`)
			b, err := strconv.ParseFloat(le, 64) // "+Inf" parses as +Inf
			if err != nil {
				return s, fmt.Errorf("bucket %q: %w", name, err)
			}
			s.buckets[b] = v
		case name == histName+"_count":
			s.count = v
		case strings.HasPrefix(name, "sessionize_consumer_lag_records{"):
			s.lag += v
			s.hasLag = true
		}
	}
	return s, sc.Err()
}

func between(s, start, end string) string {
	i := strings.Index(s, start)
	if i < 0 {
		return ""
	}
	s = s[i+len(start):]
	if j := strings.Index(s, end); j >= 0 {
		return s[:j]
	}
	return s
}

// window is the histogram of one window: the difference of two scrapes.
type window struct {
	bounds []float64 // ascending, +Inf last
	cum    []float64 // cumulative counts per bound
}

func diffScrapes(prev, cur scrape) window {
	var w window
	for b := range cur.buckets {
		w.bounds = append(w.bounds, b)
	}
	slices.Sort(w.bounds)
	for _, b := range w.bounds {
		w.cum = append(w.cum, cur.buckets[b]-prev.buckets[b])
	}
	return w
}

func (w window) total() float64 {
	if len(w.cum) == 0 {
		return 0
	}
	return w.cum[len(w.cum)-1]
}

// shareWithin is the exact share of observations <= bound, when bound is a
// bucket boundary; NaN without observations or without that boundary.
func (w window) shareWithin(bound float64) float64 {
	i := slices.Index(w.bounds, bound)
	if i < 0 || w.total() == 0 {
		return math.NaN()
	}
	return w.cum[i] / w.total()
}

// quantile estimates the q-quantile like Prometheus' histogram_quantile:
// linear within the bucket it falls in (from 0 for the first bucket); in
// the +Inf bucket it is the highest finite bound (a floor: "> bound").
func (w window) quantile(q float64) float64 {
	n := w.total()
	if n == 0 {
		return math.NaN()
	}
	rank := q * n
	lower, below := 0.0, 0.0
	for i, b := range w.bounds {
		if w.cum[i] >= rank {
			if math.IsInf(b, 1) {
				return lower
			}
			in := w.cum[i] - below
			if in == 0 {
				return b
			}
			return lower + (b-lower)*(rank-below)/in
		}
		lower, below = b, w.cum[i]
	}
	return lower
}

// overflow says the quantile fell in the +Inf bucket (the value is only a
// lower bound).
func (w window) overflow(q float64) bool {
	n := w.total()
	if n == 0 || len(w.bounds) < 2 {
		return false
	}
	return w.cum[len(w.cum)-2] < q*n
}
