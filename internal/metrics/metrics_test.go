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
