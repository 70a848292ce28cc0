//go:build unix && !linux

package pipeline

import "syscall"

// procSysProcAttr: only Linux can tie a child's life to the test process;
// elsewhere the tests' cleanups kill the children.
func procSysProcAttr() *syscall.SysProcAttr { return nil }
