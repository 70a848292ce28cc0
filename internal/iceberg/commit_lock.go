package iceberg

import (
	"context"
	"fmt"
)

// tableLocks serializes the commits one Warehouse makes to each table.
//
// Every commit is a compare-and-swap on the table's main branch, so two
// writers that stage on the same head cannot both win, and the loser must
// redo its work. Between processes that is the only way. Within one, the
// pipeline and the maintenance it runs (run --maintain-every) share a
// Warehouse, and taking turns costs far less than racing: a pipeline that
// commits every second otherwise wins nearly every race against
// compaction, whose staging takes longer, until compaction gives up; and
// each race compaction wins costs the pipeline a rewrite of its data files.
// With the lock, maintenance commits between the pipeline's commits and
// neither loses to the other.
//
// The lock covers a commit from loading the head to the catalog's answer,
// not the expensive part of compaction (reading and writing the data),
// which runs outside it: a pipeline commit waits at most for one
// maintenance commit's staging.
//
// A channel per table rather than a sync.Mutex, so a waiter gives up when
// its context ends. The map is filled by Open and only read afterwards.
type tableLocks map[string]chan struct{}

func newTableLocks(names []string) tableLocks {
	l := make(tableLocks, len(names))
	for _, n := range names {
		l[n] = make(chan struct{}, 1)
	}
	return l
}

// lock takes the commit lock of table name, waiting until it is free or
// ctx is done, and returns the function that releases it.
func (l tableLocks) lock(ctx context.Context, name string) (unlock func(), err error) {
	ch, ok := l[name]
	if !ok {
		return nil, fmt.Errorf("iceberg: no commit lock for table %q", name)
	}
	select {
	case ch <- struct{}{}:
		return func() { <-ch }, nil
	case <-ctx.Done():
		return nil, fmt.Errorf("iceberg: waiting for the commit lock of %s: %w", name, context.Cause(ctx))
	}
}
