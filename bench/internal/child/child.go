// Package child runs the sessionize processes of a benchmark (broker, run,
// producer) as children with a log file each, without the user's
// SESSIONIZE_* settings, so that what is measured is the defaults plus the
// benchmark's own flags.
package child

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"slices"
	"strings"
	"time"
)

// Proc is one child process.
type Proc struct {
	Name    string
	Log     string // path of its combined stdout and stderr
	Cmd     *exec.Cmd
	Started time.Time
	// ExitedAt and Exit are set once Done is closed.
	ExitedAt time.Time
	Exit     error
	done     chan struct{}
}

// Start runs bin with args, its output to logPath.
func Start(name, logPath, bin string, args ...string) (*Proc, error) {
	f, err := os.Create(logPath)
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(bin, args...)
	cmd.Stdout, cmd.Stderr = f, f
	cmd.Env = CleanEnv()
	if err := cmd.Start(); err != nil {
		f.Close()
		return nil, fmt.Errorf("starting %s: %w", name, err)
	}
	p := &Proc{Name: name, Log: logPath, Cmd: cmd, Started: time.Now(), done: make(chan struct{})}
	go func() {
		p.Exit = cmd.Wait()
		p.ExitedAt = time.Now()
		f.Close()
		close(p.done)
	}()
	return p, nil
}

// Done is closed when the process has exited.
func (p *Proc) Done() <-chan struct{} { return p.done }

// Alive reports whether the process is still running.
func (p *Proc) Alive() bool {
	select {
	case <-p.done:
		return false
	default:
		return true
	}
}

// Kill kills the process (kill -9) and waits for it; a process that has
// exited already is left alone.
func (p *Proc) Kill() {
	if p.Alive() {
		_ = p.Cmd.Process.Kill()
		<-p.done
	}
}

// CleanEnv is the environment without SESSIONIZE_* settings.
func CleanEnv() []string {
	return slices.DeleteFunc(os.Environ(), func(kv string) bool { return strings.HasPrefix(kv, "SESSIONIZE_") })
}

// WaitPort waits until something accepts TCP connections at addr.
func WaitPort(addr string, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		if c, err := net.Dial("tcp", addr); err == nil {
			c.Close()
			return nil
		}
		time.Sleep(50 * time.Millisecond)
	}
	return fmt.Errorf("nothing listens at %s after %s", addr, timeout)
}
