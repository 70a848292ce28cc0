package child

import (
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestStartKillAndEnv(t *testing.T) {
	t.Setenv("SESSIONIZE_TOPIC", "from-the-user")
	dir := t.TempDir()
	p, err := Start("env", filepath.Join(dir, "env.log"), "/bin/sh", "-c", "env; exec sleep 60")
	if err != nil {
		t.Fatal(err)
	}
	if !p.Alive() {
		t.Fatal("not alive right after start")
	}
	time.Sleep(100 * time.Millisecond)
	p.Kill()
	if p.Alive() || p.Exit == nil || p.ExitedAt.IsZero() {
		t.Fatalf("after Kill: alive %v, exit %v, exited at %v", p.Alive(), p.Exit, p.ExitedAt)
	}
	p.Kill() // a second Kill of an exited process is a no-op
	log, err := os.ReadFile(p.Log)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(log), "SESSIONIZE_TOPIC") || !strings.Contains(string(log), "PATH=") {
		t.Fatalf("child environment (want PATH and no SESSIONIZE_*):\n%s", log)
	}
}

func TestWaitPort(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	if err := WaitPort(addr, time.Second); err != nil {
		t.Fatalf("listening: %v", err)
	}
	l.Close()
	if err := WaitPort(addr, 200*time.Millisecond); err == nil {
		t.Fatal("closed port: no error")
	}
}
