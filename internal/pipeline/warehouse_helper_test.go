package pipeline

import (
	"os"
	"path"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sessionize/sessionize/internal/iceberg"
	"github.com/sessionize/sessionize/internal/storage"
	"github.com/sessionize/sessionize/internal/testservers"
)

func TestMain(m *testing.M) {
	testservers.DisableIMDS() // children inherit it
	os.Exit(m.Run())
}

// testWarehouse is a warehouse on some storage, as the tests that run the
// binary see it: the config to open it in process, the flags that give it
// to a child, and its store, to look at the checkpoint files.
type testWarehouse struct {
	cfg   iceberg.Config
	s3    *testservers.S3 // nil for a local directory
	store *storage.Store
}

// restWarehouse is a warehouse on SeaweedFS: the tables in its Iceberg
// REST catalog (where the catalog puts them, its table bucket), the
// checkpoints in its plain S3 bucket.
func restWarehouse(t testing.TB, weed *testservers.SeaweedFS) testWarehouse {
	t.Helper()
	s3 := weed.S3()
	cfg := iceberg.Config{Warehouse: s3.Warehouse("warehouse"), Storage: s3.Options(),
		CatalogURI: weed.CatalogURI, Catalog: iceberg.CatalogOptions{Warehouse: weed.CatalogWarehouse, Credential: weed.Credential()}}
	return newTestWarehouse(t, cfg, &s3)
}

// localWarehouse is a warehouse in dir with the embedded SQLite catalog.
func localWarehouse(t testing.TB, dir string) testWarehouse {
	t.Helper()
	return newTestWarehouse(t, iceberg.Config{Warehouse: dir}, nil)
}

// s3Warehouse is a warehouse in the server's bucket, with a SQLite
// catalog file in the test's temp dir.
func s3Warehouse(t testing.TB, s3 testservers.S3) testWarehouse {
	t.Helper()
	cfg := iceberg.Config{Warehouse: s3.Warehouse("warehouse"), Storage: s3.Options(),
		CatalogURI: "sqlite://" + filepath.Join(t.TempDir(), "catalog.db")}
	return newTestWarehouse(t, cfg, &s3)
}

func newTestWarehouse(t testing.TB, cfg iceberg.Config, s3 *testservers.S3) testWarehouse {
	t.Helper()
	st, err := storage.Open(t.Context(), cfg.Warehouse, cfg.Storage)
	if err != nil {
		t.Fatal(err)
	}
	return testWarehouse{cfg: cfg, s3: s3, store: st}
}

// forEachStorage runs test with a fresh warehouse on each storage the
// pipeline supports: a local directory, versitygw (a real S3 server) with a
// SQLite catalog, and SeaweedFS's Iceberg REST catalog and S3.
func forEachStorage(t *testing.T, test func(t *testing.T, wh testWarehouse)) {
	for _, st := range storages() {
		t.Run(st.name, func(t *testing.T) { test(t, st.open(t)) })
	}
}

// forEachCatalog runs test with a fresh warehouse on each catalog: the
// embedded SQLite catalog in a local directory, and SeaweedFS's Iceberg
// REST catalog (see restWarehouse).
func forEachCatalog(t *testing.T, test func(t *testing.T, wh testWarehouse)) {
	t.Run("sqlite", func(t *testing.T) { test(t, localWarehouse(t, t.TempDir())) })
	t.Run("rest", func(t *testing.T) { test(t, restWarehouse(t, testservers.StartSeaweedFS(t))) })
}

// storages makes a fresh warehouse on each storage the pipeline supports,
// for benchmarks; forEachStorage is the same for tests.
func storages() []struct {
	name string
	open func(testing.TB) testWarehouse
} {
	return []struct {
		name string
		open func(testing.TB) testWarehouse
	}{
		{"local", func(t testing.TB) testWarehouse { return localWarehouse(t, t.TempDir()) }},
		{"s3", func(t testing.TB) testWarehouse { return s3Warehouse(t, testservers.StartVersityGW(t)) }},
		{"rest", func(t testing.TB) testWarehouse { return restWarehouse(t, testservers.StartSeaweedFS(t)) }},
	}
}

// flags are a child's arguments that name the warehouse.
func (w testWarehouse) flags() []string {
	args := []string{"--warehouse", w.cfg.Warehouse}
	if w.cfg.CatalogURI != "" {
		args = append(args, "--catalog-uri", w.cfg.CatalogURI)
	}
	if w.cfg.Catalog.Warehouse != "" {
		args = append(args, "--catalog-warehouse", w.cfg.Catalog.Warehouse)
	}
	if w.cfg.Catalog.Credential != "" {
		// A throwaway test server's; a real one's goes in the
		// environment or a file.
		args = append(args, "--catalog-credential", w.cfg.Catalog.Credential)
	}
	if w.s3 != nil {
		args = append(args, w.s3.Flags()...)
	}
	return args
}

// local reports whether the tables' files are in a local directory (no
// S3 server, no REST catalog putting them elsewhere).
func (w testWarehouse) local() bool { return w.s3 == nil && w.cfg.CatalogURI == "" }

// catalogFile is the SQLite catalog's file, "" for another catalog.
func (w testWarehouse) catalogFile() string {
	if p, ok := strings.CutPrefix(w.cfg.CatalogURI, "sqlite://"); ok {
		return p
	}
	if w.cfg.CatalogURI != "" {
		return ""
	}
	return iceberg.EmbeddedCatalog(w.cfg.Warehouse)
}

// open opens the warehouse in process, closed when the test ends.
func (w testWarehouse) open(t testing.TB) *iceberg.Warehouse {
	t.Helper()
	// With the events table, so tests can read it (opening creates it
	// empty where no run wrote it).
	cfg := w.cfg
	cfg.EventsTable = true
	wh, err := iceberg.Open(t.Context(), cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { wh.Close() })
	return wh
}

// checkpointNames lists the names of the files in group's checkpoint
// directory (on a local disk, temporary files of unfinished writes too).
func (w testWarehouse) checkpointNames(t *testing.T, group string) []string {
	var names []string
	err := w.store.Walk(t.Context(), w.store.Join("sessionize", "checkpoints", group), func(loc string, _ os.FileInfo) error {
		names = append(names, path.Base(filepath.ToSlash(loc)))
		return nil
	})
	if err != nil && t.Context().Err() == nil {
		t.Errorf("list checkpoints: %v", err)
	}
	return names
}

// readCheckpoint reads a checkpoint file of group.
func (w testWarehouse) readCheckpoint(t *testing.T, group, name string) []byte {
	t.Helper()
	data, err := w.store.ReadFile(t.Context(), w.store.Join("sessionize", "checkpoints", group, name))
	if err != nil {
		t.Fatal(err)
	}
	return data
}
