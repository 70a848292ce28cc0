package cli

import (
	"time"

	"github.com/spf13/cobra"

	"github.com/sessionize/sessionize/internal/event"
	"github.com/sessionize/sessionize/internal/kafka"
	"github.com/sessionize/sessionize/internal/metrics"
	"github.com/sessionize/sessionize/internal/pipeline"
	"github.com/sessionize/sessionize/internal/session"
)

func newRunCmd(e *env) *cobra.Command {
	var (
		rf         ruleFlags
		attrs      []string
		events     bool
		sf         schemaFlags
		wf         warehouseFlags
		inf        inputFormatFlags
		cfg        pipeline.Config
		servers    []string
		kSec       kafkaSecurityFlags
		maxBytes   int64
		memLimit   int64
		httpAddr   string
		cpuProfile string
		memProfile string
		allocProf  string
		dedup      = session.DefaultDedup()
		dedupWin   = time.Duration(dedup.WindowMs) * time.Millisecond
	)
	cmd := &cobra.Command{
		Use:   "run --kafka-servers HOST:PORT --topic TOPIC --warehouse DIR",
		Short: "Sessionize a Kafka topic into Iceberg tables, continuously and exactly once",
		Long: `Consume a Kafka topic as a member of a consumer group and write sessions to Iceberg.

Each Kafka partition has its own event-time watermark: the highest event time seen
in it minus --allowed-lateness. An event below the watermark is late: it goes to the
late_events table, never into a session. A session is written once the watermark
passes its last event + inactivity timeout (or its start + max duration), so it
equals what batch mode computes over the same events without the late ones.
Records that cannot be used go to rejected_events with their reason; an event more
than --max-future-skew ahead of its Kafka timestamp is rejected as future_timestamp,
so one bad clock cannot make every honest event late. The records are read with
the event schema flags (--user-field, --time-field, --time-format, ...; see batch);
when most of them are rejected or their times are implausible, a commit logs a
warning with the likely fix (again only when that changes).

Record values are JSON objects, or with --input-format avro the Confluent wire
format (magic byte 0, 4-byte schema id, Avro binary): each writer schema is
fetched from --schema-registry by its id once and cached, and the fields of
--user-field, --event-id-field, --time-field and --page-field (dotted paths into
nested records) are read from the decoded record. A long with logical type
timestamp-millis or timestamp-micros (an int with date) is read by that type; a
plain number or a string goes by --time-format. Values not in the wire format,
whose id the registry does not have, whose schema is not Avro, or that do not
decode with their schema are rejected as not_avro_wire_format,
avro_unknown_schema_id, avro_bad_schema or avro_corrupt. A registry that cannot be
reached or fails (5xx) is no fault of the records: the fetch is retried for
--schema-registry-retry, then the run exits 1 with what came before committed, and
a restart resumes at that record.

Exactly once: every --commit-interval the rows are committed to Iceberg with the
Kafka offsets they cover in the snapshot summaries, and at most every
--checkpoint-interval the open state is checkpointed into the warehouse (the
commits in between name the last checkpoint). On start and on every partition
assignment the job restores the state, re-reads the records since the checkpoint
without writing anything it committed already, and goes on; a crash at any point
and a restart give the same tables as a run without the crash
(docs/commit-protocol.md). Run
more instances with the same --group to share the partitions.

Duplicates: a re-sent copy of an event (same uuid and event_id, any timestamp)
counts once, also after its session was committed, while its key is remembered:
each partition keeps the keys of its accepted events, in its checkpointed state,
until the watermark is --dedup-window past their event time, at most
--dedup-max-keys of them. A copy of a forgotten event with the original's
timestamp is below the watermark, so it is late, never in a second session (unless
--drain closed the original and --dedup-max-keys pushed its key out before the
watermark passed it: watch sessionize_dedup_evicted_early_total). A copy with
another timestamp at or above the watermark is taken for a new event.

SIGTERM or SIGINT commits what has been processed and exits 0; open sessions
continue after a restart. --drain closes them instead, as batch does at the end of
its input. A commit in flight at the stop is let finish (up to 10s); one that
does not (a hung catalog) is abandoned, the tables stay at the commit before it,
and with --drain the run exits 1 saying nothing was drained.

--stop-when-idle D stops only when the whole topic is finished, not just this
instance's share: every partition must be committed in the tables up to its end
(as of the check). Partitions another instance holds count once that instance has
committed them to the end; until then this one waits and logs, every 10s, which
partitions are unfinished, where they are and who holds them. A crashed instance
keeps its partitions until its --session-timeout passes; then they move to a live
one, which finishes them. --stop-timeout bounds the wait: past it the run exits 1
with the same list. With several instances, --drain closes the open sessions of the
partitions each one holds when it stops: give --drain to every instance (or finish
with one --drain run alone in the group) for tables that equal batch's.

--events-table adds the table events: one row per accepted event with the
session_id of the session row it belongs to, its 0-based event_index in the
session, session_start_time_ms, its fields, raw record, partition and offset. An
event is written as soon as its place is final (the watermark passed it), so the
events of a session still open are in the table before its session row is.

The tables of a warehouse namespace belong to one consumer group: a run with
another --group is refused.`,
		Example: `  sessionize run --kafka-servers 127.0.0.1:9092 --topic clickstream --warehouse ./warehouse
  sessionize run --kafka-servers 127.0.0.1:9092 --warehouse ./warehouse --stop-when-idle 5s --drain
  SESSIONIZE_SCHEMA_REGISTRY_PASSWORD=... sessionize run --kafka-servers 127.0.0.1:9092 --warehouse ./warehouse \
    --input-format avro --schema-registry http://127.0.0.1:8081 --schema-registry-username svc --user-field user.id

  # a secured cluster: SASL_SSL with SCRAM (see the README for MSK IAM and Confluent Cloud)
  sessionize run --kafka-servers b1:9096,b2:9096 --kafka-tls --kafka-sasl-mechanism SCRAM-SHA-512 \
    --kafka-sasl-username svc --kafka-sasl-password-file /run/secrets/kafka --warehouse ./warehouse`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			rules, ruleSet, err := rf.rules(attrs...)
			if err != nil {
				return err
			}
			if len(servers) == 0 {
				return usagef("no Kafka servers: give --kafka-servers host:port (sessionize broker starts a local one)")
			}
			if err := checkRunFlagRanges(&cfg); err != nil {
				return err
			}
			if cfg.StopTimeout != 0 && cfg.StopWhenIdle == 0 {
				return usagef("--stop-timeout bounds the wait of --stop-when-idle: give --stop-when-idle too")
			}
			switch {
			case cfg.CheckpointInterval < 0:
				return usagef("--checkpoint-interval must not be negative (0: a checkpoint with every commit)")
			case cfg.CheckpointInterval == 0:
				cfg.CheckpointInterval = -1 // pipeline.Config's "every commit"
			}
			if cfg.InputFormat, cfg.SchemaRegistry, err = inf.config(cmd); err != nil {
				return err
			}
			cfg.Kafka.Servers = servers
			if cfg.Kafka.Security, err = kSec.security(cmd, e.logger); err != nil {
				return err
			}
			if cfg.Warehouse, err = wf.config(); err != nil {
				return err
			}
			cfg.Warehouse.EventsTable = events
			cfg.Rules, cfg.RuleSet = rules, ruleSet
			if cfg.Schema, err = sf.schema(); err != nil {
				return err
			}
			cfg.MaxRecordBytes = int(maxBytes)
			if dedupWin < 0 || dedup.MaxKeys < 0 {
				return usagef("--dedup-window and --dedup-max-keys must not be negative")
			}
			dedup.WindowMs = dedupWin.Milliseconds()
			cfg.Dedup = &dedup
			cfg.Logger = e.logger
			limit, restore := applyRunMemoryLimit(memLimit, e.logger)
			defer restore()
			cfg.MemoryLimit = limit
			if httpAddr != "" {
				cfg.Metrics = metrics.New(cfg.CommitInterval)
				addr, err := metrics.Serve(cmd.Context(), httpAddr, cfg.Metrics.Handler(), e.logger)
				if err != nil {
					return err
				}
				e.logger.Info("serving metrics and status", "status", "http://"+addr+"/", "metrics", "http://"+addr+"/metrics")
			}
			if cpuProfile != "" {
				stop, err := startCPUProfile(cpuProfile)
				if err != nil {
					return err
				}
				defer stop()
			}
			if memProfile != "" {
				if err := writeHeapProfiles(cmd.Context(), memProfile); err != nil {
					return err
				}
			}
			runErr := pipeline.Run(cmd.Context(), cfg)
			if allocProf != "" {
				// A debugging aid: a lost profile is worth a warning, not a
				// change to the run's outcome (its exit code says whether
				// the input was processed).
				if err := writeAllocProfile(allocProf); err != nil {
					e.logger.Warn("allocation profile not written", "err", err)
				}
			}
			return runErr
		},
	}
	rf.register(cmd)
	sf.register(cmd)
	wf.register(cmd, "warehouse")
	inf.register(cmd)
	fs := cmd.Flags()
	fs.StringSliceVar(&servers, "kafka-servers", nil, "Kafka bootstrap servers, host:port, comma-separated")
	kSec.register(fs)
	fs.StringVar(&cfg.Kafka.Topic, "topic", kafka.DefaultTopic, "topic to consume")
	fs.StringVar(&cfg.Kafka.Group, "group", kafka.DefaultGroup, "consumer group; instances with the same group share the partitions (the tables of a --warehouse/--namespace hold one group's output: another group is refused)")
	fs.StringVar(&cfg.Kafka.InstanceID, "instance-id", "", "static group membership (KIP-345): an instance restarted with the same id takes its partitions back at once instead of after --session-timeout; give each instance its own, stable id (e.g. the host name). A stopped instance's partitions then wait for it up to --session-timeout")
	fs.BoolVar(&cfg.Kafka.WaitForTopic, "wait-for-topic", false, "wait for a missing topic to appear instead of failing")
	fs.DurationVar(&cfg.Kafka.SessionTimeout, "session-timeout", kafka.DefaultSessionTimeout, "consumer-group session timeout: an instance not heard from for this long (crashed, stalled) loses its partitions; must be within the broker's group.min/max.session.timeout.ms")
	fs.DurationVar(&cfg.Kafka.RebalanceTimeout, "rebalance-timeout", 60*time.Second, "how long a consumer-group rebalance waits for the members; a commit before giving up partitions must fit in it")
	fs.DurationVar(&cfg.AllowedLateness, "allowed-lateness", pipeline.DefaultAllowedLateness, "how far behind the highest event time seen an event may be and still count")
	fs.DurationVar(&cfg.MaxFutureSkew, "max-future-skew", pipeline.DefaultMaxFutureSkew, "reject events this far ahead of their Kafka timestamp as future_timestamp")
	fs.DurationVar(&cfg.CommitInterval, "commit-interval", pipeline.DefaultCommitInterval, "commit to Iceberg at least this often")
	fs.IntVar(&cfg.CommitMaxRecords, "commit-max-records", pipeline.DefaultCommitMaxRecords, "commit after this many records, even before --commit-interval")
	fs.DurationVar(&cfg.CheckpointInterval, "checkpoint-interval", pipeline.DefaultCheckpointInterval, "write the open state (a checkpoint) with a commit at most this often; a restart re-reads the records since the last one (0: with every commit)")
	fs.DurationVar(&cfg.StopWhenIdle, "stop-when-idle", 0, "stop once the whole topic is finished: this instance's partitions read to their end with nothing new for this long, and every other partition committed to the tables up to its end by whichever instance holds it; until then wait, saying which partitions are unfinished and who holds them (0: never)")
	fs.DurationVar(&cfg.StopTimeout, "stop-timeout", 0, "how long --stop-when-idle may wait, once this instance's own partitions are finished, for the partitions other instances hold; then exit 1 naming them (0: no limit)")
	fs.StringArrayVar(&attrs, "session-attr", nil, "add a typed column to every session (see batch --help and the README): NAME=AGG(ARG) with first, last, count, count_distinct, sum, min, max or any(CONDITION); repeatable; a new one is added to the sessions table, dropping or retyping one is refused")
	fs.BoolVar(&events, "events-table", false, "also write every accepted event, tagged with its session_id, 0-based event_index and session start, with its raw record, to the Iceberg table events (exactly once, like the other tables); an event is written once its place in its session is final, before the session closes")
	fs.BoolVar(&cfg.Drain, "drain", false, "at stop, close every open session of this instance's partitions (as batch does at the end of its input) instead of keeping it for the next run; other instances' partitions are theirs to drain")
	fs.DurationVar(&dedupWin, "dedup-window", dedupWin, "remember each accepted event's (uuid, event_id) until the watermark is this far past its event time: a copy re-sent meanwhile is a duplicate, even after its session was committed (keep it above --inactivity-timeout to cover closed sessions). Memory: 40 to 100 bytes per event of the last --allowed-lateness + --dedup-window, per partition")
	fs.IntVar(&dedup.MaxKeys, "dedup-max-keys", dedup.MaxKeys, "remember at most this many keys per partition, oldest forgotten first (about 40 bytes of memory when full and 18 of checkpoint each; sessionize_dedup_evicted_early_total counts keys forgotten inside --dedup-window); 0: none, a copy is a duplicate only while its first copy is still open")
	fs.Var(newByteSize(&maxBytes, event.DefaultMaxRecordBytes), "max-record-bytes", "records longer than this are rejected as line_too_long")
	fs.Var(newByteSize(&memLimit, 0), "memory-limit", "soft memory limit of the Go runtime (as GOMEMLIMIT): the collector runs as often as it must to stay below it, and a commit warns when the live state nears it (0: GOMEMLIMIT if set, else 90% of the cgroup memory limit, else none; GOMEMLIMIT=off: none)")
	fs.DurationVar(&cfg.MaintainEvery, "maintain-every", 0, "run table maintenance (compaction, snapshot expiry, orphan and checkpoint cleanup; see sessionize table maintain) this often in the background (0: never)")
	// A debugging aid for bench/stream-vs-bare.sh (go tool pprof FILE), not
	// part of the interface: hidden.
	fs.StringVar(&cpuProfile, "cpuprofile", "", "write a CPU profile of the whole run to this file (go tool pprof)")
	_ = fs.MarkHidden("cpuprofile")
	fs.StringVar(&memProfile, "memprofile", "", "rewrite a heap profile to this file every 30 s (go tool pprof)")
	_ = fs.MarkHidden("memprofile")
	fs.StringVar(&allocProf, "allocprofile", "", "write the allocations of the whole run to this file as it ends (go tool pprof -sample_index=alloc_space)")
	_ = fs.MarkHidden("allocprofile")
	fs.StringVar(&httpAddr, "http-addr", "127.0.0.1:9464", "serve Prometheus /metrics, /healthz, /readyz and a status page at / on this address (empty: off)")
	return cmd
}

// checkRunFlagRanges refuses values the pipeline would not take as given:
// its Config reads zero (and for some, any value <= 0) as "the default", so
// without this '--commit-interval 0' ran with 10 s commits, saying nothing.
func checkRunFlagRanges(cfg *pipeline.Config) error {
	for _, d := range []struct {
		flag string
		v    time.Duration
	}{
		{"commit-interval", cfg.CommitInterval},
		{"max-future-skew", cfg.MaxFutureSkew},
		{"session-timeout", cfg.Kafka.SessionTimeout},
		{"rebalance-timeout", cfg.Kafka.RebalanceTimeout},
	} {
		if d.v <= 0 {
			return usagef("--%s must be positive, got %s", d.flag, d.v)
		}
	}
	switch {
	case cfg.CommitMaxRecords <= 0:
		return usagef("--commit-max-records must be positive, got %d", cfg.CommitMaxRecords)
	case cfg.AllowedLateness < 0:
		return usagef("--allowed-lateness must not be negative, got %s (0: an event behind the highest event time seen is late)", cfg.AllowedLateness)
	case cfg.MaintainEvery < 0:
		return usagef("--maintain-every must not be negative, got %s (0: no maintenance)", cfg.MaintainEvery)
	case cfg.StopWhenIdle < 0 || cfg.StopTimeout < 0:
		return usagef("--stop-when-idle and --stop-timeout must not be negative (0: never stop; no limit)")
	}
	return nil
}
