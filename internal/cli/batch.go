package cli

import (
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/spf13/cobra"
	"golang.org/x/term"

	"github.com/sessionize/sessionize/internal/batch"
	"github.com/sessionize/sessionize/internal/event"
	"github.com/sessionize/sessionize/internal/iceberg"
	"github.com/sessionize/sessionize/internal/rule"
	"github.com/sessionize/sessionize/internal/session"
)

// ruleFlags are the session thresholds, shared by every command that
// sessionizes.
type ruleFlags struct {
	inactivity, maxDuration time.Duration
	maxPages                int
	startOn, endOn          string
}

func (r *ruleFlags) register(cmd *cobra.Command) {
	fs := cmd.Flags()
	fs.Var(newUnitDuration(&r.inactivity, session.DefaultInactivityTimeout, time.Minute, "minutes"),
		"inactivity-timeout", "a gap longer than this starts a new session (Go duration, or a bare number of minutes)")
	fs.Var(newUnitDuration(&r.maxDuration, session.DefaultMaxDuration, time.Hour, "hours"),
		"max-session-duration", "an event more than this after the session start starts a new session (Go duration, or a bare number of hours)")
	fs.IntVar(&r.maxPages, "max-pages-per-session", session.DefaultMaxPages,
		"cap on pages_visited per session; longer sessions are marked pages_truncated (event_count stays exact)")
	fs.StringVar(&r.startOn, "start-session-on", "",
		"an event matching this condition starts a new session, e.g. 'page_name = landing' (see Session rules in the README); a session it cuts ends with end_reason rule")
	fs.StringVar(&r.endOn, "end-session-on", "",
		"an event matching this condition is the last of its session, e.g. 'page_name in (logout, confirmation)'; the session ends with end_reason rule")
}

// rules returns the session rules and the compiled boundary rules and
// attributes (nil if none), whose texts the rules carry.
func (r *ruleFlags) rules(attrs ...string) (session.Rules, *rule.Set, error) {
	if r.maxPages <= 0 {
		return session.Rules{}, nil, usagef("invalid argument %d for \"--max-pages-per-session\" flag: want a positive number", r.maxPages)
	}
	set, err := rule.Parse(r.startOn, r.endOn, attrs...)
	if err != nil {
		return session.Rules{}, nil, usagef("%v", err)
	}
	if set.Empty() {
		set = nil
	}
	return set.Apply(session.Rules{
		InactivityMs:  r.inactivity.Milliseconds(),
		MaxDurationMs: r.maxDuration.Milliseconds(),
		MaxPages:      r.maxPages,
	}), set, nil
}

func newBatchCmd(e *env) *cobra.Command {
	var (
		rf        ruleFlags
		sf        schemaFlags
		wf        warehouseFlags
		table     string
		cfg       batch.Config
		maxBytes  int64
		replace   *iceberg.StartRange
		attrs     []string
		cpuProf   string
		allocProf string
	)
	cmd := &cobra.Command{
		Use:   "batch --input FILE... --output FILE",
		Short: "Sessionize files: JSON lines, CSV or Parquet in; JSON lines or Parquet out",
		Long: `Sessionize files of events.

Inputs (--input, repeatable, globs allowed, - for stdin) may be JSON lines (also
gzip-compressed), CSV with the columns event_id, page_name, event_timestamp,
booking_details, uuid, or Parquet with those columns. The format follows the file
extension (.csv, .parquet; anything else is JSON lines).

Sessions go to --output: Parquet (zstd) if the name ends in .parquet, otherwise
JSON lines (gzip if it ends in .gz). Every rejected record goes to --rejected
with its reason and file:line. The run prints a summary that accounts for every
record: records = events in sessions + duplicates + rejected (+ late + carried). If that
ever fails to add up the run exits non-zero.

--output-events writes the events of the output's sessions, one row each: the
session_id of the session row it belongs to, event_index (0-based position in
the session, in session order: time, then event_id), session_start_time_ms, uuid,
event_id, event_timestamp, page_name and raw (the record as read). Carried
sessions' events are written by the run that writes the session; a resumed run
needs a state written with --output-events.

Outputs are written under temporary names and appear only when the run succeeds,
then replacing a file of the same name; a run that fails leaves it as it was.
An output that is an input (or --resume), or another output, is refused before
anything is read (exit 2): files are compared by device and inode, so a symlink or
hard link to an input counts as the input; /dev/null may be named more than once.
--output-table sessions appends the sessions to the Iceberg table the streaming job
writes (same schema and session ids) in one snapshot, also only on success. The
snapshot records the run: an id made from the inputs' content (not their names or
times) and the settings, and its counts, which table audit accounts for. The same
run again writes nothing and says so. A different run whose sessions the table
already holds (the same events, from other files, other settings or the streaming
job) is refused; --replace-range FROM..TO rewrites a window on purpose: the sessions
starting in [FROM, TO) are deleted in the same snapshot that appends the run's.

Hourly runs: --carry-open STATE keeps the sessions still open at the end of the
input (the user was active within the inactivity timeout of the input's last
event) out of the output and in STATE; the next run's --resume STATE continues
them, so splitting the input by time gives the same sessions as one run. An event
of the resumed run older than the end of the run that wrote STATE (its last event
time) could belong to a session that run already closed and wrote; it is not
sessionized again (that would write a second, overlapping session, with the same
session_id for a re-sent copy) but counted as late and listed in --rejected with
reason "late". Events of a carried session's user from that session's start on
are not late: the session continues here.

Event schema: --user-field, --event-id-field, --time-field, --time-format,
--timezone and --page-field say where the events keep what sessions need (the
default is the shape above; see the README for a Spark-tutorial file with user_id
and an RFC 3339 event_time). The summary names them, and warns, with the likely
fix, when most records are rejected or event times are implausible (before 2000,
or more than a day after the input file's modification time: epoch seconds read
as milliseconds, or the reverse). Past --max-rejected-ratio the run fails.

Memory: events are hashed by user into partitions; past --memory-limit they spill
to --temp-dir and are sessionized one partition at a time.`,
		Example: `  sessionize batch --input events.jsonl --output sessions.parquet --rejected rejected.jsonl
  sessionize batch --input 'logs/2026-11-25/*.jsonl.gz' --output sessions.jsonl --summary-json summary.json
  sessionize batch --input events.jsonl --output-events tagged.parquet --output sessions.parquet
  sessionize batch --input events.jsonl --output-table sessions --warehouse ./warehouse
  sessionize batch --input fixed-2026-11-25.jsonl --output-table sessions --replace-range 2026-11-25..2026-11-26
  sessionize batch --input hour-10.jsonl --output s10.jsonl --carry-open open.state
  sessionize batch --input hour-11.jsonl --output s11.jsonl --resume open.state --carry-open open2.state`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			rules, ruleSet, err := rf.rules(attrs...)
			if err != nil {
				return err
			}
			if cfg.Schema, err = sf.schema(); err != nil {
				return err
			}
			if len(cfg.Inputs) == 0 {
				return usagef("no input: give --input FILE (repeatable, globs allowed, - for stdin)")
			}
			if cfg.Output == "" && table == "" {
				return usagef("no output: give --output FILE (.jsonl or .parquet, - for stdout) or --output-table sessions")
			}
			if table != "" && table != iceberg.TableSessions {
				return usagef("invalid argument %q for \"--output-table\" flag: batch writes the %q table (use --namespace to keep runs apart)", table, iceberg.TableSessions)
			}
			if replace != nil && table == "" {
				return usagef("--replace-range needs --output-table sessions: it rewrites a window of the table")
			}
			if table != "" {
				whc, err := wf.config()
				if err != nil {
					return err
				}
				cfg.Table = &batch.TableOutput{Table: table, Warehouse: whc, Replace: replace}
			}
			if maxBytes > 1<<31 {
				return usagef("invalid argument for \"--max-record-bytes\" flag: at most 2GiB")
			}
			// Config reads any count <= 0 as one per core, and any ratio
			// <= 0 as no limit: a typo must not pass for them.
			if cfg.Workers < 0 {
				return usagef("--workers must not be negative, got %d (0: one per core)", cfg.Workers)
			}
			if r := cfg.MaxRejectedRatio; !(r >= 0 && r <= 1) {
				return usagef("--max-rejected-ratio is a share of the records, from 0 to 1, got %g (0 or 1: no limit)", r)
			}
			cfg.Rules, cfg.RuleSet = rules, ruleSet
			cfg.MaxRecordBytes = int(maxBytes)
			if cfg.MemoryLimit == 0 {
				cfg.MemoryLimit = defaultMemoryLimit()
			}
			cfg.Stdin, cfg.Stdout = e.stdin, e.stdout
			cfg.Logger = e.logger
			if f, ok := e.stderr.(*os.File); ok && !e.quiet && term.IsTerminal(int(f.Fd())) {
				cfg.Progress = f
			}
			if cpuProf != "" {
				stop, err := startCPUProfile(cpuProf)
				if err != nil {
					return err
				}
				defer stop()
			}
			sum, err := batch.Run(cmd.Context(), cfg)
			if allocProf != "" {
				// As run's: a lost profile is worth a warning, not a change
				// to the run's outcome.
				if perr := writeAllocProfile(allocProf); perr != nil {
					e.logger.Warn("allocation profile not written", "err", perr)
				}
			}
			if sum != nil && !e.quiet {
				sum.WriteText(e.stderr)
			}
			if errors.Is(err, batch.ErrInvariant) {
				return fmt.Errorf("%w; no output was written", err)
			}
			return err
		},
	}
	rf.register(cmd)
	sf.register(cmd)
	wf.register(cmd, "warehouse")
	fs := cmd.Flags()
	fs.StringVar(&table, "output-table", "", "also append the sessions to this Iceberg table (sessions) in --warehouse; the same run twice writes once")
	fs.Var(startRange{&replace}, "replace-range", "with --output-table: delete the sessions starting in [FROM, TO) and append this run's in one snapshot (times: RFC 3339, a UTC date, or epoch ms)")
	fs.StringArrayVarP(&cfg.Inputs, "input", "i", nil, "input file or glob; repeatable; - reads JSON lines from stdin")
	fs.StringVarP(&cfg.Output, "output", "o", "", "sessions file: .parquet for Parquet (zstd), else JSON lines; - for stdout")
	fs.StringVar(&cfg.OutputEvents, "output-events", "", "also write every event of the output sessions, tagged with its session_id, 0-based event_index and the session start, with its raw record: .parquet, else JSON lines")
	fs.StringArrayVar(&attrs, "session-attr", nil, "add a typed column to every session, NAME=AGG(ARG): first, last (string), count, count_distinct (long), sum, min, max (double) of a field, or any(CONDITION) (boolean); repeatable, e.g. 'converted=any(page_name = confirmation)'")
	fs.StringVar(&cfg.Rejected, "rejected", "", "write every rejected record (raw, reason, file:line) to this JSON lines file")
	fs.StringVar(&cfg.SummaryJSON, "summary-json", "", "also write the run summary to this file as JSON")
	fs.StringVar(&cfg.CarryOpen, "carry-open", "", "write sessions still open at the end of the input to this state file instead of the output")
	fs.StringVar(&cfg.Resume, "resume", "", "continue the open sessions saved by an earlier run's --carry-open; events older than that run's end are late (see above)")
	fs.Var(newByteSize(&maxBytes, event.DefaultMaxRecordBytes), "max-record-bytes", "records longer than this are rejected as line_too_long")
	fs.Var(newByteSize(&cfg.MemoryLimit, 0), "memory-limit", "memory budget; past it partitions spill to --temp-dir (0: a quarter of RAM, or of the cgroup limit)")
	fs.StringVar(&cfg.TempDir, "temp-dir", "", "directory for spill files (empty: the system temp directory, $TMPDIR)")
	fs.StringVar(&cpuProf, "cpuprofile", "", "write a CPU profile of the whole run to this file (go tool pprof)")
	_ = fs.MarkHidden("cpuprofile")
	fs.StringVar(&allocProf, "allocprofile", "", "write the allocations of the whole run to this file as it ends (go tool pprof -sample_index=alloc_space)")
	_ = fs.MarkHidden("allocprofile")
	fs.IntVar(&cfg.Workers, "workers", 0, "parallel parse and sessionize workers (0: one per core)")
	fs.Float64Var(&cfg.MaxRejectedRatio, "max-rejected-ratio", 0.5, "exit 1 without writing sessions (--rejected and --summary-json are written) when more than this share of the records is rejected, the sign of a wrong --user-field/--time-field/--time-format (0 or 1: no limit)")
	return cmd
}
