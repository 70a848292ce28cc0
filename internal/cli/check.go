package cli

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"golang.org/x/term"

	"github.com/sessionize/sessionize/internal/check"
	"github.com/sessionize/sessionize/internal/decode"
	"github.com/sessionize/sessionize/internal/event"
	"github.com/sessionize/sessionize/internal/pipeline"
)

// ExitCheckFailed is check's exit code when a --fail-on condition holds.
const ExitCheckFailed = 3

// exitCodeError is an error that asks for a specific exit code. Main
// honours any error with an ExitCode method.
type exitCodeError struct {
	code int
	err  error
}

func (e exitCodeError) Error() string { return e.err.Error() }
func (e exitCodeError) Unwrap() error { return e.err }
func (e exitCodeError) ExitCode() int { return e.code }

func newCheckCmd(e *env) *cobra.Command {
	var (
		inputs     []string
		servers    []string
		kSec       kafkaSecurityFlags
		topic      string
		last       int64
		opts       check.Options
		sf         schemaFlags
		inf        inputFormatFlags
		candidates []time.Duration
		maxBytes   int64
		asJSON     bool
		failOn     string
	)
	cmd := &cobra.Command{
		Use:   "check (--input FILE... | --kafka-servers HOST:PORT --topic TOPIC)",
		Short: "Report on the quality of event files or a Kafka topic: rejects, duplicates, lateness, users",
		Long: `Read events once and report what sessionize would make of them: records, valid and
rejected by reason, duplicates, the event-time range, how much arrives out of order
and how late, how many records each --allowed-lateness would send to late_events,
users and events per user. Nothing is written but the report. The records are read
with the event schema flags (--user-field, --time-field, --time-format, ...) as
batch and run read them; the report names them and warns, with the likely fix, when
most records are rejected or event times are implausible (before 2000, or more
than a day after the file's modification time or the Kafka timestamp).

Inputs: JSON lines files (--input, repeatable, globs allowed, gzip detected by
content, - for stdin), or a Kafka topic (--kafka-servers, --topic) read from the
oldest record of each partition, or only the last --last offsets of each, to each
partition's end as of the start, with a plain consumer (no group, no commits,
read_committed). A topic's values are JSON, or with --input-format avro the
Confluent wire format with schemas from --schema-registry, as run reads them (see
sessionize run --help); a registry that cannot be reached fails the check.

Every file and every partition is read in order, on its own, as the stream reads a
partition. Definitions:
  running max   the newest event time among the valid, non-duplicate records seen
                so far in the file or partition
  out of order  a valid record whose event time is below the running max; its
                lateness is running max - event time
  late at L     lateness strictly greater than L: what run --allowed-lateness L
                sends to late_events (exactly L behind is on time). Counted for
                --allowed-lateness and each of --lateness-candidates
  duplicate     a valid record with the (user, event id) of an earlier one, anywhere
                in the input, as batch counts them
  on several partitions
                (a topic) users with events in more than one partition: run
                sessionizes each partition on its own and would split their
                sessions; records keyed by user have none
Duplicates and users are counted with 64-bit hashes (xxhash) of the keys, not the
keys: a collision, which would hide one duplicate or merge two users, has a chance
of about n^2/2^65 for n distinct events (1 in 10 million for a million). Lateness
p50 and p99 (nearest rank) are exact while a file or partition has at most 16,384
out-of-order records, else they come from a log-linear histogram (within 0.8%);
max is always exact. Events per user counts valid non-duplicate records, exactly.
Percents are of all records read. Memory: 11 to 21 bytes per distinct event and
12 to 24 per user.

--fail-on makes check a gate: a comma-separated list of METRIC>VALUE or
METRIC>=VALUE, VALUE a count (100) or a percent of records (0.1%); METRIC is
rejected, duplicates, late (at --allowed-lateness), out_of_order or a rejection
reason (invalid_json, missing_user, bad_time_format, ...; the older names
missing_uuid and bad_timestamp count the reasons that replaced them). If any
holds, check names it and exits 3.

Exit codes: 0 checked (and no --fail-on condition held), 1 the input could not be
read, 2 usage error (including a malformed --fail-on), 3 a --fail-on condition held.`,
		Example: `  sessionize check --input events.jsonl
  sessionize check --input 'logs/2026-11-25/*.jsonl.gz' --json > quality.json
  sessionize check --kafka-servers 127.0.0.1:9092 --topic clickstream --last 100000
  sessionize check --input events.jsonl --fail-on 'rejected>1%,late>0.1%,duplicates>2%'`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			conds, err := check.ParseFailOn(failOn)
			if err != nil {
				return usagef("invalid argument %q for \"--fail-on\" flag: %v", failOn, err)
			}
			kafkaFlags := []string{"kafka-servers", "topic", "last"}
			fromKafka := len(servers) > 0 || cmd.Flags().Changed("topic") || cmd.Flags().Changed("last")
			if len(inputs) > 0 && fromKafka {
				// SESSIONIZE_KAFKA_SERVERS and SESSIONIZE_TOPIC are
				// often set for run: they must not get in the way of
				// --input on the command line, nor SESSIONIZE_INPUT in
				// the way of --kafka-servers.
				switch {
				case onlyFromEnv(cmd, kafkaFlags...) && !onlyFromEnv(cmd, "input"):
					fromKafka = false
				case onlyFromEnv(cmd, "input") && !onlyFromEnv(cmd, kafkaFlags...):
					inputs = nil
				}
			}
			switch {
			case len(inputs) > 0 && fromKafka:
				return usagef("give either --input or --kafka-servers/--topic, not both")
			case len(inputs) == 0 && !fromKafka:
				return usagef("nothing to check: give --input FILE (repeatable, globs allowed, - for stdin) or --kafka-servers HOST:PORT --topic TOPIC")
			case fromKafka && len(servers) == 0:
				return usagef("no Kafka servers: give --kafka-servers host:port")
			case fromKafka && topic == "":
				return usagef("no topic: give --topic")
			case last < 0:
				return usagef("invalid argument %d for \"--last\" flag: want a positive number of records per partition (0: all)", last)
			case opts.AllowedLateness < 0:
				return usagef("invalid argument for \"--allowed-lateness\" flag: must not be negative")
			case maxBytes > 1<<31:
				return usagef("invalid argument for \"--max-record-bytes\" flag: at most 2GiB")
			}
			for _, c := range candidates {
				if c < 0 {
					return usagef("invalid argument for \"--lateness-candidates\" flag: %s is negative", c)
				}
			}
			opts.AllowedLatenessSet = true
			opts.Candidates = candidates
			if opts.Candidates == nil {
				opts.Candidates = []time.Duration{}
			}
			opts.MaxRecordBytes = int(maxBytes)
			if opts.Schema, err = sf.schema(); err != nil {
				return err
			}
			opts.FailOn = conds
			if f, ok := e.stderr.(*os.File); ok && !e.quiet && term.IsTerminal(int(f.Fd())) {
				opts.Progress = f
			}

			format, registry, err := inf.config(cmd)
			if err != nil {
				return err
			}
			if !fromKafka && format != decode.JSON {
				return usagef("--input-format avro is for Kafka record values: give --kafka-servers and --topic (files are read by their name: .jsonl, .csv, .parquet)")
			}
			var rep *check.Report
			if fromKafka {
				sec, serr := kSec.security(cmd, e.logger)
				if serr != nil {
					return serr
				}
				rep, err = check.CheckTopic(cmd.Context(), opts, check.KafkaInput{Servers: servers, Security: sec, Topic: topic, Last: last,
					Format: format, Registry: registry})
			} else {
				rep, err = check.CheckFiles(cmd.Context(), opts, inputs, e.stdin)
				if errors.Is(err, check.ErrUnsupportedFormat) {
					return usageError{err}
				}
			}
			if err != nil {
				return err
			}
			if asJSON {
				enc := json.NewEncoder(e.stdout)
				enc.SetIndent("", "  ")
				err = enc.Encode(rep)
			} else {
				err = rep.WriteText(e.stdout)
			}
			if err != nil {
				return fmt.Errorf("writing the report: %w", err)
			}
			if rep.FailOn != nil && rep.FailOn.Failed {
				return exitCodeError{ExitCheckFailed, fmt.Errorf("check failed: %s", strings.Join(rep.FailOn.Held(), "; "))}
			}
			return nil
		},
	}
	sf.register(cmd)
	inf.register(cmd)
	fs := cmd.Flags()
	fs.StringArrayVarP(&inputs, "input", "i", nil, "JSON lines file (gzip or not) or glob; repeatable; - reads stdin")
	fs.StringSliceVar(&servers, "kafka-servers", nil, "Kafka bootstrap servers, host:port, comma-separated (instead of --input)")
	kSec.register(fs)
	fs.StringVar(&topic, "topic", "", "topic to check")
	fs.Int64Var(&last, "last", 0, "read only the last N offsets of each partition (0: from the oldest record)")
	fs.DurationVar(&opts.AllowedLateness, "allowed-lateness", pipeline.DefaultAllowedLateness, "the allowed lateness to count late records for, as run --allowed-lateness")
	fs.DurationSliceVar(&candidates, "lateness-candidates", check.DefaultCandidates, "more allowed lateness values to count late records for, comma-separated")
	fs.DurationVar(&opts.MaxFutureSkew, "max-future-skew", pipeline.DefaultMaxFutureSkew, "on a topic, reject events this far ahead of their Kafka timestamp as future_timestamp, as run does")
	fs.Var(newByteSize(&maxBytes, event.DefaultMaxRecordBytes), "max-record-bytes", "records longer than this are rejected as line_too_long")
	fs.BoolVar(&asJSON, "json", false, "write the report as JSON")
	fs.StringVar(&failOn, "fail-on", "", "exit 3 if any of these conditions holds, e.g. 'rejected>1%,late>0.1%,duplicates>2%' (counts: rejected>100)")
	return cmd
}
