package iceberg

import (
	"errors"
	"fmt"
	"net/url"
	"path/filepath"
	"strings"

	"github.com/sessionize/sessionize/internal/storage"
)

// Config says where the warehouse and its catalog are.
type Config struct {
	// Warehouse is where the table data, the table metadata and the
	// pipeline checkpoints live: a local directory (which also holds the
	// embedded catalog) or an object-store URL such as s3://bucket/prefix
	// (see storage.ParseLocation).
	Warehouse string
	// Storage says how to reach an object-store warehouse (S3 endpoint,
	// region, credentials); unused for a local one.
	Storage storage.Options
	// CatalogURI selects the catalog database. "" is an embedded SQLite file
	// <Warehouse>/catalog.db (one machine, local warehouse only);
	// "sqlite:///path/catalog.db" is a SQLite file elsewhere (needed for an
	// object-store warehouse); "postgres://..." or "postgresql://..." is a
	// PostgreSQL database (several writers, as long as they all see the
	// same warehouse).
	CatalogURI string
	// Namespace holds the three tables; "" means "sessionize".
	Namespace string
	// UUIDBuckets adds bucket(UUIDBuckets, uuid) to the sessions partition
	// spec when > 0. It only matters when the table is created: an existing
	// table keeps the spec it was created with.
	UUIDBuckets int
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
		return cfg, errors.New("iceberg: config: warehouse is required: a local directory or a URL such as s3://bucket/warehouse")
	}
	loc, err := storage.ParseLocation(cfg.Warehouse)
	if err != nil {
		return cfg, fmt.Errorf("iceberg: config: %w", err)
	}
	cfg.Warehouse = loc.URI
	if !loc.Local() && cfg.CatalogURI == "" {
		return cfg, fmt.Errorf("iceberg: config: warehouse %s is on object storage, which cannot hold the embedded SQLite catalog: give a catalog with --catalog-uri: sqlite:///path/catalog.db (a local file), postgres://user@host/db, or an Iceberg REST catalog https://host/path", loc.URI)
	}
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
		if _, ok := sqlitePath(cfg.CatalogURI); !ok {
			return cfg, fmt.Errorf("iceberg: config: catalog URI must be empty (embedded SQLite), sqlite:///path/catalog.db or postgres:// / postgresql://, got %q", redactURI(cfg.CatalogURI))
		}
	}
	return cfg, nil
}

// sqlitePath returns the file of a sqlite:///path URI.
func sqlitePath(uri string) (string, bool) {
	rest, ok := strings.CutPrefix(uri, "sqlite://")
	if !ok || !filepath.IsAbs(rest) {
		return "", false
	}
	return filepath.Clean(rest), true
}

// sqliteFilePath is the embedded catalog's file: from a sqlite:// URI, or
// <Warehouse>/catalog.db.
func (cfg Config) sqliteFilePath() string {
	if p, ok := sqlitePath(cfg.CatalogURI); ok {
		return p
	}
	return filepath.Join(cfg.Warehouse, sqliteFile)
}

func isPostgresURI(uri string) bool {
	lower := strings.ToLower(uri)
	return strings.HasPrefix(lower, "postgres://") || strings.HasPrefix(lower, "postgresql://")
}

// catalogDB returns the database/sql driver, the DSN and the iceberg-go SQL
// dialect for cfg (already normalized).
func (cfg Config) catalogDB() (driver, dsn, dialect string) {
	if isPostgresURI(cfg.CatalogURI) {
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
	path := cfg.sqliteFilePath()
	dsn = fmt.Sprintf("file:%s?_pragma=busy_timeout(%d)&_pragma=journal_mode(WAL)&_pragma=synchronous(FULL)&_txlock=immediate",
		path, sqliteBusyTimeoutMs)
	return sqliteDriver, dsn, "sqlite"
}

// catalogDescription names the catalog for logs without leaking a password.
func (cfg Config) catalogDescription() string {
	if isPostgresURI(cfg.CatalogURI) {
		return "postgres " + redactURI(cfg.CatalogURI)
	}
	return "sqlite " + cfg.sqliteFilePath()
}

// redactURI hides the password of a URI for error messages and logs.
func redactURI(uri string) string {
	u, err := url.Parse(uri)
	if err != nil {
		return "<unparsable URI>"
	}
	return u.Redacted()
}
