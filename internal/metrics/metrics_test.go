package metrics

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

func get(t *testing.T, srv *httptest.Server, path string) (int, string) {
	t.Helper()
	resp, err := http.Get(srv.URL + path)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func TestHandlers(t *testing.T) {
	m := New(50 * time.Millisecond)
	srv := httptest.NewServer(m.Handler())
	defer srv.Close()
	if code, _ := get(t, srv, "/healthz"); code != 200 {
		t.Fatalf("healthz %d", code)
	}
	if code, body := get(t, srv, "/readyz"); code != 503 || !strings.Contains(body, "no partitions") {
		t.Fatalf("readyz before assignment: %d %q", code, body)
	}
	m.SetAssigned([]int32{0, 1})
	m.AddRecords("rejected", "invalid_json", 3)
	m.AddRecords("consumed", "", 10)
	m.AddSessions("inactivity", 2)
	m.SetPartition(1, 42, time.Now().UnixMilli())
	m.SetDedup(1, 1000, 40_000, 3)
	m.SetDedup(1, 1200, 48_000, 2)
	m.SetPartition(1, 42, time.Now().UnixMilli())
	if st := m.Status().Partitions; len(st) != 1 || st[0].DedupKeys != 1200 || st[0].DedupBytes != 48_000 || st[0].DedupEvictedEarly != 5 || st[0].Lag != 42 {
		t.Fatalf("status partitions %+v", st)
	}
	m.Committed(Commit{Time: time.Now(), Records: 10})
	if code, _ := get(t, srv, "/readyz"); code != 200 {
		t.Fatalf("readyz after a commit: %d", code)
	}
	_, body := get(t, srv, "/metrics")
	for _, want := range []string{
		`sessionize_records_total{outcome="rejected",reason="invalid_json"} 3`,
		`sessionize_sessions_total{end_reason="inactivity"} 2`,
		`sessionize_consumer_lag_records{partition="1"} 42`,
		`sessionize_dedup_keys{partition="1"} 1200`,
		`sessionize_dedup_bytes{partition="1"} 48000`,
		`sessionize_dedup_evicted_early_total{partition="1"} 5`,
		`sessionize_commit_duration_seconds_count 1`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}
	time.Sleep(200 * time.Millisecond)
	if code, body := get(t, srv, "/readyz"); code != 503 || !strings.Contains(body, "last commit") {
		t.Fatalf("readyz after 3 silent intervals: %d %q", code, body)
	}
	if code, body := get(t, srv, "/"); code != 200 || !strings.Contains(body, "status.json") || strings.Contains(body, "http://") || strings.Contains(body, "https://") {
		t.Fatalf("status page: %d, must be self-contained", code)
	}
	m.SetAssigned([]int32{0})
	if _, body := get(t, srv, "/metrics"); strings.Contains(body, `partition="1"`) {
		t.Fatal("a revoked partition still has series")
	}
}

// TestCloseToVisible: every session of a commit is one observation, and a
// session visible in exactly 2 s falls in the le="2" bucket, so the share
// within a 2 s target is read exactly off the histogram.
func TestCloseToVisible(t *testing.T) {
	m := New(time.Second)
	srv := httptest.NewServer(m.Handler())
	defer srv.Close()
	m.CloseToVisible([]time.Duration{300 * time.Millisecond, 1100 * time.Millisecond, 2 * time.Second})
	m.CloseToVisible(nil) // a commit without sessions observes nothing
	m.CloseToVisible([]time.Duration{2001 * time.Millisecond, 45 * time.Second, 10 * time.Minute})
	var nilM *Pipeline
	nilM.CloseToVisible([]time.Duration{time.Second}) // metrics off: no panic
	_, body := get(t, srv, "/metrics")
	for _, want := range []string{
		`sessionize_close_to_visible_seconds_bucket{le="0.25"} 0`,
		`sessionize_close_to_visible_seconds_bucket{le="0.5"} 1`,
		`sessionize_close_to_visible_seconds_bucket{le="1.25"} 2`,
		`sessionize_close_to_visible_seconds_bucket{le="2"} 3`,
		`sessionize_close_to_visible_seconds_bucket{le="2.5"} 4`,
		`sessionize_close_to_visible_seconds_bucket{le="60"} 5`,
		`sessionize_close_to_visible_seconds_bucket{le="120"} 5`,
		`sessionize_close_to_visible_seconds_bucket{le="+Inf"} 6`,
		`sessionize_close_to_visible_seconds_count 6`,
		`sessionize_close_to_visible_seconds_sum 650.401`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}
}
