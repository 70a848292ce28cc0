package cli

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/klauspost/compress/gzip"
	"github.com/spf13/cobra"
	"golang.org/x/term"

	"github.com/sessionize/sessionize/internal/fileout"
	"github.com/sessionize/sessionize/internal/gen"
	"github.com/sessionize/sessionize/internal/input"
)

// produceFlags are the produce command's settings as given.
type produceFlags struct {
	output    string
	numUsers  int
	events    int64
	rate      float64
	duration  time.Duration
	seed      uint64
	startTime string
	dupRate   float64
	malRate   float64
	oooRate   float64
	sample    int
	kafka     kafkaProduceFlags // with --kafka-servers; see produce_kafka.go
}

// newProduceCmd is the generator command; see internal/gen.
func newProduceCmd(e *env) *cobra.Command {
	var pf produceFlags
	cmd := &cobra.Command{
		Use:   "produce [--output FILE | --kafka-servers HOST:PORT]",
		Short: "Generate a realistic clickstream of a travel site as JSON lines, to a file or Kafka",
		Long: `Generate a realistic, deterministic clickstream of a travel site, one JSON
event per line, to test the sessionizer at scale. The same flags and --seed give
the same bytes.

What is simulated:
  - Visits follow the funnel home -> search -> results -> details -> booking ->
    confirmation with realistic drop-off at each step, go back and forth between
    search, results and details, and now and then end with a logout.
  - Events within a visit are seconds to a few minutes apart; idle breaks stay
    under 25 minutes. A user pauses over 30 minutes between visits, so active
    users have several sessions.
  - Activity is power-law (Zipf-like) across the --num-users users: a few come
    back often, most rarely.
  - A few visits run past 2 hours: trip planners, and price-crawling bots that
    are active for hours on end.
  - Imperfections, as shares of all records: re-sent duplicates, identical and a
    few seconds later (--duplicate-rate); malformed records: not JSON, missing
    uuid or event_id, or a bad timestamp such as "yesterday" (--malformed-rate);
    late deliveries, seconds to minutes after later events and rarely over 10
    minutes (--out-of-order-rate).
  - About 5% of records give event_timestamp (epoch milliseconds) as a JSON
    number instead of a string of digits; both are valid input.

Records are in arrival order: by event time across all users, except the late
and re-sent ones.

How many records, over what span of event time:
  --events N                N records, at about 20 per user per simulated day
  --rate R --duration D     R*D records, R per second of event time
  --events N --rate R       N records, R per second
  --events N --duration D   N records spread over D
A user makes one visit at a time and pauses over 30 minutes between visits, so
a high rate needs many users: without --num-users produce uses 50,000, or the
fewest users that can make the rate if that is more (about 735 per event per
second: 14.7 million for --rate 20000). A --num-users too small for the rate is
an error that says how many would do.

The output is written under a temporary name in the same directory and renamed
when complete, so a failed or interrupted run leaves no partial file. A name
ending in .gz is gzip-compressed. A summary goes to stderr.

With --kafka-servers the records go to the Kafka topic --topic instead of a file,
one record per line, keyed by uuid (no key for a record without one), so Kafka's
default partitioner puts each user on one partition, as a Java producer would.
The producer is idempotent, waits for all replicas (acks=all), and creates the
topic if it does not exist (--create-topic, --partitions). It sends as fast as it
can; --realtime sends --rate records per second of wall-clock time instead (without
--rate, at the stream's own pace: one second of events a second). --input sends
the lines of a JSON lines file (gzip detected) in file order, malformed ones as
they are, instead of generating; each is keyed by its user as --user-field (and
the other event schema flags, as for batch and run) names it. A broker that cannot be reached within 10 seconds
is an error; see "sessionize broker" for one to try things with.`,
		Example: `  # 1M events from 50,000 users over one simulated day (about 265 MB)
  sessionize produce -o events.jsonl

  # 5M events, gzip-compressed
  sessionize produce --events 5000000 -o events.jsonl.gz

  # one busy hour: 300 events per second of event time
  sessionize produce --rate 300 --duration 1h -o hour.jsonl

  # a clean stream: no duplicates, malformed or late records
  sessionize produce --duplicate-rate 0 --malformed-rate 0 --out-of-order-rate 0 -o clean.jsonl

  # look at a few events
  sessionize produce --sample 3

  # 1M events to Kafka, as fast as possible
  sessionize produce --kafka-servers 127.0.0.1:9092 --topic clickstream

  # a live stream: 500 events a second, for an hour
  sessionize produce --kafka-servers 127.0.0.1:9092 --rate 500 --duration 1h --realtime

  # send a file to Kafka
  sessionize produce --kafka-servers 127.0.0.1:9092 --input events.jsonl.gz`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			toKafka, err := pf.kafkaMode(cmd)
			if err != nil {
				return err
			}
			if toKafka {
				return produceKafka(cmd, e, &pf)
			}
			cfg, err := pf.config(cmd)
			if err != nil {
				return err
			}
			g, err := gen.New(cfg)
			if err != nil {
				return configUsageError(err)
			}
			c := g.Config()
			e.logger.Debug("produce", "events", c.Events, "rate", c.Rate, "duration", c.Duration,
				"users", c.NumUsers, "seed", c.Seed, "start", c.Start.Format(time.RFC3339))
			if pf.sample > 0 {
				return writeSample(e.stdout, g, pf.sample)
			}
			return produce(cmd.Context(), e, g, pf)
		},
	}
	fs := cmd.Flags()
	fs.StringVarP(&pf.output, "output", "o", "-", "events file, JSON lines; .gz compresses; - for stdout")
	fs.IntVar(&pf.numUsers, "num-users", 0, fmt.Sprintf("number of distinct users (0: %d, or as many as --rate needs if more)", gen.DefaultNumUsers))
	fs.Int64Var(&pf.events, "events", gen.DefaultEvents, "number of records to write, duplicates and malformed ones included")
	fs.Float64Var(&pf.rate, "rate", 0, "records per second of event time (default: about 20 per user per day)")
	fs.DurationVar(&pf.duration, "duration", 0, "span of event time; with --rate gives the number of records")
	fs.Uint64Var(&pf.seed, "seed", gen.DefaultSeed, "random seed: the same seed and flags give the same output")
	fs.StringVar(&pf.startTime, "start-time", gen.DefaultStartRFC3339, "event time of the first visits (RFC 3339)")
	fs.Float64Var(&pf.dupRate, "duplicate-rate", gen.DefaultDuplicateRate, "share of records that re-send an earlier record")
	fs.Float64Var(&pf.malRate, "malformed-rate", gen.DefaultMalformedRate, "share of records that are malformed")
	fs.Float64Var(&pf.oooRate, "out-of-order-rate", gen.DefaultOutOfOrderRate, "share of records delivered late, after later events")
	fs.IntVar(&pf.sample, "sample", 0, "print this many records, indented, to stdout and exit (--output is not used)")
	addKafkaProduceFlags(fs, &pf.kafka)
	pf.kafka.schema.register(cmd)
	return cmd
}

// config turns the flags into a gen.Config; bad values are usage errors.
func (pf *produceFlags) config(cmd *cobra.Command) (gen.Config, error) {
	start, err := time.Parse(time.RFC3339, pf.startTime)
	if err != nil {
		return gen.Config{}, usagef("invalid argument %q for \"--start-time\" flag: want RFC 3339, such as %s", pf.startTime, gen.DefaultStartRFC3339)
	}
	if f := input.FormatOf(pf.output); pf.output != "-" && pf.sample == 0 && f != input.JSONL {
		// batch and check tell an input's format from its name: they
		// would read this JSON as what the name says, and fail.
		return gen.Config{}, usagef("--output %q: produce writes JSON lines, and the name says %s; name it .jsonl (.jsonl.gz to compress)", pf.output, f)
	}
	if pf.sample < 0 {
		return gen.Config{}, usagef("invalid argument %d for \"--sample\" flag: want a number of records", pf.sample)
	}
	cfg := gen.Config{
		Seed:           pf.seed,
		NumUsers:       pf.numUsers,
		Events:         pf.events,
		Rate:           pf.rate,
		Duration:       pf.duration,
		Start:          start,
		DuplicateRate:  pf.dupRate,
		MalformedRate:  pf.malRate,
		OutOfOrderRate: pf.oooRate,
	}
	if pf.rate != 0 && pf.duration != 0 {
		if cmd.Flags().Changed("events") {
			return gen.Config{}, usagef("--events, --rate and --duration given: give --events, or --rate with --duration")
		}
		cfg.Events = 0 // from rate * duration
	}
	return cfg, nil
}

// flagFor names the flag behind a gen.Config field.
func flagFor(field string) string {
	switch field {
	case "Seed":
		return "--seed"
	case "NumUsers":
		return "--num-users"
	case "Events":
		return "--events"
	case "Rate":
		return "the event rate (--rate, or --events over --duration)"
	case "Duration":
		return "--duration"
	case "Start":
		return "--start-time"
	case "DuplicateRate":
		return "--duplicate-rate"
	case "MalformedRate":
		return "--malformed-rate"
	case "OutOfOrderRate":
		return "--out-of-order-rate"
	}
	return field
}

func configUsageError(err error) error {
	var ce *gen.ConfigError
	if !errors.As(err, &ce) {
		return fmt.Errorf("produce: %w", err)
	}
	return usagef("%s %s", flagFor(ce.Field), ce.Msg)
}

// writeSample prints the first n records, indented when they are JSON.
func writeSample(w io.Writer, g *gen.Generator, n int) error {
	bw := bufio.NewWriter(w)
	var buf bytes.Buffer
	for i := 0; i < n; i++ {
		rec, ok := g.Next()
		if !ok {
			break
		}
		buf.Reset()
		if err := json.Indent(&buf, rec.Line, "", "  "); err != nil {
			buf.Reset()
			buf.Write(rec.Line) // a deliberately malformed record: as it is
		}
		buf.WriteByte('\n')
		if _, err := bw.Write(buf.Bytes()); err != nil {
			return fmt.Errorf("produce: writing sample: %w", err)
		}
	}
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("produce: writing sample: %w", err)
	}
	return nil
}

// produce writes the whole stream to --output and prints the summary.
func produce(ctx context.Context, e *env, g *gen.Generator, pf produceFlags) error {
	began := time.Now()
	out, err := openOutput(pf.output, e.stdout)
	if err != nil {
		return err
	}
	defer out.abort() // no-op after commit

	var progress func(gen.Stats)
	var tty *os.File
	if f, ok := e.stderr.(*os.File); ok && !e.quiet && term.IsTerminal(int(f.Fd())) {
		tty = f
		progress = progressPrinter(tty, g.Config().Events, began)
	}
	n, err := gen.Write(ctx, g, out.w, progress)
	if tty != nil {
		fmt.Fprint(tty, "\r\x1b[K")
	}
	st := g.Stats()
	if err != nil {
		if ctx.Err() != nil {
			kept := ""
			if out.file != nil {
				kept = fmt.Sprintf("; %s was not written", out.name)
			}
			return fmt.Errorf("produce: interrupted after %d of %d records%s: %w", st.Events, g.Config().Events, kept, err)
		}
		return fmt.Errorf("produce: writing %s: %w", out.name, err)
	}
	if err := out.commit(); err != nil {
		return err
	}
	if !e.quiet {
		fmt.Fprintln(e.stderr, summaryLine(st, n, out, time.Since(began)))
	}
	return nil
}

// progressPrinter returns a progress callback that redraws one line at
// most twice a second.
func progressPrinter(tty *os.File, total int64, began time.Time) func(gen.Stats) {
	var last time.Time
	return func(st gen.Stats) {
		now := time.Now()
		if now.Sub(last) < 500*time.Millisecond {
			return
		}
		last = now
		secs := now.Sub(began).Seconds()
		fmt.Fprintf(tty, "\r\x1b[Kproduce: %d / %d records (%.0f%%), %.2fM records/s",
			st.Events, total, 100*float64(st.Events)/float64(total), float64(st.Events)/secs/1e6)
	}
}

func summaryLine(st gen.Stats, n int64, out *output, elapsed time.Duration) string {
	span := time.Duration(st.LastMs-st.FirstMs) * time.Millisecond
	size := fmt.Sprintf("%.1f MB", float64(n)/1e6)
	if out.gz {
		size += fmt.Sprintf(" (%.1f MB gzipped)", float64(out.counted.n)/1e6)
	}
	return fmt.Sprintf("produce: wrote %d records (%d duplicates, %d malformed, %d out of order) from %d users in %d visits, event time %s to %s (%s); %s to %s in %s (%.2fM records/s)",
		st.Events, st.Duplicates, st.Malformed, st.OutOfOrder, st.Users, st.Visits,
		time.UnixMilli(st.FirstMs).UTC().Format(time.RFC3339), time.UnixMilli(st.LastMs).UTC().Format(time.RFC3339),
		span.Round(time.Second), size, out.name, elapsed.Round(time.Millisecond),
		float64(st.Events)/elapsed.Seconds()/1e6)
}

// output is where the stream goes: stdout, or a file that appears only
// when complete (see fileout), gzipped when its name ends in .gz.
type output struct {
	name    string
	w       io.Writer
	file    *fileout.File
	gz      bool
	zw      *gzip.Writer
	counted *countingWriter
}

func openOutput(path string, stdout io.Writer) (*output, error) {
	if path == "" {
		path = "-"
	}
	f, err := fileout.Create(path, stdout)
	if err != nil {
		return nil, fmt.Errorf("produce: %w", err)
	}
	o := &output{name: path, file: f, counted: &countingWriter{w: f}}
	if path == "-" {
		o.name = "stdout"
	}
	o.w = o.counted
	if strings.HasSuffix(path, ".gz") {
		o.gz = true
		// Fastest level: compressing is the bottleneck of a .gz run, and the
		// output is test data, not an archive.
		zw, err := gzip.NewWriterLevel(o.counted, gzip.BestSpeed)
		if err != nil {
			o.abort()
			return nil, fmt.Errorf("produce: %w", err)
		}
		o.zw = zw
		o.w = o.zw
	}
	return o, nil
}

// commit completes the file and moves it into place.
func (o *output) commit() error {
	if o.zw != nil {
		if err := o.zw.Close(); err != nil {
			return fmt.Errorf("produce: compressing %s: %w", o.name, err)
		}
		o.zw = nil
	}
	if err := o.file.Commit(); err != nil {
		return fmt.Errorf("produce: %w", err)
	}
	return nil
}

// abort removes the temporary file unless commit succeeded.
func (o *output) abort() { o.file.Abort() }

type countingWriter struct {
	w io.Writer
	n int64
}

func (c *countingWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}
