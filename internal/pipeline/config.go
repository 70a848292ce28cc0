package pipeline

import (
	"errors"
	"log/slog"
	"time"

	"github.com/sessionize/sessionize/internal/avro"
	"github.com/sessionize/sessionize/internal/decode"
	"github.com/sessionize/sessionize/internal/event"
	"github.com/sessionize/sessionize/internal/iceberg"
	"github.com/sessionize/sessionize/internal/kafka"
	"github.com/sessionize/sessionize/internal/metrics"
	"github.com/sessionize/sessionize/internal/rule"
	"github.com/sessionize/sessionize/internal/session"
)

// Defaults of sessionize run.
const (
	DefaultAllowedLateness  = 10 * time.Minute
	DefaultMaxFutureSkew    = time.Hour
	DefaultCommitInterval   = 10 * time.Second
	DefaultCommitMaxRecords = 500_000
	// DefaultCheckpointInterval: the open state is written at most once a
	// minute, so a job that commits every second does not write all of it
	// every second (at 50k events/s, ~100 MB a commit); a restart re-reads
	// at most about a minute of records.
	DefaultCheckpointInterval = time.Minute
)

// Config is one streaming job.
type Config struct {
	Kafka     kafka.SourceConfig
	Warehouse iceberg.Config

	Rules session.Rules
	// RuleSet holds the compiled boundary rules whose texts are in Rules
	// (rule.Set.Apply); nil for none.
	RuleSet *rule.Set
	// Schema says where records keep the user, event id, time and page
	// (zero: event.DefaultSchema).
	Schema          event.Schema
	AllowedLateness time.Duration
	MaxFutureSkew   time.Duration
	MaxRecordBytes  int

	// InputFormat is how record values are encoded ("": JSON); Avro
	// needs SchemaRegistry.
	InputFormat    decode.Format
	SchemaRegistry avro.RegistryConfig

	CommitInterval   time.Duration
	CommitMaxRecords int
	// CheckpointInterval is how often, at most, a commit writes the open
	// state (a checkpoint file); the commits in between name the last
	// one, and a restore re-reads the records since it, emitting nothing
	// that was committed (docs/commit-protocol.md). A commit that gives
	// up partitions, drains, or holds a partition without a checkpoint
	// yet always writes one. 0 means DefaultCheckpointInterval; negative,
	// every commit.
	CheckpointInterval time.Duration

	// Dedup bounds the keys of committed events each partition remembers,
	// so that a re-sent copy is a duplicate, not a new event (see
	// session.Dedup); nil means session.DefaultDedup().
	Dedup *session.Dedup

	// StopWhenIdle, if positive, stops the job once the whole topic is
	// finished: this member has read its partitions to their end and
	// found nothing new for this long, and every other partition is
	// committed in the sessions table up to its end (finished.go).
	StopWhenIdle time.Duration
	// StopTimeout, if positive, bounds how long StopWhenIdle waits for
	// the partitions other members hold once this member's own are
	// finished; then Run fails, naming them.
	StopTimeout time.Duration
	// Drain closes every open session of this member's partitions at
	// stop, as batch does at the end of its input. Partitions other
	// members hold are theirs to drain at their own stop.
	Drain bool
	// MaintainEvery, if positive, runs table maintenance (compaction,
	// snapshot expiry, orphan and checkpoint cleanup) this often.
	MaintainEvery time.Duration
	// MemoryLimit is the soft memory limit the process runs under (the
	// caller sets it, debug.SetMemoryLimit); if positive, a commit warns
	// when the live heap nears it (memory.go). 0: none.
	MemoryLimit int64

	Logger *slog.Logger
	// Metrics, if set, receives the job's metrics and status.
	Metrics *metrics.Pipeline
	// OnCommit, if set, is told about every successful commit.
	OnCommit func(CommitInfo)

	// attemptTimeout bounds one attempt of a commit step (0:
	// defaultAttemptTimeout); tests shorten it.
	attemptTimeout time.Duration
	// stopGrace is how long a stop lets a commit in flight finish (0:
	// defaultStopGrace); tests shorten it.
	stopGrace time.Duration
}

// CommitInfo describes one commit, for logs, metrics and tests.
type CommitInfo struct {
	Seq        int64
	Partitions int
	Records    int64 // records processed since the previous commit
	Sessions   int
	Late       int
	Rejected   int
	OpenEvents int64
	// StateBytes is the size of the last checkpoint written; StateWritten
	// says whether this commit wrote it (see CheckpointInterval).
	StateBytes   int
	StateWritten bool
	Duration     time.Duration
	Lag          int64
	// CloseToVisible is, per committed session, the time from the Kafka
	// timestamp of the newest record read when it closed to the commit
	// that made it readable.
	CloseToVisible []time.Duration
}

func (c *Config) validate() error {
	if len(c.Kafka.Servers) == 0 {
		return errors.New("no Kafka servers: give --kafka-servers host:port[,host:port]")
	}
	if c.Warehouse.Warehouse == "" {
		return errors.New("no warehouse: give --warehouse DIR")
	}
	if err := c.Rules.Validate(); err != nil {
		return err
	}
	if c.RuleSet.Apply(c.Rules) != c.Rules {
		return errors.New("pipeline: Config.Rules does not carry the texts of Config.RuleSet (use RuleSet.Apply)")
	}
	// The decoder (JSON or Avro) reads the rules' fields with the
	// event's own.
	sch, err := c.RuleSet.Schema(c.Schema)
	if err != nil {
		return err
	}
	c.Schema = sch
	if c.AllowedLateness < 0 {
		return errors.New("allowed lateness must not be negative")
	}
	if c.StopWhenIdle < 0 || c.StopTimeout < 0 {
		return errors.New("--stop-when-idle and --stop-timeout must not be negative")
	}
	if c.StopTimeout > 0 && c.StopWhenIdle == 0 {
		return errors.New("--stop-timeout bounds the wait of --stop-when-idle: give --stop-when-idle too")
	}
	if c.Dedup == nil {
		d := session.DefaultDedup()
		c.Dedup = &d
	}
	if c.Dedup.WindowMs < 0 || c.Dedup.MaxKeys < 0 {
		return errors.New("--dedup-window and --dedup-max-keys must not be negative")
	}
	if c.MaxFutureSkew <= 0 {
		c.MaxFutureSkew = DefaultMaxFutureSkew
	}
	if c.CommitInterval <= 0 {
		c.CommitInterval = DefaultCommitInterval
	}
	if c.CommitMaxRecords <= 0 {
		c.CommitMaxRecords = DefaultCommitMaxRecords
	}
	if c.CheckpointInterval == 0 {
		c.CheckpointInterval = DefaultCheckpointInterval
	}
	if c.Kafka.Group == "" {
		c.Kafka.Group = kafka.DefaultGroup
	}
	if c.Kafka.Topic == "" {
		c.Kafka.Topic = kafka.DefaultTopic
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	return nil
}
