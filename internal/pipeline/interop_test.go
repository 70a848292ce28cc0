package pipeline

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/sessionize/sessionize/internal/kafka"
	"github.com/sessionize/sessionize/internal/testcert"
)

// Independent Kafka clients (librdkafka's kcat and confluent-kafka-python,
// not franz-go) feed the pipeline: keyed records placed by murmur2 as
// Java's producer places them, idempotent, and transactions, one aborted
// and one committed. The stream reads committed records only, and its
// tables equal batch over them.

const pythonPath = "/usr/bin/python3" // apt's python3-confluent-kafka is for this one

// needTool skips (locally) or fails (under CI) when a client is missing.
func needTool(t *testing.T, ok bool, what, install string) {
	t.Helper()
	if ok {
		return
	}
	if os.Getenv("CI") != "" {
		t.Fatalf("%s is missing and CI is set: %s", what, install)
	}
	t.Skipf("skipping: %s not found (%s)", what, install)
}

func needKcat(t *testing.T) string {
	t.Helper()
	p, err := exec.LookPath("kcat")
	needTool(t, err == nil, "kcat", "apt-get install -y kcat")
	return p
}

func needConfluentKafka(t *testing.T) {
	t.Helper()
	err := exec.Command(pythonPath, "-c", "import confluent_kafka").Run()
	needTool(t, err == nil, pythonPath+" with confluent_kafka", "apt-get install -y python3-confluent-kafka")
}

// clientSecurity is one broker security setup, as the three kinds of
// clients spell it.
type clientSecurity struct {
	broker  kafka.BrokerConfig
	sec     kafka.Security
	librdkf []string // librdkafka properties, key=value
}

func plaintextSetup() clientSecurity { return clientSecurity{} }

func saslSSLSetup(t *testing.T) clientSecurity {
	certs := testcert.New(t, "interop")
	return clientSecurity{
		broker: kafka.BrokerConfig{TLSCertFile: certs.Cert, TLSKeyFile: certs.Key,
			SASLUsers: []kafka.SASLUser{{User: "svc", Password: "interop-secret"}}},
		sec: kafka.Security{TLS: true, CAFile: certs.CA, SASLMechanism: kafka.SASLScramSHA512, Username: "svc", Password: "interop-secret"},
		librdkf: []string{"security.protocol=SASL_SSL", "ssl.ca.location=" + certs.CA,
			"sasl.mechanisms=SCRAM-SHA-512", "sasl.username=svc", "sasl.password=interop-secret"},
	}
}

// keyedFile writes key<TAB>value lines, as kcat -K'\t' and the python
// script read them.
func keyedFile(t *testing.T, name string, lines, keys [][]byte) string {
	t.Helper()
	var b bytes.Buffer
	for i := range lines {
		if bytes.ContainsAny(lines[i], "\t\n") || bytes.ContainsAny(keys[i], "\t\n") {
			t.Fatalf("record %d has a tab or newline", i)
		}
		b.Write(keys[i])
		b.WriteByte('\t')
		b.Write(lines[i])
		b.WriteByte('\n')
	}
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, b.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// kcatProduce sends a keyed file with kcat, placing keys with murmur2 as
// Java's producer (and franz-go's) does; kcat's default is CRC32.
func kcatProduce(t *testing.T, kcat string, servers []string, cs clientSecurity, file string) {
	t.Helper()
	args := []string{"-P", "-b", strings.Join(servers, ","), "-t", "clickstream", "-K", "\t",
		"-X", "topic.partitioner=murmur2_random", "-X", "enable.idempotence=true", "-l", file}
	for _, p := range cs.librdkf {
		args = append(args, "-X", p)
	}
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	if out, err := exec.CommandContext(ctx, kcat, args...).CombinedOutput(); err != nil {
		t.Fatalf("kcat: %v\n%s", err, out)
	}
}

// pyProducer is confluent-kafka-python sending keyed files: plainly
// (idempotent), or in a transaction that is committed or aborted.
const pyProducer = `
import sys
from confluent_kafka import Producer
conf = dict(kv.split("=", 1) for kv in sys.argv[3:])
conf.update({"partitioner": "murmur2_random", "enable.idempotence": True, "linger.ms": 5})
mode, path = sys.argv[1], sys.argv[2]
if mode != "plain":
    conf["transactional.id"] = "sessionize-interop-" + mode
p = Producer(conf)
failed = []
def report(err, msg):
    if err is not None:
        failed.append(err)
if mode != "plain":
    p.init_transactions(30)
    p.begin_transaction()
with open(path, "rb") as f:
    for line in f:
        key, value = line.rstrip(b"\n").split(b"\t", 1)
        while True:
            try:
                p.produce("clickstream", value=value, key=key, on_delivery=report)
                break
            except BufferError:
                p.poll(0.1)
        p.poll(0)
if mode == "commit":
    p.commit_transaction(30)
elif mode == "abort":
    p.flush(30)
    p.abort_transaction(30)
else:
    p.flush(30)
if failed:
    sys.exit("delivery failed: %s" % failed[0])
`

func pyProduce(t *testing.T, servers []string, cs clientSecurity, mode, file string) {
	t.Helper()
	script := filepath.Join(t.TempDir(), "produce.py")
	if err := os.WriteFile(script, []byte(pyProducer), 0o644); err != nil {
		t.Fatal(err)
	}
	args := append([]string{script, mode, file, "bootstrap.servers=" + strings.Join(servers, ",")}, cs.librdkf...)
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	if out, err := exec.CommandContext(ctx, pythonPath, args...).CombinedOutput(); err != nil {
		t.Fatalf("python confluent_kafka (%s): %v\n%s", mode, err, out)
	}
}

// TestIndependentClientsFeedThePipeline: a third of the events through
// kcat, a third through python's idempotent producer, a third in a
// committed python transaction, and other users' events in an aborted one
// in between; on a plaintext broker and on a SASL_SSL one. The stream's
// sessions equal batch's over the committed records, and the tables
// account for exactly those.
func TestIndependentClientsFeedThePipeline(t *testing.T) {
	kcat := needKcat(t)
	needConfluentKafka(t)
	for _, tc := range []struct {
		name  string
		setup func(*testing.T) clientSecurity
	}{
		{"PLAINTEXT", func(*testing.T) clientSecurity { return plaintextSetup() }},
		{"SASL_SSL SCRAM-SHA-512", saslSSLSetup},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cs := tc.setup(t)
			cfg := cs.broker
			cfg.Listen, cfg.Partitions, cfg.MinSessionTimeout = "127.0.0.1:0", 3, testMinSessionTimeout
			b, err := kafka.StartBroker(t.Context(), cfg, nil)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(b.Close)
			if _, err := kafka.CreateTopic(t.Context(), b.Addrs(), cs.sec, "clickstream", 3); err != nil {
				t.Fatal(err)
			}
			lines, keys := generated(t, 6_000, 150, 21)
			aborted, abortedKeys := generated(t, 1_500, 40, 22) // other users: would add sessions if read
			for i := range aborted {
				abortedKeys[i] = append([]byte("aborted-"), abortedKeys[i]...)
				aborted[i] = bytes.Replace(aborted[i], []byte(`"uuid":"`), []byte(`"uuid":"aborted-`), 1)
			}
			third := len(lines) / 3
			kcatProduce(t, kcat, b.Addrs(), cs, keyedFile(t, "kcat.tsv", lines[:third], keys[:third]))
			pyProduce(t, b.Addrs(), cs, "plain", keyedFile(t, "plain.tsv", lines[third:2*third], keys[third:2*third]))
			pyProduce(t, b.Addrs(), cs, "abort", keyedFile(t, "abort.tsv", aborted, abortedKeys))
			pyProduce(t, b.Addrs(), cs, "commit", keyedFile(t, "commit.tsv", lines[2*third:], keys[2*third:]))

			wh := t.TempDir()
			rc := runConfig(t, b, wh)
			rc.Kafka.Security = cs.sec
			ctx, cancel := context.WithTimeout(t.Context(), 90*time.Second)
			defer cancel()
			if err := Run(ctx, rc); err != nil {
				t.Fatal(err)
			}
			got, _ := tableLines(t, wh)
			want := batchLines(t, lines)
			if !slices.Equal(got, want) {
				t.Fatalf("stream gave %d sessions, batch %d; first difference: %s", len(got), len(want), firstDiff(got, want))
			}
			for _, s := range got {
				if strings.Contains(s, "aborted-") {
					t.Fatalf("a session of the aborted transaction: %s", s)
				}
			}
			a, err := Audit(t.Context(), openWarehouse(t, wh))
			if err != nil {
				t.Fatal(err)
			}
			if a.Records != int64(len(lines)) || a.Late != 0 || !a.Holds() {
				t.Fatalf("committed %d records; %s", len(lines), a)
			}
			// The other clients put each user where our producer (and
			// Java's) does.
			theirs := keyPartitions(t, b.Addrs(), cs.sec, "clickstream", len(lines))
			if _, err := kafka.CreateTopic(t.Context(), b.Addrs(), cs.sec, "placement", 3); err != nil {
				t.Fatal(err)
			}
			pr, err := kafka.NewProducer(t.Context(), kafka.ProducerConfig{Servers: b.Addrs(), Security: cs.sec, Topic: "placement"}, nil)
			if err != nil {
				t.Fatal(err)
			}
			for i := range lines {
				if err := pr.Send(t.Context(), keys[i], []byte("x")); err != nil {
					t.Fatal(err)
				}
			}
			if err := pr.Flush(t.Context()); err != nil {
				t.Fatal(err)
			}
			pr.Close()
			ours := keyPartitions(t, b.Addrs(), cs.sec, "placement", len(lines))
			if len(ours) != len(theirs) {
				t.Fatalf("%d keys ours, %d theirs", len(ours), len(theirs))
			}
			for k, p := range theirs {
				if ours[k] != p {
					t.Fatalf("key %q: kcat/librdkafka put it on partition %d, sessionize's producer on %d", k, p, ours[k])
				}
			}

			ends, err := kafka.TopicEnds(t.Context(), b.Addrs(), cs.sec, "clickstream")
			if err != nil {
				t.Fatal(err)
			}
			var end int64
			for _, e := range ends {
				end += e
			}
			if end <= int64(len(lines)+len(aborted)) {
				t.Fatalf("topic ends sum to %d: the aborted records and markers should be in the log beyond the %d committed", end, len(lines))
			}
		})
	}
}

// keyPartitions reads n committed records of topic and returns the
// partition of each non-empty key (records without a uuid go anywhere); a
// key on two partitions fails the test.
func keyPartitions(t *testing.T, servers []string, sec kafka.Security, topic string, n int) map[string]int32 {
	t.Helper()
	opts, err := sec.ClientOpts()
	if err != nil {
		t.Fatal(err)
	}
	cl, err := kgo.NewClient(append(opts, kgo.SeedBrokers(servers...), kgo.ConsumeTopics(topic),
		kgo.FetchIsolationLevel(kgo.ReadCommitted()), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))...)
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	out := map[string]int32{}
	for got := 0; got < n; {
		fs := cl.PollFetches(ctx)
		if err := ctx.Err(); err != nil {
			t.Fatalf("read %d of %d records of %s: %v", got, n, topic, err)
		}
		fs.EachRecord(func(r *kgo.Record) {
			got++
			if len(r.Key) == 0 {
				return
			}
			if p, ok := out[string(r.Key)]; ok && p != r.Partition {
				t.Fatalf("key %q on partitions %d and %d", r.Key, p, r.Partition)
			}
			out[string(r.Key)] = r.Partition
		})
	}
	return out
}
