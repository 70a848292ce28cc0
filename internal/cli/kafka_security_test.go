package cli

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sessionize/sessionize/internal/testcert"
)

// brokerCmd is a `sessionize broker` running in the background.
type brokerCmd struct {
	addr   string // what it printed
	stderr *syncBuffer
	cancel context.CancelFunc
	done   chan int
}

// stop interrupts the broker and returns its exit code.
func (b *brokerCmd) stop(t *testing.T) int {
	t.Helper()
	b.cancel()
	select {
	case code := <-b.done:
		b.done <- code // for the cleanup
		return code
	case <-time.After(10 * time.Second):
		t.Fatal("broker did not stop on cancel")
		return -1
	}
}

// startBrokerCmd runs `sessionize broker` with args and returns once it
// has printed its address.
func startBrokerCmd(t *testing.T, args ...string) *brokerCmd {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	var stdout syncBuffer
	b := &brokerCmd{stderr: &syncBuffer{}, cancel: cancel, done: make(chan int, 1)}
	go func() {
		b.done <- Main(ctx, append([]string{"broker"}, args...), strings.NewReader(""), &stdout, b.stderr)
	}()
	t.Cleanup(func() {
		cancel()
		<-b.done
	})
	deadline := time.Now().Add(10 * time.Second)
	for {
		if out := strings.TrimSpace(stdout.String()); out != "" {
			b.addr = out
			return b
		}
		select {
		case code := <-b.done:
			t.Fatalf("broker exited with %d: %s", code, b.stderr.String())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("broker did not start: %s", b.stderr.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestSecuredKafkaEndToEnd: `sessionize broker` with TLS and a SASL user;
// produce, check, run and table audit reach it with the --kafka-tls and
// --kafka-sasl-* flags (the password from a file and from the
// environment); every misconfiguration fails fast with the flag to fix;
// the password shows nowhere.
func TestSecuredKafkaEndToEnd(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the pipeline")
	}
	const secret = "s3cret-for-the-test"
	certs := testcert.New(t, "cli")
	t.Setenv("SESSIONIZE_BROKER_SASL_USER", "svc:"+secret)
	addr := startBrokerCmd(t, "--listen", "127.0.0.1:0", "--tls-cert-file", certs.Cert, "--tls-key-file", certs.Key, "--partitions", "2").addr
	dir := t.TempDir()
	pw := filepath.Join(dir, "pw")
	if err := os.WriteFile(pw, []byte(secret+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	wrongPw := filepath.Join(dir, "wrong")
	if err := os.WriteFile(wrongPw, []byte("nope\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	wh := filepath.Join(dir, "warehouse")
	tlsFlags := []string{"--kafka-servers", addr, "--kafka-tls", "--kafka-tls-ca-file", certs.CA}
	secured := func(extra ...string) []string {
		return append(append(append([]string(nil), tlsFlags...), "--kafka-sasl-mechanism", "SCRAM-SHA-512", "--kafka-sasl-username", "svc"), extra...)
	}
	var allStderr strings.Builder
	run := func(args ...string) (int, string, string) {
		t.Helper()
		code, out, errs := runCLI(t, args...)
		allStderr.WriteString(errs)
		allStderr.WriteString(out)
		return code, out, errs
	}

	if code, _, errs := run(append([]string{"produce", "--events", "3000"}, secured("--kafka-sasl-password-file", pw)...)...); code != 0 {
		t.Fatalf("produce: exit %d: %s", code, errs)
	}
	// From here the password comes from the environment.
	t.Setenv("SESSIONIZE_KAFKA_SASL_PASSWORD", secret)
	if code, out, errs := run(append([]string{"check", "--topic", "clickstream", "--json"}, secured()...)...); code != 0 || !strings.Contains(out, `"records": 3000`) {
		t.Fatalf("check: exit %d: %s%s", code, out, errs)
	}
	insecure := []string{"check", "--topic", "clickstream", "--kafka-servers", addr, "--kafka-tls", "--kafka-tls-insecure-skip-verify",
		"--kafka-sasl-mechanism", "PLAIN", "--kafka-sasl-username", "svc"}
	if code, _, errs := run(insecure...); code != 0 || !strings.Contains(errs, "NOT VERIFIED") {
		t.Fatalf("check --kafka-tls-insecure-skip-verify: exit %d, no loud warning: %s", code, errs)
	}
	if code, _, errs := run(append([]string{"run", "--warehouse", wh, "--stop-when-idle", "1s", "--drain", "--http-addr", "", "--commit-interval", "200ms"}, secured()...)...); code != 0 {
		t.Fatalf("run: exit %d: %s", code, errs)
	}
	if code, out, errs := run(append([]string{"table", "audit", "--warehouse", wh}, secured()...)...); code != 0 {
		t.Fatalf("table audit: exit %d: %s%s", code, out, errs)
	}
	if !strings.Contains(allStderr.String(), "security=\"SASL_SSL SCRAM-SHA-512 user svc\"") {
		t.Errorf("run does not log how it connects:\n%s", allStderr.String())
	}

	t.Setenv("SESSIONIZE_KAFKA_SASL_PASSWORD", "")
	for _, tc := range []struct {
		name string
		args []string
		code int
		want string
	}{
		{"wrong password", secured("--kafka-sasl-password-file", wrongPw), ExitError, "--kafka-sasl-username"},
		{"no password", secured(), ExitUsage, "--kafka-sasl-password-file"},
		{"no TLS", []string{"--kafka-servers", addr, "--kafka-sasl-mechanism", "SCRAM-SHA-512", "--kafka-sasl-username", "svc", "--kafka-sasl-password-file", pw}, ExitError, "add --kafka-tls"},
		{"no SASL", tlsFlags, ExitError, "--kafka-sasl-mechanism"},
		{"unknown CA", []string{"--kafka-servers", addr, "--kafka-tls", "--kafka-sasl-mechanism", "PLAIN", "--kafka-sasl-username", "svc", "--kafka-sasl-password-file", pw}, ExitError, "--kafka-tls-ca-file"},
		{"password on the command line", secured("--kafka-sasl-password", secret), ExitUsage, "SESSIONIZE_KAFKA_SASL_PASSWORD"},
		{"unknown mechanism", secured("--kafka-sasl-mechanism", "GSSAPI"), ExitUsage, "unknown SASL mechanism"},
	} {
		for _, cmd := range [][]string{
			{"run", "--warehouse", filepath.Join(dir, "wh-"+strings.ReplaceAll(tc.name, " ", "-")), "--http-addr", ""},
			{"produce", "--events", "10"},
			{"check", "--topic", "clickstream"},
		} {
			t.Run(tc.name+"/"+cmd[0], func(t *testing.T) {
				start := time.Now()
				code, _, errs := run(append(cmd, tc.args...)...)
				if code != tc.code || !strings.Contains(errs, tc.want) {
					t.Fatalf("exit %d (want %d), stderr does not say %q:\n%s", code, tc.code, tc.want, errs)
				}
				if took := time.Since(start); took > 5*time.Second {
					t.Fatalf("took %s to fail", took)
				}
			})
		}
	}
	code, out, _ := run("run", "--help")
	if code != 0 || !strings.Contains(out, "--kafka-sasl-password-file") {
		t.Fatalf("run --help: exit %d", code)
	}
	if strings.Contains(allStderr.String(), secret) {
		t.Fatalf("the password shows in the output:\n%s", allStderr.String())
	}
}

// TestBrokerSASLUserErrorsHidePasswords: a malformed --sasl-user (or
// SESSIONIZE_BROKER_SASL_USER) is a usage error that does not quote it.
func TestBrokerSASLUserErrorsHidePasswords(t *testing.T) {
	code, _, errs := runCLI(t, "broker", "--listen", "127.0.0.1:0", "--sasl-user", "svc;hunter2")
	if code != ExitUsage || strings.Contains(errs, "hunter2") || !strings.Contains(errs, "--sasl-user") {
		t.Fatalf("exit %d: %s", code, errs)
	}
	t.Setenv("SESSIONIZE_BROKER_SASL_USER", "ok:fine,svc;hunter2")
	code, _, errs = runCLI(t, "broker", "--listen", "127.0.0.1:0")
	if code != ExitUsage || strings.Contains(errs, "hunter2") || strings.Contains(errs, "fine") {
		t.Fatalf("from the environment: exit %d: %s", code, errs)
	}
}
