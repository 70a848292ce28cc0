package pipeline

import (
	"context"
	"fmt"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sessionize/sessionize/internal/gen"
	"github.com/sessionize/sessionize/internal/iceberg"
	"github.com/sessionize/sessionize/internal/kafka"
	"github.com/sessionize/sessionize/internal/session"
)

// BenchmarkLiveLatency produces a generated stream at a fixed wall-clock
// rate (SESSIONIZE_BENCH_RATE, default 50k records/s) for
// SESSIONIZE_BENCH_SECONDS (default 40) while the pipeline runs with the
// default 10 s commit interval, and reports the delay from a session's
// close to the commit that makes it readable, p50 and p99. The broker runs
// in this process unless SESSIONIZE_BENCH_KAFKA_SERVERS names one. It runs
// with the warehouse on a local disk (/local) and on versitygw, an S3
// server on this machine (/s3).
//
//	go test -run XXX -bench LiveLatency -benchtime 1x ./internal/pipeline
func BenchmarkLiveLatency(b *testing.B) {
	for _, st := range storages() {
		b.Run(st.name, func(b *testing.B) { benchLiveLatency(b, st.open(b)) })
	}
}

func benchLiveLatency(b *testing.B, wh testWarehouse) {
	rate := envInt("SESSIONIZE_BENCH_RATE", 50_000)
	seconds := envInt("SESSIONIZE_BENCH_SECONDS", 40)
	servers := kafka.SplitServers(os.Getenv("SESSIONIZE_BENCH_KAFKA_SERVERS"))
	topic := fmt.Sprintf("latency-%d", time.Now().UnixNano())
	if len(servers) == 0 {
		br, err := kafka.StartBroker(b.Context(), kafka.BrokerConfig{Listen: "127.0.0.1:0"}, nil)
		if err != nil {
			b.Fatal(err)
		}
		defer br.Close()
		servers = br.Addrs()
	}
	if _, err := kafka.CreateTopic(b.Context(), servers, kafka.Security{}, topic, 6); err != nil {
		b.Fatal(err)
	}
	ctx, cancel := context.WithCancel(b.Context())
	defer cancel()

	var mu sync.Mutex
	var lat []time.Duration
	var commits []time.Duration
	runErr := make(chan error, 1)
	go func() {
		runErr <- Run(ctx, Config{
			Kafka:           kafka.SourceConfig{Servers: servers, Topic: topic},
			Warehouse:       wh.cfg,
			Rules:           session.DefaultRules(),
			AllowedLateness: DefaultAllowedLateness,
			CommitInterval:  DefaultCommitInterval,
			OnCommit: func(c CommitInfo) {
				mu.Lock()
				lat = append(lat, c.CloseToVisible...)
				commits = append(commits, c.Duration)
				mu.Unlock()
			},
		})
	}()

	pr, err := kafka.NewProducer(ctx, kafka.ProducerConfig{Servers: servers, Topic: topic}, nil)
	if err != nil {
		b.Fatal(err)
	}
	defer pr.Close()
	cfg := gen.DefaultConfig()
	cfg.Events = int64(rate * seconds)
	g, err := gen.New(cfg)
	if err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	start := time.Now()
	tick := time.NewTicker(10 * time.Millisecond)
	sent := 0
	for sent < rate*seconds {
		<-tick.C
		due := int(time.Since(start).Seconds() * float64(rate))
		for ; sent < due && sent < rate*seconds; sent++ {
			r, _ := g.Next()
			if err := pr.Send(ctx, r.UUID, r.Line); err != nil {
				b.Fatal(err)
			}
		}
	}
	tick.Stop()
	pr.Flush(ctx)
	produced := time.Since(start)
	time.Sleep(DefaultCommitInterval + 3*time.Second) // let the last commits land
	cancel()
	if err := <-runErr; err != nil {
		b.Fatal(err)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(lat) == 0 {
		b.Fatal("no session was committed")
	}
	slices.Sort(lat)
	slices.Sort(commits)
	b.ReportMetric(float64(sent)/produced.Seconds(), "produced/s")
	b.ReportMetric(float64(len(lat)), "sessions")
	b.ReportMetric(float64(lat[len(lat)/2].Milliseconds()), "p50_ms")
	b.ReportMetric(float64(lat[len(lat)*99/100].Milliseconds()), "p99_ms")
	b.ReportMetric(float64(commits[len(commits)/2].Milliseconds()), "commit_p50_ms")
}

// BenchmarkCheckpoint100k: encoding and writing the checkpoint of 100k open
// sessions over 6 partitions (state, zstd, atomic file write), the cost
// every commit pays, and its size per open session.
func BenchmarkCheckpoint100k(b *testing.B) {
	const users = 100_000
	streams := make([]*session.Stream, 6)
	for i := range streams {
		streams[i] = session.NewStream(session.DefaultRules(), DefaultAllowedLateness.Milliseconds())
		streams[i].SetDedup(session.DefaultDedup()) // as run does: the remembered keys are in the checkpoint
	}
	pages := []string{"home", "search", "results", "details", "booking"}
	const t0 = 1_790_000_000_000
	for k := 0; k < 6; k++ {
		for u := 0; u < users; u++ {
			uuid := fmt.Sprintf("%08x-6a1f-4c3e-9d2b-%012x", u*2654435761, u)
			streams[u%6].Add(uuid, &session.Event{TimeMs: t0 + int64(k)*180_000 + int64(u%1000), Seq: uint64(k*users + u),
				ID: fmt.Sprintf("%016x", (k*users+u)*40503), Page: pages[(u+k)%5]})
		}
	}
	open, keys := 0, 0
	for _, s := range streams {
		s.Advance(func(*session.Session) {})
		open += s.OpenSessions()
		keys += s.DedupStats().Keys
	}
	wh, err := iceberg.Open(b.Context(), iceberg.Config{Warehouse: b.TempDir()}, nil)
	if err != nil {
		b.Fatal(err)
	}
	defer wh.Close()
	var size int
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		var entries []partitionCheckpoint
		for p, s := range streams {
			entries = append(entries, partitionCheckpoint{partition: int32(p), next: 1, state: s.AppendState(nil)})
		}
		data, err := encodeCheckpoint(entries)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := wh.WriteFile(b.Context(), fmt.Sprintf("bench/%d.ckpt", i), data); err != nil {
			b.Fatal(err)
		}
		size = len(data)
	}
	b.ReportMetric(float64(b.Elapsed().Milliseconds())/float64(b.N), "ms/checkpoint")
	b.ReportMetric(float64(size)/float64(open), "bytes/open_session")
	b.ReportMetric(float64(open), "open_sessions")
	b.ReportMetric(float64(keys), "dedup_keys")
}

func envInt(name string, def int) int {
	var v int
	if _, err := fmt.Sscan(strings.TrimSpace(os.Getenv(name)), &v); err != nil || v <= 0 {
		return def
	}
	return v
}
