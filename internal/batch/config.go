// Package batch sessionizes files: JSON lines (optionally gzip), CSV and
// Parquet in; JSON lines or Parquet sessions out. Records are parsed on all
// cores, users are hashed into partitions that spill to disk when memory is
// short, and each partition is folded by the session engine on its own.
package batch

import (
	"errors"
	"io"
	"log/slog"
	"runtime"

	"github.com/sessionize/sessionize/internal/event"
	"github.com/sessionize/sessionize/internal/rule"
	"github.com/sessionize/sessionize/internal/session"
)

// Config is one batch run.
type Config struct {
	// Inputs are file paths or globs; "-" is standard input (JSON lines).
	Inputs []string
	// Output is the sessions file; its extension picks the format
	// (.parquet, otherwise JSON lines). "-" is standard output.
	Output string
	// OutputEvents, if set, receives every event of the emitted sessions
	// tagged with its session (see events_writer.go); the extension picks
	// the format as for Output.
	OutputEvents string
	// Table, if set, also appends the sessions to an Iceberg table.
	Table *TableOutput
	// Rejected, if set, receives every rejected record with its reason.
	Rejected string
	// SummaryJSON, if set, receives the run summary as JSON.
	SummaryJSON string
	// CarryOpen, if set, receives the sessions still open at the end of
	// the input instead of the output.
	CarryOpen string
	// Resume, if set, is a CarryOpen file of an earlier run to continue.
	Resume string

	Rules session.Rules
	// RuleSet holds the compiled boundary rules whose canonical texts
	// are in Rules (rule.Set.Apply); nil for none.
	RuleSet *rule.Set
	// Schema says where records keep the user, event id, time and page
	// (zero: event.DefaultSchema).
	Schema         event.Schema
	MaxRecordBytes int
	// MaxRejectedRatio, if positive, fails the run (ErrTooManyRejected)
	// when more than this share of the records read is rejected.
	MaxRejectedRatio float64
	// MemoryLimit bounds the memory used for buffered events; above it
	// partitions spill to TempDir.
	MemoryLimit int64
	TempDir     string
	Workers     int

	Stdin  io.Reader
	Stdout io.Writer
	// Progress, if not nil, gets a refreshing progress line (a TTY).
	Progress io.Writer
	Logger   *slog.Logger

	resumed *resumeCut // set by Run from the Resume state
}

// keepsEvents: the run writes events, so they carry their records through
// the engine (and the --carry-open state).
func (c *Config) keepsEvents() bool { return c.OutputEvents != "" }

func (c *Config) validate() error {
	if len(c.Inputs) == 0 {
		return errors.New("no input: give --input FILE (repeatable, globs allowed, - for stdin)")
	}
	if c.Output == "" && c.Table == nil {
		return errors.New("no output: give --output FILE (.jsonl or .parquet, - for stdout) or --output-table sessions")
	}
	if c.Table != nil {
		if err := c.Table.validate(); err != nil {
			return err
		}
	}
	if err := c.Rules.Validate(); err != nil {
		return err
	}
	if c.RuleSet.Apply(c.Rules) != c.Rules {
		return errors.New("batch: Config.Rules does not carry the texts of Config.RuleSet (use RuleSet.Apply)")
	}
	// Every reader decodes the rules' fields with the event's own.
	sch, err := c.RuleSet.Schema(c.Schema)
	if err != nil {
		return err
	}
	c.Schema = sch
	if c.MaxRecordBytes <= 0 {
		c.MaxRecordBytes = event.DefaultMaxRecordBytes
	}
	if c.Workers <= 0 {
		c.Workers = runtime.GOMAXPROCS(0)
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	return nil
}
