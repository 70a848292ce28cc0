package iceberg

import (
	"context"
	"fmt"
	"sync"

	"github.com/apache/iceberg-go/table"
)

// Loading a table parses its metadata JSON, which lists every snapshot the
// table keeps: at a commit a second and six minutes of snapshots that was
// about 600 KiB, and a pipeline commit loaded each table three times (the
// fence check, the commit's plan and the catalog's own check), 12% of the
// job's CPU in bench/freshness. A metadata file is never rewritten (each
// commit writes a new one under a new name), so a table parsed from a
// location is the table at that location for good: load asks the catalog
// only whether the location is still current, where the catalog can
// answer that cheaply (metadataLocator), and parses only when it moved.
// The catalog is still asked on every load: a handle older than the
// catalog's current metadata is never used.

// metadataLocator is a catalog that can tell, without loading the table,
// whether its current metadata is the file at location.
type metadataLocator interface {
	isCurrent(ctx context.Context, tableName, location string) (bool, error)
}

// tableCache holds, per table, the last table this Warehouse loaded or
// committed. A table value is immutable (a transaction copies what it
// changes), so one may serve several goroutines.
type tableCache struct {
	mu     sync.Mutex
	tables map[string]*table.Table
}

func (c *tableCache) get(name string) *table.Table {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.tables[name]
}

// put remembers tbl as name's table.
func (c *tableCache) put(name string, tbl *table.Table) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.tables == nil {
		c.tables = map[string]*table.Table{}
	}
	c.tables[name] = tbl
}

// load reads the table's current metadata: the cached table if the catalog
// says its location is still current, else from the catalog.
func (w *Warehouse) load(ctx context.Context, name string) (*table.Table, error) {
	if _, err := w.info(name); err != nil {
		return nil, err
	}
	if loc, ok := w.conn.(metadataLocator); ok {
		if cached := w.cache.get(name); cached != nil {
			// An error here is the catalog's to report: the load below
			// meets it too.
			if current, err := loc.isCurrent(ctx, name, cached.MetadataLocation()); err == nil && current {
				return cached, nil
			}
		}
	}
	tbl, err := w.cat.LoadTable(ctx, w.ident(name))
	if err != nil {
		return nil, fmt.Errorf("iceberg: load table %s: %w", name, err)
	}
	w.cache.put(name, tbl)
	return tbl, nil
}

// committed remembers the table a commit of ours produced: the metadata
// iceberg-go wrote to its new location, so the next load need not parse it.
func (w *Warehouse) committed(name string, tbl *table.Table) {
	if tbl != nil {
		w.cache.put(name, tbl)
	}
}
