//go:build linux

package pipeline

import "syscall"

// procSysProcAttr makes the kernel SIGKILL a child when the test process
// dies, so a test killed by its timeout leaves no sessionize running.
func procSysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}
