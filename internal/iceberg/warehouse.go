package iceberg

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/iceberg-go"
	"github.com/apache/iceberg-go/catalog"
	sqlcat "github.com/apache/iceberg-go/catalog/sql"
	"github.com/apache/iceberg-go/table"

	"github.com/sessionize/sessionize/internal/storage"
)

// Warehouse is an open catalog plus the three sessionize tables. It caches
// no table handles: every operation loads the table from the catalog, so
// several Warehouse values (in one process or many) can share the tables.
// A Warehouse is safe for concurrent use.
type Warehouse struct {
	cfg    Config
	logger *slog.Logger
	// store holds the warehouse's files: table data and metadata (through
	// the catalog, which is given its properties) and the checkpoints.
	store *storage.Store
	db    *sql.DB
	cat   *sqlcat.Catalog
	ns    table.Identifier
	// tables maps a table name to its definition and Arrow write schema;
	// filled by Open and read-only afterwards.
	tables map[string]tableInfo
	// beforeCatalogCommit, when set (tests only), runs after a commit's
	// files are written and its snapshot staged, just before the catalog
	// is asked: a test makes another writer win the race there.
	beforeCatalogCommit func()
}

type tableInfo struct {
	def         tableDef
	arrowSchema *arrow.Schema
}

// Open opens (creating if needed) the warehouse directory, the catalog, the
// namespace and the three tables. It is idempotent and safe when several
// processes open the same warehouse at once: whoever loses a creation race
// loads what the winner created.
func Open(ctx context.Context, cfg Config, logger *slog.Logger) (*Warehouse, error) {
	cfg, err := cfg.normalized()
	if err != nil {
		return nil, err
	}
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	logger = logger.With("component", "iceberg", "warehouse", cfg.Warehouse)

	store, err := storage.Open(ctx, cfg.Warehouse, cfg.Storage)
	if err != nil {
		return nil, fmt.Errorf("iceberg: %w", err)
	}
	ctx = store.Context(ctx)
	if err := store.Create(ctx); err != nil {
		return nil, errors.Join(fmt.Errorf("iceberg: %w", err), store.Close())
	}
	if !store.Location().Local() {
		// A wrong endpoint, bucket or key fails here, before anything
		// is read from Kafka, rather than at the first commit.
		if err := store.Probe(ctx, true); err != nil {
			return nil, errors.Join(fmt.Errorf("iceberg: %w", err), store.Close())
		}
	}

	defs, err := tableDefs(cfg.UUIDBuckets)
	if err != nil {
		return nil, fmt.Errorf("iceberg: %w", err)
	}
	tables := make(map[string]tableInfo, len(defs))
	for _, def := range defs {
		as, err := arrowSchema(def.schema)
		if err != nil {
			return nil, fmt.Errorf("iceberg: table %s: %w", def.name, err)
		}
		tables[def.name] = tableInfo{def: def, arrowSchema: as}
	}

	db, cat, err := openCatalog(ctx, cfg, store.Props())
	if err != nil {
		return nil, errors.Join(err, store.Close())
	}
	w := &Warehouse{
		cfg:    cfg,
		logger: logger,
		store:  store,
		db:     db,
		cat:    cat,
		ns:     table.Identifier{cfg.Namespace},
		tables: tables,
	}
	if err := w.ensureTables(ctx, defs); err != nil {
		_ = w.Close()
		return nil, err
	}
	logger.InfoContext(ctx, "iceberg warehouse open", "catalog", cfg.catalogDescription(), "namespace", cfg.Namespace, storageAttr(cfg))
	return w, nil
}

// openCatalog opens the catalog database and iceberg-go's SQL catalog on it.
// The *sql.DB is opened here rather than by catalog.Load so its lifetime is
// ours and no ~/.iceberg-go.yaml defaults leak in. ioProps (the storage's
// iceberg-go io properties) go into the catalog's properties, which
// iceberg-go hands to the IO of every table it loads.
func openCatalog(ctx context.Context, cfg Config, ioProps map[string]string) (*sql.DB, *sqlcat.Catalog, error) {
	driver, dsn, dialect := cfg.catalogDB()
	db, err := sql.Open(driver, dsn)
	if err != nil {
		return nil, nil, fmt.Errorf("iceberg: open catalog %s: %w", cfg.catalogDescription(), err)
	}
	props := iceberg.Properties(maps.Clone(ioProps))
	// Tables go to <warehouse>/<namespace>.db/<table>.
	props["warehouse"] = cfg.Warehouse
	// Creates iceberg_tables / iceberg_namespace_properties if missing.
	props["init_catalog_tables"] = "true"

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
			cat, err = sqlcat.NewCatalog(catalogName, db, sqlcat.SupportedDialect(dialect), props)
		}
		if err == nil {
			return db, cat, nil
		}
		if attempt == attempts || ctx.Err() != nil {
			break
		}
		if sleepCtx(ctx, time.Duration(attempt)*20*time.Millisecond) != nil {
			break
		}
	}
	_ = db.Close()
	return nil, nil, fmt.Errorf("iceberg: connect to catalog %s: %w", cfg.catalogDescription(), err)
}

// storageAttr describes where an object-store warehouse's client goes,
// without secrets.
func storageAttr(cfg Config) slog.Attr {
	if loc, err := storage.ParseLocation(cfg.Warehouse); err == nil && loc.Scheme == "s3" {
		return slog.Any("s3", cfg.Storage.S3)
	}
	return slog.Attr{}
}

func sleepCtx(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return context.Cause(ctx)
	case <-t.C:
		return nil
	}
}

func (w *Warehouse) ensureTables(ctx context.Context, defs []tableDef) error {
	exists, err := w.cat.CheckNamespaceExists(ctx, w.ns)
	if err != nil {
		return fmt.Errorf("iceberg: check namespace %s: %w", w.cfg.Namespace, err)
	}
	if !exists {
		err := w.cat.CreateNamespace(ctx, w.ns, nil)
		switch {
		case err == nil:
			w.logger.InfoContext(ctx, "created iceberg namespace", "namespace", w.cfg.Namespace)
		case errors.Is(err, catalog.ErrNamespaceAlreadyExists):
			// Another process won the race; fine.
		default:
			return fmt.Errorf("iceberg: create namespace %s: %w", w.cfg.Namespace, err)
		}
	}
	for _, def := range defs {
		if err := w.ensureTable(ctx, def); err != nil {
			return err
		}
	}
	return nil
}

func (w *Warehouse) ensureTable(ctx context.Context, def tableDef) error {
	ident := w.ident(def.name)
	tbl, err := w.cat.LoadTable(ctx, ident)
	if errors.Is(err, catalog.ErrNoSuchTable) {
		tbl, err = w.cat.CreateTable(ctx, ident, def.schema,
			catalog.WithPartitionSpec(&def.spec),
			catalog.WithProperties(tableProperties()))
		switch {
		case err == nil:
			w.logger.InfoContext(ctx, "created iceberg table", "table", def.name, "location", tbl.Location(), "partition_spec", tbl.Spec().String())
		case errors.Is(err, catalog.ErrTableAlreadyExists):
			// Another process created it between our load and create.
			tbl, err = w.cat.LoadTable(ctx, ident)
		}
	}
	if err != nil {
		return fmt.Errorf("iceberg: open table %s: %w", def.name, err)
	}
	if err := checkSchema(def.schema, tbl.Schema()); err != nil {
		return fmt.Errorf("iceberg: table %s at %s: %w", def.name, tbl.Location(), err)
	}
	want, got := def.spec, tbl.Spec()
	if !want.CompatibleWith(&got) {
		// Writes follow the table's own spec, so this is not an error:
		// the partitioning (e.g. UUIDBuckets) is fixed when a table is
		// created.
		w.logger.WarnContext(ctx, "existing table has a different partition spec than the config asks for; keeping the table's",
			"table", def.name, "table_spec", got.String(), "config_spec", want.String())
	}
	return nil
}

// checkSchema verifies that every column this package writes exists in the
// table with the same field ID, type and nullability. Extra columns (a
// later schema evolution) are allowed.
func checkSchema(want, got *iceberg.Schema) error {
	wantByID, err := iceberg.IndexByID(want)
	if err != nil {
		return fmt.Errorf("index expected schema: %w", err)
	}
	for id, wf := range wantByID {
		gf, ok := got.FindFieldByID(id)
		if !ok {
			return fmt.Errorf("schema mismatch: field %d (%s) is missing", id, wf.Name)
		}
		if gf.Name != wf.Name || gf.Required != wf.Required || !gf.Type.Equals(wf.Type) {
			return fmt.Errorf("schema mismatch: field %d is %s %s required=%t, expected %s %s required=%t",
				id, gf.Name, gf.Type, gf.Required, wf.Name, wf.Type, wf.Required)
		}
	}
	return nil
}

func (w *Warehouse) ident(name string) table.Identifier {
	return table.Identifier{w.cfg.Namespace, name}
}

// info returns the definition of a table this package manages.
func (w *Warehouse) info(name string) (tableInfo, error) {
	ti, ok := w.tables[name]
	if !ok {
		return tableInfo{}, fmt.Errorf("iceberg: unknown table %q (want %s, %s or %s)", name, TableSessions, TableLate, TableRejected)
	}
	return ti, nil
}

// load reads the table's current metadata from the catalog. Never cached:
// a stale handle is exactly what optimistic concurrency must not use.
func (w *Warehouse) load(ctx context.Context, name string) (*table.Table, error) {
	if _, err := w.info(name); err != nil {
		return nil, err
	}
	tbl, err := w.cat.LoadTable(ctx, w.ident(name))
	if err != nil {
		return nil, fmt.Errorf("iceberg: load table %s: %w", name, err)
	}
	return tbl, nil
}

// ioContext returns ctx set up for iceberg-go calls whose IO reaches the
// warehouse (see storage.Store.Context): every exported method that
// reaches iceberg-go starts with it.
func (w *Warehouse) ioContext(ctx context.Context) context.Context {
	return w.store.Context(ctx)
}

// Close releases the catalog and its database connections.
func (w *Warehouse) Close() error {
	return errors.Join(w.cat.Close(), w.db.Close(), w.store.Close())
}
