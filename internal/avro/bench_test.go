package avro

import (
	"fmt"
	"testing"

	hamba "github.com/hamba/avro/v2"
	"github.com/twmb/franz-go/pkg/sr"
	"github.com/twmb/franz-go/pkg/sr/srfake"

	"github.com/sessionize/sessionize/internal/event"
)

// genSchema is the generator's event shape in Avro: what a clickstream
// written with a schema registry looks like, about 200 bytes a record.
const genSchema = `{"type":"record","name":"Event","namespace":"clicks","fields":[
 {"name":"event_id","type":"string"},
 {"name":"page_name","type":"string"},
 {"name":"event_timestamp","type":{"type":"long","logicalType":"timestamp-millis"}},
 {"name":"booking_details","type":["null",{"type":"record","name":"Booking","fields":[
   {"name":"hotel_id","type":"string"},{"name":"price","type":"double"},
   {"name":"currency","type":"string"},{"name":"nights","type":"int"}]}]},
 {"name":"uuid","type":"string"},
 {"name":"event_details","type":{"type":"record","name":"Details","fields":[
   {"name":"event_name","type":"string"},{"name":"event_type","type":"string"},{"name":"event_value","type":"string"}]}}
]}`

type genBooking struct {
	HotelID  string  `avro:"hotel_id"`
	Price    float64 `avro:"price"`
	Currency string  `avro:"currency"`
	Nights   int32   `avro:"nights"`
}
type genDetails struct {
	Name  string `avro:"event_name"`
	Type  string `avro:"event_type"`
	Value string `avro:"event_value"`
}
type genEvent struct {
	EventID   string      `avro:"event_id"`
	PageName  string      `avro:"page_name"`
	Timestamp int64       `avro:"event_timestamp"`
	Booking   *genBooking `avro:"booking_details"`
	UUID      string      `avro:"uuid"`
	Details   genDetails  `avro:"event_details"`
}

func genRecords(b *testing.B) ([][]byte, int) {
	var recs [][]byte
	var size int
	for i := range 1024 {
		e := genEvent{EventID: fmt.Sprintf("%016x", uint64(i)*0x9e3779b97f4a7c15), PageName: "results",
			Timestamp: 1764547200000 + int64(i)*731, UUID: fmt.Sprintf("7f3e%04x-1b2c-4d5e-8f90-%012x", i%5000, i),
			Details: genDetails{"page_view", "view", "results"}}
		if i%10 == 0 {
			e.Booking = &genBooking{fmt.Sprintf("H%05d", i), float64(100+i%300) + 0.99, "EUR", int32(1 + i%7)}
		}
		r := encode(b, genSchema, 1, e)
		recs = append(recs, r)
		size += len(r)
	}
	return recs, size / len(recs)
}

// BenchmarkDecode measures records/s on one core: the plan (decode the
// four fields, skip the rest) against hamba's generic decode into a map,
// which a decoder without a plan would do, followed by the same Assembler.
func BenchmarkDecode(b *testing.B) {
	recs, size := genRecords(b)
	reg := srfake.New()
	defer reg.Close()
	reg.SeedSchema("events-value", 1, 1, sr.Schema{Schema: genSchema, Type: sr.TypeAvro})

	b.Run("plan", func(b *testing.B) {
		d := newDecoder(b, reg.URL(), event.DefaultSchema())
		var f event.Fields
		if _, r := parse(b, d, recs[0]); r != event.OK {
			b.Fatal(r)
		}
		b.SetBytes(int64(size))
		b.ReportAllocs()
		b.ResetTimer()
		for i := range b.N {
			if d.Parse(recs[i%len(recs)], &f) != event.OK {
				b.Fatal("rejected")
			}
		}
		b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "records/s")
	})
	b.Run("hamba-generic", func(b *testing.B) {
		sch, err := hamba.ParseWithCache(genSchema, "", &hamba.SchemaCache{})
		if err != nil {
			b.Fatal(err)
		}
		es := event.DefaultSchema()
		asm := event.NewAssembler(es)
		var f event.Fields
		b.SetBytes(int64(size))
		b.ReportAllocs()
		b.ResetTimer()
		for i := range b.N {
			rec := recs[i%len(recs)]
			var m map[string]any
			if err := hamba.Unmarshal(sch, rec[5:], &m); err != nil {
				b.Fatal(err)
			}
			var v event.Values
			for k, p := range es.User {
				x, _ := p.Lookup(m)
				v.User[k] = event.ValueOf(x)
			}
			x, _ := es.EventID.Lookup(m)
			v.EventID = event.ValueOf(x)
			x, _ = es.Time.Lookup(m)
			v.Time = event.ValueOf(x)
			x, _ = es.Page.Lookup(m)
			v.Page = event.ValueOf(x)
			if asm.Assemble(&v, rec, &f) != event.OK {
				b.Fatal("rejected")
			}
		}
		b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "records/s")
	})
}
