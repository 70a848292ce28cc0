// Package kafka is sessionize's Kafka side: a Kafka-protocol broker for
// demos and tests (franz-go's kfake), a producer for clickstream records,
// and the consumer-group source the streaming pipeline reads from.
//
// Everything talks the Kafka protocol through franz-go (kgo), so the same
// code runs against the built-in broker and a real Kafka cluster.
package kafka

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
)

// DefaultConnectTimeout is how long a producer or source tries to reach a
// broker at start before it gives up with ErrUnreachable.
const DefaultConnectTimeout = 10 * time.Second

var (
	// ErrUnreachable is wrapped by the error returned when no broker
	// answers at start.
	ErrUnreachable = errors.New("no Kafka broker reachable")
	// ErrTopicNotFound is wrapped by the error returned when the topic
	// does not exist and is not to be created.
	ErrTopicNotFound = errors.New("topic does not exist")
	// ErrSecurity is wrapped by the error returned when a broker answers
	// but the TLS or SASL settings do not match it; the message says
	// which flag to fix.
	ErrSecurity = errors.New("cannot connect securely to Kafka")
)

// newClient returns a kgo client for servers with the options every client
// here shares (sec's TLS and SASL among them), plus opts.
func newClient(servers []string, sec Security, logger *slog.Logger, opts ...kgo.Opt) (*kgo.Client, error) {
	if len(servers) == 0 {
		return nil, errors.New("kafka: no servers given")
	}
	secOpts, err := sec.ClientOpts()
	if err != nil {
		return nil, err
	}
	base := []kgo.Opt{
		kgo.SeedBrokers(servers...),
		kgo.ClientID("sessionize"),
		kgo.WithLogger(newKgoLogger(logger)),
	}
	base = append(base, secOpts...)
	cl, err := kgo.NewClient(append(base, opts...)...)
	if err != nil {
		return nil, fmt.Errorf("kafka: servers %s: %w", strings.Join(servers, ","), err)
	}
	return cl, nil
}

// connect waits until some broker at servers answers, for at most timeout
// (<= 0: DefaultConnectTimeout). kgo's Ping tries each broker once, so we
// retry: a broker that is still starting is not an error. An error that
// retrying cannot fix (a wrong password, an unknown CA, TLS against a
// plaintext port or the other way round) ends the wait at once, wrapping
// ErrSecurity with the cause and the flag to fix. The probe client logs
// nothing, so a wait is one log line, not one per dial.
func connect(ctx context.Context, servers []string, sec Security, timeout time.Duration, logger *slog.Logger) error {
	if timeout <= 0 {
		timeout = DefaultConnectTimeout
	}
	// Each attempt is bounded: a TLS client at a plaintext port waits
	// for a handshake answer the broker never sends.
	cl, err := newClient(servers, sec, nil, kgo.DialTimeout(probeTimeout), kgo.RequestTimeoutOverhead(probeTimeout))
	if err != nil {
		return err
	}
	defer cl.Close()
	cctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	if sec.TLS {
		// A handshake first: kgo cannot tell a TLS mismatch from a slow
		// broker, and against a plaintext port it waits for its timeout.
		if herr := tlsHandshake(cctx, servers[0], sec); herr != nil && !errors.Is(herr, errDial) && ctx.Err() == nil {
			hint := securityHint(herr, sec)
			if hint == "" {
				hint = notTLS
			}
			return fmt.Errorf("kafka: %w at %s (%s): %s: %v", ErrSecurity, servers[0], sec, hint, herr)
		}
	}
	var (
		last      error
		eofBefore bool // the previous attempt ended in EOF with a hint
	)
	for {
		actx, acancel := context.WithTimeout(cctx, probeTimeout)
		err := cl.Ping(actx)
		acancel()
		if err == nil {
			return nil
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		// A connection closed under us is a security mismatch only if it
		// happens again: a broker that is restarting closes them too.
		if hint := diagnose(cctx, servers, sec, err); hint != "" {
			if !isEOF(err) || eofBefore {
				return fmt.Errorf("kafka: %w at %s (%s): %s: %v", ErrSecurity, strings.Join(servers, ","), sec, hint, err)
			}
			eofBefore = true
		} else {
			eofBefore = false
		}
		if last == nil {
			orDiscard(logger).Warn("cannot reach Kafka yet; retrying", "servers", strings.Join(servers, ","), "for", timeout, "err", err)
		}
		if cctx.Err() == nil || last == nil {
			last = err
		}
		select {
		case <-cctx.Done():
			if ctx.Err() != nil {
				return ctx.Err()
			}
			return fmt.Errorf("kafka: %w at %s (tried for %s): %v", ErrUnreachable, strings.Join(servers, ","), timeout, last)
		case <-time.After(200 * time.Millisecond):
		}
	}
}

// topicPartitions returns topic's partition count, or an error wrapping
// ErrTopicNotFound.
func topicPartitions(ctx context.Context, adm *kadm.Client, topic string) (int, error) {
	tds, err := adm.ListTopics(ctx, topic)
	if err != nil {
		return 0, fmt.Errorf("kafka: describing topic %q: %w", topic, err)
	}
	td, ok := tds[topic]
	if !ok || errors.Is(td.Err, kerr.UnknownTopicOrPartition) || errors.Is(td.Err, kerr.UnknownTopicID) {
		return 0, fmt.Errorf("kafka: %w: %q", ErrTopicNotFound, topic)
	}
	if td.Err != nil {
		return 0, fmt.Errorf("kafka: describing topic %q: %w", topic, td.Err)
	}
	return len(td.Partitions), nil
}

// createTopic creates topic with partitions (<= 0: the broker's default);
// an existing topic is left as it is and created is false. n is the new
// topic's partition count (0 when unknown).
func createTopic(ctx context.Context, adm *kadm.Client, topic string, partitions int32) (created bool, n int32, err error) {
	if partitions <= 0 {
		partitions = -1 // broker default (num.partitions), Kafka 2.4+
	}
	resp, err := adm.CreateTopic(ctx, partitions, -1, nil, topic)
	switch {
	case err == nil:
		return true, max(resp.NumPartitions, 0), nil
	case errors.Is(err, kerr.TopicAlreadyExists):
		return false, 0, nil
	}
	return false, 0, fmt.Errorf("kafka: creating topic %q: %w", topic, err)
}

// CreateTopic creates topic on servers with the given number of partitions
// (<= 0: the broker's default, num.partitions). It is idempotent: an existing
// topic is left as it is, whatever its partition count, and created is false.
func CreateTopic(ctx context.Context, servers []string, sec Security, topic string, partitions int32) (created bool, err error) {
	if err := connect(ctx, servers, sec, 0, nil); err != nil {
		return false, err
	}
	cl, err := newClient(servers, sec, nil)
	if err != nil {
		return false, err
	}
	defer cl.Close()
	created, _, err = createTopic(ctx, kadm.NewClient(cl), topic, partitions)
	return created, err
}

// TopicPartitions returns how many partitions topic has on servers, or an
// error wrapping ErrTopicNotFound.
func TopicPartitions(ctx context.Context, servers []string, sec Security, topic string) (int, error) {
	if err := connect(ctx, servers, sec, 0, nil); err != nil {
		return 0, err
	}
	cl, err := newClient(servers, sec, nil)
	if err != nil {
		return 0, err
	}
	defer cl.Close()
	return topicPartitions(ctx, kadm.NewClient(cl), topic)
}

// SplitServers splits a comma-separated server list, dropping blanks.
func SplitServers(s string) []string {
	var out []string
	for _, part := range strings.Split(s, ",") {
		if part = strings.TrimSpace(part); part != "" {
			out = append(out, part)
		}
	}
	return out
}

func orDiscard(l *slog.Logger) *slog.Logger {
	if l == nil {
		return slog.New(slog.DiscardHandler)
	}
	return l
}

// kgoLogger sends franz-go's log lines to slog. kgo's info level is chatty
// (every group step), so it goes to debug; by default only kgo's warnings
// and errors are logged, each message at most every 10 seconds (a broker
// that is down makes kgo warn on every dial, several times a second).
type kgoLogger struct {
	l     *slog.Logger
	level kgo.LogLevel

	mu   sync.Mutex
	last map[string]time.Time
}

const kgoLogEvery = 10 * time.Second

func newKgoLogger(l *slog.Logger) *kgoLogger {
	l = orDiscard(l)
	lvl := kgo.LogLevelWarn
	if l.Enabled(context.Background(), slog.LevelDebug) {
		lvl = kgo.LogLevelInfo
	}
	return &kgoLogger{l: l.With("component", "kafka-client"), level: lvl, last: map[string]time.Time{}}
}

func (k *kgoLogger) Level() kgo.LogLevel { return k.level }

func (k *kgoLogger) Log(level kgo.LogLevel, msg string, keyvals ...any) {
	var sl slog.Level
	switch level {
	case kgo.LogLevelError:
		sl = slog.LevelError
	case kgo.LogLevelWarn:
		sl = slog.LevelWarn
	default:
		sl = slog.LevelDebug
	}
	if sl >= slog.LevelWarn && !k.l.Enabled(context.Background(), slog.LevelDebug) {
		now := time.Now()
		k.mu.Lock()
		if now.Sub(k.last[msg]) < kgoLogEvery {
			k.mu.Unlock()
			return
		}
		k.last[msg] = now
		k.mu.Unlock()
	}
	k.l.Log(context.Background(), sl, msg, keyvals...)
}
