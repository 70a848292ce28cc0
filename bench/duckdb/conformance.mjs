// Runs the DuckDB full-rule SQL (run.mjs --mode full) on every conformance
// case of the default event schema and checks its sessions, rejected counts
// and duplicates against the case's expectations. This is what makes the SQL
// a trustworthy reference for the session-by-session check in
// batch-vs-duckdb.sh. Cases that carry schema options (user_fields,
// time_format, ...) are skipped: the SQL reads the default fields with
// sessionize's --time-format ms.
//
//   node bench/duckdb/conformance.mjs [CASES_DIR]   (default: testdata/conformance/cases of the repo)
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = fileURLToPath(new URL('.', import.meta.url));
const casesDir = process.argv[2] ?? join(here, '../../testdata/conformance/cases');
const tmp = mkdtempSync(join(tmpdir(), 'duckdb-conformance-'));

// The expected sessions list only these fields; compare them as sorted sets.
const sessions = (path) =>
  readFileSync(path, 'utf8').split('\n').filter(Boolean).map((l) => {
    const s = JSON.parse(l);
    return JSON.stringify([s.uuid, Number(s.session_start_time_ms), Number(s.session_end_time_ms),
      Number(s.session_duration_seconds), Number(s.event_count), s.pages_visited]);
  }).sort();
const sorted = (o) => JSON.stringify(Object.fromEntries(Object.entries(o).sort()));
// The reason names before they were split by cause (the shared cases use
// them) compare with the sum of their successors, as in internal/event.
const legacy = {
  missing_uuid: ['missing_user', 'user_not_string'],
  missing_event_id: ['missing_event_id', 'event_id_not_string'],
  bad_timestamp: ['missing_time', 'time_not_number', 'bad_time_format', 'time_out_of_range'],
};
const fold = (got, want) => {
  const out = { ...got };
  for (const [name, parts] of Object.entries(legacy)) {
    if (!(name in want) || parts.some((p) => p !== name && p in want)) continue;
    let n = 0;
    for (const p of parts) { n += out[p] ?? 0; delete out[p]; }
    if (n) out[name] = n;
  }
  return out;
};
const schemaOptions = ['user_fields', 'event_id_field', 'time_field', 'time_format', 'timezone', 'page_field'];

let passed = 0, failed = 0, skipped = 0;
for (const name of readdirSync(casesDir).sort()) {
  const dir = join(casesDir, name);
  const spec = JSON.parse(readFileSync(join(dir, 'case.json'), 'utf8'));
  if (schemaOptions.some((o) => o in spec)) { skipped++; console.log(`skip ${name}: schema options`); continue; }
  const out = join(tmp, `${name}.jsonl`);
  const figures = JSON.parse(execFileSync(process.execPath, [join(here, 'run.mjs'), '--mode', 'full',
    '--input', join(dir, 'input.jsonl'), '--output', out, '--rejected', join(tmp, `${name}.rejected.jsonl`),
    '--inactivity-ms', String(spec.inactivity_timeout_ms), '--max-duration-ms', String(spec.max_session_duration_ms)],
  { encoding: 'utf8' }));
  const problems = [];
  if (JSON.stringify(sessions(out)) !== JSON.stringify(sessions(join(dir, 'expected_sessions.jsonl')))) problems.push('sessions differ');
  const gotRejected = fold(figures.rejected_by_reason, spec.rejected ?? {});
  if (sorted(gotRejected) !== sorted(spec.rejected ?? {})) problems.push(`rejected ${sorted(gotRejected)}, want ${sorted(spec.rejected ?? {})}`);
  if (figures.duplicates !== (spec.duplicates ?? 0)) problems.push(`duplicates ${figures.duplicates}, want ${spec.duplicates}`);
  if (problems.length) { failed++; console.log(`FAIL ${name}: ${problems.join('; ')}`); } else { passed++; console.log(`ok   ${name}`); }
}
rmSync(tmp, { recursive: true, force: true });
console.log(`${passed} passed, ${failed} failed, ${skipped} skipped`);
process.exit(failed ? 1 : 0);
