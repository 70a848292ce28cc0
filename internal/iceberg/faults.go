package iceberg

import (
	"context"
	"errors"
	"fmt"

	"github.com/apache/iceberg-go/table"
)

// FaultInjector makes catalog commits fail on purpose: for tests and fault
// drills; nil in production. Its functions may be called concurrently (one
// Warehouse is safe for concurrent use) and must not retain ctx.
type FaultInjector struct {
	// BeforeCommit runs after a commit's data files are written and its
	// snapshot staged, just before the catalog is asked. An error stands
	// for a catalog call that failed without recording anything: the
	// commit does not happen and Commit treats the error as the catalog's
	// own (ErrCommitUnknown, files kept, unless the error reads as a
	// conflict). It may block, e.g. until ctx is done, to stand for a
	// catalog that hangs.
	BeforeCommit func(ctx context.Context, table string) error
	// AfterCommit runs after the catalog recorded the commit. An error
	// stands for an answer lost on the way back (the connection broke
	// after the commit and stayed broken): Commit returns an error
	// wrapping ErrCommitUnknown although the snapshot is in the table.
	AfterCommit func(ctx context.Context, table string) error
}

// errAnswerLost marks an AfterCommit fault: the commit is in the table.
var errAnswerLost = errors.New("iceberg: injected fault: the catalog's answer was lost")

// catalogCommit is tx.Commit with f's faults around it; f may be nil.
func (f *FaultInjector) catalogCommit(ctx context.Context, tableName string, tx *table.Transaction) (*table.Table, error) {
	if f != nil && f.BeforeCommit != nil {
		if err := f.BeforeCommit(ctx, tableName); err != nil {
			return nil, fmt.Errorf("iceberg: injected fault before the catalog commit: %w", err)
		}
	}
	committed, err := tx.Commit(ctx)
	if err == nil && f != nil && f.AfterCommit != nil {
		if ferr := f.AfterCommit(ctx, tableName); ferr != nil {
			return nil, fmt.Errorf("%w: %w", errAnswerLost, ferr)
		}
	}
	return committed, err
}
