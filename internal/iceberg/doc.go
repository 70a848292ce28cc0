// Package iceberg stores sessionize's output in Apache Iceberg tables: the
// sessions, the late events and the rejected events, each committed as one
// Iceberg snapshot per pipeline commit so the streaming pipeline can write
// exactly once.
//
// Exactly-once rests on three properties of this package:
//
//   - Commit is an optimistic compare-and-swap on the table's main branch:
//     the caller names the snapshot it expects to be current and the commit
//     fails with ErrConflict if anything else was committed in between. A
//     conflicting attempt leaves no data or manifest files behind.
//   - A commit carries caller-defined snapshot-summary properties (for
//     example the Kafka offsets it covers), even when it adds no rows, so the
//     table itself records how far the pipeline got.
//   - Current and Snapshots always reload the table from the catalog, so a
//     restarted pipeline sees what was really committed.
//
// The catalog is any iceberg-go catalog.Catalog: the SQL catalog on an
// embedded SQLite file inside a local warehouse, on a SQLite file elsewhere
// or on PostgreSQL, or an Iceberg REST catalog (catalog.go, one file per
// kind; each says how it signals a refused commit). Data files are Parquet
// (zstd) where the table's location says: for the SQL catalogs in the
// warehouse, for a REST catalog wherever the server puts the table. The
// warehouse is a local
// directory or an object store, reached through internal/storage (iceberg-go's
// io layer), whose properties the catalog is given so that table files and
// checkpoints share one storage and one set of credentials.
//
// Pipeline state checkpoints live in the same warehouse (WriteFile, ReadFile,
// DeleteFile) so a warehouse is the whole durable state.
//
// The package also owns what the snapshots say: every sessionize.* summary
// property, its parsing and encoding (Summary, summary.go), and the
// nothing-lost audit made from the tables (Warehouse.Audit, audit.go),
// for the streaming pipeline and batch runs alike.
package iceberg
