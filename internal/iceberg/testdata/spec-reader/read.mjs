// Reads an Iceberg v2 table the way the table spec describes it, with
// libraries that share nothing with the writer (iceberg-go, arrow-go):
// the metadata JSON, then the current snapshot's manifest list and
// manifests with avsc (Avro), then the live data files with DuckDB
// (Parquet), columns found by their field ids as the spec asks. It checks
// what an engine reading the table relies on (sizes, record counts, field
// ids) and prints the rows as JSON lines, one object per row keyed by the
// Iceberg field names, for the Go test to compare with its own reader.
//
//   node read.mjs METADATA_JSON_PATH
//
// Exit 1 with a message on anything that does not hold.
import fs from 'node:fs'
import zlib from 'node:zlib'
import avro from 'avsc'
import { DuckDBInstance } from '@duckdb/node-api'

const fail = msg => { process.stderr.write(`spec-reader: ${msg}\n`); process.exit(1) }
const localPath = uri => uri.startsWith('file://') ? uri.slice('file://'.length) : uri

// Avro longs as BigInt: snapshot ids use all 64 bits.
const longType = avro.types.LongType.__with({
  fromBuffer: b => b.readBigInt64LE(),
  toBuffer: n => { const b = Buffer.alloc(8); b.writeBigInt64LE(BigInt(n)); return b },
  fromJSON: BigInt,
  toJSON: Number,
  isValid: n => typeof n === 'bigint',
  compare: (a, b) => (a === b ? 0 : a < b ? -1 : 1),
})

// readAvro decodes an Avro object container file (codec null or deflate,
// the raw RFC 1951 stream the Avro spec names).
function readAvro(uri) {
  const path = localPath(uri)
  return new Promise((resolve, reject) => {
    const rows = []
    avro.createFileDecoder(path, {
      codecs: { deflate: zlib.inflateRaw, null: (b, cb) => cb(null, b) },
      parseHook: schema => avro.Type.forSchema(schema, { registry: { long: longType } }),
    })
      .on('data', r => rows.push(r))
      .on('error', reject)
      .on('end', () => resolve(rows))
  })
}

const num = v => Number(v) // sizes and counts: far below 2^53

const metadataPath = process.argv[2]
if (!metadataPath) fail('usage: node read.mjs METADATA_JSON_PATH')
const meta = JSON.parse(fs.readFileSync(metadataPath, 'utf8'))
if (meta['format-version'] !== 2) fail(`format-version ${meta['format-version']}, want 2`)
const schema = meta.schemas.find(s => s['schema-id'] === meta['current-schema-id'])
if (!schema) fail(`current-schema-id ${meta['current-schema-id']} is not among the schemas`)
const snapId = meta['current-snapshot-id']
if (snapId === undefined || snapId === null || snapId === -1) {
  process.exit(0) // no snapshot: no rows
}
const snap = meta.snapshots.find(s => s['snapshot-id'] === snapId)
if (!snap) fail(`current snapshot ${snapId} is not among the snapshots`)

const manifests = await readAvro(snap['manifest-list'])
const dataFiles = []
const positionDeletes = []
for (const m of manifests) {
  const size = fs.statSync(localPath(m.manifest_path)).size
  if (num(m.manifest_length) !== size) fail(`manifest ${m.manifest_path}: manifest_length ${m.manifest_length}, file is ${size} bytes`)
  for (const e of await readAvro(m.manifest_path)) {
    if (e.status === 2) continue // DELETED: not in this snapshot
    const f = e.data_file
    const path = localPath(f.file_path)
    const bytes = fs.statSync(path).size
    if (num(f.file_size_in_bytes) !== bytes) fail(`${f.file_path}: file_size_in_bytes ${f.file_size_in_bytes}, file is ${bytes} bytes`)
    if (f.file_format !== 'PARQUET') fail(`${f.file_path}: file_format ${f.file_format}`)
    if (m.content === 0 && f.content === 0) dataFiles.push({ path, uri: f.file_path, records: num(f.record_count) })
    else if (f.content === 1) positionDeletes.push(path)
    else fail(`${f.file_path}: content ${f.content} (equality deletes) is not read by this reader`)
  }
}

const db = await (await DuckDBInstance.create(':memory:')).connect()
const q = async (sql, ...params) => (await db.runAndReadAll(sql, params)).getRowObjects()
const quote = s => '"' + s.replaceAll('"', '""') + '"'

const deleted = new Set()
for (const path of positionDeletes) {
  for (const r of await q('SELECT file_path, pos FROM read_parquet($1)', path)) deleted.add(`${localPath(r.file_path)}#${r.pos}`)
}

for (const f of dataFiles) {
  // Columns by field id: a reader that goes by names would miss a rename.
  const byId = new Map()
  for (const el of await q('SELECT name, field_id FROM parquet_schema($1)', f.path)) {
    if (el.field_id !== null) byId.set(Number(el.field_id), el.name)
  }
  const cols = []
  for (const field of schema.fields) {
    const name = byId.get(field.id)
    if (name === undefined) {
      // A column added to the schema after the file was written: the
      // spec reads it as null (no initial-default here), which only an
      // optional field may be.
      if (field.required) fail(`${f.uri}: no column with field id ${field.id} (${field.name}), a required field`)
      if (field['initial-default'] !== undefined) fail(`${f.uri}: ${field.name} has an initial-default, which this reader does not apply`)
      cols.push(`NULL AS ${quote(field.name)}`)
      continue
    }
    if (typeof field.type === 'object' && field.type.type === 'list' && !byId.has(field.type['element-id'])) {
      fail(`${f.uri}: list ${field.name} has no element with field id ${field.type['element-id']}`)
    }
    cols.push(`${quote(name)} AS ${quote(field.name)}`)
  }
  const [{ n }] = await q('SELECT count(*)::BIGINT AS n FROM read_parquet($1)', f.path)
  if (Number(n) !== f.records) fail(`${f.uri}: record_count ${f.records}, the file has ${n} rows`)
  const rows = await q(`SELECT file_row_number AS pos, to_json(t)::VARCHAR AS j FROM (SELECT ${cols.join(', ')}, file_row_number FROM read_parquet($1, file_row_number = true)) t`, f.path)
  const out = []
  for (const r of rows) {
    if (deleted.has(`${f.path}#${r.pos}`)) continue
    const row = JSON.parse(r.j)
    delete row.file_row_number
    out.push(JSON.stringify(row))
  }
  if (out.length) process.stdout.write(out.join('\n') + '\n')
}
