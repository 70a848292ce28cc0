package main

import (
	"math"
	"strings"
	"testing"
)

const scrapeA = `# HELP sessionize_close_to_visible_seconds x
# TYPE sessionize_close_to_visible_seconds histogram
sessionize_close_to_visible_seconds_bucket{le="1"} 10
sessionize_close_to_visible_seconds_bucket{le="2"} 20
sessionize_close_to_visible_seconds_bucket{le="5"} 20
sessionize_close_to_visible_seconds_bucket{le="+Inf"} 20
sessionize_close_to_visible_seconds_sum 25
sessionize_close_to_visible_seconds_count 20
sessionize_consumer_lag_records{partition="0"} 5
sessionize_consumer_lag_records{partition="1"} 7
`

const scrapeB = `sessionize_close_to_visible_seconds_bucket{le="1"} 60
sessionize_close_to_visible_seconds_bucket{le="2"} 218
sessionize_close_to_visible_seconds_bucket{le="5"} 219
sessionize_close_to_visible_seconds_bucket{le="+Inf"} 220
sessionize_close_to_visible_seconds_count 220
sessionize_consumer_lag_records{partition="0"} 0
`

// TestWindowFromScrapes: a window is the difference of two scrapes; its
// share within 2 s is exact at the bucket boundary and its quantiles
// interpolate like histogram_quantile.
func TestWindowFromScrapes(t *testing.T) {
	a, err := parseScrape(strings.NewReader(scrapeA))
	if err != nil {
		t.Fatal(err)
	}
	if a.count != 20 || a.lag != 12 || !a.hasLag || len(a.buckets) != 4 {
		t.Fatalf("scrape A: %+v", a)
	}
	b, err := parseScrape(strings.NewReader(scrapeB))
	if err != nil {
		t.Fatal(err)
	}
	w := diffScrapes(a, b)
	if w.total() != 200 {
		t.Fatalf("window total %v, want 200", w.total())
	}
	if got := w.shareWithin(2); got != 198.0/200 {
		t.Errorf("share within 2 s %v, want 0.99", got)
	}
	if !math.IsNaN(w.shareWithin(3)) {
		t.Error("share within a bound that is no bucket boundary must be NaN")
	}
	for _, c := range []struct {
		q, want  float64
		overflow bool
	}{
		{0.25, 1, false},           // rank 50: the last of the 50 in (0, 1]
		{0.5, 1 + 50.0/148, false}, // rank 100: 50 into the 148 in (1, 2]
		{0.99, 2, false},           // rank 198: the last in (1, 2]
		{0.995, 5, false},          // rank 199: the one in (2, 5]
		{1, 5, true},               // rank 200: in +Inf, reported as "> 5"
	} {
		if got := w.quantile(c.q); math.Abs(got-c.want) > 1e-9 {
			t.Errorf("quantile(%v) = %v, want %v", c.q, got, c.want)
		}
		if got := w.overflow(c.q); got != c.overflow {
			t.Errorf("overflow(%v) = %v, want %v", c.q, got, c.overflow)
		}
	}
	if empty := diffScrapes(b, b); !math.IsNaN(empty.quantile(0.99)) || !math.IsNaN(empty.shareWithin(2)) {
		t.Error("a window without sessions has no quantile and no share")
	}
}

func TestParseLogLine(t *testing.T) {
	for _, c := range []struct {
		line string
		want map[string]string
	}{
		{`{"time":"2026-12-02T10:00:00.5Z","level":"INFO","msg":"commit","seq":3,"commit_ms":41,"lag":0}`,
			map[string]string{"msg": "commit", "commit_ms": "41", "seq": "3", "time": "2026-12-02T10:00:00.5Z"}},
		{`time=2026-12-02T10:00:00.5Z level=INFO msg=commit seq=3 records=50000 commit_ms=41`,
			map[string]string{"msg": "commit", "commit_ms": "41", "records": "50000"}},
		{`time=2026-12-02T10:00:00Z level=INFO msg="table maintenance" expired_snapshots=12 deleted_files=30 ms=420`,
			map[string]string{"msg": "table maintenance", "expired_snapshots": "12", "ms": "420"}},
		{`time=2026-12-02T10:00:00Z level=WARN msg="table maintenance failed; retrying at the next interval" error="iceberg: lost \"the\" race"`,
			map[string]string{"msg": "table maintenance failed; retrying at the next interval", "error": `iceberg: lost "the" race`}},
	} {
		got, ok := parseLogLine(c.line)
		if !ok {
			t.Errorf("%s: not a log line", c.line)
			continue
		}
		for k, v := range c.want {
			if got[k] != v {
				t.Errorf("%s: %s = %q, want %q", c.line, k, got[k], v)
			}
		}
	}
	if _, ok := parseLogLine("produce: sent 5 records"); ok {
		t.Error("a line without msg is not a log line")
	}
}

func TestPercentile(t *testing.T) {
	vs := []float64{5, 1, 4, 2, 3, 100, 6, 7, 8, 9}
	for q, want := range map[float64]float64{0.5: 5, 0.99: 100, 1: 100, 0.1: 1} {
		if got := pctF(vs, q); got != want {
			t.Errorf("pct(%v) = %v, want %v", q, got, want)
		}
	}
	if !math.IsNaN(pctF(nil, 0.5)) {
		t.Error("no values: NaN")
	}
}
