// Compares sessionize's sessions with DuckDB's, session by session (see
// sql/compare.sql). Prints one JSON line: counts per verdict and a few
// examples of each kind of difference. Exits 1 if any session differs,
// unless --informative (used for the gap-only query, which is expected to
// differ wherever a visit runs past the max duration).
//
//   node compare.mjs --ours sessions.jsonl --theirs duckdb.jsonl [--max-pages 2500]
//                    [--max-duration-ms 7200000] [--informative]
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { DuckDBInstance } from '@duckdb/node-api';

const { values: opt } = parseArgs({
  options: {
    ours: { type: 'string' },
    theirs: { type: 'string' },
    'max-pages': { type: 'string', default: '2500' },
    'max-duration-ms': { type: 'string', default: '7200000' },
    examples: { type: 'string', default: '3' },
    informative: { type: 'boolean', default: false },
  },
});
if (!opt.ours || !opt.theirs) {
  console.error('usage: node compare.mjs --ours F --theirs F [--max-pages N] [--informative]');
  process.exit(2);
}
const lit = (s) => `'${String(s).replaceAll("'", "''")}'`;
const params = { ours: lit(opt.ours), theirs: lit(opt.theirs), max_pages: String(parseInt(opt['max-pages'], 10)) };
const sql = readFileSync(new URL('sql/compare.sql', import.meta.url), 'utf8')
  .replace(/\{\{(\w+)\}\}/g, (_, k) => params[k]);

const instance = await DuckDBInstance.create(':memory:');
const con = await instance.connect();
const rows = async (q) => (await con.runAndReadAll(q)).getRowObjectsJson();
await con.run(sql);

const [n] = await rows(`SELECT (SELECT count(*) FROM ours) AS ours, (SELECT count(*) FROM theirs) AS theirs,
  (SELECT count(*) FROM (SELECT DISTINCT uuid, session_start_time_ms FROM ours)) AS ours_keys,
  (SELECT count(*) FROM (SELECT DISTINCT uuid, session_start_time_ms FROM theirs)) AS theirs_keys`);
const verdicts = Object.fromEntries(
  (await rows(`SELECT verdict, count(*) AS n FROM verdicts GROUP BY verdict ORDER BY verdict`))
    .map((r) => [r.verdict, Number(r.n)]));
// Long page lists are shortened in the examples; the comparison used them whole.
const examples = await rows(`
  SELECT verdict, uuid, start_ms, ours_end, duckdb_end, ours_events, duckdb_events,
         ours_pages[1:12] AS ours_pages_head, duckdb_pages[1:12] AS duckdb_pages_head
  FROM verdicts WHERE verdict <> 'equal'
  QUALIFY row_number() OVER (PARTITION BY verdict ORDER BY uuid, start_ms) <= ${parseInt(opt.examples, 10)}
  ORDER BY verdict, uuid, start_ms`);

// DuckDB sessions that are not equal to one of ours, and how many of them
// are longer than the max duration: for the gap-only query that should be
// all of them (the only sessions it may get wrong are those it fails to cut).
const [unequal] = await rows(`SELECT count(*) AS n,
    count(*) FILTER (WHERE t.session_end_time_ms - t.session_start_time_ms > ${BigInt(opt['max-duration-ms'])}) AS over_max
  FROM theirs t LEFT JOIN verdicts v
    ON v.uuid = t.uuid AND v.start_ms = t.session_start_time_ms AND v.verdict = 'equal'
  WHERE v.uuid IS NULL`);

const mismatches = Object.entries(verdicts).filter(([v]) => v !== 'equal').reduce((a, [, c]) => a + c, 0)
  // a session key that occurs twice on one side is a difference too
  + (Number(n.ours) - Number(n.ours_keys)) + (Number(n.theirs) - Number(n.theirs_keys));
console.log(JSON.stringify({
  ours_sessions: Number(n.ours),
  duckdb_sessions: Number(n.theirs),
  duplicate_keys: { ours: Number(n.ours) - Number(n.ours_keys), duckdb: Number(n.theirs) - Number(n.theirs_keys) },
  equal: verdicts.equal ?? 0,
  duckdb_unequal: Number(unequal.n),
  duckdb_unequal_over_max_duration: Number(unequal.over_max),
  mismatches,
  verdicts,
  examples,
}));
process.exit(mismatches > 0 && !opt.informative ? 1 : 0);
