package avro

import (
	"testing"

	"github.com/twmb/franz-go/pkg/sr"
	"github.com/twmb/franz-go/pkg/sr/srfake"
)

// clickSchema is a writer schema with what real clickstreams have: nested
// records, nullable unions, a timestamp logical type, arrays, maps, enums.
const clickSchema = `{"type":"record","name":"Click","namespace":"shop","fields":[
 {"name":"user","type":{"type":"record","name":"User","fields":[
   {"name":"id","type":"string"},
   {"name":"tags","type":{"type":"array","items":"string"}}]}},
 {"name":"event_id","type":["null","string"]},
 {"name":"occurred_at","type":{"type":"long","logicalType":"timestamp-micros"}},
 {"name":"page","type":["null",{"type":"record","name":"Page","fields":[{"name":"path","type":"string"}]}]},
 {"name":"props","type":{"type":"map","values":"double"}},
 {"name":"kind","type":{"type":"enum","name":"Kind","symbols":["VIEW","CLICK"]}},
 {"name":"seq","type":"long"}
]}`

// The Go side of clickSchema, for hamba's encoder (reflection over struct
// tags: a different code path from the decoding plan under test).
type clickUser struct {
	ID   string   `avro:"id"`
	Tags []string `avro:"tags"`
}
type clickPage struct {
	Path string `avro:"path"`
}
type click struct {
	User       clickUser          `avro:"user"`
	EventID    *string            `avro:"event_id"`
	OccurredAt int64              `avro:"occurred_at"` // micros
	Page       *clickPage         `avro:"page"`
	Props      map[string]float64 `avro:"props"`
	Kind       string             `avro:"kind"`
	Seq        int64              `avro:"seq"`
}

func strp(s string) *string { return &s }

// encode returns v in the wire format with schema id.
func encode(t testing.TB, schema string, id int, v any) []byte {
	t.Helper()
	b, err := Marshal(schema, id, v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// newFakeRegistry is franz-go's srfake registry seeded with clickSchema
// at id 1.
func newFakeRegistry(t testing.TB, opts ...srfake.Option) *srfake.Registry {
	t.Helper()
	reg := srfake.New(opts...)
	t.Cleanup(reg.Close)
	reg.SeedSchema("clicks-value", 1, 1, sr.Schema{Schema: clickSchema, Type: sr.TypeAvro})
	return reg
}

func srSchema(s string) sr.Schema { return sr.Schema{Schema: s, Type: sr.TypeAvro} }
