package kafka

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/hex"
	"errors"
	"fmt"
	"math/big"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/sasl/plain"
)

// BrokerSASLMechanisms are the mechanisms the bundled broker (kfake)
// serves; it has no OAUTHBEARER or AWS_MSK_IAM.
func BrokerSASLMechanisms() []string { return []string{SASLPlain, SASLScramSHA256, SASLScramSHA512} }

// SASLUser is a user the broker accepts, with the mechanisms it may use.
type SASLUser struct {
	User     string
	Password Secret
	// Mechanisms: some of BrokerSASLMechanisms; empty is all of them.
	Mechanisms []string
}

// ParseSASLUser reads "user:password".
func ParseSASLUser(s string) (SASLUser, error) {
	u, p, ok := strings.Cut(s, ":")
	if !ok || u == "" || p == "" {
		return SASLUser{}, errors.New("want user:password, both non-empty")
	}
	return SASLUser{User: u, Password: Secret(p)}, nil
}

// reaperUser is the broker's own SASL user, for its member reaper: a
// superuser with a random password made at each start, never shown.
const reaperUser = "sessionize-broker-internal"

// brokerSecurity returns the kfake options for cfg's TLS and SASL, and
// the client settings the broker's own reaper connects with.
func brokerSecurity(cfg BrokerConfig) (opts []kfake.Opt, reaper []kgo.Opt, err error) {
	if (cfg.TLSCertFile == "") != (cfg.TLSKeyFile == "") {
		return nil, nil, errors.New("kafka broker: TLS needs both --tls-cert-file and --tls-key-file")
	}
	if cfg.TLSClientCAFile != "" && cfg.TLSCertFile == "" {
		return nil, nil, errors.New("kafka broker: --tls-client-ca-file needs TLS: give --tls-cert-file and --tls-key-file")
	}
	if cfg.TLSCertFile != "" {
		cert, err := tls.LoadX509KeyPair(cfg.TLSCertFile, cfg.TLSKeyFile)
		if err != nil {
			return nil, nil, fmt.Errorf("kafka broker: TLS certificate (--tls-cert-file, --tls-key-file): %w", err)
		}
		server := &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
		// The reaper dials this very process; there is nothing in
		// between to verify against.
		client := &tls.Config{InsecureSkipVerify: true} //nolint:gosec // in-process
		if cfg.TLSClientCAFile != "" {
			pool, own, err := clientCAs(cfg.TLSClientCAFile)
			if err != nil {
				return nil, nil, err
			}
			server.ClientCAs, server.ClientAuth = pool, tls.RequireAndVerifyClientCert
			client.Certificates = []tls.Certificate{own}
		}
		opts = append(opts, kfake.TLS(server))
		reaper = append(reaper, kgo.DialTLSConfig(client))
	}
	if len(cfg.SASLUsers) == 0 {
		return opts, reaper, nil
	}
	opts = append(opts, kfake.EnableSASL())
	for _, u := range cfg.SASLUsers {
		if u.User == "" || u.Password == "" {
			return nil, nil, errors.New("kafka broker: a SASL user needs a name and a password (--sasl-user user:password)")
		}
		if u.User == reaperUser {
			return nil, nil, fmt.Errorf("kafka broker: SASL user name %q is the broker's own", reaperUser)
		}
		mechs := u.Mechanisms
		if len(mechs) == 0 {
			mechs = BrokerSASLMechanisms()
		}
		for _, m := range mechs {
			m = strings.ToUpper(strings.TrimSpace(m))
			if !slices.Contains(BrokerSASLMechanisms(), m) {
				return nil, nil, fmt.Errorf("kafka broker: SASL mechanism %q is not served: use %s", m, strings.Join(BrokerSASLMechanisms(), ", "))
			}
			opts = append(opts, kfake.Superuser(m, u.User, string(u.Password)))
		}
	}
	var b [24]byte
	if _, err := rand.Read(b[:]); err != nil {
		return nil, nil, err
	}
	pass := hex.EncodeToString(b[:])
	opts = append(opts, kfake.Superuser(SASLPlain, reaperUser, pass))
	reaper = append(reaper, kgo.SASL(plain.Auth{User: reaperUser, Pass: pass}.AsMechanism()))
	return opts, reaper, nil
}

// forgetSavedUsers removes the SASL users kfake saved in dataDir: kfake
// loads them over the ones it is started with, so without this a
// password changed on the command line, and the broker's own random one,
// would not take effect after a restart. The users are the flags'.
func forgetSavedUsers(dataDir string) error {
	err := os.Remove(filepath.Join(dataDir, "sasl.json"))
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("kafka broker: %w", err)
	}
	return nil
}

// brokerSecurityString describes cfg's security for the start-up log line:
// the protocol and the user names, no password.
func brokerSecurityString(cfg BrokerConfig) string {
	proto := "PLAINTEXT"
	switch {
	case cfg.TLSCertFile != "" && len(cfg.SASLUsers) > 0:
		proto = "SASL_SSL"
	case cfg.TLSCertFile != "":
		proto = "SSL"
	case len(cfg.SASLUsers) > 0:
		proto = "SASL_PLAINTEXT"
	}
	if cfg.TLSClientCAFile != "" {
		proto += " client certificates required"
	}
	var users []string
	for _, u := range cfg.SASLUsers {
		users = append(users, u.User)
	}
	if len(users) > 0 {
		proto += " users " + strings.Join(users, ",")
	}
	return proto
}

// clientCAs returns the pool that verifies client certificates: the CAs in
// file, plus a certificate made now for the broker's own reaper (its key
// never leaves this process).
func clientCAs(file string) (*x509.CertPool, tls.Certificate, error) {
	pem, err := os.ReadFile(file)
	if err != nil {
		return nil, tls.Certificate{}, fmt.Errorf("kafka broker: --tls-client-ca-file: %w", err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pem) {
		return nil, tls.Certificate{}, fmt.Errorf("kafka broker: --tls-client-ca-file %s holds no PEM certificate", file)
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, tls.Certificate{}, err
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		Subject:      pkix.Name{CommonName: reaperUser},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().AddDate(10, 0, 0),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, tls.Certificate{}, err
	}
	leaf, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, tls.Certificate{}, err
	}
	pool.AddCert(leaf)
	return pool, tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key, Leaf: leaf}, nil
}
