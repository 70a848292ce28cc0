package cli

import (
	"fmt"
	"io"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/sessionize/sessionize/internal/gen"
	"github.com/sessionize/sessionize/internal/iceberg"
	"github.com/sessionize/sessionize/internal/kafka"
	"github.com/sessionize/sessionize/internal/metrics"
	"github.com/sessionize/sessionize/internal/pipeline"
	"github.com/sessionize/sessionize/internal/session"
)

// newDemoCmd runs the whole streaming job on embedded defaults: a Kafka
// broker in process, the generator producing into it, the pipeline writing
// Iceberg tables, and a read-back of what was written.
func newDemoCmd(e *env) *cobra.Command {
	var (
		dir        string
		events     int64
		users      int
		seed       uint64
		partitions int
		show       int
		httpAddr   string
		force      bool
	)
	cmd := &cobra.Command{
		Use:   "demo",
		Short: "Run the streaming job end to end on embedded defaults and show what it wrote",
		Long: `Run sessionize end to end with nothing to set up:

  1. start a Kafka-protocol broker in this process (franz-go's kfake),
  2. produce a realistic travel-site clickstream into it: a simulated day of
     users with duplicates, malformed records and out-of-order arrival,
  3. run the streaming pipeline (what 'sessionize run' does) with --drain until
     the topic is consumed, committing to Iceberg tables in --dir/warehouse,
  4. read the tables back through iceberg-go and print counts, the account of
     every record, and a few sessions.

The demo marks the warehouse it creates (a .sessionize-demo file in it) and on
the next run replaces only a warehouse so marked: an existing --dir/warehouse it
did not make (such as one 'sessionize run' wrote) is left alone with an error,
unless --force.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()
			out := e.stdout
			started := time.Now()
			warehouse, err := filepath.Abs(filepath.Join(dir, "warehouse"))
			if err != nil {
				return err
			}
			if err := prepareDemoWarehouse(warehouse, force); err != nil {
				return err
			}

			broker, err := kafka.StartBroker(ctx, kafka.BrokerConfig{Listen: "127.0.0.1:0", Partitions: partitions}, e.logger)
			if err != nil {
				return err
			}
			defer broker.Close()
			fmt.Fprintf(out, "broker     kfake (Kafka protocol) in process at %s\n", broker.Servers())

			gcfg := gen.DefaultConfig()
			gcfg.Seed, gcfg.Events, gcfg.NumUsers = seed, events, users
			g, err := gen.New(gcfg)
			if err != nil {
				return usagef("%v", err)
			}
			pr, err := kafka.NewProducer(ctx, kafka.ProducerConfig{Servers: broker.Addrs(), CreateTopic: true, Partitions: int32(partitions)}, e.logger)
			if err != nil {
				return err
			}
			for {
				r, ok := g.Next()
				if !ok {
					break
				}
				if err := pr.Send(ctx, r.UUID, r.Line); err != nil {
					pr.Close()
					return err
				}
			}
			err = pr.Flush(ctx)
			pr.Close()
			if err != nil {
				return err
			}
			st, c := g.Stats(), g.Config()
			fmt.Fprintf(out, "produced   %d events of %d users, %s to %s of event time (%d duplicates, %d malformed, %d out of order) into topic %q, %d partitions\n",
				st.Events, st.Users, c.Start.UTC().Format("2006-01-02 15:04"), time.UnixMilli(st.LastMs).UTC().Format("2006-01-02 15:04"),
				st.Duplicates, st.Malformed, st.OutOfOrder, kafka.DefaultTopic, partitions)

			fmt.Fprintf(out, "pipeline   sessionize run --drain --stop-when-idle 1s --commit-interval 1s (one log line per commit):\n")
			pcfg := pipeline.Config{
				Kafka:           kafka.SourceConfig{Servers: broker.Addrs()},
				Warehouse:       iceberg.Config{Warehouse: warehouse},
				Rules:           session.DefaultRules(),
				AllowedLateness: pipeline.DefaultAllowedLateness,
				CommitInterval:  time.Second,
				StopWhenIdle:    time.Second,
				Drain:           true,
				Logger:          e.logger,
			}
			if httpAddr != "" {
				pcfg.Metrics = metrics.New(pcfg.CommitInterval)
				if addr, err := metrics.Serve(ctx, httpAddr, pcfg.Metrics.Handler(), e.logger); err != nil {
					e.logger.Warn("no status page for the demo", "error", err)
				} else {
					fmt.Fprintf(out, "status     http://%s/ (metrics at /metrics) while the pipeline runs\n", addr)
				}
			}
			if err := pipeline.Run(ctx, pcfg); err != nil {
				return err
			}

			wh, err := iceberg.Open(ctx, pcfg.Warehouse, e.logger)
			if err != nil {
				return err
			}
			defer wh.Close()
			audit, err := wh.Audit(ctx)
			if err != nil {
				return err
			}
			acct := audit.Account
			fmt.Fprintf(out, "\ntables     read back through iceberg-go from %s\n", warehouse)
			fmt.Fprintf(out, "  sessions         %9d rows\n  late_events      %9d rows\n  rejected_events  %9d rows\n", acct.Sessions, acct.Late, acct.Rejected)
			fmt.Fprintf(out, "nothing lost: produced %d; %s\n", st.Events, acct)
			if acct.Records != st.Events || !acct.Holds() {
				return fmt.Errorf("the account does not add up: produced %d, %s", st.Events, acct)
			}
			rows, err := wh.ReadSessions(ctx)
			if err != nil {
				return err
			}
			fmt.Fprintf(out, "\na few sessions:\n")
			printSessionRows(out, rows, show)
			fmt.Fprintf(out, `
done in %s. The warehouse is a plain Iceberg warehouse with a SQLite catalog:
  catalog   %s
  tables    %s/{sessions,late_events,rejected_events}
Read it with any Iceberg engine, e.g. Spark or PyIceberg with a SQL catalog
(uri sqlite:///%s, warehouse file://%s), or DuckDB's iceberg extension on a
table's latest metadata/*.metadata.json.
Next: sessionize broker, sessionize produce --kafka-servers, sessionize run (see --help).
`, time.Since(started).Round(100*time.Millisecond), iceberg.EmbeddedCatalog(warehouse),
				filepath.Join(warehouse, "sessionize.db"), iceberg.EmbeddedCatalog(warehouse), warehouse)
			return nil
		},
	}
	fs := cmd.Flags()
	fs.StringVar(&dir, "dir", "sessionize-demo", "directory for the demo's warehouse, DIR/warehouse (an earlier demo's is replaced; anything else there is refused without --force)")
	fs.BoolVar(&force, "force", false, "replace DIR/warehouse even if the demo did not make it")
	fs.Int64Var(&events, "events", 300_000, "events to produce")
	fs.IntVar(&users, "num-users", 15_000, "users in the generated stream (about 20 events each per simulated day)")
	fs.Uint64Var(&seed, "seed", 7, "generator seed")
	fs.IntVar(&partitions, "partitions", 6, "partitions of the demo topic")
	fs.IntVar(&show, "show", 5, "sessions to print")
	fs.StringVar(&httpAddr, "http-addr", "127.0.0.1:9464", "serve the status page and metrics here while the pipeline runs (empty: off)")
	return cmd
}

// printSessionRows prints n sessions spread from the busiest to the
// quietest, one short paragraph each.
func printSessionRows(w io.Writer, rows []iceberg.SessionRow, n int) {
	rows = slices.Clone(rows)
	slices.SortFunc(rows, func(a, b iceberg.SessionRow) int {
		if a.EventCount != b.EventCount {
			return int(b.EventCount - a.EventCount)
		}
		return strings.Compare(a.SessionID, b.SessionID)
	})
	for i := 0; i < n && len(rows) > 0; i++ {
		// Quantiles, skewed to the busy end where sessions say more.
		q := float64(i) / float64(n)
		s := rows[int(q*q*float64(len(rows)-1))]
		pages := s.PagesVisited
		more := ""
		if len(pages) > 8 {
			pages, more = pages[:8], fmt.Sprintf(" ... (%d more)", len(s.PagesVisited)-8)
		}
		fmt.Fprintf(w, "  %s  user %s  %s  %s  %d events  ended by %s\n    %s%s\n",
			s.SessionID[:8], s.UUID, time.UnixMilli(s.SessionStartTimeMs).UTC().Format("2006-01-02 15:04:05"),
			time.Duration(s.SessionDurationSeconds*float64(time.Second)).Round(time.Second), s.EventCount, s.EndReason,
			strings.Join(pages, " > "), more)
	}
}
