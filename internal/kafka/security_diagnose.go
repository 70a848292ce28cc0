package kafka

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
)

// diagnose explains an error of a first request to servers that
// retrying will not fix, naming the cause and the flag that fixes it; ""
// for an error that may be transient (a broker still starting). kgo's
// error says it for most mismatches; where it only says EOF or times out
// (TLS to a plaintext port, credentials a broker rejects by closing the
// connection, as kfake does), diagnose makes a TLS handshake of its own
// to tell which.
func diagnose(ctx context.Context, servers []string, s Security, err error) string {
	if errors.As(err, new(credentialsError)) {
		return "cannot get the credentials to authenticate with"
	}
	if h := securityHint(err, s); h != "" {
		return h
	}
	if s.TLS && (isEOF(err) || errors.Is(err, context.DeadlineExceeded)) {
		herr := tlsHandshake(ctx, servers[0], s)
		switch {
		case herr == nil:
			// TLS is right; the connection ended after it.
		case errors.Is(herr, errDial):
			return ""
		default:
			if h := securityHint(herr, s); h != "" {
				return h
			}
			return notTLS
		}
	}
	if s.SASLMechanism != "" && isEOF(err) {
		return saslRejected + " (the broker closed the connection at authentication)"
	}
	return ""
}

const notTLS = "the broker did not complete a TLS handshake: this looks like a plaintext port; drop --kafka-tls or use the cluster's TLS port"

const saslRejected = "the broker rejected the SASL credentials: check --kafka-sasl-username, the password (--kafka-sasl-password-file or SESSIONIZE_KAFKA_SASL_PASSWORD) and --kafka-sasl-mechanism"

// securityHint is diagnose's reading of an error alone.
func securityHint(err error, s Security) string {
	var (
		unknownCA x509.UnknownAuthorityError
		hostErr   x509.HostnameError
		certErr   *tls.CertificateVerificationError
		recErr    tls.RecordHeaderError
	)
	msg := err.Error()
	switch {
	case errors.As(err, &unknownCA):
		if s.CAFile != "" {
			return fmt.Sprintf("the broker's TLS certificate is not signed by a CA in --kafka-tls-ca-file %s: give the CA that signed it", s.CAFile)
		}
		return "the broker's TLS certificate is signed by an authority the system does not trust: give its CA with --kafka-tls-ca-file"
	case errors.As(err, &hostErr):
		return "the broker's TLS certificate is not for the name dialled: connect by a name it is for, or set --kafka-tls-server-name"
	case errors.As(err, &certErr):
		return fmt.Sprintf("the broker's TLS certificate does not verify (%v): check --kafka-tls-ca-file and the broker's certificate", certErr.Err)
	case errors.As(err, &recErr):
		return "the broker did not answer in TLS: this looks like a plaintext port; drop --kafka-tls or use the cluster's TLS port"
	case strings.Contains(msg, "remote error: tls: certificate required"), strings.Contains(msg, "remote error: tls: bad certificate") && s.CertFile == "":
		return "the broker asks for a client certificate (mTLS): give --kafka-tls-cert-file and --kafka-tls-key-file"
	case strings.Contains(msg, "remote error: tls:"):
		return "the broker refused the TLS handshake: check the --kafka-tls-* flags (client certificate, CA)"
	case strings.Contains(msg, "is TLS missing?"), strings.Contains(msg, "appear to be a tls alert record"):
		return "the broker expects TLS: this is a TLS port; add --kafka-tls"
	case strings.Contains(msg, "is SASL missing?"):
		return "the broker requires SASL authentication: give --kafka-sasl-mechanism and credentials"
	case errors.Is(err, kerr.SaslAuthenticationFailed):
		return saslRejected
	case errors.Is(err, kerr.UnsupportedSaslMechanism):
		return fmt.Sprintf("the broker does not offer SASL %s: pick one it does with --kafka-sasl-mechanism", s.SASLMechanism)
	case errors.Is(err, kerr.IllegalSaslState) && s.SASLMechanism != "":
		return "the broker does not take SASL on this port: drop --kafka-sasl-mechanism or use the cluster's SASL port"
	}
	return ""
}

func isEOF(err error) bool {
	msg := err.Error()
	return errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) ||
		strings.Contains(msg, "connection reset by peer") || strings.Contains(msg, "broken pipe")
}

var errDial = errors.New("cannot dial")

// tlsHandshake dials addr and shakes hands as the client would, within
// handshakeTimeout of the dial.
func tlsHandshake(ctx context.Context, addr string, s Security) error {
	tc, err := s.tlsConfig()
	if err != nil {
		return err
	}
	if tc.ServerName == "" {
		host, _, _ := net.SplitHostPort(addr)
		tc.ServerName = host
	}
	dctx, cancel := context.WithTimeout(ctx, handshakeTimeout)
	defer cancel()
	var d net.Dialer
	raw, err := d.DialContext(dctx, "tcp", addr)
	if err != nil {
		return fmt.Errorf("%w: %v", errDial, err)
	}
	defer raw.Close()
	hctx, hcancel := context.WithTimeout(ctx, handshakeTimeout)
	defer hcancel()
	return tls.Client(raw, tc).HandshakeContext(hctx)
}

const (
	// probeTimeout bounds one request of connect's probe, so that a TLS
	// client talking to a plaintext port (whose broker waits for a
	// request that never comes) fails in seconds, not in kgo's timeouts.
	probeTimeout = 5 * time.Second
	// handshakeTimeout bounds diagnose's TLS handshake: a TLS broker
	// answers in milliseconds once the connection is up.
	handshakeTimeout = 3 * time.Second
)
