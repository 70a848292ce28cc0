package iceberg

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/iceberg-go"
	"github.com/apache/iceberg-go/catalog"
	"github.com/apache/iceberg-go/table"

	"github.com/sessionize/sessionize/internal/storage"
)

// Warehouse is an open catalog plus the three sessionize tables. Every
// operation asks the catalog for the table's current metadata (parsing it
// only when it moved, table_cache.go), so several Warehouse values (in one
// process or many) can share the tables.
// A Warehouse is safe for concurrent use.
type Warehouse struct {
	cfg    Config
	logger *slog.Logger
	// store holds the warehouse's files: table data and metadata (through
	// the catalog, which is given its properties) and the checkpoints.
	store *storage.Store
	// conn is the catalog of whatever kind (catalog.go); cat is its
	// iceberg-go catalog.Catalog, through which every table operation goes.
	conn catalogConn
	cat  catalog.Catalog
	kind string
	ns   table.Identifier
	// readOnly is set by OpenReadOnly: Commit and maintenance refuse.
	readOnly bool
	// tables maps a table name to its definition and Arrow write schema;
	// filled by Open and read-only afterwards.
	tables map[string]tableInfo
	// locks serializes this handle's commits per table (commit_lock.go).
	locks tableLocks
	// cache holds the last table loaded or committed, per table, for a
	// catalog that can say it is still current (table_cache.go).
	cache tableCache
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
	return open(ctx, cfg, logger, openCreate)
}

// OpenExisting opens a warehouse whose tables exist already and creates
// nothing, with a clear error when they are not there; unlike
// OpenReadOnly it can commit (table maintenance).
func OpenExisting(ctx context.Context, cfg Config, logger *slog.Logger) (*Warehouse, error) {
	return open(ctx, cfg, logger, openExisting)
}

// OpenReadOnly opens a warehouse whose tables exist already, for commands
// that only read: it creates and changes nothing (no directory, catalog
// tables, namespace or table; the SQL catalogs are opened read-only), so it
// works on a read-only warehouse and catalog, and it says so clearly when
// the tables are not there. Commit and maintenance refuse on it.
func OpenReadOnly(ctx context.Context, cfg Config, logger *slog.Logger) (*Warehouse, error) {
	return open(ctx, cfg, logger, openReadOnly)
}

func open(ctx context.Context, cfg Config, logger *slog.Logger, mode openMode) (*Warehouse, error) {
	cfg, err := cfg.normalized()
	if err != nil {
		return nil, err
	}
	kind, err := cfg.catalogKind()
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
	if mode.creates() {
		if err := store.Create(ctx); err != nil {
			return nil, errors.Join(fmt.Errorf("iceberg: %w", err), store.Close())
		}
	}
	if !store.Location().Local() {
		// A wrong endpoint, bucket or key fails here, before anything
		// is read from Kafka, rather than at the first commit. Only
		// writers write to find out.
		if err := store.Probe(ctx, mode != openReadOnly); err != nil {
			return nil, errors.Join(fmt.Errorf("iceberg: %w", err), store.Close())
		}
	}

	// The storage's iceberg-go io properties go into the catalog's
	// properties, which iceberg-go hands to the IO of every table it
	// loads; --catalog-prop wins.
	catCfg := cfg
	catCfg.Catalog.Props = store.Props()
	maps.Copy(catCfg.Catalog.Props, cfg.Catalog.Props)
	conn, err := kind.open(ctx, catCfg, mode)
	if err != nil {
		return nil, errors.Join(err, store.Close())
	}
	// The events table is opt-in for writers (Config.EventsTable), but once
	// one has made it, every open manages it: table maintenance compacts
	// and expires it, describe shows it. Only a writer that asks creates it.
	events := cfg.EventsTable
	if !events {
		// A missing namespace (nothing written yet) is "no events table".
		events, _ = conn.catalog().CheckTableExists(ctx, table.Identifier{cfg.Namespace, TableEvents})
	}
	defs, err := tableDefs(cfg.UUIDBuckets, events)
	if err != nil {
		return nil, errors.Join(fmt.Errorf("iceberg: %w", err), conn.close(), store.Close())
	}
	tables := make(map[string]tableInfo, len(defs))
	for _, def := range defs {
		as, err := arrowSchema(def.schema)
		if err != nil {
			return nil, errors.Join(fmt.Errorf("iceberg: table %s: %w", def.name, err), conn.close(), store.Close())
		}
		tables[def.name] = tableInfo{def: def, arrowSchema: as}
	}
	w := &Warehouse{
		cfg:      cfg,
		logger:   logger,
		store:    store,
		conn:     conn,
		cat:      conn.catalog(),
		kind:     kind.name,
		ns:       table.Identifier{cfg.Namespace},
		readOnly: mode == openReadOnly,
		tables:   tables,
		locks:    newTableLocks(slices.Collect(maps.Keys(tables))),
	}
	// An events table this open did not ask for is checked on its own: one
	// it cannot read (another schema) is left out with a warning rather
	// than failing an open that has no use for it.
	found := events && !cfg.EventsTable
	if found {
		defs = slices.DeleteFunc(defs, func(d tableDef) bool { return d.name == TableEvents })
	}
	if mode.creates() {
		err = w.ensureTables(ctx, defs)
	} else {
		err = w.checkTables(ctx, defs)
	}
	if err != nil {
		_ = w.Close()
		return nil, err
	}
	if found {
		if err := w.checkTables(ctx, []tableDef{w.tables[TableEvents].def}); err != nil {
			logger.WarnContext(ctx, "leaving the events table out: this sessionize cannot read it (table maintenance skips it; sessionize run --events-table refuses it)", "error", err)
			delete(w.tables, TableEvents)
		}
	}
	if cfg.WritesSessionAttrs {
		sc, err := w.evolveSessionAttrs(ctx, cfg.SessionAttrs)
		if err == nil {
			ti := w.tables[TableSessions]
			if ti.arrowSchema, err = arrowSchema(sc); err == nil {
				w.tables[TableSessions] = ti
			}
		}
		if err != nil {
			_ = w.Close()
			return nil, err
		}
	}
	logger.InfoContext(ctx, "iceberg warehouse open", "catalog", conn.String(), "namespace", cfg.Namespace, "read_only", w.readOnly, storageAttr(cfg))
	return w, nil
}

// storageAttr describes where an object-store warehouse's client goes,
// without secrets.
func storageAttr(cfg Config) slog.Attr {
	if loc, err := storage.ParseLocation(cfg.Warehouse); err == nil && loc.Scheme == "s3" {
		return slog.Any("s3", cfg.Storage.S3)
	}
	return slog.Attr{}
}

// CatalogKind is the kind of catalog the tables are in: "sqlite",
// "postgres" or "rest".
func (w *Warehouse) CatalogKind() string { return w.kind }

// Location is the warehouse: an absolute local path or an object-store URL.
func (w *Warehouse) Location() string { return w.cfg.Warehouse }

// Catalog names the catalog (kind and where), without secrets.
func (w *Warehouse) Catalog() string { return w.conn.String() }

// isConflict reports whether a commit error means "main moved", i.e. the
// catalog refused the commit without recording it.
func (w *Warehouse) isConflict(err error) bool { return w.conn.refused(err) }

// writable fails on a warehouse opened with OpenReadOnly.
func (w *Warehouse) writable(what string) error {
	if w.readOnly {
		return fmt.Errorf("iceberg: %s: the warehouse was opened read-only", what)
	}
	return nil
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
		return fmt.Errorf("iceberg: check namespace %s in catalog %s: %w", w.cfg.Namespace, w.conn, err)
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

// checkTables loads the tables of an open that creates nothing: each must
// exist, with
// the columns this package reads.
func (w *Warehouse) checkTables(ctx context.Context, defs []tableDef) error {
	for _, def := range defs {
		tbl, err := w.cat.LoadTable(ctx, w.ident(def.name))
		if errors.Is(err, catalog.ErrNoSuchTable) || errors.Is(err, catalog.ErrNoSuchNamespace) {
			return fmt.Errorf("iceberg: no table %s.%s in catalog %s: nothing was written there yet (sessionize run, demo or batch --output-table create the tables), or --warehouse, --catalog-uri or --namespace differ from the writer's",
				w.cfg.Namespace, def.name, w.conn)
		}
		if err != nil {
			return fmt.Errorf("iceberg: open table %s in catalog %s: %w", def.name, w.conn, err)
		}
		if err := checkSchema(def.schema, tbl.Schema()); err != nil {
			return fmt.Errorf("iceberg: table %s at %s: %w", def.name, tbl.Location(), err)
		}
	}
	return nil
}

func (w *Warehouse) ensureTable(ctx context.Context, def tableDef) error {
	ident := w.ident(def.name)
	tbl, err := w.cat.LoadTable(ctx, ident)
	if errors.Is(err, catalog.ErrNoSuchTable) {
		// ensureTables has seen the namespace exist (or made it), yet a
		// REST catalog may refuse a table in a namespace another process
		// has just created (SeaweedFS does, for a moment): wait for it.
		for attempt := 1; ; attempt++ {
			tbl, err = w.cat.CreateTable(ctx, ident, def.schema,
				catalog.WithPartitionSpec(&def.spec),
				catalog.WithProperties(tableProperties()))
			if !errors.Is(err, catalog.ErrNoSuchNamespace) || attempt == 20 || sleepCtx(ctx, time.Duration(attempt)*10*time.Millisecond) != nil {
				break
			}
		}
		switch {
		case err == nil:
			w.logger.InfoContext(ctx, "created iceberg table", "table", def.name, "location", tbl.Location(), "partition_spec", tbl.Spec().String())
		case errors.Is(err, catalog.ErrTableAlreadyExists):
			// Another process created it between our load and create.
			// A REST catalog may say so before the table can be loaded
			// (SeaweedFS does, for a moment): wait for it.
			for attempt := 1; ; attempt++ {
				tbl, err = w.cat.LoadTable(ctx, ident)
				if !errors.Is(err, catalog.ErrNoSuchTable) || attempt == 20 || sleepCtx(ctx, time.Duration(attempt)*10*time.Millisecond) != nil {
					break
				}
			}
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

// Tables returns the names of the tables this warehouse manages: the
// three of TableNames, and the events table if the open asked for it, or
// found one it can read.
func (w *Warehouse) Tables() []string {
	names := TableNames()
	if _, ok := w.tables[TableEvents]; ok {
		names = append(names, TableEvents)
	}
	return names
}

// info returns the definition of a table this package manages.
func (w *Warehouse) info(name string) (tableInfo, error) {
	ti, ok := w.tables[name]
	if !ok {
		if name == TableEvents {
			return tableInfo{}, fmt.Errorf("iceberg: table %s is opt-in: open the warehouse with the events table (sessionize run --events-table)", name)
		}
		return tableInfo{}, fmt.Errorf("iceberg: unknown table %q (want %s, %s or %s)", name, TableSessions, TableLate, TableRejected)
	}
	return ti, nil
}

// ioContext returns ctx set up for iceberg-go calls whose IO reaches the
// warehouse (see storage.Store.Context): every exported method that
// reaches iceberg-go starts with it.
func (w *Warehouse) ioContext(ctx context.Context) context.Context {
	return w.store.Context(ctx)
}

// Close releases the catalog and its connections.
func (w *Warehouse) Close() error { return errors.Join(w.conn.close(), w.store.Close()) }
