package iceberg

import (
	"errors"
	"fmt"
	"net/url"
	"strings"

	"github.com/sessionize/sessionize/internal/storage"
)

// Config says where the warehouse and its catalog are.
type Config struct {
	// Warehouse is where the table data, the table metadata and the
	// pipeline checkpoints live: a local directory (which also holds the
	// embedded catalog) or an object-store URL such as s3://bucket/prefix
	// (see storage.ParseLocation). With a REST catalog the catalog decides
	// where the tables go; the warehouse still holds the checkpoints.
	Warehouse string
	// Storage says how to reach an object-store warehouse (S3 endpoint,
	// region, credentials); unused for a local one.
	Storage storage.Options
	// CatalogURI selects the catalog (see catalogKinds):
	//   - "" is an embedded SQLite file <Warehouse>/catalog.db (one machine);
	//   - "sqlite:///abs/path/catalog.db" is a SQLite file elsewhere;
	//   - "postgres://..." or "postgresql://..." is a PostgreSQL database
	//     (several writers, as long as they all see the same warehouse);
	//   - "http://..." or "https://..." is an Iceberg REST catalog.
	CatalogURI string
	// Catalog holds the options of a REST catalog; the other kinds have
	// everything in the URI.
	Catalog CatalogOptions
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

// CatalogOptions configure an Iceberg REST catalog. Credential and Token
// are secrets: they never appear in logs or errors.
type CatalogOptions struct {
	// Credential is OAuth2 client credentials, "client_id:client_secret",
	// exchanged for a token at OAuth2ServerURI.
	Credential string
	// Token is a bearer token, used as is.
	Token string
	// OAuth2ServerURI is the token endpoint; "" is the catalog's own
	// <uri>/v1/oauth/tokens.
	OAuth2ServerURI string
	// Warehouse is the catalog's warehouse (the REST "warehouse"
	// property): which of the catalog's warehouses to use, e.g.
	// s3://bucket/.
	Warehouse string
	// Props are more catalog properties (iceberg-go's REST catalog and
	// table IO properties: "scope", "prefix", "header.X-Name",
	// "s3.endpoint", ...); they do not override the fields above.
	Props map[string]string
}

const (
	defaultNamespace = "sessionize"
	// catalogName is stored in every catalog row; one name for all
	// sessionize processes so they share the tables.
	catalogName = "sessionize"
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
	if _, err := cfg.catalogKind(); err != nil {
		return cfg, err
	}
	return cfg, nil
}

// catalogKind returns the kind of catalog cfg.CatalogURI names, after
// checking that the URI and the options fit it.
func (cfg Config) catalogKind() (catalogKind, error) {
	for _, k := range catalogKinds() {
		if k.accepts(cfg.CatalogURI) {
			if err := k.check(cfg); err != nil {
				return catalogKind{}, fmt.Errorf("iceberg: config: %w", err)
			}
			return k, nil
		}
	}
	return catalogKind{}, fmt.Errorf("iceberg: config: catalog URI %q: want sqlite:///path/catalog.db, postgres://..., http(s)://... (an Iceberg REST catalog), or none for SQLite in the warehouse",
		redactURI(cfg.CatalogURI))
}

// hasScheme reports whether uri starts with one of the schemes (case
// insensitive), followed by "://".
func hasScheme(uri string, schemes ...string) bool {
	lower := strings.ToLower(uri)
	for _, s := range schemes {
		if strings.HasPrefix(lower, s+"://") {
			return true
		}
	}
	return false
}

// redactURI hides the password of a URI for error messages and logs.
func redactURI(uri string) string {
	u, err := url.Parse(uri)
	if err != nil {
		return "<unparsable URI>"
	}
	return u.Redacted()
}
