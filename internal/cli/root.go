// Package cli is the sessionize command line: flags, help text, environment
// variables and exit codes. It wires the internal packages together and holds
// no logic of its own.
package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/sessionize/sessionize/internal/fileout"
)

// Version and BuildTime may be set at build time with -ldflags
// "-X .../internal/cli.Version=v1.2.3 -X .../internal/cli.BuildTime=...";
// otherwise --version shows the module version and VCS revision that Go
// records in the binary (see version.go).
var (
	Version   = "dev"
	BuildTime = ""
)

// Exit codes.
const (
	ExitOK    = 0
	ExitError = 1
	ExitUsage = 2
)

// usageError marks errors caused by how the command was called (exit 2).
type usageError struct{ err error }

func (u usageError) Error() string { return u.err.Error() }
func (u usageError) Unwrap() error { return u.err }

func usagef(format string, a ...any) error { return usageError{fmt.Errorf(format, a...)} }

// env carries the process surroundings to the commands, so tests can run the
// CLI in process.
type env struct {
	stdin          io.Reader
	stdout, stderr io.Writer
	logger         *slog.Logger
	quiet          bool // -q: no progress, summaries or INFO lines
}

// Main runs the CLI with args and returns the process exit code.
func Main(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	e := &env{stdin: stdin, stdout: stdout, stderr: stderr}
	root := newRoot(e)
	root.SetArgs(args)
	root.SetIn(stdin)
	root.SetOut(stdout)
	root.SetErr(stderr)
	err := root.ExecuteContext(ctx)
	if err == nil {
		return ExitOK
	}
	if ctx.Err() != nil && errors.Is(err, context.Canceled) {
		// A signal (cmd/sessionize cancels ctx on SIGINT and SIGTERM):
		// "context canceled" alone reads like a failure of its own.
		fmt.Fprintln(stderr, "sessionize: interrupted before the command finished")
		return ExitError
	}
	fmt.Fprintf(stderr, "sessionize: %v\n", err)
	// Commands with their own exit codes (check --fail-on: 3) say so.
	var ce interface{ ExitCode() int }
	if errors.As(err, &ce) {
		return ce.ExitCode()
	}
	var ue usageError
	var conflict *fileout.ConflictError
	if errors.As(err, &ue) || errors.As(err, &conflict) {
		fmt.Fprintln(stderr, "Run 'sessionize --help' or 'sessionize <command> --help' for usage.")
		return ExitUsage
	}
	return ExitError
}

func newRoot(e *env) *cobra.Command {
	var logLevel, logFormat string
	root := &cobra.Command{
		Use:   "sessionize",
		Short: "Turn clickstream events into user sessions, exactly and fast",
		Long: `sessionize turns raw clickstream events into user sessions.

A session is one user's run of events: it starts at the user's first event, and a
new one starts after a gap longer than the inactivity timeout (default 30m) or
when an event comes more than the max session duration (default 2h) after the
session start. Duplicates (same uuid and event_id) count once; malformed records
are rejected with a reason, never dropped silently.

Environment: every flag can also be set from a variable; a flag on the command
line wins. Flags that mean the same in every command that has them are
SESSIONIZE_<FLAG> and apply to all of those commands:
  ` + wrapList(sharedFlagNames(), 78, "  ") + `
(--inactivity-timeout is SESSIONIZE_INACTIVITY_TIMEOUT). Every other flag is
set for its command only, as SESSIONIZE_<COMMAND>_<FLAG>: --output of batch is
SESSIONIZE_BATCH_OUTPUT, --retain-last of table maintain is
SESSIONIZE_TABLE_MAINTAIN_RETAIN_LAST. The README lists every variable.

Logging goes to stderr. Commands that only read (check, report, table describe,
sessions and audit) log warnings and errors only, unless --log-level is given;
-q/--quiet does the same for every command and also turns off progress lines
and summaries.`,
		Version:       versionString(Version, BuildTime, readBuildInfo()),
		SilenceUsage:  true,
		SilenceErrors: true,
		PersistentPreRunE: func(cmd *cobra.Command, _ []string) error {
			unused, err := applyEnv(cmd, osLookupEnv)
			if err != nil {
				return err
			}
			lvl, err := parseLogLevel(logLevel)
			if err != nil {
				return err
			}
			if !cmd.Flags().Changed("log-level") && (e.quiet || readOnly(cmd)) {
				lvl = max(lvl, slog.LevelWarn)
			}
			opts := &slog.HandlerOptions{Level: lvl}
			switch logFormat {
			case "text":
				e.logger = slog.New(slog.NewTextHandler(e.stderr, opts))
			case "json":
				e.logger = slog.New(slog.NewJSONHandler(e.stderr, opts))
			default:
				return usagef("invalid argument %q for \"--log-format\" flag: use text or json", logFormat)
			}
			for _, u := range unused {
				e.logger.Warn(fmt.Sprintf("%s is set but not used: --%s is not the same in every command; for %s set %s",
					u.unscoped, u.flag, cmd.CommandPath(), u.scoped))
			}
			return nil
		},
	}
	pf := root.PersistentFlags()
	pf.StringVar(&logLevel, "log-level", "info", "log level: debug, info, warn or error (read-only commands: warn unless given)")
	pf.StringVar(&logFormat, "log-format", "text", "log format: text (key=value) or json (one object per line)")
	pf.BoolVarP(&e.quiet, "quiet", "q", false, "log only warnings and errors, and print no progress or summary")
	root.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return usageError{err} })
	root.SetVersionTemplate("sessionize {{.Version}}\n")
	root.AddCommand(newDemoCmd(e), newBatchCmd(e), newProduceCmd(e))
	root.AddCommand(newBrokerCmd(e), newRunCmd(e), newCheckCmd(e))
	root.AddCommand(newReportCmd(e))
	root.AddCommand(newTableCmd(e))
	return root
}

// readOnly reports whether cmd only reads and prints a result: its INFO
// lines (a warehouse opened, a table loaded) are noise on every call, so it
// logs at warn unless --log-level is given.
func readOnly(cmd *cobra.Command) bool {
	switch strings.TrimPrefix(cmd.CommandPath(), cmd.Root().Name()+" ") {
	case "check", "report", "table describe", "table sessions", "table audit":
		return true
	}
	return false
}

func parseLogLevel(s string) (slog.Level, error) {
	var lvl slog.Level
	if err := lvl.UnmarshalText([]byte(s)); err != nil {
		return 0, usagef("invalid argument %q for \"--log-level\" flag: use debug, info, warn or error", s)
	}
	return lvl, nil
}

// sharedFlags are the flags that mean the same in every command that has
// them, so that one variable, SESSIONIZE_<FLAG>, sets them for all: the
// session rules, record limits, Kafka, the warehouse and catalog, logging.
// Any other flag is per command (see envNameFor): --output of batch
// (sessions) and of produce (events) must not share a variable.
func sharedFlags() []string {
	return append([]string{"log-level", "log-format", "quiet",
		"inactivity-timeout", "max-session-duration", "max-pages-per-session", "start-session-on", "end-session-on", "max-record-bytes",
		"user-field", "event-id-field", "time-field", "time-format", "timezone", "page-field",
		"allowed-lateness", "max-future-skew", "kafka-servers", "topic",
		"input-format", "schema-registry", "schema-registry-username", "schema-registry-password",
		"schema-registry-password-file", "schema-registry-retry",
		"warehouse", "catalog-uri", "catalog-credential", "catalog-token", "catalog-oauth2-server-uri",
		"catalog-warehouse", "catalog-prop", "namespace", "uuid-buckets"}, append(kafkaSecurityFlagNames(), storageFlagNames()...)...)
}

func sharedFlag(name string) bool { return slices.Contains(sharedFlags(), name) }

// sharedFlagNames lists the shared flags as --name, for the help.
func sharedFlagNames() []string {
	var names []string
	for _, f := range sharedFlags() {
		names = append(names, "--"+f)
	}
	return names
}

// wrapList joins items with ", " in lines of at most width, continued
// with indent.
func wrapList(items []string, width int, indent string) string {
	var b strings.Builder
	col := len(indent)
	for i, it := range items {
		if i > 0 {
			b.WriteString(",")
			col++
			if col+1+len(it) > width {
				b.WriteString("\n" + indent)
				col = len(indent)
			} else {
				b.WriteString(" ")
				col++
			}
		}
		b.WriteString(it)
		col += len(it)
	}
	return b.String()
}

// envName is the environment variable for a name: --max-record-bytes is
// SESSIONIZE_MAX_RECORD_BYTES.
func envName(name string) string {
	return "SESSIONIZE_" + strings.ToUpper(strings.NewReplacer("-", "_", " ", "_").Replace(name))
}

// envNameFor is the variable for a flag of cmd: SESSIONIZE_<FLAG> for a
// shared flag, else SESSIONIZE_<COMMAND>_<FLAG> (SESSIONIZE_BATCH_OUTPUT,
// SESSIONIZE_TABLE_MAINTAIN_RETAIN_LAST).
func envNameFor(cmd *cobra.Command, flag string) string {
	if sharedFlag(flag) || !cmd.HasParent() {
		return envName(flag)
	}
	return envName(strings.TrimPrefix(cmd.CommandPath(), cmd.Root().Name()+" ") + " " + flag)
}

// lookupFunc reads the environment; tests pass their own.
type lookupFunc func(string) (string, bool)

// envAnnotation marks a flag that applyEnv set, with the variable's name.
const envAnnotation = "sessionize-env"

// unusedVar is a SESSIONIZE_<FLAG> variable set for a per-command flag:
// it is not used, and the user is told the name that would be.
type unusedVar struct{ unscoped, scoped, flag string }

// applyEnv sets every flag of cmd not given on the command line from its
// environment variable (envNameFor), if that is set. It is the only place
// the CLI reads SESSIONIZE_* variables.
func applyEnv(cmd *cobra.Command, lookup lookupFunc) ([]unusedVar, error) {
	fs := cmd.Flags()
	var err error
	var unused []unusedVar
	fs.VisitAll(func(f *pflag.Flag) {
		if err != nil || f.Changed || f.Name == "help" || f.Name == "version" {
			return
		}
		name := envNameFor(cmd, f.Name)
		v, ok := lookup(name)
		if !ok {
			if plain := envName(f.Name); plain != name {
				if _, set := lookup(plain); set {
					unused = append(unused, unusedVar{unscoped: plain, scoped: name, flag: f.Name})
				}
			}
			return
		}
		if f.Value.Type() == "stringArray" || f.Value.Type() == "stringSlice" {
			for _, part := range strings.Split(v, ",") {
				if serr := fs.Set(f.Name, strings.TrimSpace(part)); serr != nil {
					err = usagef("invalid value %q in %s (for --%s): %v", v, name, f.Name, serr)
					return
				}
			}
		} else if serr := fs.Set(f.Name, v); serr != nil {
			err = usagef("invalid value %q in %s (for --%s): %v", v, name, f.Name, serr)
			return
		}
		if serr := fs.SetAnnotation(f.Name, envAnnotation, []string{name}); serr != nil {
			err = serr
		}
	})
	return unused, err
}

// onlyFromEnv reports whether every one of the flags that is set was set
// from its environment variable, not on the command line: a variable set
// for other commands (SESSIONIZE_KAFKA_SERVERS for run) must not get in the
// way of what the command line asks for.
func onlyFromEnv(cmd *cobra.Command, flags ...string) bool {
	for _, name := range flags {
		f := cmd.Flags().Lookup(name)
		if f != nil && f.Changed && f.Annotations[envAnnotation] == nil {
			return false
		}
	}
	return true
}
