package cli

import (
	"log/slog"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/sessionize/sessionize/internal/kafka"
)

// kafkaSecurityFlags are the TLS and SASL flags of every command that
// connects to Kafka (run, produce, check, table audit). They are shared
// flags (sharedFlags), so one SESSIONIZE_KAFKA_* variable sets them for
// all; kafka.Security turns them into client options.
type kafkaSecurityFlags struct {
	sec      kafka.Security
	password secretValue
}

// kafkaSecurityFlagNames are the flags register adds, for sharedFlags.
func kafkaSecurityFlagNames() []string {
	return []string{
		"kafka-tls", "kafka-tls-ca-file", "kafka-tls-cert-file", "kafka-tls-key-file",
		"kafka-tls-server-name", "kafka-tls-insecure-skip-verify",
		"kafka-sasl-mechanism", "kafka-sasl-username", "kafka-sasl-password", "kafka-sasl-password-file",
		"kafka-sasl-token-file",
	}
}

func (k *kafkaSecurityFlags) register(fs *pflag.FlagSet) {
	s := &k.sec
	fs.BoolVar(&s.TLS, "kafka-tls", false, "connect to Kafka over TLS (SSL, or SASL_SSL with --kafka-sasl-mechanism), verifying the brokers' certificates against --kafka-tls-ca-file or the system roots")
	fs.StringVar(&s.CAFile, "kafka-tls-ca-file", "", "PEM file of the CA certificates that signed the brokers' certificates (default: the system roots)")
	fs.StringVar(&s.CertFile, "kafka-tls-cert-file", "", "PEM client certificate, for brokers that authenticate clients by certificate (mTLS); with --kafka-tls-key-file")
	fs.StringVar(&s.KeyFile, "kafka-tls-key-file", "", "PEM private key of --kafka-tls-cert-file")
	fs.StringVar(&s.ServerName, "kafka-tls-server-name", "", "name to verify the brokers' certificates against (default: the host of each broker address)")
	fs.BoolVar(&s.InsecureSkipVerify, "kafka-tls-insecure-skip-verify", false, "accept any broker certificate: for tests only, anyone in the middle can read and change the traffic")
	fs.StringVar(&s.SASLMechanism, "kafka-sasl-mechanism", "", "SASL mechanism: "+strings.Join(kafka.SASLMechanisms(), ", ")+" (default: no SASL)")
	fs.StringVar(&s.Username, "kafka-sasl-username", "", "SASL user name, for PLAIN and SCRAM")
	fs.Var(&k.password, "kafka-sasl-password", "SASL password for PLAIN and SCRAM, from the SESSIONIZE_KAFKA_SASL_PASSWORD variable only: on the command line every user of the machine could read it (or use --kafka-sasl-password-file)")
	fs.StringVar(&s.PasswordFile, "kafka-sasl-password-file", "", "file holding the SASL password for PLAIN and SCRAM, re-read at every authentication (a trailing newline is dropped)")
	fs.StringVar(&s.TokenFile, "kafka-sasl-token-file", "", "file holding the OAUTHBEARER token, re-read at every authentication, so a refreshed token is picked up")
}

// security returns the settings the flags ask for, checked; a password
// typed on the command line is refused.
func (k *kafkaSecurityFlags) security(cmd *cobra.Command, logger *slog.Logger) (kafka.Security, error) {
	if onCommandLine(cmd, "kafka-sasl-password") {
		return kafka.Security{}, usagef("--kafka-sasl-password is refused on the command line, where every user of the machine can read it: set SESSIONIZE_KAFKA_SASL_PASSWORD or give --kafka-sasl-password-file")
	}
	s := k.sec
	s.SASLMechanism = strings.ToUpper(strings.TrimSpace(s.SASLMechanism))
	s.Password = kafka.Secret(k.password.v)
	if s.PasswordFile != "" && !onlyFromEnv(cmd, "kafka-sasl-password-file") {
		// The command line wins over the environment.
		s.Password = ""
	}
	if err := s.Validate(); err != nil {
		return kafka.Security{}, usageError{err}
	}
	if s.InsecureSkipVerify {
		logger.Warn("KAFKA TLS CERTIFICATES ARE NOT VERIFIED (--kafka-tls-insecure-skip-verify): anyone between here and the brokers can read and change the traffic, credentials included; use it for tests only, and give --kafka-tls-ca-file instead")
	}
	return s, nil
}

// secretValue is a flag value that never shows: not as a default in
// --help, not in an error.
type secretValue struct{ v string }

func (s *secretValue) String() string     { return "" }
func (s *secretValue) Type() string       { return "secret" }
func (s *secretValue) Set(v string) error { s.v = v; return nil }
