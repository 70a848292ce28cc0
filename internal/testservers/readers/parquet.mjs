// Reads a Parquet file with DuckDB and prints its rows as JSON lines, one
// object per row keyed by column name, in file order: what a user's DuckDB,
// pandas or Spark finds in a file sessionize wrote, for a Go test to
// compare with the same run's JSON lines.
//
//   node parquet.mjs FILE
import { DuckDBInstance } from '@duckdb/node-api'

const path = process.argv[2]
if (!path) {
  process.stderr.write('usage: node parquet.mjs FILE\n')
  process.exit(1)
}
const db = await (await DuckDBInstance.create(':memory:')).connect()
const rows = (await db.runAndReadAll('SELECT to_json(t)::VARCHAR AS j FROM read_parquet($1) t', [path])).getRowObjects()
if (rows.length) process.stdout.write(rows.map(r => r.j).join('\n') + '\n')
