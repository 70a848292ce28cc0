package iceberg

import (
	"context"
	"fmt"
	"os"
	"strings"
	"time"

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

// touchTableFile sets the modification time of a table file to about t:
// on a local disk with Chtimes, elsewhere by writing the file again (an
// object store has no such call).
func touchTableFile(fsys iceio.IO, loc string, t time.Time) error {
	if path, ok := strings.CutPrefix(loc, "file://"); ok || !strings.Contains(loc, "://") {
		if !ok {
			path = loc
		}
		return os.Chtimes(path, t, t)
	}
	rw, ok := fsys.(interface {
		iceio.ReadFileIO
		iceio.WriteFileIO
	})
	if !ok {
		return fmt.Errorf("iceberg: the IO of %s cannot rewrite it (%T)", loc, fsys)
	}
	data, err := rw.ReadFile(loc)
	if err != nil {
		return err
	}
	return rw.WriteFile(loc, data)
}
