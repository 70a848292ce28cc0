package cli

import (
	"fmt"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/sessionize/sessionize/internal/kafka"
)

// newBrokerCmd runs the built-in Kafka-protocol broker; see internal/kafka.
func newBrokerCmd(e *env) *cobra.Command {
	var (
		cfg      kafka.BrokerConfig
		mechs    []string
		badUsers error
	)
	cmd := &cobra.Command{
		Use:   "broker",
		Short: "Run a Kafka-protocol broker for demos, tests and laptops (franz-go's kfake)",
		Long: `Run a single-node broker that speaks the Kafka protocol, so the streaming mode can
be tried with nothing else installed. It is kfake, the fake Kafka cluster of the
franz-go client library, made for tests: it is for demos, tests and laptops, not
for production (one node, no replication). In production, point --kafka-servers
at a real Kafka cluster and do not run this.

Any Kafka client can connect: sessionize produce, the streaming pipeline, Kafka's
own tools. Topics are created when a client first asks for one, with --partitions
partitions. Consumer groups, transactions and read_committed work as in Kafka.

Without --data-dir everything is kept in memory and lost when the broker stops.
With it, topics, records, committed offsets and transactions survive a restart,
a kill -9 included; only an OS crash can lose the latest writes, unless
--sync-writes. One broker at a time can use a data directory.

Security, to try the --kafka-tls and --kafka-sasl-* flags locally: with
--tls-cert-file and --tls-key-file the broker speaks TLS only; with --sasl-user
(repeatable, or SESSIONIZE_BROKER_SASL_USER=user:pass,user2:pass2, which keeps the
password out of the process list) it requires SASL, PLAIN, SCRAM-SHA-256 and
SCRAM-SHA-512 (--sasl-mechanisms), and accepts only those users; with
--tls-client-ca-file it requires client certificates signed by that CA (mTLS).
kfake has no OAUTHBEARER or AWS_MSK_IAM.

The address clients connect to is printed on stdout. The broker runs until
interrupted (Ctrl-C or SIGTERM) and then stops cleanly.`,
		Example: `  # a broker that keeps its data across restarts
  sessionize broker --data-dir ./kafka-data

  # then, in another terminal, send it a clickstream
  sessionize produce --kafka-servers 127.0.0.1:9092 --events 1000000

  # reachable from other machines or containers
  sessionize broker --listen 0.0.0.0:9092 --advertise myhost:9092

  # SASL_SSL, as a secured cluster would be
  SESSIONIZE_BROKER_SASL_USER=svc:secret sessionize broker --listen 127.0.0.1:9093 \
    --tls-cert-file server.pem --tls-key-file server-key.pem
  echo secret > pw; sessionize produce --kafka-servers localhost:9093 --kafka-tls \
    --kafka-tls-ca-file ca.pem --kafka-sasl-mechanism SCRAM-SHA-512 \
    --kafka-sasl-username svc --kafka-sasl-password-file pw`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if cfg.Partitions < 1 {
				return usagef("invalid argument %d for \"--partitions\" flag: want at least 1", cfg.Partitions)
			}
			if badUsers != nil {
				return badUsers
			}
			for i := range cfg.SASLUsers {
				cfg.SASLUsers[i].Mechanisms = mechs
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
				"addr", b.Servers(), "data", where, "partitions", cfg.Partitions, "security", b.Security())
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
	fs.StringVar(&cfg.TLSCertFile, "tls-cert-file", "", "PEM certificate to serve TLS with (TLS only, no plaintext; with --tls-key-file)")
	fs.StringVar(&cfg.TLSKeyFile, "tls-key-file", "", "PEM private key of --tls-cert-file")
	fs.StringVar(&cfg.TLSClientCAFile, "tls-client-ca-file", "", "require a client certificate signed by a CA in this PEM file (mTLS), as --kafka-tls-cert-file sends")
	fs.Var(saslUsersValue{&cfg.SASLUsers, &badUsers}, "sasl-user", "require SASL and accept this user:password (repeatable or comma-separated); SESSIONIZE_BROKER_SASL_USER keeps the password out of the process list")
	fs.StringSliceVar(&mechs, "sasl-mechanisms", kafka.BrokerSASLMechanisms(), "SASL mechanisms the --sasl-user users may use")
	fs.DurationVar(&cfg.MinSessionTimeout, "min-session-timeout", 6*time.Second, "shortest consumer-group session timeout accepted (group.min.session.timeout.ms): lower it to try a short run --session-timeout")
	return cmd
}

// saslUsersValue is --sasl-user: it shows the user names only, never a
// password. A malformed value is not an error of Set, whose errors quote
// the value (pflag's and applyEnv's messages): it is kept in bad and
// reported without the value.
type saslUsersValue struct {
	users *[]kafka.SASLUser
	bad   *error
}

func (v saslUsersValue) String() string {
	var names []string
	for _, u := range *v.users {
		names = append(names, u.User)
	}
	return strings.Join(names, ",")
}

func (v saslUsersValue) Type() string { return "user:password" }

// Set takes one user:password, or several separated by commas (as the
// variable holds them).
func (v saslUsersValue) Set(s string) error {
	for _, part := range strings.Split(s, ",") {
		u, err := kafka.ParseSASLUser(strings.TrimSpace(part))
		if err != nil {
			*v.bad = usagef("invalid argument for \"--sasl-user\" flag: %v", err)
			continue
		}
		*v.users = append(*v.users, u)
	}
	return nil
}
