package pipeline

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/sr/srfake"

	"github.com/sessionize/sessionize/internal/avro"
	"github.com/sessionize/sessionize/internal/event"
	"github.com/sessionize/sessionize/internal/testservers"
)

// kafkajsProducer is the npm project (pinned in its package-lock.json;
// .ci/run installs it) that encodes and produces the events of
// TestAvroFromKafkaJS.
const kafkajsProducer = "testdata/avro-producer"

// TestAvroFromKafkaJS: events registered, encoded and produced by another
// ecosystem's clients (@kafkajs/confluent-schema-registry over avsc, and
// kafkajs) to our broker, with franz-go's fake registry, then an unknown
// schema id and a corrupt payload: run gives the sessions batch gives over
// the same events as JSON, and rejects the two bad records with reasons.
func TestAvroFromKafkaJS(t *testing.T) {
	node := testservers.NodeProject(t, kafkajsProducer, "kafkajs")
	reg := srfake.New()
	t.Cleanup(reg.Close)
	b := startBroker(t, 1)

	clicks := testClicks(600, 20, 3)
	var lines [][]byte
	for _, c := range clicks {
		lines = append(lines, c.json())
	}
	schemaFile := filepath.Join(t.TempDir(), "click.avsc")
	if err := os.WriteFile(schemaFile, []byte(avroClickSchema), 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.CommandContext(t.Context(), node, "produce.js", b.Addrs()[0], reg.URL(), "clickstream", "clickstream-value", schemaFile)
	cmd.Dir = kafkajsProducer
	cmd.Stdin = bytes.NewReader(append(bytes.Join(lines, []byte("\n")), '\n'))
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("node produce.js: %v\n%s", err, stderr.String())
	}
	id, err := strconv.Atoi(strings.TrimSpace(string(out)))
	if err != nil {
		t.Fatalf("node produce.js printed %q, want the schema id", out)
	}

	// Then two bad records from our side: a body under an id the
	// registry never gave, and a truncated copy of a valid record.
	valid := avroClickValue(t, id, clicks[0])
	bad := [][]byte{avroClickValue(t, id+1000, clicks[0]), valid[:len(valid)-3]}
	produceLines(t, b, bad, [][]byte{[]byte("x"), []byte("y")})
	rejected := map[int64]string{
		int64(len(clicks)):     event.AvroUnknownSchemaID.String(),
		int64(len(clicks) + 1): event.AvroCorrupt.String(),
	}

	wh := t.TempDir()
	cfg := avroRunConfig(t, b, wh, reg.URL())
	cfg.SchemaRegistry = avro.RegistryConfig{URLs: []string{reg.URL()}, RetryFor: 5 * time.Second}
	runToEnd(t, cfg, 60*time.Second)
	assertAvroRun(t, wh, lines, rejected, len(clicks)+len(bad))
}
