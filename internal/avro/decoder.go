package avro

import (
	"context"
	"errors"
	"log/slog"
	"math"
	"strings"
	"time"

	hamba "github.com/hamba/avro/v2"

	"github.com/sessionize/sessionize/internal/event"
)

// unknownRecheck is how long an id the registry did not know is taken as
// unknown before it is asked again: a schema registered after its first
// records were written (a registry replica behind the producer's) is found
// for the records that follow.
const unknownRecheck = 30 * time.Second

// noID is no schema id: ids are int32 (-1 is one), this is not.
const noID = math.MinInt64

// Config is one Decoder.
type Config struct {
	Registry RegistryConfig
	// Schema is where the decoded record keeps the user key, event id,
	// time and page (zero: event.DefaultSchema).
	Schema         event.Schema
	MaxRecordBytes int // <= 0: event.DefaultMaxRecordBytes
	Logger         *slog.Logger
}

// entry is what a schema id resolved to: a plan, or the reason its records
// are rejected.
type entry struct {
	plan    *plan
	reason  event.Reason
	checked time.Time // when an unknown id was last asked for
}

// Decoder turns Confluent wire-format Avro record values into
// event.Fields. Prepare fetches a record's schema (the only step that
// talks to the registry); Parse then decodes without I/O. It is not safe
// for concurrent use.
type Decoder struct {
	reg      *registry
	asm      *event.Assembler
	schema   event.Schema
	maxBytes int
	log      *slog.Logger

	ids     map[int]*entry
	recheck time.Duration // unknownRecheck; tests shorten it
	lastID  int
	last    *entry

	vals event.Values
	st   state
	rd   *hamba.Reader
}

// New returns a Decoder for cfg. It does not contact the registry.
func New(cfg Config) (*Decoder, error) {
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Registry.Logger == nil {
		cfg.Registry.Logger = cfg.Logger
	}
	reg, err := newRegistry(cfg.Registry)
	if err != nil {
		return nil, err
	}
	if cfg.MaxRecordBytes <= 0 {
		cfg.MaxRecordBytes = event.DefaultMaxRecordBytes
	}
	asm := event.NewAssembler(cfg.Schema)
	d := &Decoder{reg: reg, asm: asm, schema: *asm.Schema(), maxBytes: cfg.MaxRecordBytes, log: cfg.Logger,
		ids: map[int]*entry{}, recheck: unknownRecheck, lastID: noID, rd: hamba.NewReader(nil, 0)}
	d.st.loc = d.schema.Format.Location()
	d.vals = asm.Values()
	return d, nil
}

// Prepare makes sure the schema of rec's id is known, asking the registry
// if needed. An error means the registry could not be asked (down, refusing
// the credentials): the record must not be rejected for it, the caller
// stops. A record that is not in the wire format, or whose id the registry
// does not have, is no error here: Parse rejects it.
func (d *Decoder) Prepare(ctx context.Context, rec []byte) error {
	id, _, ok := splitWire(rec)
	if !ok || len(rec) > d.maxBytes {
		return nil
	}
	if id == d.lastID && d.last.reason != event.AvroUnknownSchemaID {
		return nil
	}
	if e := d.ids[id]; e != nil && (e.reason != event.AvroUnknownSchemaID || time.Since(e.checked) < d.recheck) {
		return nil
	}
	sch, err := d.reg.schema(ctx, id)
	var se *schemaError
	switch {
	case errors.Is(err, errUnknownID):
		if d.ids[id] == nil {
			d.log.Warn("the schema registry has no schema of this id: its records are rejected as avro_unknown_schema_id",
				"schema_id", id, "registry", d.reg.where)
		}
		d.ids[id] = &entry{reason: event.AvroUnknownSchemaID, checked: time.Now()}
	case errors.As(err, &se):
		d.log.Warn("schema unusable: its records are rejected as avro_bad_schema", "schema_id", id, "error", se.err)
		d.ids[id] = &entry{reason: event.AvroBadSchema}
	case err != nil:
		return err
	default:
		p := compile(sch, &d.schema)
		d.warnUnbound(id, p)
		d.ids[id] = &entry{plan: p}
	}
	d.lastID = noID // the map changed; Parse sets it again
	return nil
}

// warnUnbound says once per schema id which configured fields the schema
// has no path to: every record of it will be rejected for them.
func (d *Decoder) warnUnbound(id int, p *plan) {
	var missing []string
	for i, u := range d.schema.User {
		if !p.bound[i] {
			missing = append(missing, u.String())
		}
	}
	if d.schema.HasEventID() && !p.bound[slotEventID] {
		missing = append(missing, d.schema.EventID.String())
	}
	if !p.bound[slotTime] {
		missing = append(missing, d.schema.Time.String())
	}
	if len(missing) > 0 {
		d.log.Warn("the writer schema has no such field: every record of it will be rejected (see --user-field, --event-id-field, --time-field)",
			"schema_id", id, "fields", strings.Join(missing, ","))
	}
}

// Parse decodes rec into f, or says why it is rejected. The slices in f
// alias the Decoder's memory until the next Parse. rec's schema must have
// been Prepared; one that was not is rejected as avro_unknown_schema_id.
func (d *Decoder) Parse(rec []byte, f *event.Fields) event.Reason {
	if len(rec) > d.maxBytes {
		return event.LineTooLong
	}
	if len(rec) == 0 {
		return event.EmptyRecord
	}
	id, body, ok := splitWire(rec)
	if !ok {
		return event.NotAvroWireFormat
	}
	e := d.last
	if id != d.lastID {
		if e = d.ids[id]; e == nil {
			return event.AvroUnknownSchemaID
		}
		d.lastID, d.last = id, e
	}
	if e.plan == nil {
		return e.reason
	}
	d.vals.Reset()
	s := &d.st
	s.r = d.rd.Reset(body)
	s.r.Error = nil
	s.n, s.items, s.depth, s.bad = len(body), 0, 0, false
	s.vals, s.scratch = &d.vals, s.scratch[:0]
	e.plan.root(s)
	if s.failed() {
		return event.AvroCorrupt
	}
	if s.r.Peek(); s.r.Error == nil {
		return event.AvroCorrupt // bytes past the record: not written with this schema
	}
	return d.asm.Assemble(&d.vals, rec, f)
}
