package cli

import (
	"time"

	"fmt"

	"github.com/spf13/cobra"

	"github.com/sessionize/sessionize/internal/kafka"
)

// newBrokerCmd runs the built-in Kafka-protocol broker; see internal/kafka.
func newBrokerCmd(e *env) *cobra.Command {
	var cfg kafka.BrokerConfig
	cmd := &cobra.Command{
		Use:   "broker",
		Short: "Run a Kafka-protocol broker for demos, tests and laptops (franz-go's kfake)",
		Long: `Run a single-node broker that speaks the Kafka protocol, so the streaming mode can
be tried with nothing else installed. It is kfake, the fake Kafka cluster of the
franz-go client library, made for tests: it is for demos, tests and laptops, not
for production (one node, no replication, no security). In production, point
--kafka-servers at a real Kafka cluster and do not run this.

Any Kafka client can connect: sessionize produce, the streaming pipeline, Kafka's
own tools. Topics are created when a client first asks for one, with --partitions
partitions. Consumer groups, transactions and read_committed work as in Kafka.

Without --data-dir everything is kept in memory and lost when the broker stops.
With it, topics, records, committed offsets and transactions survive a restart,
a kill -9 included; only an OS crash can lose the latest writes, unless
--sync-writes. One broker at a time can use a data directory.

The address clients connect to is printed on stdout. The broker runs until
interrupted (Ctrl-C or SIGTERM) and then stops cleanly.`,
		Example: `  # a broker that keeps its data across restarts
  sessionize broker --data-dir ./kafka-data

  # then, in another terminal, send it a clickstream
  sessionize produce --kafka-servers 127.0.0.1:9092 --events 1000000

  # reachable from other machines or containers
  sessionize broker --listen 0.0.0.0:9092 --advertise myhost:9092`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if cfg.Partitions < 1 {
				return usagef("invalid argument %d for \"--partitions\" flag: want at least 1", cfg.Partitions)
			}
			ctx := cmd.Context()
			b, err := kafka.StartBroker(ctx, cfg, e.logger)
			if err != nil {
				return err
			}
			where := "memory (lost when the broker stops)"
			if cfg.DataDir != "" {
				where = cfg.DataDir
			}
			e.logger.Info("kafka broker (kfake, for demos and tests) listening",
				"addr", b.Servers(), "data", where, "partitions", cfg.Partitions)
			fmt.Fprintln(e.stdout, b.Servers())
			<-ctx.Done()
			e.logger.Info("stopping kafka broker")
			b.Close()
			e.logger.Info("kafka broker stopped")
			return nil
		},
	}
	fs := cmd.Flags()
	fs.StringVar(&cfg.Listen, "listen", kafka.DefaultListen, "host:port to listen on (port 0: any free port)")
	fs.StringVar(&cfg.Advertise, "advertise", "", "host:port clients are told to connect to (default: the listen address; this machine's name for 0.0.0.0)")
	fs.StringVar(&cfg.DataDir, "data-dir", "", "directory to keep topics, records and offsets in across restarts (default: memory only)")
	fs.BoolVar(&cfg.SyncWrites, "sync-writes", false, "fsync every write to --data-dir: survives OS crashes, slower")
	fs.IntVar(&cfg.Partitions, "partitions", kafka.DefaultPartitions, "partitions of automatically created topics")
	fs.DurationVar(&cfg.MinSessionTimeout, "min-session-timeout", 6*time.Second, "shortest consumer-group session timeout accepted (group.min.session.timeout.ms): lower it to try a short run --session-timeout")
	return cmd
}
