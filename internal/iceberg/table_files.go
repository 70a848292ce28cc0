package iceberg

import (
	"context"
	"fmt"

	iceio "github.com/apache/iceberg-go/io"
)

// A table's files are reached through the table's own IO, not the
// warehouse's storage: a REST catalog puts its tables wherever it likes
// (another bucket, another store), and only the table's IO, built from the
// catalog's properties, reaches them. The warehouse's storage holds the
// checkpoints.

// tableFS returns the IO of the named table's files.
func (w *Warehouse) tableFS(ctx context.Context, name string) (iceio.IO, error) {
	tbl, err := w.load(ctx, name)
	if err != nil {
		return nil, err
	}
	fsys, err := tbl.FS(ctx)
	if err != nil {
		return nil, fmt.Errorf("iceberg: table %s: open its IO: %w", name, err)
	}
	return fsys, nil
}
