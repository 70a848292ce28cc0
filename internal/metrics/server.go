package metrics

import (
	"context"
	_ "embed"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"net"
	"net/http"
	"slices"
	"time"

	"github.com/prometheus/client_golang/prometheus/promhttp"
)

//go:embed status.html
var statusPage []byte

// Handler serves /metrics, /healthz, /readyz, /status.json and the status
// page at /.
func (m *Pipeline) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{}))
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		fmt.Fprintln(w, "ok")
	})
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, _ *http.Request) {
		ok, why := m.Ready()
		if !ok {
			w.WriteHeader(http.StatusServiceUnavailable)
		}
		fmt.Fprintln(w, why)
	})
	mux.HandleFunc("GET /status.json", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(m.Status())
	})
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.Write(statusPage)
	})
	return mux
}

// Status is what the status page shows.
type Status struct {
	Now          time.Time          `json:"now"`
	UptimeSec    float64            `json:"uptime_seconds"`
	Ready        bool               `json:"ready"`
	ReadyReason  string             `json:"ready_reason"`
	Assigned     []int32            `json:"assigned"`
	Totals       map[string]float64 `json:"totals"`
	OpenSessions float64            `json:"open_sessions"`
	Partitions   []PartitionStatus  `json:"partitions"`
	Commits      []Commit           `json:"commits"`
}

// Status returns a snapshot for the status page.
func (m *Pipeline) Status() Status {
	ready, why := m.Ready()
	m.mu.Lock()
	defer m.mu.Unlock()
	s := Status{Now: time.Now(), UptimeSec: time.Since(m.started).Seconds(), Ready: ready, ReadyReason: why,
		Assigned: slices.Clone(m.assigned), Totals: maps.Clone(m.totals), Commits: slices.Clone(m.commits)}
	for _, p := range m.parts {
		s.Partitions = append(s.Partitions, p)
	}
	slices.SortFunc(s.Partitions, func(a, b PartitionStatus) int { return int(a.Partition - b.Partition) })
	s.OpenSessions = gaugeValue(m.openSessions)
	return s
}

// Serve runs the HTTP server on addr until ctx is done. It returns once
// the listener is open, so a taken port is reported at start.
func Serve(ctx context.Context, addr string, h http.Handler, logger *slog.Logger) (string, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return "", fmt.Errorf("metrics server on %s: %w (choose another --http-addr, or empty to turn it off)", addr, err)
	}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 5 * time.Second}
	go func() {
		<-ctx.Done()
		shut, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		srv.Shutdown(shut)
	}()
	go func() {
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			logger.Error("metrics server stopped", "error", err)
		}
	}()
	return ln.Addr().String(), nil
}
