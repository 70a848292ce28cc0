//go:build unix

package pipeline

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/sessionize/sessionize/internal/iceberg"
)

// lockedBuffer is a log sink tests can read while the job writes.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// TestFenceContestedPartitionStillOursIsReassigned: a running job R owns
// partitions 0 and 1 when another writer commits partition 1 past it (a
// stale one, say). R's next commit drops partition 1 only and commits 0;
// the group still gives 1 to R, so after twice the session timeout R
// rejoins, is assigned 1 anew, restores it from the tables and goes on
// reading it: the partition must not stay unread.
func TestFenceContestedPartitionStillOursIsReassigned(t *testing.T) {
	b := startBroker(t, 2)
	wh := t.TempDir()
	const t0 = int64(1_767_225_600_000) // 2026-01-01
	prod, err := kgo.NewClient(kgo.SeedBrokers(b.Addrs()...), kgo.DefaultProduceTopic("clickstream"),
		kgo.RecordPartitioner(kgo.ManualPartitioner()))
	if err != nil {
		t.Fatal(err)
	}
	defer prod.Close()
	produce := func(q int32, from, to int64) {
		for k := from; k < to; k++ {
			ts := t0 + k*31*60_000
			v := fmt.Appendf(nil, `{"event_id": "e%d", "uuid": "u%d", "page_name": "home", "event_timestamp": "%d"}`, k, q, ts)
			if err := prod.ProduceSync(t.Context(), &kgo.Record{Partition: q, Value: v}).FirstErr(); err != nil {
				t.Fatal(err)
			}
		}
	}
	produce(0, 0, 100)
	produce(1, 0, 100)

	logs := &lockedBuffer{}
	cfg := runConfig(t, b, wh)
	cfg.Kafka.Group, cfg.AllowedLateness, cfg.StopWhenIdle, cfg.Drain = "r", 0, 0, false
	cfg.Kafka.SessionTimeout, cfg.CommitInterval = time.Second, 100*time.Millisecond
	cfg.Logger = slog.New(slog.NewTextHandler(logs, nil))
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	runErr := make(chan error, 1)
	go func() { runErr <- Run(ctx, cfg) }()
	waitOffsets := func(what string, want map[int32]int64) {
		t.Helper()
		deadline := time.Now().Add(30 * time.Second)
		for {
			st := procReadState(t, localWarehouse(t, wh))[iceberg.TableSessions]
			if st.offsets[0] == want[0] && st.offsets[1] == want[1] {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("%s: sessions offsets %v, want %v\n%s", what, st.offsets, want, logs.String())
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	waitOffsets("R reads both partitions", map[int32]int64{0: 100, 1: 100})

	// The other writer restores partition 1 from R's commit and moves it
	// to 110 (records it made up: only the offsets matter here).
	ocfg := runConfig(t, b, wh)
	ocfg.Kafka.Group, ocfg.AllowedLateness = "r", 0 // the tables' group; its source joins a group of its own
	other := unpolledPipeline(t, ocfg, openWarehouse(t, wh), "other")
	if _, err := other.OnAssigned(t.Context(), []int32{1}); err != nil {
		t.Fatal(err)
	}
	for k := int64(100); k < 110; k++ {
		ts := t0 + k*31*60_000
		other.parts[1].process(&Record{Partition: 1, Offset: k, TimestampMs: ts,
			Value: fmt.Appendf(nil, `{"event_id": "x%d", "uuid": "u1", "page_name": "home", "event_timestamp": "%d"}`, k, ts)})
	}
	other.parts[1].advance()
	other.dirty = true
	if err := other.commit(t.Context()); err != nil {
		t.Fatal(err)
	}
	fenceAt := time.Now()

	produce(0, 100, 150)
	produce(1, 100, 150)
	waitOffsets("R drops partition 1, rejoins and reads it again from 110", map[int32]int64{0: 150, 1: 150})
	took := time.Since(fenceAt)
	log := logs.String()
	if !strings.Contains(log, `msg="fenced: another writer has taken over partitions of ours`) || !strings.Contains(log, "partitions=[1]") {
		t.Errorf("R's log has no fence of partition 1 alone:\n%s", log)
	}
	if !strings.Contains(log, "still assigned to us; rejoining") {
		t.Errorf("R did not rejoin for the contested partition the group kept giving it:\n%s", log)
	}
	t.Logf("partition 1 read again %s after the other writer's commit", took.Round(time.Millisecond))
	cancel()
	if err := <-runErr; err != nil {
		t.Fatal(err)
	}
}
