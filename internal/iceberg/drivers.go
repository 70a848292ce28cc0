package iceberg

// The SQL catalog talks to its database through database/sql, so the drivers
// must be linked in. Both are pure Go: the binary keeps building with
// CGO_ENABLED=0.
import (
	_ "github.com/jackc/pgx/v5/stdlib" // registers database/sql driver "pgx"
	_ "modernc.org/sqlite"             // registers database/sql driver "sqlite"
)

const (
	sqliteDriver   = "sqlite"
	postgresDriver = "pgx"
)
