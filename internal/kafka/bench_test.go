package kafka

import (
	"context"
	"fmt"
	"os"
	"testing"
	"time"

	"github.com/sessionize/sessionize/internal/gen"
	"github.com/sessionize/sessionize/internal/testcert"
)

// benchLines returns n generated clickstream lines (about 300 bytes each)
// and their uuids.
func benchLines(b *testing.B, n int) (lines, keys [][]byte) {
	cfg := gen.DefaultConfig()
	cfg.Events = int64(n)
	g, err := gen.New(cfg)
	if err != nil {
		b.Fatal(err)
	}
	for {
		rec, ok := g.Next()
		if !ok {
			return lines, keys
		}
		lines = append(lines, append([]byte(nil), rec.Line...))
		keys = append(keys, append([]byte(nil), rec.UUID...))
	}
}

// BenchmarkProduceConsume sends b.N clickstream records through a Producer
// to an in-process broker, then reads them back through a Source, and
// reports both rates: over plaintext and over SASL_SSL (TLS +
// SCRAM-SHA-512). SESSIONIZE_BENCH_KAFKA_SERVERS points it at another
// (plaintext) broker instead, such as "sessionize broker" in another
// process.
func BenchmarkProduceConsume(b *testing.B) {
	if servers := SplitServers(os.Getenv("SESSIONIZE_BENCH_KAFKA_SERVERS")); len(servers) > 0 {
		benchProduceConsume(b, servers, Security{})
		return
	}
	b.Run("PLAINTEXT", func(b *testing.B) {
		benchProduceConsume(b, startBroker(b, BrokerConfig{}).Addrs(), Security{})
	})
	b.Run("SASL_SSL", func(b *testing.B) {
		certs := testcert.New(b, "bench")
		br := startBroker(b, BrokerConfig{TLSCertFile: certs.Cert, TLSKeyFile: certs.Key,
			SASLUsers: []SASLUser{{User: "bench", Password: "bench"}}})
		benchProduceConsume(b, br.Addrs(), Security{TLS: true, CAFile: certs.CA,
			SASLMechanism: SASLScramSHA512, Username: "bench", Password: "bench"})
	})
}

func benchProduceConsume(b *testing.B, servers []string, sec Security) {
	lines, keys := benchLines(b, min(b.N, 200_000))
	topic := fmt.Sprintf("bench-%d-%d", b.N, time.Now().UnixNano())
	ctx := context.Background()
	if _, err := CreateTopic(ctx, servers, sec, topic, 6); err != nil {
		b.Fatal(err)
	}
	p, err := NewProducer(ctx, ProducerConfig{Servers: servers, Security: sec, Topic: topic}, testLogger(b))
	if err != nil {
		b.Fatal(err)
	}
	defer p.Close()
	var bytes int64
	b.ResetTimer()

	began := time.Now()
	for i := 0; i < b.N; i++ {
		j := i % len(lines)
		if err := p.Send(ctx, keys[j], lines[j]); err != nil {
			b.Fatal(err)
		}
		bytes += int64(len(lines[j]))
	}
	if err := p.Flush(ctx); err != nil {
		b.Fatal(err)
	}
	produced := time.Since(began)

	s, err := NewSource(ctx, SourceConfig{Servers: servers, Security: sec, Topic: topic, Group: "bench"}, newRecorder(nil), testLogger(b))
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	began = time.Now()
	var got int
	var firstAt time.Time
	for got < b.N {
		bt, err := s.Poll(ctx)
		if err != nil {
			b.Fatal(err)
		}
		if got == 0 && bt.Len() > 0 {
			firstAt = time.Now()
		}
		got += bt.Len()
	}
	consumed := time.Since(began)
	b.StopTimer()

	b.SetBytes(bytes / int64(b.N))
	b.ReportMetric(float64(b.N)/produced.Seconds(), "produce-rec/s")
	b.ReportMetric(float64(b.N)/consumed.Seconds(), "consume-rec/s")
	if !firstAt.IsZero() {
		b.ReportMetric(float64(firstAt.Sub(began).Milliseconds()), "join-ms")
	}
}
