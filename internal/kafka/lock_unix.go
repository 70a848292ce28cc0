//go:build unix

package kafka

import (
	"os"
	"syscall"
)

// lockDir takes an exclusive lock on path (created if need be), so two
// brokers never share a data directory. The kernel drops the lock when the
// process dies, kill -9 included.
func lockDir(path string) (unlock func(), err error) {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return nil, err
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		f.Close()
		return nil, err
	}
	return func() {
		syscall.Flock(int(f.Fd()), syscall.LOCK_UN)
		f.Close()
	}, nil
}
