package pipeline

import (
	"bufio"
	"context"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/sessionize/sessionize/internal/metrics"
)

// scrape reads /metrics and sums each metric name over its labels (and
// keeps labelled values too, under name{labels}).
func scrape(t *testing.T, url string) map[string]float64 {
	t.Helper()
	resp, err := http.Get(url + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	out := map[string]float64{}
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		line := sc.Text()
		if strings.HasPrefix(line, "#") {
			continue
		}
		i := strings.LastIndexByte(line, ' ')
		v, err := strconv.ParseFloat(line[i+1:], 64)
		if err != nil {
			continue
		}
		series := line[:i]
		out[series] = v
		if j := strings.IndexByte(series, '{'); j > 0 {
			out[series[:j]] += v
		}
	}
	return out
}

// TestMetricsDuringRun scrapes /metrics while the job runs: the figures
// move, and at the end they add up to the nothing-lost account and to the
// tables.
func TestMetricsDuringRun(t *testing.T) {
	b := startBroker(t, 3)
	lines, keys := generated(t, 16_000, 200, 5)
	wh := t.TempDir()
	cfg := runConfig(t, b, wh)
	cfg.StopWhenIdle = 1500 * time.Millisecond
	cfg.Metrics = metrics.New(cfg.CommitInterval)
	srv := httptest.NewServer(cfg.Metrics.Handler())
	defer srv.Close()

	produceLines(t, b, lines[:8000], keys[:8000])
	done := make(chan error, 1)
	ctx, cancel := context.WithTimeout(t.Context(), 60*time.Second)
	defer cancel()
	go func() { done <- Run(ctx, cfg) }()

	var first map[string]float64
	for deadline := time.Now().Add(20 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		first = scrape(t, srv.URL)
		if first[`sessionize_records_total{outcome="consumed",reason=""}`] >= 8000 && first["sessionize_commit_duration_seconds_count"] > 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("figures did not move: %v", first)
		}
	}
	if resp, err := http.Get(srv.URL + "/readyz"); err != nil || resp.StatusCode != 200 {
		t.Fatalf("not ready during the run: %v %v", resp, err)
	}
	produceLines(t, b, lines[8000:], keys[8000:])
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	last := scrape(t, srv.URL)
	consumed := last[`sessionize_records_total{outcome="consumed",reason=""}`]
	if consumed <= first[`sessionize_records_total{outcome="consumed",reason=""}`] || consumed != float64(len(lines)) {
		t.Fatalf("consumed %v at the end, %v mid-run, produced %d", consumed, first[`sessionize_records_total{outcome="consumed",reason=""}`], len(lines))
	}
	in := last[`sessionize_records_total{outcome="in_session",reason=""}`]
	dup := last[`sessionize_records_total{outcome="duplicate",reason=""}`]
	late := last[`sessionize_records_total{outcome="late",reason=""}`]
	rejected := 0.0
	for k, v := range last {
		if strings.HasPrefix(k, `sessionize_records_total{outcome="rejected"`) {
			rejected += v
		}
	}
	if in+dup+late+rejected+last["sessionize_open_events"] != consumed {
		t.Fatalf("metrics do not add up: in %v + dup %v + late %v + rejected %v + open %v != %v", in, dup, late, rejected, last["sessionize_open_events"], consumed)
	}
	// Keys of accepted events are remembered, and their memory reported
	// (mid-run: a revoked partition's series go at the end).
	if keys, bytes := first["sessionize_dedup_keys"], first["sessionize_dedup_bytes"]; keys <= 0 || bytes < 40*keys {
		t.Fatalf("mid-run: dedup keys %v, %v bytes", keys, bytes)
	}
	a, err := Audit(t.Context(), openWarehouse(t, wh))
	if err != nil {
		t.Fatal(err)
	}
	if float64(a.InSessions) != in || float64(a.Duplicates) != dup || float64(a.Rejected) != rejected || float64(a.Sessions) != last["sessionize_sessions_total"] {
		t.Fatalf("metrics differ from the tables: %s; metrics in %v dup %v rejected %v sessions %v", a, in, dup, rejected, last["sessionize_sessions_total"])
	}
}
