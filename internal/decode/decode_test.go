package decode

import (
	"strings"
	"testing"

	"github.com/sessionize/sessionize/internal/avro"
	"github.com/sessionize/sessionize/internal/event"
)

func TestParseFormat(t *testing.T) {
	for in, want := range map[string]Format{"": JSON, "json": JSON, "JSON": JSON, "avro": Avro, "Avro": Avro} {
		if got, err := ParseFormat(in); err != nil || got != want {
			t.Errorf("ParseFormat(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	if _, err := ParseFormat("protobuf"); err == nil || !strings.Contains(err.Error(), "json or avro") {
		t.Errorf("protobuf: %v", err)
	}
}

func TestNew(t *testing.T) {
	d, err := New(Config{})
	if err != nil {
		t.Fatal(err)
	}
	var f event.Fields
	if r := d.Parse([]byte(`{"uuid":"u","event_id":"e","event_timestamp":1700000000000}`), &f); r != event.OK || string(f.UUID) != "u" {
		t.Fatalf("JSON: %v %q", r, f.UUID)
	}
	if _, err := New(Config{Format: Avro}); err == nil || !strings.Contains(err.Error(), "--schema-registry") {
		t.Errorf("Avro without a registry: %v", err)
	}
	if _, err := New(Config{Registry: avro.RegistryConfig{URLs: []string{"http://127.0.0.1:1"}}}); err == nil {
		t.Error("JSON with a registry: no error")
	}
	a, err := New(Config{Format: Avro, Registry: avro.RegistryConfig{URLs: []string{"http://127.0.0.1:1"}}})
	if err != nil {
		t.Fatal(err)
	}
	if r := a.Parse([]byte(`{"uuid":"u"}`), &f); r != event.NotAvroWireFormat {
		t.Fatalf("JSON value to the Avro decoder: %v", r)
	}
}
