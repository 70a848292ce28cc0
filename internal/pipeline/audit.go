package pipeline

import (
	"context"
	"fmt"

	"github.com/sessionize/sessionize/internal/iceberg"
)

// Account is the nothing-lost account of a warehouse, made from the tables
// alone: rows in the three tables plus the counters the pipeline keeps in
// the sessions table's snapshot summary.
type Account struct {
	Records    int64 // records the pipeline consumed, per its counters
	Sessions   int64 // rows in sessions
	InSessions int64 // sum of event_count
	Duplicates int64
	Late       int64 // rows in late_events
	Rejected   int64 // rows in rejected_events
	Open       int64 // events in sessions still open at the last commit
}

// Holds reports whether every consumed record is accounted for.
func (a Account) Holds() bool {
	return a.Records == a.InSessions+a.Duplicates+a.Late+a.Rejected+a.Open
}

func (a Account) String() string {
	verdict := "OK"
	if !a.Holds() {
		verdict = "DOES NOT ADD UP"
	}
	open := ""
	if a.Open > 0 {
		open = fmt.Sprintf(" + still open %d", a.Open)
	}
	return fmt.Sprintf("records %d = in sessions %d + duplicates %d + late %d + rejected %d%s: %s",
		a.Records, a.InSessions, a.Duplicates, a.Late, a.Rejected, open, verdict)
}

// Audit reads the tables and makes the account.
func Audit(ctx context.Context, wh *iceberg.Warehouse) (Account, error) {
	var a Account
	var err error
	if a.Sessions, a.InSessions, err = wh.SessionTotals(ctx); err != nil {
		return a, err
	}
	for table, n := range map[string]*int64{iceberg.TableLate: &a.Late, iceberg.TableRejected: &a.Rejected} {
		byPartition, err := wh.RowsByPartition(ctx, table)
		if err != nil {
			return a, err
		}
		for _, rows := range byPartition {
			*n += rows
		}
	}
	snap, ok, err := wh.Current(ctx, iceberg.TableSessions)
	if err != nil || !ok {
		return a, err
	}
	pr, err := parseProgress(snap.Summary)
	if err != nil {
		return a, err
	}
	for _, c := range pr.counters {
		a.Records += c.Records
		a.Duplicates += c.Duplicates
		a.Open += c.Open
	}
	return a, nil
}
