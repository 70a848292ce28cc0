package iceberg

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/apache/iceberg-go"
	"github.com/apache/iceberg-go/catalog"
	"github.com/apache/iceberg-go/table"
)

// Opening twice creates nothing new and keeps the tables as they were.
func TestOpenIdempotent(t *testing.T) {
	t.Parallel()
	ctx := testCtx(t)
	cfg := Config{Warehouse: t.TempDir()}
	w1 := openWarehouse(t, cfg)
	s, err := w1.Commit(ctx, Commit{Table: TableRejected, Rejected: sampleRejected(3), ExpectParentSnapshotID: NoSnapshot})
	if err != nil {
		t.Fatalf("commit: %v", err)
	}
	metadataBefore := listFiles(t, filepath.Join(cfg.Warehouse, "sessionize.db"))

	w2 := openWarehouse(t, cfg)
	if got := mustCurrentID(t, w2, TableRejected); got != s.ID {
		t.Fatalf("second Open sees snapshot %d, want %d", got, s.ID)
	}
	if after := listFiles(t, filepath.Join(cfg.Warehouse, "sessionize.db")); strings.Join(after, ",") != strings.Join(metadataBefore, ",") {
		t.Fatalf("second Open wrote files:\nbefore %v\nafter  %v", metadataBefore, after)
	}
	for _, name := range TableNames() {
		tbl, err := w2.load(ctx, name)
		if err != nil {
			t.Fatalf("load %s: %v", name, err)
		}
		props := tbl.Properties()
		if props[table.ParquetCompressionKey] != "zstd" || props[table.CommitNumRetriesKey] != "0" {
			t.Fatalf("table %s properties = %v", name, props)
		}
	}
}

// Field IDs are the on-disk contract: a table created by iceberg-go must
// carry exactly the IDs declared in schema.go (iceberg-go renumbers on
// create, so a reordered declaration would silently change them), and the
// partition specs must be day(...) on the derived timestamp columns.
func TestSchemaFieldIDsStable(t *testing.T) {
	t.Parallel()
	ctx := testCtx(t)
	w := openWarehouse(t, Config{Warehouse: t.TempDir(), UUIDBuckets: 4})
	for _, name := range TableNames() {
		tbl, err := w.load(ctx, name)
		if err != nil {
			t.Fatalf("load %s: %v", name, err)
		}
		want := w.tables[name].def.schema
		wantByID, _ := iceberg.IndexByID(want)
		gotByID, _ := iceberg.IndexByID(tbl.Schema())
		if len(wantByID) != len(gotByID) {
			t.Fatalf("%s: table has %d fields, declared %d", name, len(gotByID), len(wantByID))
		}
		for id, f := range wantByID {
			g := gotByID[id]
			if g.Name != f.Name || !g.Type.Equals(f.Type) || g.Required != f.Required {
				t.Fatalf("%s: field %d is %s %s, declared %s %s", name, id, g.Name, g.Type, f.Name, f.Type)
			}
		}
	}
	specs := map[string]string{
		TableSessions: "[\n\t1000: session_start_day: day(13)\n\t1001: uuid_bucket: bucket[4](2)\n]",
		TableLate:     "[\n\t1000: kafka_day: day(11)\n]",
		TableRejected: "[\n\t1000: kafka_day: day(8)\n]",
	}
	for name, want := range specs {
		tbl, _ := w.load(ctx, name)
		if got := tbl.Spec().String(); got != want {
			t.Errorf("%s partition spec = %q, want %q", name, got, want)
		}
	}
}

// TestSessionsSchemaIDs pins the sessions schema that sessionsSchema
// derives from session.Columns: its field IDs are in every table written
// so far, so a change to the columns' order or types must fail here, not
// renumber existing tables (TestSchemaFieldIDsStable only checks that a
// new table gets what is declared).
func TestSessionsSchemaIDs(t *testing.T) {
	const want = "table {\n\t1: session_id: required string\n\t2: uuid: required string\n\t3: session_start_time_ms: required long\n" +
		"\t4: session_end_time_ms: required long\n\t5: session_duration_seconds: required double\n\t6: event_count: required long\n" +
		"\t7: pages_visited: required list<string>\n\t9: pages_truncated: required boolean\n\t10: entry_page: required string\n" +
		"\t11: exit_page: required string\n\t12: end_reason: required string\n" +
		"\t13: session_start: required timestamptz (session_start_time_ms as a timestamp; derived at write time, exists to partition by day)\n}"
	s := sessionsSchema()
	if got := s.String(); got != want {
		t.Fatalf("sessions schema\n%s\nwant\n%s", got, want)
	}
	pages, ok := s.FindFieldByName("pages_visited")
	if l, isList := pages.Type.(*iceberg.ListType); !ok || !isList || l.ElementID != 8 || !l.ElementRequired {
		t.Fatalf("pages_visited is %+v, want a list of required strings with element id 8", pages)
	}
	if f, _ := s.FindFieldByID(sessionFieldUUID); f.Name != "uuid" {
		t.Fatalf("field %d is %q, the partition spec's uuid", sessionFieldUUID, f.Name)
	}
	if f, _ := s.FindFieldByID(sessionFieldStart); f.Name != SessionStartColumn {
		t.Fatalf("field %d is %q, the partition spec's %s", sessionFieldStart, f.Name, SessionStartColumn)
	}
}

// testConcurrentOpen: two Opens racing on a fresh warehouse both succeed
// and end up with the same tables.
func testConcurrentOpen(t *testing.T, cfg Config) {
	ctx := testCtx(t)
	const n = 3
	ws := make([]*Warehouse, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() { ws[i], errs[i] = Open(ctx, cfg, testLogger(t)) })
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("Open %d: %v", i, err)
		}
		t.Cleanup(func() { _ = ws[i].Close() })
	}
	for _, name := range TableNames() {
		t0, err := ws[0].load(ctx, name)
		if err != nil {
			t.Fatalf("load %s: %v", name, err)
		}
		t1, err := ws[1].load(ctx, name)
		if err != nil {
			t.Fatalf("load %s: %v", name, err)
		}
		if t0.Metadata().TableUUID() != t1.Metadata().TableUUID() {
			t.Fatalf("%s: the two Opens see different tables", name)
		}
	}
	s, err := ws[0].Commit(ctx, Commit{Table: TableSessions, Sessions: sampleSessions(5, "x"), ExpectParentSnapshotID: NoSnapshot})
	if err != nil {
		t.Fatalf("commit after concurrent open: %v", err)
	}
	if got := mustCurrentID(t, ws[1], TableSessions); got != s.ID {
		t.Fatalf("other warehouse sees %d, want %d", got, s.ID)
	}
}

func TestConfigValidation(t *testing.T) {
	t.Parallel()
	bad := []Config{
		{},
		{Warehouse: "/tmp/has space"},
		{Warehouse: "/tmp/x", CatalogURI: "mysql://x"},
		{Warehouse: "/tmp/x", CatalogURI: "sqlite://catalog.db"},         // relative: two slashes
		{Warehouse: "/tmp/x", CatalogURI: "sqlite:///tmp/c.db?mode=rwc"}, // options are ours to set
		{Warehouse: "/tmp/x", CatalogURI: "https:///v1"},                 // no host
		{Warehouse: "/tmp/x", Catalog: CatalogOptions{Token: "t"}},       // REST options without REST
		{Warehouse: "/tmp/x", CatalogURI: "postgres://h/db", Catalog: CatalogOptions{Credential: "a:b"}},
		{Warehouse: "/tmp/x", CatalogURI: "https://h/api", Catalog: CatalogOptions{Credential: "a:b", Token: "t"}},
		{Warehouse: "/tmp/x", CatalogURI: "https://h/api", Catalog: CatalogOptions{OAuth2ServerURI: "tokens"}},
		{Warehouse: "s3://lake/wh"}, // the embedded catalog cannot live in a bucket
		{Warehouse: "/tmp/x", Namespace: "a.b"},
		{Warehouse: "/tmp/x", UUIDBuckets: -1},
	}
	for _, cfg := range bad {
		if _, err := cfg.normalized(); err == nil {
			t.Errorf("config %+v accepted", cfg)
		}
	}
	for uri, kind := range map[string]string{
		"":                            "sqlite",
		"sqlite:///var/lib/c.db":      "sqlite",
		"postgres://u@h/db":           "postgres",
		"PostgreSQL://u@h/db":         "postgres",
		"http://127.0.0.1:8181":       "rest",
		"https://catalog.example/api": "rest",
	} {
		k, err := Config{Warehouse: "/tmp/x", CatalogURI: uri}.catalogKind()
		if err != nil || k.name != kind {
			t.Errorf("catalog URI %q: kind %q, %v; want %s", uri, k.name, err, kind)
		}
	}
	if p, err := sqlitePath(Config{Warehouse: "/tmp/x", CatalogURI: "sqlite:///var/lib/sz/catalog.db"}); err != nil || p != "/var/lib/sz/catalog.db" {
		t.Errorf("sqlite path %q, %v", p, err)
	}
	if got := redactURI("postgres://u:secret@h/db"); strings.Contains(got, "secret") {
		t.Errorf("redactURI leaks the password: %s", got)
	}
}

// assertNoOrphanFiles fails if the table directory holds a data file,
// manifest or manifest list that no snapshot references.
func assertNoOrphanFiles(t *testing.T, w *Warehouse, name string) {
	t.Helper()
	ctx := testCtx(t)
	tbl, err := w.load(ctx, name)
	if err != nil {
		t.Fatalf("load %s: %v", name, err)
	}
	fsys, err := tbl.FS(ctx)
	if err != nil {
		t.Fatalf("fs: %v", err)
	}
	referenced := map[string]bool{}
	for _, snap := range tbl.Metadata().Snapshots() {
		referenced[localPath(snap.ManifestList)] = true
		manifests, err := snap.Manifests(fsys)
		if err != nil {
			t.Fatalf("manifests of %d: %v", snap.SnapshotID, err)
		}
		for _, m := range manifests {
			referenced[localPath(m.FilePath())] = true
		}
	}
	tasks, err := tbl.Scan().PlanFiles(ctx)
	if err != nil {
		t.Fatalf("plan files: %v", err)
	}
	for _, task := range tasks {
		referenced[localPath(task.File.FilePath())] = true
	}
	loc := localPath(strings.TrimSuffix(tbl.Location(), "/"))
	for _, f := range tableFiles(t, w, name, "") {
		if strings.HasSuffix(f, ".metadata.json") {
			continue
		}
		if !referenced[loc+"/"+f] {
			t.Errorf("orphan file in %s: %s", name, f)
		}
	}
}

// lateNamespace is a catalog that refuses the first tables created in a
// namespace as if it did not exist yet, as SeaweedFS's REST catalog does for
// a moment after another process created it.
type lateNamespace struct {
	catalog.Catalog
	refusals atomic.Int64
}

func (c *lateNamespace) CreateTable(ctx context.Context, ident table.Identifier, sc *iceberg.Schema, opts ...catalog.CreateTableOpt) (*table.Table, error) {
	if c.refusals.Add(-1) >= 0 {
		return nil, fmt.Errorf("%w: namespace %v not found", catalog.ErrNoSuchNamespace, ident[:len(ident)-1])
	}
	return c.Catalog.CreateTable(ctx, ident, sc, opts...)
}

// TestOpenWaitsForANewNamespace: a table refused for a namespace that
// exists is created once the catalog shows it (CI failed on
// TestRESTCatalog/ConcurrentOpen: "NoSuchNamespaceException").
func TestOpenWaitsForANewNamespace(t *testing.T) {
	t.Parallel()
	ctx := testCtx(t)
	w := openWarehouse(t, Config{Warehouse: t.TempDir()})
	late := &lateNamespace{Catalog: w.cat}
	late.refusals.Store(3)
	w.cat = late
	w.cfg.Namespace, w.ns = "other", table.Identifier{"other"}
	if err := w.cat.CreateNamespace(ctx, w.ns, nil); err != nil {
		t.Fatal(err)
	}
	defs, err := tableDefs(0, false)
	if err != nil {
		t.Fatal(err)
	}
	if err := w.ensureTables(ctx, defs); err != nil {
		t.Fatalf("creating the tables in a namespace the catalog shows only after 3 refusals: %v", err)
	}
	if n := late.refusals.Load(); n >= 0 {
		t.Fatalf("the catalog refused %d creations, want 3", 3-n)
	}
	for _, def := range defs {
		if _, err := w.cat.LoadTable(ctx, w.ident(def.name)); err != nil {
			t.Fatalf("table %s: %v", def.name, err)
		}
	}
}
