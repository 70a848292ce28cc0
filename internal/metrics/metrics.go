// Package metrics is the streaming job's window for operators: Prometheus
// metrics, health and readiness, and a self-contained status page, all on
// one HTTP server.
package metrics

import (
	"strconv"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
)

// Pipeline holds the job's metrics and the little state the status page
// and readiness need. Its methods are safe for concurrent use: the job
// updates it, HTTP handlers read it.
type Pipeline struct {
	reg *prometheus.Registry

	records         *prometheus.CounterVec
	sessions        *prometheus.CounterVec
	openSessions    prometheus.Gauge
	openEvents      prometheus.Gauge
	stateBytes      prometheus.Gauge
	lag             *prometheus.GaugeVec
	watermarkDelay  *prometheus.GaugeVec
	dedupKeys       *prometheus.GaugeVec
	dedupBytes      *prometheus.GaugeVec
	dedupEarly      *prometheus.CounterVec
	commitDuration  prometheus.Histogram
	closeToVisible  prometheus.Histogram
	commitConflicts prometheus.Counter
	commitFailures  prometheus.Counter
	checkpointBytes prometheus.Histogram
	checkpointTime  prometheus.Histogram

	commitInterval time.Duration
	started        time.Time

	mu       sync.Mutex
	assigned []int32
	lastOK   time.Time
	commits  []Commit // most recent last, at most keepCommits
	totals   map[string]float64
	parts    map[int32]PartitionStatus
}

// Commit is one commit as the status page shows it.
type Commit struct {
	Time       time.Time `json:"time"`
	Records    int64     `json:"records"`
	Sessions   int       `json:"sessions"`
	Late       int       `json:"late"`
	Rejected   int       `json:"rejected"`
	DurationMs int64     `json:"duration_ms"`
	Lag        int64     `json:"lag"`
	StateBytes int       `json:"state_bytes"`
}

// PartitionStatus is one partition on the status page.
type PartitionStatus struct {
	Partition   int32 `json:"partition"`
	Lag         int64 `json:"lag"`
	WatermarkMs int64 `json:"watermark_ms"`
	// Keys of committed events remembered to recognise re-sent copies,
	// their memory, and how many were forgotten early (still inside
	// --dedup-window) because of --dedup-max-keys since the process began.
	DedupKeys         int   `json:"dedup_keys"`
	DedupBytes        int64 `json:"dedup_bytes"`
	DedupEvictedEarly int64 `json:"dedup_evicted_early"`
}

const keepCommits = 20

// New registers the job's metrics (and the Go runtime's) in a registry of
// its own, so tests and several jobs in one process do not collide.
func New(commitInterval time.Duration) *Pipeline {
	m := &Pipeline{
		reg:            prometheus.NewRegistry(),
		commitInterval: commitInterval,
		started:        time.Now(),
		totals:         map[string]float64{},
		parts:          map[int32]PartitionStatus{},
	}
	f := factory{m.reg}
	m.records = f.counterVec("sessionize_records_total", "Records consumed, by outcome (in_session, duplicate, late, rejected) and rejection reason.", "outcome", "reason")
	m.sessions = f.counterVec("sessionize_sessions_total", "Sessions committed, by end reason.", "end_reason")
	m.openSessions = f.gauge("sessionize_open_sessions", "Users with a session not yet closed.")
	m.openEvents = f.gauge("sessionize_open_events", "Accepted events not yet in a committed session.")
	m.stateBytes = f.gauge("sessionize_state_bytes", "Size of the last state checkpoint.")
	m.lag = f.gaugeVec("sessionize_consumer_lag_records", "Records between the consumer's position and the partition's end.", "partition")
	m.watermarkDelay = f.gaugeVec("sessionize_watermark_delay_seconds", "Wall-clock time minus the partition's event-time watermark.", "partition")
	m.dedupKeys = f.gaugeVec("sessionize_dedup_keys", "Keys of accepted events remembered to recognise re-sent copies (bounded by --dedup-window and --dedup-max-keys).", "partition")
	m.dedupBytes = f.gaugeVec("sessionize_dedup_bytes", "Memory held by the remembered keys.", "partition")
	m.dedupEarly = f.counterVec("sessionize_dedup_evicted_early_total", "Keys forgotten because of --dedup-max-keys while still inside --dedup-window: raise --dedup-max-keys if this grows.", "partition")
	m.commitDuration = f.histogram("sessionize_commit_duration_seconds", "Time to commit checkpoint and tables.", prometheus.ExponentialBuckets(0.005, 2, 14))
	m.closeToVisible = f.histogram("sessionize_close_to_visible_seconds", "Per committed session: from the Kafka timestamp of the newest record read when it closed to the commit that made it readable.", closeToVisibleBuckets())
	m.commitConflicts = f.counter("sessionize_commit_conflicts_total", "Commits retried because another writer moved a table.")
	m.commitFailures = f.counter("sessionize_commit_failures_total", "Commit attempts that failed and were retried.")
	m.checkpointBytes = f.histogram("sessionize_checkpoint_bytes", "Size of state checkpoints.", prometheus.ExponentialBuckets(256, 4, 12))
	m.checkpointTime = f.histogram("sessionize_checkpoint_duration_seconds", "Time to encode and write a state checkpoint.", prometheus.ExponentialBuckets(0.001, 2, 14))
	m.reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

// closeToVisibleBuckets are the bounds of sessionize_close_to_visible_seconds:
// fine around a freshness target of a few seconds (with a 1 s commit
// interval a session is visible within 1 to 2 s), so the share within 2 s is
// read exactly off the le="2" bucket, and coarse up to the minutes a lagging
// job takes.
func closeToVisibleBuckets() []float64 {
	return []float64{0.1, 0.25, 0.5, 0.75, 1, 1.25, 1.5, 2, 2.5, 3, 5, 10, 20, 30, 60, 120}
}

type factory struct{ reg *prometheus.Registry }

func (f factory) counterVec(name, help string, labels ...string) *prometheus.CounterVec {
	c := prometheus.NewCounterVec(prometheus.CounterOpts{Name: name, Help: help}, labels)
	f.reg.MustRegister(c)
	return c
}

func (f factory) gaugeVec(name, help string, labels ...string) *prometheus.GaugeVec {
	g := prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: name, Help: help}, labels)
	f.reg.MustRegister(g)
	return g
}

func (f factory) counter(name, help string) prometheus.Counter {
	c := prometheus.NewCounter(prometheus.CounterOpts{Name: name, Help: help})
	f.reg.MustRegister(c)
	return c
}

func (f factory) gauge(name, help string) prometheus.Gauge {
	g := prometheus.NewGauge(prometheus.GaugeOpts{Name: name, Help: help})
	f.reg.MustRegister(g)
	return g
}

func (f factory) histogram(name, help string, buckets []float64) prometheus.Histogram {
	h := prometheus.NewHistogram(prometheus.HistogramOpts{Name: name, Help: help, Buckets: buckets})
	f.reg.MustRegister(h)
	return h
}

// AddRecords counts records with one outcome; reason is empty except for
// rejected records.
func (m *Pipeline) AddRecords(outcome, reason string, n int64) {
	if m == nil || n == 0 {
		return
	}
	m.records.WithLabelValues(outcome, reason).Add(float64(n))
	m.mu.Lock()
	m.totals[outcome] += float64(n)
	m.mu.Unlock()
}

// AddSessions counts committed sessions with one end reason.
func (m *Pipeline) AddSessions(endReason string, n int64) {
	if m == nil || n == 0 {
		return
	}
	m.sessions.WithLabelValues(endReason).Add(float64(n))
	m.mu.Lock()
	m.totals["sessions"] += float64(n)
	m.mu.Unlock()
}

// SetOpen sets the open sessions and events.
func (m *Pipeline) SetOpen(sessions, events int64) {
	if m == nil {
		return
	}
	m.openSessions.Set(float64(sessions))
	m.openEvents.Set(float64(events))
}

// SetPartition records a partition's lag and watermark.
func (m *Pipeline) SetPartition(p int32, lag, watermarkMs int64) {
	if m == nil {
		return
	}
	label := strconv.Itoa(int(p))
	m.lag.WithLabelValues(label).Set(float64(lag))
	if watermarkMs > 0 {
		m.watermarkDelay.WithLabelValues(label).Set(time.Since(time.UnixMilli(watermarkMs)).Seconds())
	}
	m.mu.Lock()
	st := m.parts[p]
	st.Partition, st.Lag, st.WatermarkMs = p, lag, watermarkMs
	m.parts[p] = st
	m.mu.Unlock()
}

// SetDedup records a partition's remembered keys, their memory, and the
// keys forgotten early since the last call.
func (m *Pipeline) SetDedup(p int32, keys int, bytes, evictedEarly int64) {
	if m == nil {
		return
	}
	label := strconv.Itoa(int(p))
	m.dedupKeys.WithLabelValues(label).Set(float64(keys))
	m.dedupBytes.WithLabelValues(label).Set(float64(bytes))
	early := m.dedupEarly.WithLabelValues(label)
	if evictedEarly > 0 {
		early.Add(float64(evictedEarly))
	}
	m.mu.Lock()
	st := m.parts[p]
	st.Partition, st.DedupKeys, st.DedupBytes = p, keys, bytes
	st.DedupEvictedEarly += evictedEarly
	m.parts[p] = st
	m.mu.Unlock()
}

// SetAssigned records the partitions this instance owns.
func (m *Pipeline) SetAssigned(parts []int32) {
	if m == nil {
		return
	}
	m.mu.Lock()
	m.assigned = append([]int32(nil), parts...)
	for p := range m.parts {
		if !containsPartition(parts, p) {
			delete(m.parts, p)
			for _, v := range []interface{ DeleteLabelValues(...string) bool }{m.lag, m.watermarkDelay, m.dedupKeys, m.dedupBytes, m.dedupEarly} {
				v.DeleteLabelValues(strconv.Itoa(int(p)))
			}
		}
	}
	m.mu.Unlock()
}

func containsPartition(ps []int32, p int32) bool {
	for _, x := range ps {
		if x == p {
			return true
		}
	}
	return false
}

// Checkpoint records one state checkpoint.
func (m *Pipeline) Checkpoint(bytes int, d time.Duration) {
	if m == nil {
		return
	}
	m.stateBytes.Set(float64(bytes))
	m.checkpointBytes.Observe(float64(bytes))
	m.checkpointTime.Observe(d.Seconds())
}

// CommitConflict and CommitFailure count retried commit attempts.
func (m *Pipeline) CommitConflict() {
	if m != nil {
		m.commitConflicts.Inc()
	}
}

func (m *Pipeline) CommitFailure() {
	if m != nil {
		m.commitFailures.Inc()
	}
}

// Committed records a successful commit.
func (m *Pipeline) Committed(c Commit) {
	if m == nil {
		return
	}
	m.commitDuration.Observe(float64(c.DurationMs) / 1000)
	m.mu.Lock()
	m.lastOK = c.Time
	m.commits = append(m.commits, c)
	if len(m.commits) > keepCommits {
		m.commits = m.commits[len(m.commits)-keepCommits:]
	}
	m.mu.Unlock()
}

// CloseToVisible records, per session of a commit, the time from its close
// to the commit that made it readable.
func (m *Pipeline) CloseToVisible(ds []time.Duration) {
	if m == nil {
		return
	}
	for _, d := range ds {
		m.closeToVisible.Observe(d.Seconds())
	}
}

// UpToDate records that a commit was due and there was nothing to commit:
// an idle job is as healthy as one that just committed.
func (m *Pipeline) UpToDate() {
	if m == nil {
		return
	}
	m.mu.Lock()
	m.lastOK = time.Now()
	m.mu.Unlock()
}

// Ready reports whether the job owns partitions and committed (or had
// nothing to commit) within three commit intervals.
func (m *Pipeline) Ready() (bool, string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	switch {
	case len(m.assigned) == 0:
		return false, "no partitions assigned"
	case m.lastOK.IsZero() && time.Since(m.started) > 3*m.commitInterval:
		return false, "no commit yet"
	case !m.lastOK.IsZero() && time.Since(m.lastOK) > 3*m.commitInterval:
		return false, "last commit " + time.Since(m.lastOK).Round(time.Second).String() + " ago"
	}
	return true, "ok"
}
