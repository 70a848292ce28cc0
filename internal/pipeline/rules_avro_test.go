package pipeline

import (
	"strings"
	"testing"

	"github.com/sessionize/sessionize/internal/decode"
	"github.com/sessionize/sessionize/internal/rule"
	"github.com/sessionize/sessionize/internal/session"
)

// TestRulesRefusedOnAvro: boundary rules and attributes read JSON fields;
// on Avro values they would never match, so the run refuses them.
func TestRulesRefusedOnAvro(t *testing.T) {
	set, err := rule.Parse("", "page_name = logout")
	if err != nil {
		t.Fatal(err)
	}
	cfg := Config{InputFormat: decode.Avro, RuleSet: set, Rules: set.Apply(session.DefaultRules())}
	cfg.Kafka.Servers = []string{"127.0.0.1:1"}
	cfg.Warehouse.Warehouse = t.TempDir()
	err = cfg.validate()
	if err == nil || !strings.Contains(err.Error(), "--input-format avro") {
		t.Fatalf("validate = %v, want a refusal naming --input-format avro", err)
	}
}
