package avro

import (
	"testing"

	"github.com/sessionize/sessionize/internal/event"
)

// FuzzDecoderParse: whatever follows a known schema id, Parse returns a
// verdict without panicking (the recursive-schema and nested-union paths
// included). go test -fuzz FuzzDecoderParse ./internal/avro digs further.
func FuzzDecoderParse(f *testing.F) {
	const recursive = `{"type":"record","name":"Node","fields":[{"name":"uuid","type":"string"},
	  {"name":"event_id","type":["null","string","long"]},{"name":"event_timestamp","type":"long"},
	  {"name":"next","type":["null","Node"]},{"name":"m","type":{"type":"map","values":{"type":"array","items":"Node"}}},
	  {"name":"f","type":{"type":"fixed","name":"F","size":3}},{"name":"e","type":{"type":"enum","name":"E","symbols":["A"]}}]}`
	reg := newFakeRegistry(f)
	reg.SeedSchema("node-value", 1, 2, srSchema(recursive))
	d := newDecoder(f, reg.URL(), clickSchemaPaths(f, "auto"))
	dn := newDecoder(f, reg.URL(), event.DefaultSchema())
	f.Add(encode(f, clickSchema, 1, goodClick())[5:], false)
	f.Add([]byte{0x02, 'u', 0x00, 0x02, 0x00, 0x00, 0x00, 'a', 'b', 'c', 0x00}, true)
	f.Add([]byte{0x02, 'u', 0x02, 0x02, 'e', 0x04, 0x02, 0x02, 'v', 0x02, 0x00, 0x00}, true)
	var fields event.Fields
	f.Fuzz(func(t *testing.T, body []byte, node bool) {
		dec, id := d, 1
		if node {
			dec, id = dn, 2
		}
		rec := append(AppendWire(nil, id), body...)
		if err := dec.Prepare(t.Context(), rec); err != nil {
			t.Fatal(err)
		}
		dec.Parse(rec, &fields)
	})
}
