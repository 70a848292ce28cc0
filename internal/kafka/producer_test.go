package kafka

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
)

// javaMurmur2 is Kafka's org.apache.kafka.common.utils.Utils.murmur2,
// transcribed from the Java source independently of franz-go's copy.
func javaMurmur2(data []byte) int32 {
	const (
		seed = int32(-1756908916) // 0x9747b28c
		m    = int32(0x5bd1e995)
		r    = 24
	)
	length := int32(len(data))
	h := seed ^ length
	length4 := length / 4
	for i := int32(0); i < length4; i++ {
		i4 := i * 4
		k := int32(data[i4+0]) + int32(data[i4+1])<<8 + int32(data[i4+2])<<16 + int32(data[i4+3])<<24
		k *= m
		k ^= int32(uint32(k) >> r)
		k *= m
		h *= m
		h ^= k
	}
	switch length % 4 {
	case 3:
		h ^= int32(data[(length&^3)+2]) << 16
		fallthrough
	case 2:
		h ^= int32(data[(length&^3)+1]) << 8
		fallthrough
	case 1:
		h ^= int32(data[length&^3])
		h *= m
	}
	h ^= int32(uint32(h) >> 13)
	h *= m
	h ^= int32(uint32(h) >> 15)
	return h
}

// javaPartition is what Kafka's Java producer picks for a keyed record:
// BuiltInPartitioner.partitionForKey = toPositive(murmur2(key)) % n.
func javaPartition(key []byte, n int) int32 {
	return (javaMurmur2(key) & 0x7fffffff) % int32(n)
}

func TestMurmur2MatchesKafkaVectors(t *testing.T) {
	// Kafka's UtilsTest.testMurmur2: values computed by the Java client.
	for in, want := range map[string]int32{
		"21":                         -973932308,
		"foobar":                     -790332482,
		"a-little-bit-long-string":   -985981536,
		"a-little-bit-longer-string": -1486304829,
		"lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8": -58897971,
		"abc": 479470107,
	} {
		if got := javaMurmur2([]byte(in)); got != want {
			t.Errorf("murmur2(%q) = %d, want %d", in, got, want)
		}
	}
}

// The partitioner the producer is configured with places every key as
// Java's BuiltInPartitioner.partitionForKey does, for any partition count.
func TestPartitionerIsJavas(t *testing.T) {
	tp := kgo.UniformBytesPartitioner(64<<10, true, true, nil).ForTopic("t").(kgo.TopicBackupPartitioner)
	for i := 0; i < 20000; i++ {
		key := fmt.Appendf(nil, "%08x-%04x-4%03x-a%03x-%012x", uint32(i*2654435761), i%65536, i%4096, (i*7)%4096, i*40503)
		if i%7 == 0 {
			key = key[:i%len(key)] // short keys: every tail length of murmur2
		}
		for _, n := range []int{1, 2, 3, 6, 7, 12, 64, 1000} {
			got := tp.PartitionByBackup(&kgo.Record{Key: key}, n, nil) // keyed: the backlog is not consulted
			if want := int(javaPartition(key, n)); got != want {
				t.Fatalf("key %q, %d partitions: kgo %d, Java %d", key, n, got, want)
			}
		}
	}
}

// Keyed records land where Kafka's Java producer would put them.
func TestKeyedRecordsUseJavaPartitioning(t *testing.T) {
	b := startBroker(t, BrokerConfig{})
	const topic, parts, n = "placement", 6, 3000
	mustCreateTopic(t, b, topic, parts)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	p, err := NewProducer(ctx, ProducerConfig{Servers: b.Addrs(), Topic: topic}, testLogger(t))
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	if p.Partitions() != parts {
		t.Fatalf("Partitions() = %d", p.Partitions())
	}
	keys := []string{"user-1", "21", "foobar", "abc", "a-little-bit-long-string"}
	for i := 0; i < n; i++ {
		keys = append(keys, fmt.Sprintf("%08x-%04x-4%03x-8%03x-%012x", i*2654435761, i, i, i, i*40503))
	}
	for i, k := range keys {
		if err := p.Send(ctx, []byte(k), fmt.Appendf(nil, "%d", i)); err != nil {
			t.Fatal(err)
		}
	}
	for i := 0; i < 50; i++ { // unkeyed records keep a nil key
		if err := p.Send(ctx, nil, fmt.Appendf(nil, "nokey-%d", i)); err != nil {
			t.Fatal(err)
		}
	}
	if err := p.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	recs := consumeAll(t, b.Addrs(), topic, len(keys)+50)
	used := map[int32]bool{}
	nokey := 0
	for _, r := range recs {
		if strings.HasPrefix(string(r.Value), "nokey-") {
			nokey++
			if r.Key != nil {
				t.Errorf("unkeyed record has key %q", r.Key)
			}
			continue
		}
		used[r.Partition] = true
		if want := javaPartition(r.Key, parts); r.Partition != want {
			t.Errorf("key %q on partition %d, Java puts it on %d", r.Key, r.Partition, want)
		}
		if time.Since(r.Timestamp) > time.Minute || time.Until(r.Timestamp) > time.Second {
			t.Errorf("record timestamp %v is not the send time", r.Timestamp)
		}
	}
	if len(used) != parts || nokey != 50 {
		t.Errorf("used %d partitions, %d unkeyed records", len(used), nokey)
	}
	// -973932308 & 0x7fffffff = 1173551340; % 6 = 0.
	if got := javaPartition([]byte("21"), 6); got != 0 {
		t.Errorf(`partition of "21" among 6 = %d, want 0`, got)
	}
}

func TestProducerTopicMissing(t *testing.T) {
	b := startBroker(t, BrokerConfig{Partitions: 3})
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	_, err := NewProducer(ctx, ProducerConfig{Servers: b.Addrs(), Topic: "nope"}, testLogger(t))
	if !errors.Is(err, ErrTopicNotFound) || !strings.Contains(err.Error(), `"nope"`) || !strings.Contains(err.Error(), b.Addrs()[0]) {
		t.Fatalf("err = %v, want ErrTopicNotFound naming topic and servers", err)
	}
	p, err := NewProducer(ctx, ProducerConfig{Servers: b.Addrs(), Topic: "made", CreateTopic: true}, testLogger(t))
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	if p.Partitions() != 3 {
		t.Errorf("created with %d partitions, want the broker default 3", p.Partitions())
	}
	if created, err := CreateTopic(ctx, b.Addrs(), Security{}, "made", 9); err != nil || created {
		t.Errorf("CreateTopic on an existing topic: created=%v err=%v", created, err)
	}
	if n, err := TopicPartitions(ctx, b.Addrs(), Security{}, "made"); n != 3 || err != nil {
		t.Errorf("TopicPartitions = %d, %v", n, err)
	}
	if created, err := CreateTopic(ctx, b.Addrs(), Security{}, "nine", 9); err != nil || !created {
		t.Errorf("CreateTopic: created=%v err=%v", created, err)
	}
	if n, _ := TopicPartitions(ctx, b.Addrs(), Security{}, "nine"); n != 9 {
		t.Errorf("nine has %d partitions", n)
	}
}

func TestUnreachableBrokerFailsFastNamingIt(t *testing.T) {
	addr := closedAddr(t)
	ctx := context.Background()
	began := time.Now()
	_, err := NewProducer(ctx, ProducerConfig{Servers: []string{addr}, ConnectTimeout: 2 * time.Second}, testLogger(t))
	if !errors.Is(err, ErrUnreachable) || !strings.Contains(err.Error(), addr) {
		t.Fatalf("producer: err = %v, want ErrUnreachable naming %s", err, addr)
	}
	if d := time.Since(began); d > 5*time.Second {
		t.Errorf("producer took %v to give up", d)
	}
	began = time.Now()
	_, err = NewSource(ctx, SourceConfig{Servers: []string{addr}, ConnectTimeout: 2 * time.Second}, newRecorder(nil), testLogger(t))
	if !errors.Is(err, ErrUnreachable) || !strings.Contains(err.Error(), addr) {
		t.Fatalf("source: err = %v, want ErrUnreachable naming %s", err, addr)
	}
	if d := time.Since(began); d > 5*time.Second {
		t.Errorf("source took %v to give up", d)
	}
	// The default timeout is what the CLI uses: about 10 s.
	if DefaultConnectTimeout > 15*time.Second {
		t.Errorf("DefaultConnectTimeout %v", DefaultConnectTimeout)
	}
}

// A broker that dies mid-run makes Send/Flush fail with a clear error
// within the delivery timeout rather than hang.
func TestProducerBrokerGoneFailsWithinDeliveryTimeout(t *testing.T) {
	b := startBroker(t, BrokerConfig{})
	mustCreateTopic(t, b, "gone", 2)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	p, err := NewProducer(ctx, ProducerConfig{Servers: b.Addrs(), Topic: "gone", DeliveryTimeout: 2 * time.Second}, testLogger(t))
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	if err := p.Send(ctx, []byte("k"), []byte("v")); err != nil {
		t.Fatal(err)
	}
	if err := p.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	b.Close()
	began := time.Now()
	for i := 0; i < 100; i++ {
		if err := p.Send(ctx, []byte("k"), []byte("v")); err != nil {
			break
		}
	}
	err = p.Flush(ctx)
	if err == nil || ctx.Err() != nil || !strings.Contains(err.Error(), `"gone"`) {
		t.Fatalf("Flush after the broker died: %v (ctx %v)", err, ctx.Err())
	}
	if d := time.Since(began); d > 15*time.Second {
		t.Errorf("took %v to fail", d)
	}
	if st := p.Stats(); st.Failed == 0 || st.Acked != 1 {
		t.Errorf("stats %+v", st)
	}
}
