package iceberg

import (
	"errors"
	"io/fs"
	"slices"
	"strings"
	"testing"

	iceio "github.com/apache/iceberg-go/io"
)

// tableFiles returns every file under the table's location (its sub
// directory, if given), relative to it, slash-separated, sorted. It lists
// through the table's own IO, so it sees where the catalog put the table:
// <warehouse>/<ns>.db/<table> for the SQL catalogs, wherever the server
// says for a REST catalog.
func tableFiles(t testing.TB, w *Warehouse, name, sub string) []string {
	t.Helper()
	root, fsys := tableIO(t, w, name)
	lio, ok := fsys.(iceio.ListableIO)
	if !ok {
		t.Fatalf("table %s IO %T cannot list", name, fsys)
	}
	if sub != "" {
		root += "/" + sub
	}
	var out []string
	err := lio.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			return nil
		}
		rel := strings.TrimPrefix(strings.TrimPrefix(p, localPath(root)), root)
		out = append(out, strings.TrimPrefix(rel, "/"))
		return nil
	})
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("list %s: %v", root, err)
	}
	slices.Sort(out)
	return out
}

// tableFile opens a file below the table's location through its IO.
func tableFile(t testing.TB, w *Warehouse, name, rel string) iceio.File {
	t.Helper()
	root, fsys := tableIO(t, w, name)
	f, err := fsys.Open(root + "/" + rel)
	if err != nil {
		t.Fatalf("open %s of %s: %v", rel, name, err)
	}
	t.Cleanup(func() { _ = f.Close() })
	return f
}

// tableIO returns the table's location (no trailing slash) and its IO.
func tableIO(t testing.TB, w *Warehouse, name string) (string, iceio.IO) {
	t.Helper()
	ctx := w.ioContext(testCtx(t))
	tbl, err := w.load(ctx, name)
	if err != nil {
		t.Fatal(err)
	}
	fsys, err := tbl.FS(ctx)
	if err != nil {
		t.Fatalf("table %s IO: %v", name, err)
	}
	return strings.TrimSuffix(tbl.Location(), "/"), fsys
}
