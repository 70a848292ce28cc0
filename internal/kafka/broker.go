package kafka

import (
	"time"

	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"

	"github.com/twmb/franz-go/pkg/kfake"
)

// Broker defaults.
const (
	DefaultListen     = "127.0.0.1:9092"
	DefaultPartitions = 6
)

// BrokerConfig configures StartBroker.
type BrokerConfig struct {
	// Listen is the host:port to listen on; "" is DefaultListen. Port 0
	// picks a free port (see Broker.Addrs), as tests and in-process
	// demos do.
	Listen string
	// Advertise is the host:port clients are told to connect to. "" means
	// the listen address, except that a wildcard host (0.0.0.0, ::) is
	// advertised as this machine's host name.
	Advertise string
	// DataDir, if set, keeps topics, records, committed offsets and
	// producer state there, so they survive a restart, also after kill -9
	// (writes go to the OS at once; only an OS crash can lose the latest
	// writes, unless SyncWrites). "" keeps everything in memory.
	DataDir string
	// SyncWrites fsyncs every write to DataDir: durable across OS
	// crashes, slower.
	SyncWrites bool
	// Partitions is the partition count of topics created automatically
	// or with the broker's default; <= 0 is DefaultPartitions.
	Partitions int
	// MinSessionTimeout is the shortest consumer-group session timeout
	// the broker accepts (group.min.session.timeout.ms); <= 0 keeps
	// Kafka's default, 6s. Lower it to try short --session-timeout values
	// locally, as the tests do.
	MinSessionTimeout time.Duration
	// TLSCertFile and TLSKeyFile, if set, make the broker speak TLS only,
	// with this PEM certificate and key.
	TLSCertFile, TLSKeyFile string
	// TLSClientCAFile, if set, makes the broker require a client
	// certificate signed by a CA in this PEM file (mTLS).
	TLSClientCAFile string
	// SASLUsers, if any, make the broker require SASL (PLAIN,
	// SCRAM-SHA-256, SCRAM-SHA-512) and accept only these users. With a
	// DataDir the users are these at every start, whatever a client
	// changed meanwhile.
	SASLUsers []SASLUser
}

// Broker is a running single-node Kafka-protocol broker: franz-go's kfake,
// meant for demos, tests and laptops, not for production. On top of kfake
// it drops group members not heard from for their session timeout, which
// kfake itself does not always do (see memberReaper).
type Broker struct {
	cfg     BrokerConfig
	c       *kfake.Cluster
	reaper  *memberReaper
	addrs   []string
	unlock  func()
	closeMu sync.Once
}

// StartBroker starts a broker. It returns once the broker accepts
// connections; ctx bounds only the start (loading a large DataDir), Close
// stops the broker. Topics are created automatically when a client asks
// for one that does not exist.
func StartBroker(ctx context.Context, cfg BrokerConfig, logger *slog.Logger) (*Broker, error) {
	logger = orDiscard(logger)
	if cfg.Listen == "" {
		cfg.Listen = DefaultListen
	}
	if cfg.Partitions <= 0 {
		cfg.Partitions = DefaultPartitions
	}
	host, port, err := net.SplitHostPort(cfg.Listen)
	if err != nil {
		return nil, fmt.Errorf("kafka broker: listen address %q: want host:port, such as %s", cfg.Listen, DefaultListen)
	}
	if _, err := strconv.ParseUint(port, 10, 16); err != nil {
		return nil, fmt.Errorf("kafka broker: listen address %q: bad port %q", cfg.Listen, port)
	}
	advertise := cfg.Advertise
	if advertise != "" {
		if _, _, err := net.SplitHostPort(advertise); err != nil {
			return nil, fmt.Errorf("kafka broker: advertised address %q: want host:port", advertise)
		}
	}

	secOpts, reaperOpts, err := brokerSecurity(cfg)
	if err != nil {
		return nil, err
	}
	unlock := func() {}
	if cfg.DataDir != "" {
		if err := os.MkdirAll(cfg.DataDir, 0o755); err != nil {
			return nil, fmt.Errorf("kafka broker: data directory: %w", err)
		}
		unlock, err = lockDir(filepath.Join(cfg.DataDir, "broker.lock"))
		if err != nil {
			return nil, fmt.Errorf("kafka broker: data directory %s is in use by another broker: %w", cfg.DataDir, err)
		}
		if len(cfg.SASLUsers) > 0 {
			if err := forgetSavedUsers(cfg.DataDir); err != nil {
				unlock()
				return nil, err
			}
		}
	}

	// kfake listens on 127.0.0.1 only; ListenFn lets us pick the address.
	// The address a listener reports is what kfake advertises in metadata,
	// so a wildcard listener reports the advertised address instead.
	listen := func(network, _ string) (net.Listener, error) {
		ln, err := net.Listen(network, cfg.Listen)
		if err != nil {
			return nil, err
		}
		adv := advertise
		if adv == "" && isWildcard(host) {
			name, herr := os.Hostname()
			if herr != nil || name == "" {
				name = "localhost"
			}
			_, p, _ := net.SplitHostPort(ln.Addr().String())
			adv = net.JoinHostPort(name, p)
		}
		if adv != "" {
			return advertisedListener{ln, advertisedAddr(adv)}, nil
		}
		return ln, nil
	}
	opts := []kfake.Opt{
		kfake.NumBrokers(1),
		kfake.ListenFn(listen),
		kfake.AllowAutoTopicCreation(),
		kfake.DefaultNumPartitions(cfg.Partitions),
		kfake.ClusterID("sessionize"),
		kfake.WithLogger(kfakeLogger{logger.With("component", "kafka-broker")}),
	}
	opts = append(opts, secOpts...)
	if cfg.MinSessionTimeout > 0 {
		opts = append(opts, kfake.GroupMinSessionTimeout(cfg.MinSessionTimeout))
	}
	if cfg.DataDir != "" {
		opts = append(opts, kfake.DataDir(cfg.DataDir))
		if cfg.SyncWrites {
			opts = append(opts, kfake.SyncWrites())
		}
	}

	type result struct {
		c   *kfake.Cluster
		err error
	}
	done := make(chan result, 1)
	go func() {
		c, err := kfake.NewCluster(opts...)
		done <- result{c, err}
	}()
	var r result
	select {
	case r = <-done:
	case <-ctx.Done():
		go func() { // let the start finish, then undo it
			if r := <-done; r.c != nil {
				r.c.Close()
			}
			unlock()
		}()
		return nil, ctx.Err()
	}
	if r.err != nil {
		unlock()
		var oe *net.OpError
		if errors.As(r.err, &oe) && oe.Op == "listen" {
			return nil, fmt.Errorf("kafka broker: %w (is a broker already running there? pick another address)", r.err)
		}
		return nil, fmt.Errorf("kafka broker: %w", r.err)
	}
	addrs := r.c.ListenAddrs()
	if len(cfg.SASLUsers) > 0 {
		if err := advertiseSASLHandshakeV0(ctx, r.c, addrs, reaperOpts); err != nil {
			r.c.Close()
			unlock()
			return nil, fmt.Errorf("kafka broker: %w", err)
		}
	}
	reaper, err := startReaper(r.c, addrs, reaperOpts, logger.With("component", "kafka-broker"))
	if err != nil {
		r.c.Close()
		unlock()
		return nil, fmt.Errorf("kafka broker: %w", err)
	}
	return &Broker{cfg: cfg, c: r.c, reaper: reaper, addrs: addrs, unlock: unlock}, nil
}

// Addrs returns the addresses clients connect to (the advertised ones).
func (b *Broker) Addrs() []string { return append([]string(nil), b.addrs...) }

// Servers returns Addrs joined by commas, as --kafka-servers takes them.
func (b *Broker) Servers() string { return strings.Join(b.addrs, ",") }

// Security describes how clients must connect (PLAINTEXT, SSL, SASL_SSL
// and the user names), without passwords.
func (b *Broker) Security() string { return brokerSecurityString(b.cfg) }

// Cluster returns the underlying kfake cluster, for fault injection in
// tests (ControlKey and friends).
func (b *Broker) Cluster() *kfake.Cluster { return b.c }

// Close stops the broker; with a DataDir it first saves its state. It is
// safe to call more than once.
func (b *Broker) Close() {
	b.closeMu.Do(func() {
		b.reaper.stop()
		b.c.Close()
		b.unlock()
	})
}

func isWildcard(host string) bool {
	if host == "" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsUnspecified()
}

type advertisedAddr string

func (a advertisedAddr) Network() string { return "tcp" }
func (a advertisedAddr) String() string  { return string(a) }

// advertisedListener reports the advertised address as its own.
type advertisedListener struct {
	net.Listener
	addr net.Addr
}

func (l advertisedListener) Addr() net.Addr { return l.addr }

// kfakeLogger sends kfake's log lines to slog: errors and warnings as
// such, the rest (every request at info) at debug.
type kfakeLogger struct{ l *slog.Logger }

func (k kfakeLogger) Logf(level kfake.LogLevel, format string, args ...any) {
	var sl slog.Level
	switch level {
	case kfake.LogLevelError:
		sl = slog.LevelError
	case kfake.LogLevelWarn:
		sl = slog.LevelWarn
	case kfake.LogLevelInfo:
		sl = slog.LevelDebug
	default:
		sl = slog.LevelDebug - 4
	}
	if !k.l.Enabled(context.Background(), sl) {
		return
	}
	k.l.Log(context.Background(), sl, fmt.Sprintf(format, args...))
}
