// Runs one DuckDB sessionization of a JSON lines file, the way an analyst
// would: load into a table, one SQL query, COPY the sessions out. Prints a
// JSON line of figures on stdout, which batch-vs-duckdb.sh reads.
//
//   node run.mjs --mode gap|full --input events.jsonl --output sessions.jsonl
//                --rejected rejected.jsonl [--threads N]
//
// gap:  the classic LAG + running SUM sessionization (inactivity gap only).
// full: the project's full rule (gap + greedy 2 h max duration), see full.sql.
import { readFileSync } from 'node:fs';
import { DuckDBInstance } from '@duckdb/node-api';
import { parseArgs } from 'node:util';

const { values: opt } = parseArgs({
  options: {
    mode: { type: 'string', default: 'gap' },
    input: { type: 'string' },
    output: { type: 'string' },
    rejected: { type: 'string' },
    threads: { type: 'string' },
    'inactivity-ms': { type: 'string', default: '1800000' },
    'max-duration-ms': { type: 'string', default: '7200000' },
  },
});
if (!opt.input || !opt.output || !opt.rejected || !['gap', 'full'].includes(opt.mode)) {
  console.error('usage: node run.mjs --mode gap|full --input F --output F --rejected F [--threads N]');
  process.exit(2);
}

const lit = (s) => `'${String(s).replaceAll("'", "''")}'`;
const params = {
  input: lit(opt.input),
  output: lit(opt.output),
  rejected: lit(opt.rejected),
  // JSON's whitespace: what may surround a record on its line
  ws: "' ' || chr(9) || chr(10) || chr(13)",
  inactivity_ms: String(BigInt(opt['inactivity-ms'])),
  max_duration_ms: String(BigInt(opt['max-duration-ms'])),
};
const sql = (name) =>
  readFileSync(new URL(`sql/${name}.sql`, import.meta.url), 'utf8').replace(/\{\{(\w+)\}\}/g, (m, k) => {
    if (!(k in params)) throw new Error(`${name}.sql: unknown parameter ${m}`);
    return params[k];
  });

const t0 = performance.now();
const phases = {};
const timed = async (phase, fn) => {
  const t = performance.now();
  const r = await fn();
  phases[phase] = +((performance.now() - t) / 1000).toFixed(3);
  return r;
};

// An in-memory database with DuckDB's defaults: all cores, 80% of RAM,
// spilling to a temp directory past that. Nothing is tuned for this job.
const config = opt.threads ? { threads: opt.threads } : {};
const instance = await DuckDBInstance.create(':memory:', config);
const con = await instance.connect();
const scalar = async (q) => (await con.runAndReadAll(q)).getRowObjectsJson();

await timed('load', () => con.run(sql('load')));
// COPY answers with the number of rows it wrote.
const written = await timed('sessionize_and_write', async () => (await scalar(sql(opt.mode)))[0]);
await timed('write_rejected', () => con.run(sql('rejected')));
// The accounting sessionize prints in its summary: every record is in a
// session, a duplicate, or rejected.
const [acct] = await timed('summary', () => scalar(sql('summary')));
const byReason = Object.fromEntries(
  (await scalar(`SELECT reason, count(*) AS n FROM events WHERE reason IS NOT NULL GROUP BY reason ORDER BY reason`))
    .map((r) => [r.reason, Number(r.n)]));

const status = readFileSync('/proc/self/status', 'utf8');
const hwmKiB = Number(/VmHWM:\s+(\d+)/.exec(status)[1]);
const out = {
  engine: 'duckdb',
  duckdb_version: (await scalar('SELECT version() AS v'))[0].v,
  mode: opt.mode,
  threads: Number((await scalar(`SELECT current_setting('threads') AS t`))[0].t),
  records_read: Number(acct.records_read),
  sessions: Number(Object.values(written)[0]),
  events_in_sessions: Number(acct.events_in_sessions),
  duplicates: Number(acct.duplicates),
  rejected: Number(acct.rejected),
  rejected_by_reason: byReason,
  invariant_holds:
    Number(acct.records_read) ===
    Number(acct.events_in_sessions) + Number(acct.duplicates) + Number(acct.rejected),
  phases_seconds: phases,
  elapsed_seconds: +((performance.now() - t0) / 1000).toFixed(3),
  peak_rss_bytes: hwmKiB * 1024,
};
console.log(JSON.stringify(out));
