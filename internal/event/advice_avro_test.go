package event

import (
	"strings"
	"testing"
)

// Most records rejected for an Avro reason: the advice names the flag to
// look at.
func TestAdviceAvroReasons(t *testing.T) {
	for reason, want := range map[Reason]string{
		InvalidJSON:         "--input-format avro",
		NotAvroWireFormat:   "--input-format at json",
		AvroUnknownSchemaID: "--schema-registry",
		AvroCorrupt:         "do not decode",
	} {
		adv := Advice(DefaultSchema(), 10, map[string]int64{reason.String(): 9}, nil, nil)
		if len(adv) != 1 || !strings.Contains(adv[0], want) {
			t.Errorf("%s: %q, want it to say %q", reason, adv, want)
		}
	}
}
