package kafka

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/sasl"
	"github.com/twmb/franz-go/pkg/sasl/oauth"
	"github.com/twmb/franz-go/pkg/sasl/plain"
	"github.com/twmb/franz-go/pkg/sasl/scram"
)

// SASL mechanisms Security accepts.
const (
	SASLPlain       = "PLAIN"
	SASLScramSHA256 = "SCRAM-SHA-256"
	SASLScramSHA512 = "SCRAM-SHA-512"
	SASLOAuthBearer = "OAUTHBEARER"
	SASLAWSMSKIAM   = "AWS_MSK_IAM"
)

// SASLMechanisms lists the mechanisms Security accepts, for help texts.
func SASLMechanisms() []string {
	return []string{SASLPlain, SASLScramSHA256, SASLScramSHA512, SASLOAuthBearer, SASLAWSMSKIAM}
}

// Security is how every client here reaches a secured cluster: TLS and
// SASL. The zero value is plaintext without authentication. It is the one
// place that turns this into franz-go options (ClientOpts); the producer,
// the source, the admin lookups and check all take it.
//
// Secrets (Password, the contents of PasswordFile and TokenFile) never
// appear in String, in logs or in errors.
type Security struct {
	// TLS encrypts the connections and verifies the brokers'
	// certificates against CAFile, or the system roots if "".
	TLS bool
	// CAFile is a PEM file of the CA certificates that signed the
	// brokers' certificates.
	CAFile string
	// CertFile and KeyFile are a PEM client certificate and its key, for
	// brokers that authenticate clients by certificate (mTLS).
	CertFile, KeyFile string
	// ServerName is the name to verify the brokers' certificates against
	// ("": the host of each broker address).
	ServerName string
	// InsecureSkipVerify accepts any broker certificate: for tests only,
	// it lets anyone in the middle read and change the traffic.
	InsecureSkipVerify bool

	// SASLMechanism is one of SASLMechanisms, or "" for no SASL.
	SASLMechanism string
	// Username and Password (or PasswordFile, re-read at every
	// authentication, so a rotated password is picked up) are for PLAIN
	// and SCRAM.
	Username     string
	Password     Secret
	PasswordFile string
	// TokenFile holds the OAUTHBEARER token; it is re-read at every
	// authentication, so whatever refreshes the file (a sidecar, a cron)
	// keeps the client authenticated past the token's expiry.
	TokenFile string
	// AWSCredentials returns the AWS credentials for AWS_MSK_IAM, called
	// at every authentication; nil is the standard AWS chain (env
	// variables, shared config and credentials files, SSO, web identity,
	// ECS and EC2 roles; see awsCredentials).
	AWSCredentials func(context.Context) (AWSAuth, error)
}

// AWSAuth is the AWS credentials AWS_MSK_IAM signs with.
type AWSAuth struct{ AccessKey, SecretKey, SessionToken string }

// Secret is a string that prints as "[redacted]", so a password in a
// config struct cannot reach a log line or an error by accident.
type Secret string

func (Secret) String() string   { return "[redacted]" }
func (Secret) GoString() string { return `"[redacted]"` }

// String describes s for logs, without secrets: "SASL_SSL SCRAM-SHA-512
// user svc", "SSL", "PLAINTEXT".
func (s Security) String() string {
	proto := "PLAINTEXT"
	switch {
	case s.TLS && s.SASLMechanism != "":
		proto = "SASL_SSL"
	case s.TLS:
		proto = "SSL"
	case s.SASLMechanism != "":
		proto = "SASL_PLAINTEXT"
	}
	parts := []string{proto}
	if s.SASLMechanism != "" {
		parts = append(parts, s.SASLMechanism)
	}
	if s.Username != "" {
		parts = append(parts, "user "+s.Username)
	}
	if s.TLS && s.CertFile != "" {
		parts = append(parts, "client certificate "+s.CertFile)
	}
	if s.InsecureSkipVerify {
		parts = append(parts, "certificates NOT verified")
	}
	return strings.Join(parts, " ")
}

// Validate checks s for what can be checked without a broker: a known
// mechanism with the credentials it needs, and readable files.
func (s Security) Validate() error {
	if !s.TLS {
		for _, f := range []struct{ name, v string }{
			{"--kafka-tls-ca-file", s.CAFile}, {"--kafka-tls-cert-file", s.CertFile},
			{"--kafka-tls-key-file", s.KeyFile}, {"--kafka-tls-server-name", s.ServerName},
		} {
			if f.v != "" {
				return fmt.Errorf("kafka: %s is set but TLS is not: add --kafka-tls", f.name)
			}
		}
		if s.InsecureSkipVerify {
			return errors.New("kafka: --kafka-tls-insecure-skip-verify is set but TLS is not: add --kafka-tls")
		}
	}
	if (s.CertFile == "") != (s.KeyFile == "") {
		return errors.New("kafka: a client certificate needs both --kafka-tls-cert-file and --kafka-tls-key-file")
	}
	switch s.SASLMechanism {
	case "":
		if s.Username != "" || s.Password != "" || s.PasswordFile != "" || s.TokenFile != "" {
			return errors.New("kafka: SASL credentials are set but no mechanism: add --kafka-sasl-mechanism (" + strings.Join(SASLMechanisms(), ", ") + ")")
		}
	case SASLPlain, SASLScramSHA256, SASLScramSHA512:
		if s.Username == "" {
			return fmt.Errorf("kafka: SASL %s needs --kafka-sasl-username", s.SASLMechanism)
		}
		switch {
		case s.Password != "" && s.PasswordFile != "":
			return errors.New("kafka: give the SASL password once: either SESSIONIZE_KAFKA_SASL_PASSWORD or --kafka-sasl-password-file")
		case s.Password == "" && s.PasswordFile == "":
			return fmt.Errorf("kafka: SASL %s needs a password: --kafka-sasl-password-file FILE or the SESSIONIZE_KAFKA_SASL_PASSWORD variable", s.SASLMechanism)
		}
	case SASLOAuthBearer:
		if s.TokenFile == "" {
			return errors.New("kafka: SASL OAUTHBEARER needs --kafka-sasl-token-file (a file holding the token, re-read at every authentication)")
		}
	case SASLAWSMSKIAM:
		if !s.TLS {
			return errors.New("kafka: AWS_MSK_IAM is only served over TLS (MSK's port 9098): add --kafka-tls")
		}
	default:
		return fmt.Errorf("kafka: unknown SASL mechanism %q: use one of %s", s.SASLMechanism, strings.Join(SASLMechanisms(), ", "))
	}
	for _, f := range []struct{ flag, path string }{
		{"--kafka-tls-ca-file", s.CAFile}, {"--kafka-sasl-password-file", s.PasswordFile}, {"--kafka-sasl-token-file", s.TokenFile},
	} {
		if f.path == "" {
			continue
		}
		if _, err := os.Stat(f.path); err != nil {
			return fmt.Errorf("kafka: %s: %w", f.flag, err)
		}
	}
	return nil
}

// ClientOpts returns the franz-go options that make a client speak s. The
// files are read now (CA and client certificate) or at every
// authentication (password and token), so their errors come first here.
func (s Security) ClientOpts() ([]kgo.Opt, error) {
	if err := s.Validate(); err != nil {
		return nil, err
	}
	var opts []kgo.Opt
	if s.TLS {
		tc, err := s.tlsConfig()
		if err != nil {
			return nil, err
		}
		// kgo.DialTLSConfig sets ServerName to each broker's host unless
		// it is set here.
		opts = append(opts, kgo.DialTLSConfig(tc))
	}
	if s.SASLMechanism != "" {
		mech, err := s.mechanism()
		if err != nil {
			return nil, err
		}
		opts = append(opts, kgo.SASL(mech))
	}
	return opts, nil
}

func (s Security) tlsConfig() (*tls.Config, error) {
	tc := &tls.Config{MinVersion: tls.VersionTLS12, ServerName: s.ServerName, InsecureSkipVerify: s.InsecureSkipVerify}
	if s.CAFile != "" {
		pem, err := os.ReadFile(s.CAFile)
		if err != nil {
			return nil, fmt.Errorf("kafka: --kafka-tls-ca-file: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("kafka: --kafka-tls-ca-file %s holds no PEM certificate", s.CAFile)
		}
		tc.RootCAs = pool
	}
	if s.CertFile != "" {
		cert, err := tls.LoadX509KeyPair(s.CertFile, s.KeyFile)
		if err != nil {
			return nil, fmt.Errorf("kafka: client certificate (--kafka-tls-cert-file, --kafka-tls-key-file): %w", err)
		}
		tc.Certificates = []tls.Certificate{cert}
	}
	return tc, nil
}

func (s Security) mechanism() (sasl.Mechanism, error) {
	pass := func() (string, error) {
		if s.PasswordFile == "" {
			return string(s.Password), nil
		}
		return readSecretFile(s.PasswordFile, "--kafka-sasl-password-file")
	}
	switch s.SASLMechanism {
	case SASLPlain:
		return plain.Plain(func(context.Context) (plain.Auth, error) {
			p, err := pass()
			return plain.Auth{User: s.Username, Pass: p}, credErr(err)
		}), nil
	case SASLScramSHA256, SASLScramSHA512:
		fn := func(context.Context) (scram.Auth, error) {
			p, err := pass()
			return scram.Auth{User: s.Username, Pass: p}, credErr(err)
		}
		if s.SASLMechanism == SASLScramSHA256 {
			return scram.Sha256(fn), nil
		}
		return scram.Sha512(fn), nil
	case SASLOAuthBearer:
		return oauth.Oauth(func(context.Context) (oauth.Auth, error) {
			tok, err := readSecretFile(s.TokenFile, "--kafka-sasl-token-file")
			return oauth.Auth{Token: tok}, credErr(err)
		}), nil
	case SASLAWSMSKIAM:
		creds := s.AWSCredentials
		if creds == nil {
			creds = awsCredentials()
		}
		return mskIAM(func(ctx context.Context) (AWSAuth, error) {
			c, err := creds(ctx)
			return c, credErr(err)
		}), nil
	}
	return nil, fmt.Errorf("kafka: unknown SASL mechanism %q", s.SASLMechanism)
}

// credentialsError is an error getting the credentials to authenticate
// with (a password or token file, the AWS chain): retrying does not fix
// it, so connect reports it at once.
type credentialsError struct{ err error }

func (e credentialsError) Error() string { return e.err.Error() }
func (e credentialsError) Unwrap() error { return e.err }

func credErr(err error) error {
	if err == nil {
		return nil
	}
	return credentialsError{err}
}

// readSecretFile reads a password or token, without the trailing newline
// an editor or `echo` leaves.
func readSecretFile(path, flag string) (string, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return "", fmt.Errorf("kafka: %s: %w", flag, err)
	}
	v := strings.TrimRight(string(b), "\r\n")
	if v == "" {
		return "", fmt.Errorf("kafka: %s %s is empty", flag, path)
	}
	return v, nil
}
