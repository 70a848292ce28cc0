package main

import (
	"bytes"
	"context"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"
)

// TestLimitRetention: once the retention is set, the broker drops the
// oldest records of a partition beyond it within its check interval.
func TestLimitRetention(t *testing.T) {
	t.Parallel()
	c, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.SeedTopics(1, "t"))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	servers := c.ListenAddrs()[0]
	cl, err := kgo.NewClient(kgo.SeedBrokers(servers), kgo.DefaultProduceTopic("t"), kgo.ProducerLinger(0),
		kgo.ProducerBatchCompression(kgo.NoCompression())) // 1 kB a batch
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	value := bytes.Repeat([]byte("x"), 1000)
	for range 200 { // one batch each: retention drops whole batches
		if err := cl.ProduceSync(ctx, &kgo.Record{Value: value}).FirstErr(); err != nil {
			t.Fatal(err)
		}
	}
	if err := limitRetention(ctx, servers, "t", 20_000); err != nil {
		t.Fatal(err)
	}
	adm := kadm.NewClient(cl)
	for {
		starts, err := adm.ListStartOffsets(ctx, "t")
		if err != nil {
			t.Fatal(err)
		}
		if o, ok := starts.Lookup("t", 0); ok && o.Offset > 150 {
			return
		}
		select {
		case <-ctx.Done():
			t.Fatalf("the oldest records are still there: start offsets %v", starts)
		case <-time.After(200 * time.Millisecond):
		}
	}
}
