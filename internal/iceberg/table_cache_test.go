package iceberg

import (
	"context"
	"sync/atomic"
	"testing"

	"github.com/apache/iceberg-go/catalog"
	"github.com/apache/iceberg-go/table"
)

// loadCounter is the warehouse's catalog, counting the loads (each one a
// read and parse of the table's metadata).
type loadCounter struct {
	catalog.Catalog
	loads atomic.Int64
}

func (c *loadCounter) LoadTable(ctx context.Context, ident table.Identifier) (*table.Table, error) {
	c.loads.Add(1)
	return c.Catalog.LoadTable(ctx, ident)
}

// testLoadParsesOnlyWhatMoved: a table is parsed from the catalog only when
// its metadata moved since this Warehouse last loaded or committed it, and
// a commit by another writer is seen at once. Before, every load parsed:
// a pipeline commit parsed each table's metadata three times.
func testLoadParsesOnlyWhatMoved(t *testing.T, cfg Config) {
	ctx := testCtx(t)
	a := openWarehouse(t, cfg)
	b := openWarehouse(t, cfg)
	counter := &loadCounter{Catalog: a.cat}
	a.cat = counter
	// The SQL catalogs can say cheaply whether a location is current.
	_, cheap := a.conn.(*sqlConn)

	current := func(w *Warehouse) int64 {
		t.Helper()
		s, ok, err := w.Current(ctx, TableSessions)
		if err != nil || !ok {
			t.Fatalf("Current: %v (snapshot: %v)", err, ok)
		}
		return s.ID
	}
	s1, err := a.Commit(ctx, Commit{Table: TableSessions, Sessions: sampleSessions(20, "a1"), ExpectParentSnapshotID: NoSnapshot})
	if err != nil {
		t.Fatal(err)
	}
	counter.loads.Store(0)
	for range 3 {
		if got := current(a); got != s1.ID {
			t.Fatalf("after its own commit A sees snapshot %d, want %d", got, s1.ID)
		}
	}
	s2, err := a.Commit(ctx, Commit{Table: TableSessions, Sessions: sampleSessions(20, "a2"), ExpectParentSnapshotID: s1.ID})
	if err != nil {
		t.Fatal(err)
	}
	if got := current(a); got != s2.ID {
		t.Fatalf("after its second commit A sees snapshot %d, want %d", got, s2.ID)
	}
	if n := counter.loads.Load(); cheap && n != 0 {
		t.Fatalf("three look-ups, a commit and one more look-up on a table nobody else changed loaded it %d times from the catalog, want 0", n)
	}

	// Another writer's commit is seen at once: the cached table is stale.
	s3, err := b.Commit(ctx, Commit{Table: TableSessions, Sessions: sampleSessions(20, "b"), ExpectParentSnapshotID: s2.ID})
	if err != nil {
		t.Fatal(err)
	}
	counter.loads.Store(0)
	if got := current(a); got != s3.ID {
		t.Fatalf("after B's commit A sees snapshot %d, want B's %d", got, s3.ID)
	}
	if got := current(a); got != s3.ID {
		t.Fatalf("A sees snapshot %d, want B's %d", got, s3.ID)
	}
	if n := counter.loads.Load(); cheap && n != 1 {
		t.Fatalf("two look-ups after B's commit loaded the table %d times from the catalog, want 1", n)
	}
	// A commits on top of B's snapshot, from the table it loaded.
	if _, err := a.Commit(ctx, Commit{Table: TableSessions, Sessions: sampleSessions(20, "a3"), ExpectParentSnapshotID: s3.ID}); err != nil {
		t.Fatalf("A's commit on B's snapshot: %v", err)
	}
	got, err := a.ReadSessions(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 80 {
		t.Fatalf("the table holds %d sessions, want the 80 of four commits", len(got))
	}
}
