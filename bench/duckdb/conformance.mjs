// Runs the DuckDB full-rule SQL (run.mjs --mode full) on every shared
// conformance case and checks its sessions, rejected counts and duplicates
// against the case's expectations. This is what makes the SQL a trustworthy
// reference for the session-by-session check in batch-vs-duckdb.sh.
//
//   node bench/duckdb/conformance.mjs [CASES_DIR]   (default: ../shared/conformance/cases from the repo root)
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = fileURLToPath(new URL('.', import.meta.url));
const casesDir = process.argv[2] ?? join(here, '../../../shared/conformance/cases');
const tmp = mkdtempSync(join(tmpdir(), 'duckdb-conformance-'));

// The expected sessions list only these fields; compare them as sorted sets.
const sessions = (path) =>
  readFileSync(path, 'utf8').split('\n').filter(Boolean).map((l) => {
    const s = JSON.parse(l);
    return JSON.stringify([s.uuid, Number(s.session_start_time_ms), Number(s.session_end_time_ms),
      Number(s.session_duration_seconds), Number(s.event_count), s.pages_visited]);
  }).sort();
const sorted = (o) => JSON.stringify(Object.fromEntries(Object.entries(o).sort()));

let passed = 0, failed = 0;
for (const name of readdirSync(casesDir).sort()) {
  const dir = join(casesDir, name);
  const spec = JSON.parse(readFileSync(join(dir, 'case.json'), 'utf8'));
  const out = join(tmp, `${name}.jsonl`);
  const figures = JSON.parse(execFileSync(process.execPath, [join(here, 'run.mjs'), '--mode', 'full',
    '--input', join(dir, 'input.jsonl'), '--output', out, '--rejected', join(tmp, `${name}.rejected.jsonl`),
    '--inactivity-ms', String(spec.inactivity_timeout_ms), '--max-duration-ms', String(spec.max_session_duration_ms)],
  { encoding: 'utf8' }));
  const problems = [];
  if (JSON.stringify(sessions(out)) !== JSON.stringify(sessions(join(dir, 'expected_sessions.jsonl')))) problems.push('sessions differ');
  if (sorted(figures.rejected_by_reason) !== sorted(spec.rejected ?? {})) problems.push(`rejected ${sorted(figures.rejected_by_reason)}, want ${sorted(spec.rejected ?? {})}`);
  if (figures.duplicates !== (spec.duplicates ?? 0)) problems.push(`duplicates ${figures.duplicates}, want ${spec.duplicates}`);
  if (problems.length) { failed++; console.log(`FAIL ${name}: ${problems.join('; ')}`); } else { passed++; console.log(`ok   ${name}`); }
}
rmSync(tmp, { recursive: true, force: true });
console.log(`${passed} passed, ${failed} failed`);
process.exit(failed ? 1 : 0);
