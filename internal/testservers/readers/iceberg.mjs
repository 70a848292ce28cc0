// Reads an Iceberg v2 table the way the table spec describes it, with
// libraries that share nothing with the writer (iceberg-go, arrow-go):
// the metadata JSON, then the current snapshot's manifest list and
// manifests with avsc (Avro), then the live data files with DuckDB
// (Parquet), columns found by their field ids as the spec asks. It checks
// what an engine reading the table relies on (sizes, record counts, field
// ids, partition values, column metrics) and prints the rows as JSON lines, one object per row keyed by the
// Iceberg field names, for the Go test to compare with its own reader.
//
//   node iceberg.mjs METADATA_JSON_PATH
//
// Exit 1 with a message on anything that does not hold.
import fs from 'node:fs'
import zlib from 'node:zlib'
import avro from 'avsc'
import { DuckDBInstance } from '@duckdb/node-api'

const fail = msg => { process.stderr.write(`iceberg.mjs: ${msg}\n`); process.exit(1) }
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
if (!metadataPath) fail('usage: node iceberg.mjs METADATA_JSON_PATH')
const meta = JSON.parse(fs.readFileSync(metadataPath, 'utf8'))
if (meta['format-version'] !== 2) fail(`format-version ${meta['format-version']}, want 2`)
const schema = meta.schemas.find(s => s['schema-id'] === meta['current-schema-id'])
if (!schema) fail(`current-schema-id ${meta['current-schema-id']} is not among the schemas`)
const snapId = meta['current-snapshot-id']
if (snapId === undefined || snapId === null || snapId === -1) {
  process.exit(0) // no snapshot: no rows
}
// JSON.parse rounds 64-bit ids to doubles, alike for the same digits: ids
// are random, so two of one table's that round alike are not a concern here.
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
    if (m.content === 0 && f.content === 0) dataFiles.push({ path, uri: f.file_path, records: num(f.record_count), specId: m.partition_spec_id, file: f })
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

// What engines skip files by must hold for every row, or their filtered
// queries silently miss rows: the partition values in the manifests (the
// transform of each row's source column) and the column metrics (value and
// null counts, lower and upper bounds).

// murmur3_32 (x86, seed 0), the hash of Iceberg's bucket transform.
function murmur3(bytes) {
  const c1 = 0xcc9e2d51, c2 = 0x1b873593
  let h = 0
  const n = bytes.length & ~3
  for (let i = 0; i < n; i += 4) {
    let k = bytes[i] | bytes[i + 1] << 8 | bytes[i + 2] << 16 | bytes[i + 3] << 24
    k = Math.imul(k, c1); k = k << 15 | k >>> 17; k = Math.imul(k, c2)
    h ^= k; h = h << 13 | h >>> 19; h = Math.imul(h, 5) + 0xe6546b64 | 0
  }
  let k = 0
  switch (bytes.length & 3) {
    case 3: k ^= bytes[n + 2] << 16 // fall through
    case 2: k ^= bytes[n + 1] << 8 // fall through
    case 1: k ^= bytes[n]; k = Math.imul(k, c1); k = k << 15 | k >>> 17; k = Math.imul(k, c2); h ^= k
  }
  h ^= bytes.length
  h ^= h >>> 16; h = Math.imul(h, 0x85ebca6b); h ^= h >>> 13; h = Math.imul(h, 0xc2b2ae35); h ^= h >>> 16
  return h | 0
}
// The spec's own example: bucket hash of the string "iceberg".
if (murmur3(Buffer.from('iceberg')) !== 1210000089) fail('murmur3 does not give the spec\'s hash of "iceberg"')

async function checkPartition(f, byId) {
  const spec = meta['partition-specs'].find(s => s['spec-id'] === f.specId)
  if (!spec) fail(`${f.uri}: partition spec ${f.specId} is not in the metadata`)
  for (const pf of spec.fields) {
    const source = schema.fields.find(x => x.id === pf['source-id'])
    const col = quote(byId.get(pf['source-id']))
    const want = f.file.partition?.[pf.name]
    let got
    if (pf.transform === 'day') {
      if (source.type !== 'timestamptz' && source.type !== 'timestamp') fail(`${pf.name}: day of a ${source.type}`)
      got = (await q(`SELECT DISTINCT floor(epoch_us(${col}) / 86400000000)::INTEGER AS v FROM read_parquet($1)`, f.path)).map(r => r.v)
    } else if (/^bucket\[\d+\]$/.test(pf.transform)) {
      if (source.type !== 'string') fail(`${pf.name}: bucket of a ${source.type} is not checked here`)
      const n = Number(pf.transform.slice(7, -1))
      const vals = (await q(`SELECT DISTINCT ${col} AS v FROM read_parquet($1)`, f.path)).map(r => r.v)
      got = [...new Set(vals.map(v => (murmur3(Buffer.from(v, 'utf8')) & 0x7fffffff) % n))]
    } else if (pf.transform === 'identity') {
      got = (await q(`SELECT DISTINCT ${col} AS v FROM read_parquet($1)`, f.path)).map(r => r.v)
    } else {
      fail(`${pf.name}: transform ${pf.transform} is not checked here`)
    }
    if (got.length !== 1 || got[0] !== want) fail(`${f.uri}: partition ${pf.name} is ${want}, its rows give ${JSON.stringify(got)}`)
  }
}

// decodeBound reads Iceberg's single-value binary form of a bound.
function decodeBound(type, b) {
  switch (type) {
    case 'boolean': return b[0] !== 0
    case 'int': case 'date': return b.readInt32LE(0)
    case 'long': case 'timestamp': case 'timestamptz': return b.readBigInt64LE(0)
    case 'double': return b.readDoubleLE(0)
    case 'float': return b.readFloatLE(0)
    case 'string': return b
    default: return undefined
  }
}
const cmpValue = (a, b) => Buffer.isBuffer(a) ? Buffer.compare(a, b) : a < b ? -1 : a > b ? 1 : 0
const asMap = entries => new Map((entries ?? []).map(e => [e.key, e.value]))

async function checkMetrics(f, byId, rows) {
  const values = asMap(f.file.value_counts), nulls = asMap(f.file.null_value_counts)
  const lower = asMap(f.file.lower_bounds), upper = asMap(f.file.upper_bounds)
  for (const field of schema.fields) {
    if (typeof field.type !== 'string' || !byId.has(field.id)) continue // lists: their element's metrics are not checked
    const col = quote(byId.get(field.id))
    const expr = field.type.startsWith('timestamp') ? `epoch_us(${col})` : col
    const all = (await q(`SELECT ${expr} AS v FROM read_parquet($1)`, f.path)).map(r => r.v)
    const present = all.filter(v => v !== null).map(v => field.type === 'string' ? Buffer.from(v, 'utf8') : v)
    if (values.has(field.id) && Number(values.get(field.id)) !== rows) fail(`${f.uri}: value_counts of ${field.name} is ${values.get(field.id)}, the file has ${rows} rows`)
    if (nulls.has(field.id) && Number(nulls.get(field.id)) !== rows - present.length) fail(`${f.uri}: null_value_counts of ${field.name} is ${nulls.get(field.id)}, the file has ${rows - present.length} nulls`)
    if (present.length === 0) continue
    if (field.type === 'double' || field.type === 'float') {
      if (present.some(Number.isNaN)) continue
    }
    const min = present.reduce((a, b) => cmpValue(a, b) <= 0 ? a : b)
    const max = present.reduce((a, b) => cmpValue(a, b) >= 0 ? a : b)
    if (lower.has(field.id)) {
      const lo = decodeBound(field.type, lower.get(field.id))
      if (lo !== undefined && cmpValue(lo, min) > 0) fail(`${f.uri}: lower bound of ${field.name} is above the smallest value (${lo} > ${min})`)
    }
    if (upper.has(field.id)) {
      const hi = decodeBound(field.type, upper.get(field.id))
      if (hi !== undefined && cmpValue(hi, max) < 0) fail(`${f.uri}: upper bound of ${field.name} is below the largest value (${hi} < ${max})`)
    }
  }
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
  await checkPartition(f, byId)
  await checkMetrics(f, byId, Number(n))
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

