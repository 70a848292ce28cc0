package avro

import (
	"encoding/binary"

	hamba "github.com/hamba/avro/v2"
)

// wireHeaderLen is the Confluent wire format's prefix: magic byte 0 and a
// 4-byte big-endian schema id.
const wireHeaderLen = 5

// splitWire returns the schema id and the Avro body of a value in the
// Confluent wire format; ok is false when rec does not start with one.
func splitWire(rec []byte) (id int, body []byte, ok bool) {
	if len(rec) < wireHeaderLen || rec[0] != 0 {
		return 0, nil, false
	}
	return int(int32(binary.BigEndian.Uint32(rec[1:5]))), rec[wireHeaderLen:], true
}

// AppendWire appends the wire-format header for schema id to b; the Avro
// body follows. For tests and producers.
func AppendWire(b []byte, id int) []byte {
	return binary.BigEndian.AppendUint32(append(b, 0), uint32(id))
}

// Marshal encodes v (a struct with avro tags, or maps) with the writer
// schema text in the wire format under schema id: for producers and tests,
// with hamba's reflection encoder, a code path apart from the decoder's.
func Marshal(schema string, id int, v any) ([]byte, error) {
	sch, err := hamba.ParseWithCache(schema, "", &hamba.SchemaCache{})
	if err != nil {
		return nil, err
	}
	body, err := hamba.Marshal(sch, v)
	if err != nil {
		return nil, err
	}
	return append(AppendWire(nil, id), body...), nil
}
