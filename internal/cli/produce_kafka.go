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

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
	"golang.org/x/term"

	"github.com/sessionize/sessionize/internal/event"
	"github.com/sessionize/sessionize/internal/gen"
	"github.com/sessionize/sessionize/internal/input"
	"github.com/sessionize/sessionize/internal/kafka"
)

// kafkaProduceFlags are produce's settings for sending to Kafka.
type kafkaProduceFlags struct {
	servers     []string
	security    kafkaSecurityFlags
	topic       string
	input       string
	realtime    bool
	createTopic bool
	partitions  int32
	// schema: where --input lines keep the user key, the record key.
	schema schemaFlags
}

func addKafkaProduceFlags(fs *pflag.FlagSet, kf *kafkaProduceFlags) {
	fs.StringSliceVar(&kf.servers, "kafka-servers", nil, "Kafka servers, host:port, comma-separated: send the records to --topic instead of --output")
	kf.security.register(fs)
	fs.StringVar(&kf.topic, "topic", kafka.DefaultTopic, "Kafka topic to send to")
	fs.StringVarP(&kf.input, "input", "i", "", "with --kafka-servers: send the lines of this JSON lines file (gzip detected; - for stdin) instead of generating")
	fs.BoolVar(&kf.realtime, "realtime", false, "with --kafka-servers: send --rate records per second of wall-clock time (default: as fast as possible)")
	fs.BoolVar(&kf.createTopic, "create-topic", true, "create --topic if it does not exist")
	fs.Int32Var(&kf.partitions, "partitions", 0, "partitions of the topic --create-topic creates (default: the broker's default)")
}

// kafkaMode says whether produce sends to Kafka, and rejects flags that
// make no sense together.
func (pf *produceFlags) kafkaMode(cmd *cobra.Command) (bool, error) {
	kf := &pf.kafka
	changed := cmd.Flags().Changed
	if len(kf.servers) > 0 && onlyFromEnv(cmd, "kafka-servers") &&
		((changed("output") && !onlyFromEnv(cmd, "output")) || (changed("sample") && !onlyFromEnv(cmd, "sample"))) {
		// SESSIONIZE_KAFKA_SERVERS, set for run, does not turn a
		// "produce -o events.jsonl" on the command line into a send.
		kf.servers = nil
	}
	if len(kf.servers) == 0 {
		if kf.input != "" {
			return false, usagef("--input sends a file to Kafka and needs --kafka-servers (env SESSIONIZE_KAFKA_SERVERS)")
		}
		if kf.realtime {
			return false, usagef("--realtime paces sending to Kafka and needs --kafka-servers (env SESSIONIZE_KAFKA_SERVERS)")
		}
		return false, nil
	}
	if changed("output") {
		return false, usagef("--output and --kafka-servers both given: records go to a file or to Kafka, not both")
	}
	if kf.partitions < 0 {
		return false, usagef("invalid argument %d for \"--partitions\" flag: want a number of partitions", kf.partitions)
	}
	if kf.topic == "" {
		return false, usagef("--topic is empty")
	}
	if kf.input != "" {
		if f := input.FormatOf(kf.input); kf.input != "-" && f != input.JSONL {
			return false, usagef("--input %q: produce sends the lines of a JSON lines file, and the name says %s: "+
				"batch reads %s files; for Kafka, convert it to JSON lines first", kf.input, f, f)
		}
		for _, name := range []string{"events", "duration", "seed", "num-users", "start-time",
			"duplicate-rate", "malformed-rate", "out-of-order-rate", "sample"} {
			if changed(name) {
				return false, usagef("--input sends a file as it is: --%s does not apply", name)
			}
		}
		if changed("rate") && !kf.realtime {
			return false, usagef("--rate with --input paces sending only with --realtime")
		}
		if kf.realtime && pf.rate <= 0 {
			return false, usagef("--realtime with --input needs --rate, in records per second")
		}
	}
	return true, nil
}

// produceKafka sends the generated stream, or the --input file, to Kafka.
func produceKafka(cmd *cobra.Command, e *env, pf *produceFlags) error {
	kf := &pf.kafka
	var g *gen.Generator
	if kf.input == "" {
		cfg, err := pf.config(cmd)
		if err != nil {
			return err
		}
		if g, err = gen.New(cfg); err != nil {
			return configUsageError(err)
		}
		if pf.sample > 0 {
			return writeSample(e.stdout, g, pf.sample)
		}
	}
	var in io.Reader
	var sch event.Schema
	if kf.input != "" {
		var err error
		if sch, err = kf.schema.schema(); err != nil {
			return err
		}
		r, closeFn, err := openReplay(kf.input, e.stdin)
		if err != nil {
			return err
		}
		defer closeFn()
		in = r
	}

	sec, err := kf.security.security(cmd, e.logger)
	if err != nil {
		return err
	}
	ctx := cmd.Context()
	began := time.Now()
	p, err := kafka.NewProducer(ctx, kafka.ProducerConfig{
		Servers:     kf.servers,
		Security:    sec,
		Topic:       kf.topic,
		CreateTopic: kf.createTopic,
		Partitions:  kf.partitions,
	}, e.logger)
	if err != nil {
		if errors.Is(err, kafka.ErrTopicNotFound) {
			return fmt.Errorf("produce: %w; drop --create-topic=false to create it", err)
		}
		return fmt.Errorf("produce: %w", err)
	}
	defer p.Close()
	e.logger.Debug("produce to kafka", "servers", strings.Join(kf.servers, ","), "topic", kf.topic, "partitions", p.Partitions())

	s := &kafkaSend{p: p, began: time.Now(), schema: sch}
	if kf.realtime {
		s.rate = pf.rate
		if s.rate <= 0 {
			s.rate = g.Config().Rate // event-time rate: one second of events a second
		}
	}
	if f, ok := e.stderr.(*os.File); ok && !e.quiet && term.IsTerminal(int(f.Fd())) {
		s.tty = f
		if g != nil {
			s.total = g.Config().Events
		}
	}
	var noKey int64
	if g != nil {
		err = s.fromGenerator(ctx, g)
	} else {
		noKey, err = s.fromLines(ctx, in)
	}
	if s.tty != nil {
		fmt.Fprint(s.tty, "\r\x1b[K")
	}

	// Deliver what is buffered: all of it normally; when interrupted or
	// failing, what can be in a few more seconds.
	var ferr error
	if err == nil {
		ferr = p.Flush(ctx)
	}
	if err != nil || ctx.Err() != nil {
		if err == nil {
			err = ctx.Err()
		}
		gctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		ferr = p.Flush(gctx)
		cancel()
	}
	st := p.Stats()
	elapsed := time.Since(began)
	servers := strings.Join(kf.servers, ",")
	switch {
	case err != nil && ctx.Err() != nil:
		return fmt.Errorf("produce: interrupted after sending %d records to topic %q (%d acknowledged): %w", st.Sent, kf.topic, st.Acked, err)
	case err != nil:
		return fmt.Errorf("produce: %w (%d of %d records sent acknowledged, %d failed)", err, st.Acked, st.Sent, st.Failed)
	case ferr != nil:
		return fmt.Errorf("produce: %w (%d of %d records sent acknowledged, %d failed)", ferr, st.Acked, st.Sent, st.Failed)
	}
	if !e.quiet {
		to := fmt.Sprintf("%.1f MB to topic %q at %s in %s (%s records/s), 0 errors",
			float64(st.Bytes)/1e6, kf.topic, servers, elapsed.Round(time.Millisecond), rateString(st.Acked, elapsed))
		if g != nil {
			gs := g.Stats()
			span := time.Duration(gs.LastMs-gs.FirstMs) * time.Millisecond
			fmt.Fprintf(e.stderr, "produce: sent %d records (%d duplicates, %d malformed, %d out of order) from %d users in %d visits, event time %s to %s (%s); %s\n",
				st.Acked, gs.Duplicates, gs.Malformed, gs.OutOfOrder, gs.Users, gs.Visits,
				time.UnixMilli(gs.FirstMs).UTC().Format(time.RFC3339), time.UnixMilli(gs.LastMs).UTC().Format(time.RFC3339),
				span.Round(time.Second), to)
		} else {
			fmt.Fprintf(e.stderr, "produce: sent %d records from %s (%d without a uuid, sent with no key); %s\n",
				st.Acked, kf.input, noKey, to)
		}
	}
	return nil
}

func rateString(n int64, d time.Duration) string {
	r := float64(n) / d.Seconds()
	switch {
	case r >= 1e6:
		return fmt.Sprintf("%.2fM", r/1e6)
	case r >= 1e3:
		return fmt.Sprintf("%.1fk", r/1e3)
	}
	return fmt.Sprintf("%.1f", r)
}

// kafkaSend feeds a producer, pacing and showing progress.
type kafkaSend struct {
	p     *kafka.Producer
	began time.Time
	rate  float64 // records per wall-clock second; 0: as fast as possible
	n     int64
	tty   *os.File
	total int64 // for progress; 0 when unknown
	last  time.Time
	// schema finds the user key of --input lines (the record key).
	schema event.Schema
}

func (s *kafkaSend) send(ctx context.Context, key, value []byte) error {
	if s.rate > 0 {
		due := s.began.Add(time.Duration(float64(s.n) / s.rate * float64(time.Second)))
		if d := time.Until(due); d > time.Millisecond {
			t := time.NewTimer(d)
			select {
			case <-ctx.Done():
				t.Stop()
				return ctx.Err()
			case <-t.C:
			}
			s.progress()
		}
	}
	if err := s.p.Send(ctx, key, value); err != nil {
		return err
	}
	s.n++
	if s.n%4096 == 0 {
		s.progress()
	}
	return nil
}

// progress redraws the progress line at most twice a second.
func (s *kafkaSend) progress() {
	if s.tty == nil {
		return
	}
	now := time.Now()
	if now.Sub(s.last) < 500*time.Millisecond {
		return
	}
	s.last = now
	st := s.p.Stats()
	of := ""
	if s.total > 0 {
		of = fmt.Sprintf(" / %d (%.0f%%)", s.total, 100*float64(st.Sent)/float64(s.total))
	}
	fmt.Fprintf(s.tty, "\r\x1b[Kproduce: %d%s records sent to %s, %d acknowledged, %s records/s",
		st.Sent, of, s.p.Topic(), st.Acked, rateString(st.Acked, now.Sub(s.began)))
}

func (s *kafkaSend) fromGenerator(ctx context.Context, g *gen.Generator) error {
	for {
		rec, ok := g.Next()
		if !ok {
			return nil
		}
		// rec.UUID is nil for a record with no readable uuid: no key.
		if err := s.send(ctx, rec.UUID, rec.Line); err != nil {
			return err
		}
	}
}

// fromLines sends every line of r in order, as it is (without the line
// end), keyed by its uuid when it is JSON with a non-empty string uuid.
func (s *kafkaSend) fromLines(ctx context.Context, r io.Reader) (noKey int64, err error) {
	br := bufio.NewReaderSize(r, 1<<20)
	ps := event.NewParser(s.schema, 0)
	var f event.Fields
	var long []byte
	for {
		line, rerr := br.ReadSlice('\n')
		if rerr == bufio.ErrBufferFull {
			long = append(long, line...)
			continue
		}
		if long != nil {
			line, long = append(long, line...), nil
		}
		if rerr != nil && rerr != io.EOF {
			return noKey, fmt.Errorf("reading input: %w", rerr)
		}
		if len(line) == 0 && rerr == io.EOF {
			return noKey, nil
		}
		line = trimLineEnd(line)
		key := uuidKey(ps, &f, line)
		if key == nil {
			noKey++
		}
		if err := s.send(ctx, key, line); err != nil {
			return noKey, err
		}
		if rerr == io.EOF {
			return noKey, nil
		}
	}
}

func trimLineEnd(b []byte) []byte {
	if n := len(b); n > 0 && b[n-1] == '\n' {
		b = b[:n-1]
	}
	if n := len(b); n > 0 && b[n-1] == '\r' {
		b = b[:n-1]
	}
	return b
}

// uuidKey returns the line's uuid, or nil. A valid record gives it
// straight from the parser; a rejected one (missing event_id, bad
// timestamp, ...) may still carry one, so it is decoded the slow way: the
// generator keys such records by uuid too, and replaying its output must
// place them alike.
func uuidKey(ps *event.Parser, f *event.Fields, line []byte) []byte {
	switch ps.Parse(line, f) {
	case event.OK:
		return f.UUID
	case event.InvalidJSON, event.EmptyRecord, event.MissingUser, event.UserNotString:
		return nil
	}
	var m map[string]any
	d := json.NewDecoder(bytes.NewReader(bytes.TrimPrefix(line, []byte("\xef\xbb\xbf"))))
	d.UseNumber()
	if d.Decode(&m) != nil {
		return nil
	}
	asm := event.NewAssembler(*ps.Schema())
	var v event.Values
	asm.FromMap(m, &v)
	key, r := asm.UserKey(&v)
	if r != event.OK {
		return nil
	}
	return append([]byte(nil), key...)
}

// openReplay opens --input, gunzipping it when it starts with the gzip
// magic bytes, as batch does.
func openReplay(path string, stdin io.Reader) (io.Reader, func() error, error) {
	var r io.Reader
	closeFn := func() error { return nil }
	if path == "-" {
		r = stdin
	} else {
		fh, err := os.Open(path)
		if err != nil {
			if errors.Is(err, os.ErrNotExist) {
				return nil, nil, fmt.Errorf("produce: input %q: no such file", path)
			}
			return nil, nil, fmt.Errorf("produce: input %q: %w", path, err)
		}
		if st, err := fh.Stat(); err == nil && !st.Mode().IsRegular() {
			fh.Close()
			return nil, nil, fmt.Errorf("produce: input %q: not a regular file", path)
		}
		r, closeFn = fh, fh.Close
	}
	zr, zclose, _, err := input.Gunzip(bufio.NewReaderSize(r, 1<<20))
	if err != nil {
		closeFn()
		return nil, nil, fmt.Errorf("produce: input %q: %w", path, err)
	}
	return zr, func() error { zclose(); return closeFn() }, nil
}
