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
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/sessionize/sessionize/internal/fileout"
)

// Version is set at build time with -ldflags "-X .../internal/cli.Version=...".
var Version = "dev"

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

Every flag can also be set from the environment: --inactivity-timeout is
SESSIONIZE_INACTIVITY_TIMEOUT, and so on. A flag on the command line wins.`,
		Version:       Version,
		SilenceUsage:  true,
		SilenceErrors: true,
		PersistentPreRunE: func(cmd *cobra.Command, _ []string) error {
			if err := applyEnv(cmd.Flags()); err != nil {
				return err
			}
			lvl, err := parseLogLevel(logLevel)
			if err != nil {
				return err
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
			return nil
		},
	}
	root.PersistentFlags().StringVar(&logLevel, "log-level", "info", "log level: debug, info, warn or error")
	root.PersistentFlags().StringVar(&logFormat, "log-format", "text", "log format: text (key=value) or json (one object per line)")
	root.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return usageError{err} })
	root.AddCommand(newDemoCmd(e), newBatchCmd(e), newProduceCmd(e))
	root.AddCommand(newBrokerCmd(e), newRunCmd(e), newCheckCmd(e))
	root.AddCommand(newReportCmd(e))
	root.AddCommand(newTableCmd(e))
	return root
}

func parseLogLevel(s string) (slog.Level, error) {
	var lvl slog.Level
	if err := lvl.UnmarshalText([]byte(s)); err != nil {
		return 0, usagef("invalid argument %q for \"--log-level\" flag: use debug, info, warn or error", s)
	}
	return lvl, nil
}

// envName is the environment variable for a flag: --max-record-bytes is
// SESSIONIZE_MAX_RECORD_BYTES.
func envName(flag string) string {
	return "SESSIONIZE_" + strings.ToUpper(strings.ReplaceAll(flag, "-", "_"))
}

// lookupEnv is swapped in tests; it is the only way the CLI reads the
// environment.
type lookupFunc func(string) (string, bool)

// applyEnv sets every flag not given on the command line from its
// environment variable, if that is set.
func applyEnv(fs *pflag.FlagSet) error {
	return applyEnvFrom(fs, osLookupEnv)
}

func applyEnvFrom(fs *pflag.FlagSet, lookup lookupFunc) error {
	var err error
	fs.VisitAll(func(f *pflag.Flag) {
		if err != nil || f.Changed || f.Name == "help" || f.Name == "version" {
			return
		}
		name := envName(f.Name)
		v, ok := lookup(name)
		if !ok {
			return
		}
		if f.Value.Type() == "stringArray" || f.Value.Type() == "stringSlice" {
			for _, part := range strings.Split(v, ",") {
				if serr := fs.Set(f.Name, strings.TrimSpace(part)); serr != nil {
					err = usagef("invalid value %q in %s (for --%s): %v", v, name, f.Name, serr)
					return
				}
			}
			return
		}
		if serr := fs.Set(f.Name, v); serr != nil {
			err = usagef("invalid value %q in %s (for --%s): %v", v, name, f.Name, serr)
		}
	})
	return err
}
