package iceberg

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"net/url"

	"github.com/apache/iceberg-go"
	"github.com/apache/iceberg-go/catalog"
	"github.com/apache/iceberg-go/catalog/rest"
	"github.com/apache/iceberg-go/table"

	// A REST catalog's tables are wherever the server puts them, object
	// storage as a rule: iceberg-go opens them through the IO registered
	// for the location's scheme.
	_ "github.com/apache/iceberg-go/io/gocloud/s3"
)

// An Iceberg REST catalog (iceberg-go's catalog/rest). The server checks a
// commit's requirements and answers 409 (CommitFailedException) when the
// table is not at the snapshot the commit required: nothing was recorded,
// a conflict. 500, 502, 503 and 504 (CommitStateUnknownException), a
// timeout or a broken connection leave the outcome unknown: the server may
// have recorded the commit before the answer was lost. iceberg-go maps
// them to rest.ErrCommitFailed (which wraps table.ErrCommitFailed) and
// rest.ErrCommitStateUnknown. The server decides where tables go (their
// location); data files go there through the table's IO.

func restCatalog() catalogKind {
	return catalogKind{
		name:    "rest",
		accepts: func(uri string) bool { return hasScheme(uri, "http", "https") },
		check: func(cfg Config) error {
			u, err := url.Parse(cfg.CatalogURI)
			if err != nil || u.Host == "" {
				return fmt.Errorf("catalog URI %s: want http(s)://host[:port]/path of an Iceberg REST catalog", redactURI(cfg.CatalogURI))
			}
			if cfg.Catalog.Credential != "" && cfg.Catalog.Token != "" {
				return errors.New("give a REST catalog either a credential (OAuth2 client credentials) or a token, not both")
			}
			if s := cfg.Catalog.OAuth2ServerURI; s != "" {
				if u, err := url.Parse(s); err != nil || u.Host == "" {
					return fmt.Errorf("OAuth2 server URI %s: want http(s)://host/path of the token endpoint", redactURI(s))
				}
			}
			return nil
		},
		open: openREST,
	}
}

type restConn struct {
	cat  *rest.Catalog
	desc string
}

// openREST connects to the catalog (GET /v1/config, and the OAuth2 token
// exchange when a credential is given). The mode changes nothing here:
// reading never writes to a REST catalog.
func openREST(ctx context.Context, cfg Config, _ openMode) (catalogConn, error) {
	desc := "rest " + redactURI(cfg.CatalogURI)
	o := cfg.Catalog
	props := iceberg.Properties{}
	maps.Copy(props, o.Props)
	// Every key catalog.Load would otherwise take from ~/.iceberg-go.yaml
	// is set, so only what the command line says is used. catalog.Load
	// rather than rest.NewCatalog so that --catalog-prop reaches every
	// property iceberg-go's REST catalog understands (scope, prefix,
	// header.*, rest.sigv4-enabled, ...), not only unknown ones.
	props["type"] = string(catalog.REST)
	props["uri"] = cfg.CatalogURI
	props["credential"] = o.Credential
	props["warehouse"] = o.Warehouse
	if o.Token != "" {
		props["token"] = o.Token
	}
	if o.OAuth2ServerURI != "" {
		props["oauth2-server-uri"] = o.OAuth2ServerURI
	}
	cat, err := catalog.Load(ctx, catalogName, props)
	if err != nil {
		return nil, fmt.Errorf("iceberg: connect to catalog %s: %w", desc, err)
	}
	rc, ok := cat.(*rest.Catalog)
	if !ok {
		_ = closeCatalog(cat)
		return nil, fmt.Errorf("iceberg: catalog %s: iceberg-go opened a %s catalog, not REST", desc, cat.CatalogType())
	}
	return &restConn{cat: rc, desc: desc}, nil
}

func (c *restConn) catalog() catalog.Catalog { return c.cat }
func (c *restConn) String() string           { return c.desc }
func (c *restConn) close() error             { return c.cat.Close() }

func (c *restConn) refused(err error) bool {
	if errors.Is(err, rest.ErrCommitStateUnknown) {
		return false
	}
	// 409, or iceberg-go's own check of the branch before it sends.
	return errors.Is(err, table.ErrCommitFailed) || errors.Is(err, table.ErrCommitDiverged)
}

func closeCatalog(cat catalog.Catalog) error {
	if c, ok := cat.(catalog.Closer); ok {
		return c.Close()
	}
	return nil
}
