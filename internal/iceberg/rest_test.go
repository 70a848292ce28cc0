package iceberg

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/apache/iceberg-go/catalog/rest"
	"github.com/apache/iceberg-go/table"

	"github.com/sessionize/sessionize/internal/testservers"
)

// restConfig is a warehouse on the server's REST catalog: its tables in
// the catalog's table bucket, checkpoints in a local directory.
func restConfig(t *testing.T, s *testservers.SeaweedFS, catalogURI, namespace string) Config {
	return Config{Warehouse: t.TempDir(), CatalogURI: catalogURI, Namespace: namespace,
		Catalog: CatalogOptions{Warehouse: s.CatalogWarehouse, Credential: s.Credential(), Props: s.S3Props()}}
}

// TestRESTCatalog runs the catalog suite against SeaweedFS's Iceberg REST
// catalog (a real server, weed mini; see testservers.StartSeaweedFS), its
// tables on the server's S3, with OAuth2 client credentials. Conflicts
// there are the server's 409s.
func TestRESTCatalog(t *testing.T) {
	t.Parallel()
	s := testservers.StartSeaweedFS(t)
	for _, tc := range catalogSuite {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			tc.run(t, restConfig(t, s, s.CatalogURI, "t_"+strings.ToLower(tc.name)))
		})
	}
}

// TestRESTCommitAnswerLost puts a proxy between the warehouse and the real
// REST catalog that breaks table commits the two ways a network or gateway
// does: it forwards the commit and answers 504 (the server recorded it),
// or answers 503 without forwarding (it did not). The first must be found
// by the reload and succeed; the second is ErrCommitUnknown, not a
// conflict, with the table unchanged and the attempt's files kept.
func TestRESTCommitAnswerLost(t *testing.T) {
	t.Parallel()
	s := testservers.StartSeaweedFS(t)
	target, err := url.Parse(s.CatalogURI)
	if err != nil {
		t.Fatal(err)
	}
	var mode atomic.Value // "", "forward-then-504", "503"
	mode.Store("")
	var broken atomic.Int64
	upstream := httputil.NewSingleHostReverseProxy(target)
	proxy := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		commit := r.Method == http.MethodPost && strings.HasSuffix(r.URL.Path, "/tables/"+TableSessions)
		switch m := mode.Load().(string); {
		case commit && m == "forward-then-504":
			rec := httptest.NewRecorder()
			upstream.ServeHTTP(rec, r)
			broken.Add(1)
			t.Logf("proxy: the catalog answered the commit %d; telling the client 504", rec.Code)
			http.Error(w, `{"error":{"message":"gateway timeout","type":"CommitStateUnknownException","code":504}}`, http.StatusGatewayTimeout)
		case commit && m == "503":
			broken.Add(1)
			http.Error(w, `{"error":{"message":"unavailable","type":"ServiceUnavailableException","code":503}}`, http.StatusServiceUnavailable)
		default:
			upstream.ServeHTTP(w, r)
		}
	}))
	t.Cleanup(proxy.Close)

	ctx := testCtx(t)
	w := openWarehouse(t, restConfig(t, s, proxy.URL, "lost_answers"))
	base, err := w.Commit(ctx, Commit{Table: TableSessions, Sessions: sampleSessions(4, "base"), ExpectParentSnapshotID: NoSnapshot})
	if err != nil {
		t.Fatal(err)
	}

	mode.Store("forward-then-504")
	landed, err := w.Commit(ctx, Commit{Table: TableSessions, Sessions: sampleSessions(3, "landed"), ExpectParentSnapshotID: base.ID})
	mode.Store("")
	if err != nil {
		t.Fatalf("a commit the catalog recorded but whose answer was a 504: err = %v, want it found on reload", err)
	}
	if got := mustCurrentID(t, w, TableSessions); got != landed.ID || landed.ID == base.ID {
		t.Fatalf("head %d, the found commit %d, base %d", got, landed.ID, base.ID)
	}

	dataBefore := tableFiles(t, w, TableSessions, "data")
	mode.Store("503")
	_, err = w.Commit(ctx, Commit{Table: TableSessions, Sessions: sampleSessions(2, "refused"), ExpectParentSnapshotID: landed.ID})
	mode.Store("")
	if !errors.Is(err, ErrCommitUnknown) || errors.Is(err, ErrConflict) {
		t.Fatalf("503 without reaching the catalog: err = %v, want ErrCommitUnknown", err)
	}
	if got := mustCurrentID(t, w, TableSessions); got != landed.ID {
		t.Fatalf("the table moved to %d on a commit that never reached the catalog", got)
	}
	if after := tableFiles(t, w, TableSessions, "data"); len(after) <= len(dataBefore) {
		t.Fatalf("the files of a commit with unknown outcome were deleted (%d data files before, %d after)", len(dataBefore), len(after))
	}
	if broken.Load() != 2 {
		t.Fatalf("the proxy broke %d commits, want 2", broken.Load())
	}
	rows, err := w.ReadSessions(ctx)
	if err != nil || len(rows) != 7 {
		t.Fatalf("%d rows (%v), want 4 + 3", len(rows), err)
	}
}

// TestRESTCommitErrorMapping (httptest, not a real catalog: it checks how
// the answers a REST catalog may give to a table commit are classified, the
// ones a real server is hard to make give): 409 is a conflict, nothing
// recorded; 500, 502, 503 and 504 and anything else leave the outcome
// unknown.
func TestRESTCommitErrorMapping(t *testing.T) {
	t.Parallel()
	var status atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/v1/config" {
			fmt.Fprint(w, `{"defaults":{},"overrides":{}}`)
			return
		}
		code := int(status.Load())
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(code)
		fmt.Fprintf(w, `{"error":{"message":"status %d","type":"X","code":%d}}`, code, code)
	}))
	t.Cleanup(srv.Close)
	ctx := testCtx(t)
	conn, err := openREST(ctx, Config{CatalogURI: srv.URL}, openCreate)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = conn.close() })
	for _, tc := range []struct {
		status  int
		refused bool
	}{
		{http.StatusConflict, true},
		{http.StatusInternalServerError, false},
		{http.StatusBadGateway, false},
		{http.StatusServiceUnavailable, false},
		{http.StatusGatewayTimeout, false},
		{http.StatusBadRequest, false},
		{http.StatusUnauthorized, false},
	} {
		status.Store(int64(tc.status))
		_, _, err := conn.catalog().CommitTable(ctx, table.Identifier{"ns", "t"}, nil, nil)
		if err == nil {
			t.Fatalf("%d: no error", tc.status)
		}
		if got := conn.refused(err); got != tc.refused {
			t.Errorf("%d (%v): refused = %t, want %t", tc.status, err, got, tc.refused)
		}
		if tc.status >= 500 && !errors.Is(err, rest.ErrCommitStateUnknown) {
			t.Errorf("%d: %v is not rest.ErrCommitStateUnknown", tc.status, err)
		}
	}
	// A connection that breaks mid-request is no conflict either.
	srv.CloseClientConnections()
	srv.Close()
	_, _, err = conn.catalog().CommitTable(context.Background(), table.Identifier{"ns", "t"}, nil, nil)
	if err == nil || conn.refused(err) {
		t.Fatalf("catalog gone: err = %v, refused = %t", err, err != nil && conn.refused(err))
	}
}
