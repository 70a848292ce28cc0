package iceberg

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/apache/iceberg-go"
	"github.com/apache/iceberg-go/catalog"
	sqlcat "github.com/apache/iceberg-go/catalog/sql"
	"github.com/apache/iceberg-go/table"

	// The SQL catalog talks to its database through database/sql, so the
	// drivers must be linked in. Both are pure Go: the binary keeps
	// building with CGO_ENABLED=0.
	_ "github.com/jackc/pgx/v5/stdlib" // registers database/sql driver "pgx"
	_ "modernc.org/sqlite"             // registers database/sql driver "sqlite"
)

// iceberg-go's SQL catalog on SQLite (embedded, one machine) or PostgreSQL
// (several machines). A commit is an UPDATE of the table's row that
// requires the metadata location it started from: a table that moved makes
// iceberg-go return table.ErrCommitFailed, and a requirement checked before
// that (main at the expected snapshot) a plain "requirement failed" error.
// Either way nothing was recorded. A broken connection mid-commit is an
// unknown outcome.

const (
	sqliteDriver   = "sqlite"
	postgresDriver = "pgx"
	// embeddedCatalogFile is the SQLite catalog inside a local warehouse
	// when no --catalog-uri is given.
	embeddedCatalogFile = "catalog.db"
	// sqliteBusyTimeoutMs bounds how long a catalog operation waits for
	// another process holding the SQLite write lock before failing.
	sqliteBusyTimeoutMs = 30000
)

// EmbeddedCatalog is the SQLite catalog file of a local warehouse opened
// without a catalog URI.
func EmbeddedCatalog(warehouse string) string {
	return filepath.Join(warehouse, embeddedCatalogFile)
}

func sqliteCatalog() catalogKind {
	return catalogKind{
		name:    "sqlite",
		accepts: func(uri string) bool { return uri == "" || hasScheme(uri, "sqlite") },
		check: func(cfg Config) error {
			if _, err := sqlitePath(cfg); err != nil {
				return err
			}
			return restOnlyOptions(cfg)
		},
		open: func(ctx context.Context, cfg Config, mode openMode) (catalogConn, error) {
			path, _ := sqlitePath(cfg)
			if !mode.creates() {
				if _, err := os.Stat(path); errors.Is(err, fs.ErrNotExist) {
					return nil, fmt.Errorf("iceberg: no warehouse at %s (no catalog %s): nothing was written there yet (sessionize run, demo or batch --output-table create it); give the --warehouse and --catalog-uri it was written with",
						cfg.Warehouse, path)
				}
			}
			conn, err := openSQL(ctx, cfg, mode, sqliteDriver, sqliteDSN(path, mode), sqlcat.SQLite, "sqlite "+path)
			if err != nil && mode == openReadOnly && sqliteReadOnlyDir(err, path) {
				// A WAL database in a directory we cannot write: SQLite
				// cannot create the -shm file even read-only. With no
				// -wal file (no writer, nothing uncheckpointed) the file
				// alone is the whole catalog, and immutable=1 reads it
				// without the -shm.
				conn, err = openSQL(ctx, cfg, mode, sqliteDriver, sqliteDSN(path, mode)+"&immutable=1", sqlcat.SQLite, "sqlite "+path+" (immutable)")
			}
			return conn, err
		},
	}
}

func postgresCatalog() catalogKind {
	return catalogKind{
		name:    "postgres",
		accepts: func(uri string) bool { return hasScheme(uri, "postgres", "postgresql") },
		check:   restOnlyOptions,
		open: func(ctx context.Context, cfg Config, mode openMode) (catalogConn, error) {
			dsn, err := postgresDSN(cfg.CatalogURI, mode)
			if err != nil {
				return nil, err
			}
			return openSQL(ctx, cfg, mode, postgresDriver, dsn, sqlcat.Postgres, "postgres "+redactURI(cfg.CatalogURI))
		},
	}
}

// sqlitePath is the catalog file: sqlite:///abs/path, or the embedded one.
func sqlitePath(cfg Config) (string, error) {
	if cfg.CatalogURI == "" {
		return EmbeddedCatalog(cfg.Warehouse), nil
	}
	u, err := url.Parse(cfg.CatalogURI)
	if err != nil || u.Host != "" || !filepath.IsAbs(u.Path) || u.RawQuery != "" {
		return "", fmt.Errorf("catalog URI %q: want sqlite:///absolute/path/catalog.db (three slashes, no options)", cfg.CatalogURI)
	}
	return filepath.Clean(u.Path), nil
}

// restOnlyOptions refuses options that only a REST catalog has, rather
// than ignoring a credential the user expects to be used.
func restOnlyOptions(cfg Config) error {
	o := cfg.Catalog
	if o.Credential != "" || o.Token != "" || o.OAuth2ServerURI != "" || o.Warehouse != "" {
		return errors.New("a catalog credential, token, OAuth2 server or catalog warehouse is for an Iceberg REST catalog (--catalog-uri http(s)://...)")
	}
	return nil
}

// sqliteDSN opens the catalog file. Read-write: WAL lets readers proceed
// while another process commits. busy_timeout makes a second process wait
// for the write lock instead of failing at once. _txlock=immediate takes
// that lock at BEGIN of every read-write transaction (read-only ones stay
// deferred): a deferred transaction that reads and then writes
// (iceberg-go's CreateTable) fails with SQLITE_BUSY without waiting if
// another process wrote in between, which made concurrent Opens fail.
// synchronous(FULL) because a catalog row is the commit point of
// exactly-once output and must survive a power cut.
//
// Read-only: mode=ro, so SQLite itself refuses any write, and no pragma
// that would change the file.
func sqliteDSN(path string, mode openMode) string {
	if mode == openReadOnly {
		return fmt.Sprintf("file:%s?mode=ro&_pragma=busy_timeout(%d)", path, sqliteBusyTimeoutMs)
	}
	return fmt.Sprintf("file:%s?_pragma=busy_timeout(%d)&_pragma=journal_mode(WAL)&_pragma=synchronous(FULL)&_txlock=immediate",
		path, sqliteBusyTimeoutMs)
}

// sqliteReadOnlyDir reports whether err is SQLite failing to open the WAL
// catalog at path read-only because it cannot create the -shm file, and
// there is no -wal file that immutable=1 would ignore.
func sqliteReadOnlyDir(err error, path string) bool {
	if !strings.Contains(strings.ToLower(err.Error()), "readonly") {
		return false
	}
	st, serr := os.Stat(path + "-wal")
	return errors.Is(serr, fs.ErrNotExist) || (serr == nil && st.Size() == 0)
}

// postgresDSN is the URI, read-only sessions for openReadOnly: PostgreSQL
// then refuses any write itself.
func postgresDSN(uri string, mode openMode) (string, error) {
	if mode != openReadOnly {
		return uri, nil
	}
	u, err := url.Parse(uri)
	if err != nil {
		return "", fmt.Errorf("iceberg: catalog URI %s: %w", redactURI(uri), err)
	}
	q := u.Query()
	q.Set("default_transaction_read_only", "on")
	u.RawQuery = q.Encode()
	return u.String(), nil
}

type sqlConn struct {
	db     *sql.DB
	driver string
	cat    *sqlcat.Catalog
	desc   string
}

// openSQL opens the database and iceberg-go's SQL catalog on it. The
// *sql.DB is opened here rather than by catalog.Load so its lifetime is
// ours and no ~/.iceberg-go.yaml defaults leak in.
func openSQL(ctx context.Context, cfg Config, mode openMode, driver, dsn string, dialect sqlcat.SupportedDialect, desc string) (catalogConn, error) {
	db, err := sql.Open(driver, dsn)
	if err != nil {
		return nil, fmt.Errorf("iceberg: open catalog %s: %w", desc, err)
	}
	props := iceberg.Properties{}
	// Table IO properties (e.g. s3.endpoint); the ones below win.
	maps.Copy(props, cfg.Catalog.Props)
	// Tables go to <warehouse>/<namespace>.db/<table>.
	props["warehouse"] = cfg.Warehouse
	// Creates iceberg_tables / iceberg_namespace_properties if missing;
	// a read-only open must not.
	props["init_catalog_tables"] = fmt.Sprint(mode.creates())

	// Processes opening a new warehouse at the same time collide while
	// the catalog database is being set up: SQLite's switch to WAL needs
	// a moment of exclusive access and does not wait for it, and on
	// PostgreSQL concurrent "CREATE TABLE IF NOT EXISTS" can fail with a
	// unique violation in the system catalog. Both settle at once, so
	// the loser tries again.
	const attempts = 10
	for attempt := 1; ; attempt++ {
		var cat *sqlcat.Catalog
		err = db.PingContext(ctx)
		if err == nil {
			cat, err = sqlcat.NewCatalog(catalogName, db, dialect, props)
		}
		if err == nil {
			return &sqlConn{db: db, driver: driver, cat: cat, desc: desc}, nil
		}
		if attempt == attempts || ctx.Err() != nil {
			break
		}
		if sleepCtx(ctx, time.Duration(attempt)*20*time.Millisecond) != nil {
			break
		}
	}
	_ = db.Close()
	return nil, fmt.Errorf("iceberg: connect to catalog %s: %w", desc, err)
}

func (c *sqlConn) catalog() catalog.Catalog { return c.cat }
func (c *sqlConn) String() string           { return c.desc }
func (c *sqlConn) close() error             { return errors.Join(c.cat.Close(), c.db.Close()) }

// isCurrent asks the catalog's row of the table whether its metadata is at
// location (table_cache.go): one indexed read instead of reading and
// parsing the metadata. iceberg_tables is the JDBC catalog's table, the
// layout iceberg-go shares with Java and PyIceberg; the row is found by
// name and location rather than by iceberg-go's encoding of the
// namespace: a metadata file belongs to one table.
func (c *sqlConn) isCurrent(ctx context.Context, tableName, location string) (bool, error) {
	q := "SELECT COUNT(*) FROM iceberg_tables WHERE catalog_name = ? AND table_name = ? AND metadata_location = ?"
	if c.driver == postgresDriver {
		q = "SELECT COUNT(*) FROM iceberg_tables WHERE catalog_name = $1 AND table_name = $2 AND metadata_location = $3"
	}
	var n int
	if err := c.db.QueryRowContext(ctx, q, catalogName, tableName, location).Scan(&n); err != nil {
		return false, fmt.Errorf("iceberg: catalog %s: looking up the metadata of %s: %w", c.desc, tableName, err)
	}
	return n == 1, nil
}

func (c *sqlConn) refused(err error) bool {
	if errors.Is(err, table.ErrCommitFailed) || errors.Is(err, table.ErrCommitDiverged) {
		return true
	}
	// iceberg-go returns failed requirements (e.g. "requirement failed:
	// branch main has changed: expected id 1, found 2") as plain errors
	// with no sentinel. The SQL catalog checks requirements before it
	// writes anything, so such a commit certainly did not happen.
	return strings.Contains(strings.ToLower(err.Error()), "requirement failed")
}
