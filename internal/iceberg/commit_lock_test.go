package iceberg

import (
	"context"
	"errors"
	"testing"
	"time"
)

func TestTableLocks(t *testing.T) {
	t.Parallel()
	l := newTableLocks([]string{TableSessions, TableLate})
	unlock, err := l.lock(t.Context(), TableSessions)
	if err != nil {
		t.Fatal(err)
	}
	// Another table's lock is independent.
	unlockLate, err := l.lock(t.Context(), TableLate)
	if err != nil {
		t.Fatalf("late_events while sessions is held: %v", err)
	}
	unlockLate()

	// A waiter gives up when its context ends.
	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Millisecond)
	defer cancel()
	if _, err := l.lock(ctx, TableSessions); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("lock of a held table with an ending context: %v, want DeadlineExceeded", err)
	}

	// A waiter gets the lock once it is released.
	got := make(chan error, 1)
	go func() {
		u, err := l.lock(t.Context(), TableSessions)
		if err == nil {
			u()
		}
		got <- err
	}()
	select {
	case err := <-got:
		t.Fatalf("lock taken while held (err %v)", err)
	case <-time.After(20 * time.Millisecond):
	}
	unlock()
	if err := <-got; err != nil {
		t.Fatalf("waiter after release: %v", err)
	}

	if _, err := l.lock(t.Context(), "nope"); err == nil {
		t.Fatal("lock of an unknown table succeeded")
	}
}
