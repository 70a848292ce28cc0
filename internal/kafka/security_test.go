package kafka

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sessionize/sessionize/internal/testcert"
)

func writeSecret(t *testing.T, name, v string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, []byte(v+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// TestSecurityConnects: TLS and every SASL mechanism kfake serves, over
// TLS and plaintext, produce and read back.
func TestSecurityConnects(t *testing.T) {
	certs := testcert.New(t, "ok")
	users := []SASLUser{{User: "svc", Password: "s3cret"}}
	tlsBroker := startBroker(t, BrokerConfig{TLSCertFile: certs.Cert, TLSKeyFile: certs.Key})
	saslSSL := startBroker(t, BrokerConfig{TLSCertFile: certs.Cert, TLSKeyFile: certs.Key, SASLUsers: users})
	saslPlain := startBroker(t, BrokerConfig{SASLUsers: users})
	pwFile := writeSecret(t, "pw", "s3cret")
	for _, tc := range []struct {
		name string
		b    *Broker
		sec  Security
	}{
		{"SSL", tlsBroker, Security{TLS: true, CAFile: certs.CA}},
		{"SSL by name", tlsBroker, Security{TLS: true, CAFile: certs.CA, ServerName: "localhost"}},
		{"SSL insecure", tlsBroker, Security{TLS: true, InsecureSkipVerify: true}},
		{"SASL_SSL PLAIN", saslSSL, Security{TLS: true, CAFile: certs.CA, SASLMechanism: SASLPlain, Username: "svc", Password: "s3cret"}},
		{"SASL_SSL SCRAM-SHA-256", saslSSL, Security{TLS: true, CAFile: certs.CA, SASLMechanism: SASLScramSHA256, Username: "svc", PasswordFile: pwFile}},
		{"SASL_SSL SCRAM-SHA-512", saslSSL, Security{TLS: true, CAFile: certs.CA, SASLMechanism: SASLScramSHA512, Username: "svc", PasswordFile: pwFile}},
		{"SASL_PLAINTEXT SCRAM-SHA-512", saslPlain, Security{SASLMechanism: SASLScramSHA512, Username: "svc", Password: "s3cret"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
			defer cancel()
			topic := strings.NewReplacer(" ", "-").Replace(tc.name)
			p, err := NewProducer(ctx, ProducerConfig{Servers: tc.b.Addrs(), Security: tc.sec, Topic: topic, CreateTopic: true, Partitions: 2}, testLogger(t))
			if err != nil {
				t.Fatal(err)
			}
			for i := range 10 {
				if err := p.Send(ctx, []byte{byte(i)}, []byte("v")); err != nil {
					t.Fatal(err)
				}
			}
			if err := p.Flush(ctx); err != nil {
				t.Fatal(err)
			}
			p.Close()
			ends, err := TopicEnds(ctx, tc.b.Addrs(), tc.sec, topic)
			if err != nil {
				t.Fatal(err)
			}
			var n int64
			for _, e := range ends {
				n += e
			}
			if n != 10 {
				t.Fatalf("end offsets %v sum to %d, want 10", ends, n)
			}
			if _, err := GroupMembers(ctx, tc.b.Addrs(), tc.sec, "nobody", topic); err != nil {
				t.Fatal(err)
			}
		})
	}
}

// TestSecurityMisconfigured: each mismatch fails at once (no retries for
// the connect timeout) with ErrSecurity and a message naming the flag.
func TestSecurityMisconfigured(t *testing.T) {
	certs := testcert.New(t, "good")
	other := testcert.New(t, "other")
	users := []SASLUser{{User: "svc", Password: "s3cret"}}
	plainB := startBroker(t, BrokerConfig{})
	tlsB := startBroker(t, BrokerConfig{TLSCertFile: certs.Cert, TLSKeyFile: certs.Key})
	saslB := startBroker(t, BrokerConfig{TLSCertFile: certs.Cert, TLSKeyFile: certs.Key, SASLUsers: users})
	mtls := startBroker(t, BrokerConfig{TLSCertFile: certs.Cert, TLSKeyFile: certs.Key, TLSClientCAFile: certs.CA}).Addrs()
	good := Security{TLS: true, CAFile: certs.CA}
	withSASL := func(s Security, mech, user, pass string) Security {
		s.SASLMechanism, s.Username, s.Password = mech, user, Secret(pass)
		return s
	}
	for _, tc := range []struct {
		name    string
		servers []string
		sec     Security
		want    string
	}{
		{"wrong password", saslB.Addrs(), withSASL(good, SASLScramSHA512, "svc", "wrong"), "--kafka-sasl-username"},
		{"wrong password PLAIN", saslB.Addrs(), withSASL(good, SASLPlain, "svc", "wrong"), "rejected the SASL credentials"},
		{"unknown user", saslB.Addrs(), withSASL(good, SASLScramSHA256, "nobody", "s3cret"), "rejected the SASL credentials"},
		{"no SASL to a SASL broker", saslB.Addrs(), good, "--kafka-sasl-mechanism"},
		{"OAUTHBEARER not served", saslB.Addrs(), Security{TLS: true, CAFile: certs.CA, SASLMechanism: SASLOAuthBearer, TokenFile: writeSecret(t, "tok", "x.y.z")}, "does not offer SASL OAUTHBEARER"},
		{"unknown CA", tlsB.Addrs(), Security{TLS: true, CAFile: other.CA}, "--kafka-tls-ca-file"},
		{"system roots", tlsB.Addrs(), Security{TLS: true}, "give its CA with --kafka-tls-ca-file"},
		{"wrong server name", tlsB.Addrs(), Security{TLS: true, CAFile: certs.CA, ServerName: "kafka.example.com"}, "--kafka-tls-server-name"},
		{"plaintext to a TLS port", tlsB.Addrs(), Security{}, "add --kafka-tls"},
		{"TLS to a plaintext port", plainB.Addrs(), good, "drop --kafka-tls"},
		{"no client certificate", mtls, good, "--kafka-tls-cert-file"},
		{"empty password file", saslB.Addrs(), Security{TLS: true, CAFile: certs.CA, SASLMechanism: SASLPlain, Username: "svc", PasswordFile: emptyFile(t)}, "--kafka-sasl-password-file"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			start := time.Now()
			_, err := CreateTopic(t.Context(), tc.servers, tc.sec, "t", 1)
			took := time.Since(start)
			if !errors.Is(err, ErrSecurity) {
				t.Fatalf("got %v, want ErrSecurity", err)
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %q does not say %q", err, tc.want)
			}
			if strings.Contains(err.Error(), "s3cret") || strings.Contains(err.Error(), "wrong\"") {
				t.Fatalf("error %q shows the password", err)
			}
			if took > DefaultConnectTimeout/2 {
				t.Fatalf("took %s: retried instead of failing at once", took)
			}
			t.Logf("%s: %v", took.Round(time.Millisecond), err)
		})
	}
	t.Run("client certificate", func(t *testing.T) {
		sec := good
		sec.CertFile, sec.KeyFile = certs.ClientCert, certs.ClientKey
		if _, err := CreateTopic(t.Context(), mtls, sec, "t", 1); err != nil {
			t.Fatal(err)
		}
	})
}

func TestSecurityValidate(t *testing.T) {
	for _, tc := range []struct {
		name string
		sec  Security
		want string
	}{
		{"CA without TLS", Security{CAFile: "ca.pem"}, "add --kafka-tls"},
		{"cert without key", Security{TLS: true, CertFile: "c.pem"}, "--kafka-tls-key-file"},
		{"unknown mechanism", Security{SASLMechanism: "GSSAPI"}, "unknown SASL mechanism"},
		{"no user", Security{SASLMechanism: SASLPlain, Password: "p"}, "--kafka-sasl-username"},
		{"no password", Security{SASLMechanism: SASLScramSHA256, Username: "u"}, "needs a password"},
		{"two passwords", Security{SASLMechanism: SASLScramSHA256, Username: "u", Password: "p", PasswordFile: "f"}, "once"},
		{"credentials without mechanism", Security{Username: "u"}, "--kafka-sasl-mechanism"},
		{"no token", Security{SASLMechanism: SASLOAuthBearer}, "--kafka-sasl-token-file"},
		{"MSK IAM without TLS", Security{SASLMechanism: SASLAWSMSKIAM}, "add --kafka-tls"},
		{"missing CA file", Security{TLS: true, CAFile: filepath.Join(t.TempDir(), "nope.pem")}, "--kafka-tls-ca-file"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.sec.Validate()
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Validate() = %v, want an error saying %q", err, tc.want)
			}
		})
	}
	if err := (Security{TLS: true, SASLMechanism: SASLAWSMSKIAM}).Validate(); err != nil {
		t.Fatalf("MSK IAM: %v", err)
	}
}

// TestSecurityStringHidesSecrets: the description for logs, and %v of the
// struct, never show the password.
func TestSecurityStringHidesSecrets(t *testing.T) {
	s := Security{TLS: true, SASLMechanism: SASLScramSHA512, Username: "svc", Password: "hunter2"}
	if got, want := s.String(), "SASL_SSL SCRAM-SHA-512 user svc"; got != want {
		t.Fatalf("String() = %q, want %q", got, want)
	}
	for _, f := range []string{"%v", "%+v", "%#v", "%s"} {
		if out := fmtSprintf(f, s); strings.Contains(out, "hunter2") {
			t.Fatalf("%s shows the password: %s", f, out)
		}
	}
	cfg := SourceConfig{Security: s}
	if out := fmtSprintf("%+v", cfg); strings.Contains(out, "hunter2") {
		t.Fatalf("%%+v of a SourceConfig shows the password: %s", out)
	}
}

// TestSecretFilesRereadAtAuth: the password and token files are read at
// every authentication, so a rotated secret is used by the next one.
func TestSecretFilesRereadAtAuth(t *testing.T) {
	tok := writeSecret(t, "token", "first")
	mech, err := Security{SASLMechanism: SASLOAuthBearer, TokenFile: tok}.mechanism()
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"first", "second"} {
		if want == "second" {
			if err := os.WriteFile(tok, []byte("second\n"), 0o600); err != nil {
				t.Fatal(err)
			}
		}
		_, msg, err := mech.Authenticate(t.Context(), "host")
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(string(msg), "auth=Bearer "+want+"\x01") {
			t.Fatalf("OAUTHBEARER message %q does not carry token %q", msg, want)
		}
	}
	pw := writeSecret(t, "pw", "one")
	mech, err = Security{SASLMechanism: SASLPlain, Username: "u", PasswordFile: pw}.mechanism()
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(pw, []byte("two"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, msg, err := mech.Authenticate(t.Context(), "host"); err != nil || string(msg) != "\x00u\x00two" {
		t.Fatalf("PLAIN message %q, %v: want the rotated password", msg, err)
	}
}

func fmtSprintf(f string, v any) string { return fmt.Sprintf(f, v) }

// TestMSKIAMSignsWithTheAWSChain: AWS_MSK_IAM takes its credentials from
// the standard AWS chain (here its environment variables) and signs for
// the broker's region, sending the access key but never the secret.
func TestMSKIAMSignsWithTheAWSChain(t *testing.T) {
	dir := t.TempDir()
	t.Setenv("AWS_ACCESS_KEY_ID", "AKIDSESSIONIZETEST")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "secret-key-never-sent")
	t.Setenv("AWS_SESSION_TOKEN", "session-token")
	t.Setenv("AWS_CONFIG_FILE", filepath.Join(dir, "config"))
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", filepath.Join(dir, "credentials"))
	t.Setenv("AWS_EC2_METADATA_DISABLED", "true")
	t.Setenv("AWS_PROFILE", "")
	mech, err := Security{TLS: true, SASLMechanism: SASLAWSMSKIAM}.mechanism()
	if err != nil {
		t.Fatal(err)
	}
	if mech.Name() != "AWS_MSK_IAM" {
		t.Fatalf("mechanism %s", mech.Name())
	}
	_, msg, err := mech.Authenticate(t.Context(), "b-1.mycluster.abc123.c2.kafka.eu-west-1.amazonaws.com:9098")
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`"action":"kafka-cluster:Connect"`, "AKIDSESSIONIZETEST", "eu-west-1/kafka-cluster/aws4_request", "session-token", `"user-agent":"sessionize"`} {
		if !strings.Contains(string(msg), want) {
			t.Errorf("signed payload does not carry %s: %s", want, msg)
		}
	}
	if strings.Contains(string(msg), "secret-key-never-sent") {
		t.Fatalf("the secret key is in the payload: %s", msg)
	}
}

func TestMSKIAMWithoutCredentialsSaysWhatToSet(t *testing.T) {
	dir := t.TempDir()
	for _, v := range []string{"AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE",
		"AWS_WEB_IDENTITY_TOKEN_FILE", "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI", "AWS_CONTAINER_CREDENTIALS_FULL_URI"} {
		t.Setenv(v, "")
	}
	t.Setenv("AWS_CONFIG_FILE", filepath.Join(dir, "config"))
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", filepath.Join(dir, "credentials"))
	t.Setenv("AWS_EC2_METADATA_DISABLED", "true")
	mech, err := Security{TLS: true, SASLMechanism: SASLAWSMSKIAM}.mechanism()
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	_, _, err = mech.Authenticate(ctx, "b-1.mycluster.abc123.c2.kafka.eu-west-1.amazonaws.com:9098")
	if err == nil || !strings.Contains(err.Error(), "AWS_ACCESS_KEY_ID") {
		t.Fatalf("got %v, want an error naming the AWS settings", err)
	}
}

func emptyFile(t *testing.T) string {
	p := filepath.Join(t.TempDir(), "empty")
	if err := os.WriteFile(p, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// TestBrokerOwnClientGetsIn: the broker's reaper (its own client) gets
// through the broker's TLS, client-certificate check and SASL.
func TestBrokerOwnClientGetsIn(t *testing.T) {
	certs := testcert.New(t, "own")
	b := startBroker(t, BrokerConfig{TLSCertFile: certs.Cert, TLSKeyFile: certs.Key, TLSClientCAFile: certs.CA,
		SASLUsers: []SASLUser{{User: "svc", Password: "pw", Mechanisms: []string{SASLScramSHA256}}}})
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	if _, err := b.reaper.adm.ListGroups(ctx); err != nil {
		t.Fatalf("the broker's own client: %v", err)
	}
	if got, want := b.Security(), "SASL_SSL client certificates required users svc"; got != want {
		t.Fatalf("Security() = %q, want %q", got, want)
	}
	// The user may use SCRAM-SHA-256 only.
	sec := Security{TLS: true, CAFile: certs.CA, CertFile: certs.ClientCert, KeyFile: certs.ClientKey,
		SASLMechanism: SASLScramSHA256, Username: "svc", Password: "pw"}
	if _, err := CreateTopic(ctx, b.Addrs(), sec, "t", 1); err != nil {
		t.Fatal(err)
	}
	sec.SASLMechanism = SASLPlain
	if _, err := CreateTopic(ctx, b.Addrs(), sec, "t", 1); !errors.Is(err, ErrSecurity) {
		t.Fatalf("PLAIN for a SCRAM-SHA-256 user: %v, want ErrSecurity", err)
	}
}

// TestBrokerUsersAreTheFlagsAfterRestart: kfake saves its SASL users in the
// data directory and would load them over the configured ones; the
// broker's users are the configured ones at every start.
func TestBrokerUsersAreTheFlagsAfterRestart(t *testing.T) {
	dir := t.TempDir()
	user := func(pw string) BrokerConfig {
		return BrokerConfig{Listen: "127.0.0.1:0", DataDir: dir, SASLUsers: []SASLUser{{User: "svc", Password: Secret(pw)}}}
	}
	sec := func(pw string) Security {
		return Security{SASLMechanism: SASLScramSHA512, Username: "svc", Password: Secret(pw)}
	}
	b := startBroker(t, user("one"))
	if _, err := CreateTopic(t.Context(), b.Addrs(), sec("one"), "kept", 2); err != nil {
		t.Fatal(err)
	}
	b.Close()
	b = startBroker(t, user("two"))
	if n, err := TopicPartitions(t.Context(), b.Addrs(), sec("two"), "kept"); err != nil || n != 2 {
		t.Fatalf("new password after restart: %d partitions, %v", n, err)
	}
	if _, err := TopicPartitions(t.Context(), b.Addrs(), sec("one"), "kept"); !errors.Is(err, ErrSecurity) {
		t.Fatalf("old password after restart: %v, want ErrSecurity", err)
	}
}
