package iceberg

import (
	"errors"
	"fmt"
	"net/url"
	"path/filepath"
	"strings"
)

// Config says where the warehouse and its catalog are.
type Config struct {
	// Warehouse is the local directory that holds the table data, the table
	// metadata, the embedded catalog and the pipeline checkpoints.
	Warehouse string
	// CatalogURI selects the catalog database. "" is an embedded SQLite file
	// <Warehouse>/catalog.db (one machine); "postgres://..." or
	// "postgresql://..." is a PostgreSQL database (several writers, as long
	// as they all see the same warehouse directory).
	CatalogURI string
	// Namespace holds the three tables; "" means "sessionize".
	Namespace string
	// UUIDBuckets adds bucket(UUIDBuckets, uuid) to the sessions partition
	// spec when > 0. It only matters when the table is created: an existing
	// table keeps the spec it was created with.
	UUIDBuckets int
	// EventsTable also opens (creating if missing) the opt-in events
	// table.
	EventsTable bool
	// WritesSessionAttrs is set by the writers of the sessions table
	// (batch --output-table, run): the table's attribute columns must
	// then be SessionAttrs, the missing ones added (see attrs.go).
	WritesSessionAttrs bool
	SessionAttrs       []AttrColumn
	// Faults injects catalog commit failures: for tests and fault
	// drills; nil in production.
	Faults *FaultInjector
}

const (
	defaultNamespace = "sessionize"
	// catalogName is stored in every catalog row; one name for all
	// sessionize processes so they share the tables.
	catalogName = "sessionize"
	sqliteFile  = "catalog.db"
	// sqliteBusyTimeoutMs bounds how long a catalog operation waits for
	// another process holding the SQLite write lock before failing.
	sqliteBusyTimeoutMs = 30000
)

// normalized returns cfg with defaults applied and the warehouse made
// absolute, or an error saying what is wrong with it.
func (cfg Config) normalized() (Config, error) {
	if cfg.Warehouse == "" {
		return cfg, errors.New("iceberg: config: warehouse directory is required")
	}
	abs, err := filepath.Abs(cfg.Warehouse)
	if err != nil {
		return cfg, fmt.Errorf("iceberg: config: warehouse %q: %w", cfg.Warehouse, err)
	}
	// iceberg-go builds table locations with url.JoinPath, which escapes
	// characters such as spaces; the escaped location would then name a
	// different local directory. Refuse such paths instead of scattering
	// files in two places.
	if escaped := (&url.URL{Path: abs}).EscapedPath(); escaped != abs {
		return cfg, fmt.Errorf("iceberg: config: warehouse path %q contains characters that need URL escaping; use a plain path", abs)
	}
	cfg.Warehouse = abs
	if cfg.Namespace == "" {
		cfg.Namespace = defaultNamespace
	}
	if strings.Contains(cfg.Namespace, ".") {
		return cfg, fmt.Errorf("iceberg: config: namespace %q must not contain '.'", cfg.Namespace)
	}
	if cfg.UUIDBuckets < 0 {
		return cfg, fmt.Errorf("iceberg: config: uuid buckets must be >= 0, got %d", cfg.UUIDBuckets)
	}
	if cfg.CatalogURI != "" && !isPostgresURI(cfg.CatalogURI) {
		return cfg, fmt.Errorf("iceberg: config: catalog URI must be empty (embedded SQLite) or postgres:// / postgresql://, got %q", redactURI(cfg.CatalogURI))
	}
	return cfg, nil
}

func isPostgresURI(uri string) bool {
	lower := strings.ToLower(uri)
	return strings.HasPrefix(lower, "postgres://") || strings.HasPrefix(lower, "postgresql://")
}

// catalogDB returns the database/sql driver, the DSN and the iceberg-go SQL
// dialect for cfg (already normalized).
func (cfg Config) catalogDB() (driver, dsn, dialect string) {
	if cfg.CatalogURI != "" {
		return postgresDriver, cfg.CatalogURI, "postgres"
	}
	// WAL lets readers proceed while another process commits.
	// busy_timeout makes a second process wait for the write lock instead
	// of failing at once. _txlock=immediate takes that lock at BEGIN of
	// every read-write transaction (read-only ones stay deferred): a
	// deferred transaction that reads and then writes (iceberg-go's
	// CreateTable) fails with SQLITE_BUSY without waiting if another
	// process wrote in between, which made concurrent Opens fail.
	// synchronous(FULL) because a catalog row is the commit point of
	// exactly-once output and must survive a power cut.
	path := filepath.Join(cfg.Warehouse, sqliteFile)
	dsn = fmt.Sprintf("file:%s?_pragma=busy_timeout(%d)&_pragma=journal_mode(WAL)&_pragma=synchronous(FULL)&_txlock=immediate",
		path, sqliteBusyTimeoutMs)
	return sqliteDriver, dsn, "sqlite"
}

// catalogDescription names the catalog for logs without leaking a password.
func (cfg Config) catalogDescription() string {
	if cfg.CatalogURI != "" {
		return "postgres " + redactURI(cfg.CatalogURI)
	}
	return "sqlite " + filepath.Join(cfg.Warehouse, sqliteFile)
}

// redactURI hides the password of a URI for error messages and logs.
func redactURI(uri string) string {
	u, err := url.Parse(uri)
	if err != nil {
		return "<unparsable URI>"
	}
	return u.Redacted()
}
