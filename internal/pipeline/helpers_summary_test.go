package pipeline

import (
	"context"

	"github.com/sessionize/sessionize/internal/iceberg"
)

// Account and Audit let the tests here check the nothing-lost account;
// the audit itself is iceberg.Warehouse.Audit.
type Account = iceberg.Account

func Audit(ctx context.Context, wh *iceberg.Warehouse) (Account, error) {
	a, err := wh.Audit(ctx)
	return a.Account, err
}

// writerOf is the pipeline instance that wrote a snapshot.
func writerOf(summary map[string]string) string {
	s, _ := iceberg.ParseSummary(summary)
	return s.Writer
}
