package kafka

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
)

// TestMain doubles as a broker process for the kill -9 test.
func TestMain(m *testing.M) {
	if dir := os.Getenv("SESSIONIZE_TEST_BROKER_DIR"); dir != "" {
		b, err := StartBroker(context.Background(), BrokerConfig{Listen: "127.0.0.1:0", DataDir: dir}, nil)
		if err != nil {
			fmt.Println("error:", err)
			os.Exit(1)
		}
		fmt.Println(b.Servers())
		select {} // until killed
	}
	os.Exit(m.Run())
}

func commitGroupOffsets(t *testing.T, servers []string, group, topic string, offsets map[int32]int64) {
	t.Helper()
	cl, err := kgo.NewClient(kgo.SeedBrokers(servers...))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	var os kadm.Offsets
	for p, o := range offsets {
		os.AddOffset(topic, p, o, -1)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	resp, err := kadm.NewClient(cl).CommitOffsets(ctx, group, os)
	if err == nil {
		err = resp.Error()
	}
	if err != nil {
		t.Fatal(err)
	}
}

func fetchGroupOffsets(t *testing.T, servers []string, group, topic string) map[int32]int64 {
	t.Helper()
	cl, err := kgo.NewClient(kgo.SeedBrokers(servers...))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	resp, err := kadm.NewClient(cl).FetchOffsets(ctx, group)
	if err == nil {
		err = resp.Error()
	}
	if err != nil {
		t.Fatal(err)
	}
	out := map[int32]int64{}
	resp.Each(func(o kadm.OffsetResponse) {
		if o.Topic == topic {
			out[o.Partition] = o.At
		}
	})
	return out
}

func checkValues(t *testing.T, recs []*kgo.Record, n int) {
	t.Helper()
	seen := make(map[string]bool, n)
	for _, r := range recs {
		seen[string(r.Value)] = true
	}
	for i := 0; i < n; i++ {
		if !seen[fmt.Sprintf("v%d", i)] {
			t.Fatalf("record v%d missing after restart (%d records back)", i, len(recs))
		}
	}
	if len(recs) != n {
		t.Fatalf("%d records back, want %d", len(recs), n)
	}
}

func TestBrokerPersistsAcrossRestart(t *testing.T) {
	dir := t.TempDir()
	b, err := StartBroker(context.Background(), BrokerConfig{Listen: "127.0.0.1:0", DataDir: dir, Partitions: 4}, testLogger(t))
	if err != nil {
		t.Fatal(err)
	}
	const n = 5000
	produceN(t, b.Addrs(), "kept", n, 100)
	commitGroupOffsets(t, b.Addrs(), "g", "kept", map[int32]int64{0: 7, 3: 11})

	// A second broker on the same directory is refused while the first runs.
	if b2, err := StartBroker(context.Background(), BrokerConfig{Listen: "127.0.0.1:0", DataDir: dir}, nil); err == nil {
		b2.Close()
		t.Fatal("two brokers started on one data directory")
	} else if !strings.Contains(err.Error(), "in use") {
		t.Errorf("second broker: %v", err)
	}
	b.Close()

	b = startBroker(t, BrokerConfig{DataDir: dir})
	if n, err := TopicPartitions(context.Background(), b.Addrs(), Security{}, "kept"); n != 4 || err != nil {
		t.Fatalf("after restart: %d partitions, %v", n, err)
	}
	checkValues(t, consumeAll(t, b.Addrs(), "kept", n), n)
	if got := fetchGroupOffsets(t, b.Addrs(), "g", "kept"); got[0] != 7 || got[3] != 11 {
		t.Errorf("committed offsets after restart: %v", got)
	}
}

func TestBrokerSurvivesKill9(t *testing.T) {
	if testing.Short() {
		t.Skip("spawns a broker process")
	}
	dir := t.TempDir()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), "SESSIONIZE_TEST_BROKER_DIR="+dir)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill()
	line, err := bufio.NewReader(out).ReadString('\n')
	if err != nil || strings.HasPrefix(line, "error") {
		t.Fatalf("broker process: %q %v", line, err)
	}
	servers := SplitServers(strings.TrimSpace(line))

	const n = 3000
	produceN(t, servers, "survivor", n, 50)
	commitGroupOffsets(t, servers, "g", "survivor", map[int32]int64{1: 5})
	if err := cmd.Process.Kill(); err != nil { // SIGKILL: no shutdown save
		t.Fatal(err)
	}
	cmd.Wait()

	b := startBroker(t, BrokerConfig{DataDir: dir})
	checkValues(t, consumeAll(t, b.Addrs(), "survivor", n), n)
	if got := fetchGroupOffsets(t, b.Addrs(), "g", "survivor"); got[1] != 5 {
		t.Errorf("committed offsets after kill -9: %v", got)
	}
	// And it takes new records after the crash.
	produceN(t, b.Addrs(), "survivor", 10, 5)
}

func TestBrokerListenErrors(t *testing.T) {
	b := startBroker(t, BrokerConfig{})
	_, err := StartBroker(context.Background(), BrokerConfig{Listen: b.Addrs()[0]}, nil)
	if err == nil || !strings.Contains(err.Error(), "already running") {
		t.Errorf("second broker on a used port: %v", err)
	}
	if _, err := StartBroker(context.Background(), BrokerConfig{Listen: "nonsense"}, nil); err == nil || !strings.Contains(err.Error(), "host:port") {
		t.Errorf("bad listen address: %v", err)
	}
}

func TestBrokerAdvertisesWildcardAsHostName(t *testing.T) {
	b2 := startBroker(t, BrokerConfig{Listen: "127.0.0.1:0", Advertise: "localhost:1"})
	if got := b2.Addrs()[0]; got != "localhost:1" {
		t.Errorf("advertised %q", got)
	}
	b3 := startBroker(t, BrokerConfig{Listen: "0.0.0.0:0"})
	name, _ := os.Hostname()
	if got := b3.Addrs()[0]; !strings.HasPrefix(got, name+":") {
		t.Errorf("wildcard listener advertised %q, want host name %q", got, name)
	}
}
