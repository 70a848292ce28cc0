#!/usr/bin/env bash
# Peak RSS and wall time of `sessionize report` (whole table and a 7-day
# --from/--to window) and `sessionize table audit` over a generated
# warehouse, for the work tree's sessionize and, optionally, another
# revision's ("before").
#
#   bench/report-memory.sh                          # 10M sessions, 2M users, 30 days
#   SESSIONS=1000000 USERS=200000 BEFORE=main bench/report-memory.sh
#
# The warehouse (about 330 MB for 10M sessions, 4 min to write on 2 cores)
# is kept in $OUT and reused by later runs with the same settings.
set -euo pipefail
cd "$(dirname "$0")/.."
SESSIONS=${SESSIONS:-10000000}
USERS=${USERS:-2000000}
DAYS=${DAYS:-30}
OUT=${OUT:-bench/out}
BEFORE=${BEFORE:-} # a git revision to measure as well, e.g. main
mkdir -p "$OUT"
out_abs=$(cd "$OUT" && pwd)
bins=(--bin "after=$OUT/sessionize")
go build -o "$OUT/sessionize" ./cmd/sessionize
if [ -n "$BEFORE" ]; then
  src=$(mktemp -d)
  trap 'rm -rf "$src"' EXIT
  git archive "$BEFORE" | tar -x -C "$src"
  (cd "$src" && go build -o "$out_abs/sessionize-before" ./cmd/sessionize)
  bins=(--bin "before=$OUT/sessionize-before" "${bins[@]}")
fi
echo "load before the runs: $(cut -d' ' -f1-3 /proc/loadavg)"
go run ./bench/report-memory --sessions "$SESSIONS" --users "$USERS" --days "$DAYS" --out "$OUT" "${bins[@]}"
