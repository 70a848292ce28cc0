// Package avro reads Kafka record values written in the Confluent wire
// format: a zero magic byte, the writer's schema id (4 bytes, big endian)
// and the Avro binary body. Schemas come from a schema registry by id and
// are cached; the event.Schema's paths are resolved once per schema id into
// a decoding plan that reads the configured fields and skips the rest,
// without building a generic value or allocating per record.
//
// A record this package cannot read is rejected with a reason (see
// event.NotAvroWireFormat and the Avro reasons); a registry it cannot reach
// is not a property of the record, so Prepare reports it as an error and
// the caller stops instead of rejecting everything.
package avro
