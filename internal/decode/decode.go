// Package decode is the one place that chooses how Kafka record values are
// read: JSON (event.Parser) or Confluent wire-format Avro with a schema
// registry (avro.Decoder), behind one small interface. Both give the same
// event.Fields, so the engine and the sinks do not know the format.
package decode

import (
	"context"
	"fmt"
	"log/slog"
	"strings"

	"github.com/sessionize/sessionize/internal/avro"
	"github.com/sessionize/sessionize/internal/event"
)

// Format is how record values are encoded.
type Format string

const (
	JSON Format = "json"
	Avro Format = "avro"
)

// ParseFormat reads an --input-format value ("": JSON).
func ParseFormat(s string) (Format, error) {
	switch f := Format(strings.ToLower(s)); f {
	case "", JSON:
		return JSON, nil
	case Avro:
		return Avro, nil
	}
	return "", fmt.Errorf("input format %q: want json or avro", s)
}

// Parser turns one record into Fields or says why it is rejected. It does
// no I/O.
type Parser interface {
	Parse(rec []byte, f *event.Fields) event.Reason
}

// Decoder is a Parser with the step that may need I/O before Parse: Avro
// fetches the record's schema from the registry. An error from Prepare is
// not a verdict on the record (the registry is down, the credentials are
// refused): the caller stops rather than reject the record.
type Decoder interface {
	Parser
	Prepare(ctx context.Context, rec []byte) error
}

// Config chooses and configures a Decoder.
type Config struct {
	Format         Format
	Schema         event.Schema // zero: event.DefaultSchema
	MaxRecordBytes int
	Registry       avro.RegistryConfig // Avro only
	Logger         *slog.Logger
}

// New returns the Decoder of cfg.Format. Not safe for concurrent use: give
// each goroutine its own.
func New(cfg Config) (Decoder, error) {
	switch cfg.Format {
	case "", JSON:
		if len(cfg.Registry.URLs) > 0 {
			return nil, fmt.Errorf("--schema-registry is given but --input-format is json: give --input-format avro for Avro record values")
		}
		return jsonDecoder{event.NewParser(cfg.Schema, cfg.MaxRecordBytes)}, nil
	case Avro:
		return avro.New(avro.Config{Registry: cfg.Registry, Schema: cfg.Schema, MaxRecordBytes: cfg.MaxRecordBytes, Logger: cfg.Logger})
	}
	return nil, fmt.Errorf("input format %q: want json or avro", cfg.Format)
}

// jsonDecoder is the JSON parser, which needs nothing before Parse.
type jsonDecoder struct{ *event.Parser }

func (jsonDecoder) Prepare(context.Context, []byte) error { return nil }
