package cli

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/sessionize/sessionize/internal/batch"
	"github.com/sessionize/sessionize/internal/event"
	"github.com/sessionize/sessionize/internal/gen"
	"github.com/sessionize/sessionize/internal/session"
)

// newDemoCmd runs the whole job on built-in defaults: generate a realistic
// clickstream, sessionize it, and show what came out.
func newDemoCmd(e *env) *cobra.Command {
	var (
		dir    string
		events int64
		users  int
		seed   uint64
		show   int
	)
	cmd := &cobra.Command{
		Use:   "demo",
		Short: "Generate a sample clickstream, sessionize it and show the result",
		Long: `Run sessionize end to end with nothing to set up: generate a realistic travel-site
clickstream (with duplicates, malformed records and out-of-order arrival), sessionize
it in batch mode, then print the account of every record and a few sessions.

Everything is written to --dir: events.jsonl (input), sessions.jsonl, rejected.jsonl
and summary.json.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := os.MkdirAll(dir, 0o755); err != nil {
				return fmt.Errorf("create demo directory: %w", err)
			}
			in := filepath.Join(dir, "events.jsonl")
			cfg := gen.DefaultConfig()
			cfg.Seed, cfg.Events, cfg.NumUsers = seed, events, users
			g, err := gen.New(cfg)
			if err != nil {
				return usagef("%v", err)
			}
			f, err := os.Create(in)
			if err != nil {
				return fmt.Errorf("create %s: %w", in, err)
			}
			_, err = gen.Write(cmd.Context(), g, f, nil)
			if cerr := f.Close(); err == nil {
				err = cerr
			}
			if err != nil {
				return fmt.Errorf("generate %s: %w", in, err)
			}
			st := g.Stats()
			fmt.Fprintf(e.stdout, "generated %d events of %d users into %s (%d duplicates, %d malformed, %d out of order)\n\n",
				st.Events, st.Users, in, st.Duplicates, st.Malformed, st.OutOfOrder)

			bcfg := batch.Config{
				Inputs:         []string{in},
				Output:         filepath.Join(dir, "sessions.jsonl"),
				Rejected:       filepath.Join(dir, "rejected.jsonl"),
				SummaryJSON:    filepath.Join(dir, "summary.json"),
				Rules:          session.DefaultRules(),
				MaxRecordBytes: event.DefaultMaxRecordBytes,
				Workers:        runtime.GOMAXPROCS(0),
				Logger:         e.logger,
			}
			sum, err := batch.Run(cmd.Context(), bcfg)
			if err != nil {
				return err
			}
			sum.WriteText(e.stdout)
			fmt.Fprintf(e.stdout, "\nfirst %d sessions of %s:\n", show, bcfg.Output)
			if err := printSessions(e.stdout, bcfg.Output, show); err != nil {
				return err
			}
			fmt.Fprintf(e.stdout, `
outputs in %s:
  sessions.jsonl   one session per line
  rejected.jsonl   every rejected record with its reason and file:line
  summary.json     the account above, as JSON
next: sessionize batch --input %s --output sessions.parquet   (see sessionize batch --help)
`, dir, in)
			return nil
		},
	}
	fs := cmd.Flags()
	fs.StringVar(&dir, "dir", "sessionize-demo", "directory for the demo's input and outputs")
	fs.Int64Var(&events, "events", 300_000, "events to generate")
	fs.IntVar(&users, "num-users", 5_000, "users in the generated stream")
	fs.Uint64Var(&seed, "seed", 7, "generator seed")
	fs.IntVar(&show, "show", 5, "sessions to print")
	return cmd
}

// printSessions prints the first n sessions of a JSON lines file, one
// short line each.
func printSessions(w io.Writer, path string, n int) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 64<<20)
	for i := 0; i < n && sc.Scan(); i++ {
		var s struct {
			ID       string   `json:"session_id"`
			UUID     string   `json:"uuid"`
			Start    int64    `json:"session_start_time_ms"`
			Duration float64  `json:"session_duration_seconds"`
			Events   int64    `json:"event_count"`
			Pages    []string `json:"pages_visited"`
			End      string   `json:"end_reason"`
		}
		if err := json.Unmarshal(sc.Bytes(), &s); err != nil {
			return fmt.Errorf("read %s: %w", path, err)
		}
		pages := s.Pages
		more := ""
		if len(pages) > 8 {
			pages, more = pages[:8], fmt.Sprintf(" ... (%d more)", len(s.Pages)-8)
		}
		fmt.Fprintf(w, "  %s  user %s  %s  %s  %d events  ended by %s\n    %s%s\n",
			s.ID[:8], s.UUID, time.UnixMilli(s.Start).UTC().Format("2006-01-02 15:04:05"),
			time.Duration(s.Duration*float64(time.Second)).Round(time.Second), s.Events, s.End,
			strings.Join(pages, " > "), more)
	}
	return sc.Err()
}
