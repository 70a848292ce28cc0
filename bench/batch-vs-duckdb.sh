#!/usr/bin/env bash
# sessionize batch vs DuckDB on the same generated clickstream.
#
# Builds sessionize, generates the input with `sessionize produce`, then times
#   - sessionize batch                (full rule: 30 min gap + greedy 2 h cut)
#   - DuckDB, the classic query       (LAG + running SUM, 30 min gap only)
#   - DuckDB, the full rule in SQL    (recursive CTE over session starts)
#   - the floor, bench/bareparse      (batch's read and parse alone, nothing
#                                      after it: no change past the parser
#                                      can make batch faster than this)
# and checks that DuckDB's full-rule sessions equal sessionize's, session by
# session. Prints a table; exits 1 if any session or count differs.
#
#   bench/batch-vs-duckdb.sh                    # 5M events, 50k users (~1.3 GB)
#   EVENTS=200000 bench/batch-vs-duckdb.sh      # quick run
#   REPEAT=3 bench/batch-vs-duckdb.sh           # best of 3 timings
#
# Settings, as environment variables or as flags (--events 200000, --users,
# --seed, --full-events, --repeat, --out):
#   EVENTS, USERS, SEED   generator parameters (default 5000000, 50000, 7)
#   FULL_EVENTS           run the DuckDB full-rule query on a separately
#                         generated input of this many events (default: the
#                         same input as the others)
#   REPEAT                timed runs of each engine; the best is reported (1)
#   OUT                   work directory (bench/out, gitignored)
#   FORCE_GENERATE=1      regenerate the input even if it is there
#   KEEP_OUTPUTS=1        keep the session files (hundreds of MB) afterwards
#
# See bench/README.md for what is measured and how to read the output.
set -euo pipefail
shopt -s inherit_errexit # a failing command inside $(...) stops the script too

while [ $# -gt 0 ]; do
  case "$1" in
    --events) EVENTS=$2; shift 2 ;;
    --users) USERS=$2; shift 2 ;;
    --seed) SEED=$2; shift 2 ;;
    --full-events) FULL_EVENTS=$2; shift 2 ;;
    --repeat) REPEAT=$2; shift 2 ;;
    --out) OUT=$2; shift 2 ;;
    -h|--help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    *) echo "unknown argument: $1 (see --help)" >&2; exit 2 ;;
  esac
done

cd "$(dirname "$0")/.."
ROOT=$PWD
EVENTS=${EVENTS:-5000000}
USERS=${USERS:-50000}
SEED=${SEED:-7}
FULL_EVENTS=${FULL_EVENTS:-$EVENTS}
REPEAT=${REPEAT:-1}
# sessionize's default cap on pages_visited, given explicitly because the
# check must know it: a capped list is compared with the head of DuckDB's
MAX_PAGES=2500
OUT=${OUT:-bench/out}
NODE=${NODE:-$(command -v node || echo /usr/bin/node)}
DUCK=$ROOT/bench/duckdb
RUN=$OUT/batch-vs-duckdb # this run's outputs and figures
TIME=/usr/bin/time       # GNU time: %M is the timed process's peak RSS, from the kernel

for n in EVENTS USERS SEED FULL_EVENTS REPEAT; do
  [[ ${!n} =~ ^[0-9]+$ && ${!n} -gt 0 ]] || { echo "$n must be a positive integer, got '${!n}'" >&2; exit 2; }
done
[ -x "$TIME" ] || { echo "$TIME (GNU time) is needed to measure peak RSS: apt-get install time" >&2; exit 2; }
"$NODE" -e 'process.exit(+process.versions.node.split(".")[0] >= 18 ? 0 : 1)' ||
  { echo "node >= 18 is needed ($NODE is $("$NODE" --version))" >&2; exit 2; }

mkdir -p "$OUT" "$RUN"
rm -f "$RUN"/*

step() { printf '\n== %s\n' "$*" >&2; }

# --- DuckDB: installed by the project, pinned in bench/duckdb/package.json.
pinned=$("$NODE" -p "require('$DUCK/package.json').dependencies['@duckdb/node-api']")
installed=$("$NODE" -p "try { require('$DUCK/node_modules/@duckdb/node-api/package.json').version } catch { '' }")
if [ "$installed" != "$pinned" ]; then
  step "installing @duckdb/node-api $pinned into bench/duckdb/node_modules"
  (cd "$DUCK" && npm install --no-audit --no-fund)
fi

# --- sessionize, built from this work tree.
step "building sessionize"
mkdir -p "$OUT/bin"
go build -o "$OUT/bin/sessionize" ./cmd/sessionize ||
  { echo "go build failed: fix the build (or wait for the edit in progress) and rerun" >&2; exit 1; }
BIN=$OUT/bin/sessionize
go build -o "$OUT/bin/bareparse" ./bench/bareparse

# --- Inputs. The file name carries the parameters; the .params file beside it
# also records a fingerprint of the generator's source, because the same
# parameters give different bytes once the generator changes.
gen_fingerprint=$(find internal/gen -maxdepth 1 -name '*.go' ! -name '*_test.go' | sort | xargs cat | sha256sum | cut -c1-16)
input_for() { # events -> path of the generated input (generated if needed)
  local events=$1 f params
  f=$OUT/events-${events}e-${USERS}u-seed${SEED}.jsonl
  params="produce --events $events --num-users $USERS --seed $SEED; generator $gen_fingerprint"
  if [ "${FORCE_GENERATE:-0}" = 1 ] || [ ! -s "$f" ] || [ "$(cat "$f.params" 2>/dev/null)" != "$params" ]; then
    step "generating $events events of $USERS users (seed $SEED) into $f"
    rm -f "$f.params"
    "$BIN" produce -q --output "$f" --events "$events" --num-users "$USERS" --seed "$SEED"
    echo "$params" > "$f.params"
  fi
  echo "$f"
}
INPUT=$(input_for "$EVENTS")
FULL_INPUT=$INPUT
[ "$FULL_EVENTS" = "$EVENTS" ] || FULL_INPUT=$(input_for "$FULL_EVENTS")

# Both engines read the input from the page cache, never from disk: the first
# timed run would otherwise pay for the disk and the others would not.
step "warming the page cache: cat input > /dev/null"
cat "$INPUT" > /dev/null
[ "$FULL_INPUT" = "$INPUT" ] || cat "$FULL_INPUT" > /dev/null

# --- Timed runs. Each run is one process under GNU time: wall seconds and
# peak RSS (KiB) go to NAME.time, the engine's own figures to NAME.json.
# The engines alternate within each repetition so that a noisy neighbour
# slows them alike.
sessionize_run() { # name input
  "$TIME" -f '%e %M %U %S' -o "$RUN/$1.time" \
    "$BIN" batch -q --input "$2" --output "$RUN/$1.sessions.jsonl" \
      --rejected "$RUN/$1.rejected.jsonl" --summary-json "$RUN/$1.json" \
      --max-pages-per-session "$MAX_PAGES" --time-format ms
}
# The floor: the same read and parse, and nothing else (bench/bareparse).
floor_run() { # name input
  "$TIME" -f '%e %M %U %S' -o "$RUN/$1.time" "$OUT/bin/bareparse" --input "$2" --time-format ms --json > "$RUN/$1.json"
}
duckdb_run() { # name mode input
  "$TIME" -f '%e %M %U %S' -o "$RUN/$1.time" \
    "$NODE" "$DUCK/run.mjs" --mode "$2" --input "$3" --output "$RUN/$1.sessions.jsonl" \
      --rejected "$RUN/$1.rejected.jsonl" > "$RUN/$1.json"
}
uptime > "$RUN/load-before.txt"
for i in $(seq 1 "$REPEAT"); do
  step "run $i of $REPEAT: sessionize batch"
  sessionize_run "sessionize.$i" "$INPUT"
  step "run $i of $REPEAT: read and parse alone (bench/bareparse, the floor)"
  floor_run "floor.$i" "$INPUT"
  step "run $i of $REPEAT: DuckDB gap-only (LAG + running SUM)"
  duckdb_run "duckdb-gap.$i" gap "$INPUT"
  step "run $i of $REPEAT: DuckDB full rule (recursive CTE)"
  duckdb_run "duckdb-full.$i" full "$FULL_INPUT"
done
if [ "$FULL_INPUT" != "$INPUT" ]; then
  # the full-rule check needs sessionize's sessions of that input too (untimed)
  step "sessionize batch on the full-rule input (for the check, not timed)"
  sessionize_run "sessionize-full-input" "$FULL_INPUT"
  OURS_FOR_FULL=sessionize-full-input
else
  OURS_FOR_FULL=sessionize.1
fi

# --- Checks (untimed): DuckDB's full-rule sessions must equal ours exactly.
# The gap-only sessions are compared too, for information: they are expected
# to differ wherever a visit runs past 2 h.
step "comparing sessions"
check=0
"$NODE" "$DUCK/compare.mjs" --max-pages "$MAX_PAGES" --ours "$RUN/$OURS_FOR_FULL.sessions.jsonl" \
  --theirs "$RUN/duckdb-full.1.sessions.jsonl" > "$RUN/compare-full.json" || check=$?
[ "$check" -le 1 ] || { echo "compare.mjs failed (exit $check)" >&2; exit "$check"; }
"$NODE" "$DUCK/compare.mjs" --max-pages "$MAX_PAGES" --informative --ours "$RUN/sessionize.1.sessions.jsonl" \
  --theirs "$RUN/duckdb-gap.1.sessions.jsonl" > "$RUN/compare-gap.json"
# Both write every rejected record as {"reason", "source": "file:line", "raw"};
# identical files show DuckDB rejected the same lines for the same reasons.
for q in gap full; do
  ours_rej=$RUN/sessionize.1.rejected.jsonl
  [ "$q" = gap ] || ours_rej=$RUN/$OURS_FOR_FULL.rejected.jsonl
  if cmp -s "$ours_rej" "$RUN/duckdb-$q.1.rejected.jsonl"; then echo identical; else echo differ; fi > "$RUN/rejected-$q.txt"
done

report=0
"$NODE" "$DUCK/report.mjs" --run "$RUN" --repeat "$REPEAT" --input "$INPUT" --full-input "$FULL_INPUT" \
  --ours-for-full "$OURS_FOR_FULL" --sessionize "$BIN" || report=$?

if [ "${KEEP_OUTPUTS:-0}" != 1 ]; then
  rm -f "$RUN"/*.sessions.jsonl
fi
exit "$report"
