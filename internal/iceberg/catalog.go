package iceberg

import (
	"context"

	"github.com/apache/iceberg-go/catalog"
)

// Every table operation goes through iceberg-go's catalog.Catalog. What that
// interface does not say, and differs between catalogs, is here: how a
// catalog is reached and closed, how it is named in logs, and how it says
// that a table commit certainly did not happen. One file per kind:
// catalog_sql.go (SQLite, PostgreSQL), catalog_rest.go (Iceberg REST). A
// new catalog is a new file and one more entry in catalogKinds.

// catalogKind is one kind of catalog: which URIs it takes and how to open it.
type catalogKind struct {
	// name is what reports show: "sqlite", "postgres", "rest".
	name string
	// accepts reports whether a --catalog-uri is of this kind.
	accepts func(uri string) bool
	// check says what is wrong with cfg for this kind, before anything is
	// opened.
	check func(cfg Config) error
	// open connects to the catalog. Unless mode.creates() it creates
	// nothing (no catalog database or tables, no migrations), and in
	// openReadOnly mode it writes nothing at all.
	open func(ctx context.Context, cfg Config, mode openMode) (catalogConn, error)
}

// catalogKinds lists the catalogs sessionize can use; the first that
// accepts the URI is used.
func catalogKinds() []catalogKind {
	return []catalogKind{sqliteCatalog(), postgresCatalog(), restCatalog()}
}

// catalogConn is an open catalog.
type catalogConn interface {
	// catalog is the iceberg-go catalog the tables are loaded, created and
	// committed through.
	catalog() catalog.Catalog
	// String names the catalog for logs and errors, without secrets.
	String() string
	// refused reports whether err, returned by a table commit (a
	// Transaction's Commit or CommitTable), means the catalog refused the
	// commit without recording anything: the table was not at the
	// snapshot the commit required (a conflict). Any other error may or
	// may not have been recorded: the outcome is unknown, and the caller
	// reloads the table to find out (docs/commit-protocol.md).
	refused(err error) bool
	// close releases connections.
	close() error
}

// openMode says whether Open may create and change things.
type openMode int

const (
	// openCreate creates the catalog's own tables, the namespace and the
	// three tables if they are missing.
	openCreate openMode = iota
	// openExisting needs the tables to exist already and creates nothing,
	// but may commit (table maintain).
	openExisting
	// openReadOnly only reads: the tables must exist, and nothing is
	// written to the catalog or the warehouse.
	openReadOnly
)

// creates reports whether the mode creates what is missing.
func (m openMode) creates() bool { return m == openCreate }
