package testservers

import (
	"bytes"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
	"time"
)

// VersityGWInstall is how CI gets versitygw (.ci/run runs it).
const VersityGWInstall = "go install github.com/versity/versitygw/cmd/versitygw@v1.8.0"

// StartVersityGW starts versitygw, a production S3 gateway, with its posix
// backend in a temporary directory, and a bucket. It checks request
// signatures, so wrong keys fail as they would on AWS.
func StartVersityGW(t testing.TB) S3 {
	t.Helper()
	bin := findBinary(t, "versitygw", VersityGWInstall)
	root := t.TempDir()
	const bucket = "lake"
	// The posix backend serves each top-level directory as a bucket.
	if err := os.Mkdir(filepath.Join(root, bucket), 0o755); err != nil {
		t.Fatal(err)
	}
	s := S3{Name: "versitygw", Bucket: bucket, AccessKey: "sessionize-test", SecretKey: "sessionize-test-secret"}
	var lastErr error
	for range 5 { // a free port can be taken before the server binds it
		addr, err := freeAddr()
		if err != nil {
			t.Fatal(err)
		}
		var log bytes.Buffer
		cmd := exec.Command(bin, "--access", s.AccessKey, "--secret", s.SecretKey, "--port", addr, "posix", root)
		cmd.Stdout, cmd.Stderr = &syncWriter{w: &log}, &syncWriter{w: &log}
		if err := cmd.Start(); err != nil {
			t.Fatalf("start versitygw: %v", err)
		}
		exited := make(chan error, 1)
		go func() { exited <- cmd.Wait() }()
		if lastErr = waitListening(addr, exited, 20*time.Second); lastErr == nil {
			t.Cleanup(func() {
				_ = cmd.Process.Kill()
				<-exited
			})
			s.Endpoint = "http://" + addr
			return s
		}
		_ = cmd.Process.Kill()
		<-exited
		lastErr = fmt.Errorf("%w\n%s", lastErr, log.String())
	}
	t.Fatalf("versitygw did not start: %v", lastErr)
	return S3{}
}

func freeAddr() (string, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer l.Close()
	return l.Addr().String(), nil
}

// waitListening waits until addr accepts connections or the process exits.
func waitListening(addr string, exited <-chan error, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		select {
		case err := <-exited:
			return fmt.Errorf("exited: %v", err)
		default:
		}
		if c, err := net.DialTimeout("tcp", addr, 200*time.Millisecond); err == nil {
			_ = c.Close()
			return nil
		}
		time.Sleep(50 * time.Millisecond)
	}
	return fmt.Errorf("not listening on %s after %s", addr, timeout)
}

type syncWriter struct {
	mu sync.Mutex
	w  *bytes.Buffer
}

func (s *syncWriter) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.w.Write(p)
}
