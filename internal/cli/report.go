package cli

import (
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"github.com/sessionize/sessionize/internal/fileout"
	"github.com/sessionize/sessionize/internal/report"
)

func newReportCmd(e *env) *cobra.Command {
	var (
		wf                             warehouseFlags
		input, summary, from, to, html string
		asJSON                         bool
		top                            int
		funnel                         []string
	)
	cmd := &cobra.Command{
		Use:   "report (--warehouse DIR | --input FILE) [--from T] [--to T] [--json] [--html FILE]",
		Short: "Session analytics: volumes, durations, funnel, top pages, end reasons, data quality",
		Long: `Report on sessions: from the Iceberg sessions table (--warehouse, as written by
sessionize run, demo or batch --output-table) or from a sessions file written by
sessionize batch (--input: JSON lines, .gz or Parquet, told apart by content).

Figures: sessions and users; sessions per user (mean and distribution); session
duration and events per session (mean, median, p95 and distribution); sessions
per day and hour; the most active session of each day (most events); top entry
and exit pages; the funnel home -> search -> results -> details -> booking ->
confirmation; bounce rate (sessions with one event); end reasons; and the late,
rejected and duplicate rates: from the warehouse's account of every record, or
from the batch run's --summary-json file given as --summary.

A session reaches funnel step k when its pages_visited contains steps 1..k in
order as a subsequence (other pages may come between); each step shows its share
of all sessions and its conversion from the previous step.

--from and --to select sessions by start time: RFC 3339, or a date (YYYY-MM-DD,
UTC) meaning that day's midnight for --from and the end of that day for --to.
Every time is UTC. The data quality rates are over everything the source
consumed, not only the window.

Output: aligned tables on stdout; --json prints one JSON object instead (stable
field names, schema_version 1; see the package doc of internal/report);
--html FILE also writes one self-contained HTML page with SVG charts that needs
no network.`,
		Example: `  sessionize report --warehouse ./sessionize-demo/warehouse
  sessionize report --warehouse ./warehouse --from 2026-11-25 --to 2026-11-25 --html day.html
  sessionize report --input sessions.parquet --summary summary.json --json
  sessionize report --input sessions.jsonl --top 20`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if (wf.warehouse == "") == (input == "") {
				return usagef("give either --warehouse DIR (the Iceberg tables) or --input FILE (a sessions file from sessionize batch)")
			}
			if summary != "" && input == "" {
				return usagef("--summary goes with --input: a warehouse has its own account of every record")
			}
			if html == "-" && asJSON {
				return usagef("--html - and --json both write to stdout: give --html a file name")
			}
			if top < 1 {
				return usagef("invalid argument %d for \"--top\" flag: want a positive number", top)
			}
			opts := report.Options{Top: top, Funnel: funnel}
			var err error
			if from != "" {
				if opts.From, err = report.ParseFrom(from); err != nil {
					return usagef("invalid argument for \"--from\" flag: %v", err)
				}
			}
			if to != "" {
				if opts.To, err = report.ParseTo(to); err != nil {
					return usagef("invalid argument for \"--to\" flag: %v", err)
				}
			}
			if !opts.From.IsZero() && !opts.To.IsZero() && !opts.From.Before(opts.To) {
				return usagef("empty window: --from %s is not before --to %s", opts.From.UTC().Format(time.RFC3339), opts.To.UTC().Format(time.RFC3339))
			}

			// --html is written after the input is read: on the input it
			// would replace the sessions with a page about them.
			uses := append(fileout.Uses("--input", false, input), fileout.Uses("--summary", false, summary)...)
			if err := fileout.Distinct(e.stdin, e.stdout, append(uses, fileout.Uses("--html", true, html)...)...); err != nil {
				return err
			}

			ctx := cmd.Context()
			var rep *report.Report
			if wf.warehouse != "" {
				whc, cerr := wf.config()
				if cerr != nil {
					return cerr
				}
				rep, err = report.FromWarehouse(ctx, whc, e.logger, opts)
			} else {
				rep, err = report.FromFile(ctx, input, e.stdin, summary, opts)
			}
			if err != nil {
				return err
			}

			if html != "" {
				f, err := fileout.Create(html, e.stdout)
				if err != nil {
					return fmt.Errorf("create --html file: %w", err)
				}
				if err := rep.WriteHTML(f, time.Now()); err != nil {
					f.Abort()
					return fmt.Errorf("write --html file: %w", err)
				}
				if err := f.Commit(); err != nil {
					return fmt.Errorf("write --html file: %w", err)
				}
				if html == "-" {
					return nil
				}
				fmt.Fprintf(e.stderr, "wrote %s\n", html)
			}
			if asJSON {
				return rep.WriteJSON(e.stdout)
			}
			return rep.WriteText(e.stdout)
		},
	}
	// No default warehouse: without --warehouse the report reads --input.
	// The tables exist already, so --uuid-buckets means nothing here.
	wf.register(cmd, "")
	_ = cmd.Flags().MarkHidden("uuid-buckets")
	fs := cmd.Flags()
	fs.StringVarP(&input, "input", "i", "", "sessions file written by sessionize batch (JSON lines, gzip or Parquet); - reads JSON lines from stdin")
	fs.StringVar(&summary, "summary", "", "that batch run's --summary-json file, for the rejected and duplicate rates")
	fs.StringVar(&from, "from", "", "only sessions starting at or after this time (RFC 3339, or YYYY-MM-DD in UTC)")
	fs.StringVar(&to, "to", "", "only sessions starting before this time (RFC 3339, or YYYY-MM-DD: up to the end of that day)")
	fs.BoolVar(&asJSON, "json", false, "print the report as JSON instead of tables")
	fs.StringVar(&html, "html", "", "also write the report as one self-contained HTML page with charts to this file (- for stdout, instead of the tables)")
	fs.IntVar(&top, "top", 10, "how many entry and exit pages to list")
	fs.StringSliceVar(&funnel, "funnel-steps", report.FunnelSteps, "the funnel's pages in order, comma-separated: a session reaches step k when its pages_visited holds steps 1..k in order")
	return cmd
}
