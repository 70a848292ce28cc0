package cli

import (
	"fmt"
	"os"
	"strings"

	"github.com/spf13/cobra"

	"github.com/sessionize/sessionize/internal/iceberg"
)

// warehouseFlags say where the Iceberg tables live and how to reach their
// catalog; the same for every command that has --warehouse (all of them in
// sharedFlags).
type warehouseFlags struct {
	warehouse, catalogURI, namespace string
	uuidBuckets                      int
	catalog                          iceberg.CatalogOptions
	catalogProps                     []string
	storage                          storageFlags
}

func (w *warehouseFlags) register(cmd *cobra.Command, defaultWarehouse string) {
	fs := cmd.Flags()
	fs.StringVar(&w.warehouse, "warehouse", defaultWarehouse, "Iceberg warehouse (table data, metadata, checkpoints): a directory or a URL, s3://bucket/path (s3a://, gs://, abfs://, wasb://, file:// too)")
	fs.StringVar(&w.catalogURI, "catalog-uri", "", "Iceberg catalog: empty for SQLite in a local warehouse, sqlite:///abs/path/catalog.db, postgres://user:pass@host/db, or http(s)://host/path of an Iceberg REST catalog")
	fs.Var(&secretFlag{&w.catalog.Credential}, "catalog-credential", "REST catalog OAuth2 client credentials CLIENT_ID:SECRET, or @FILE to read them from a file (better: the environment variable, or @FILE; a command line is visible to other users)")
	fs.Var(&secretFlag{&w.catalog.Token}, "catalog-token", "REST catalog bearer token, or @FILE to read it from a file (better: the environment variable, or @FILE)")
	fs.StringVar(&w.catalog.OAuth2ServerURI, "catalog-oauth2-server-uri", "", "REST catalog OAuth2 token endpoint for --catalog-credential (default: the catalog's /v1/oauth/tokens)")
	fs.StringVar(&w.catalog.Warehouse, "catalog-warehouse", "", "REST catalog warehouse to use, e.g. s3://bucket/ (the catalog's \"warehouse\" property)")
	fs.StringArrayVar(&w.catalogProps, "catalog-prop", nil, "more catalog property KEY=VALUE, repeatable: REST options (scope, prefix, header.NAME) and table IO (s3.endpoint, s3.region, ...)")
	fs.StringVar(&w.namespace, "namespace", "sessionize", "catalog namespace of the tables")
	fs.IntVar(&w.uuidBuckets, "uuid-buckets", 0, "also partition sessions by bucket(N, uuid) when the table is created (many buckets mean many small files per commit)")
	w.storage.register(cmd)
}

// config is the iceberg.Config the flags say.
func (w *warehouseFlags) config() (iceberg.Config, error) {
	o := w.catalog
	for _, kv := range w.catalogProps {
		k, v, ok := strings.Cut(kv, "=")
		if k = strings.TrimSpace(k); !ok || k == "" {
			return iceberg.Config{}, usagef("invalid argument %q for \"--catalog-prop\" flag: want KEY=VALUE", kv)
		}
		if o.Props == nil {
			o.Props = map[string]string{}
		}
		o.Props[k] = v
	}
	st, err := w.storage.options()
	if err != nil {
		return iceberg.Config{}, err
	}
	return iceberg.Config{Warehouse: w.warehouse, Storage: st, CatalogURI: w.catalogURI, Catalog: o,
		Namespace: w.namespace, UUIDBuckets: w.uuidBuckets}, nil
}

// secretFlag holds a secret: the value itself, or @FILE for the content of
// a file (trailing newlines dropped). It prints as nothing, so neither
// --help nor an error shows it.
type secretFlag struct{ v *string }

func (s *secretFlag) String() string { return "" }
func (s *secretFlag) Type() string   { return "secret" }

func (s *secretFlag) Set(v string) error {
	if path, ok := strings.CutPrefix(v, "@"); ok {
		data, err := os.ReadFile(path)
		if err != nil {
			return fmt.Errorf("read the secret from %s: %w", path, err)
		}
		v = strings.TrimRight(string(data), "\r\n")
		if v == "" {
			return fmt.Errorf("%s is empty", path)
		}
	}
	*s.v = v
	return nil
}
