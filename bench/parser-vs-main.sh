#!/usr/bin/env bash
# The parser of this tree against another revision's (default: main), side
# by side on one machine: both test binaries are built first, then their
# BenchmarkParse runs alternate (old, new, old, new ...) so that load from
# other jobs on the shared cores falls on both alike, and benchstat compares
# them. Absolute figures move with the load; read the ratios, cpu-ns/op's
# (CPU time of the benchmark's thread per record) the steadier of them.
#
#   bench/parser-vs-main.sh                 # 8 runs of each, against main
#   BASE=abc123 COUNT=4 bench/parser-vs-main.sh
#   BENCH='Parse/default' bench/parser-vs-main.sh
set -euo pipefail
cd "$(dirname "$0")/.."
BASE=${BASE:-main}
COUNT=${COUNT:-8}
BENCH=${BENCH:-'Parse$'}
OUT=${OUT:-bench/out/parser}
rm -rf "$OUT" && mkdir -p "$OUT"
src=$(mktemp -d)
trap 'rm -rf "$src"' EXIT
# The old revision's source tree (git archive: no worktree to clean up).
git archive "$BASE" | tar -x -C "$src"
# The same benchmark code on both sides (it uses only the package's API):
# this tree's, with its cpu-ns/op, the thread's CPU time per record.
cp internal/event/parser_bench_test.go internal/event/cputime_*_test.go "$src/internal/event/"
(cd "$src" && go test -c -o "$OLDPWD/$OUT/old.test" ./internal/event)
go test -c -o "$OUT/new.test" ./internal/event
benchstat=$(command -v benchstat || echo "$(go env GOPATH)/bin/benchstat")
[ -x "$benchstat" ] || go install golang.org/x/perf/cmd/benchstat@latest
echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs); old = $BASE ($(git rev-parse --short "$BASE")), new = $(git rev-parse --short HEAD)$(git diff --quiet HEAD -- internal/event || echo ' + uncommitted changes')"
echo "load before: $(uptime)"
for i in $(seq "$COUNT"); do
  for side in old new; do
    "$OUT/$side.test" -test.run XXX -test.bench "$BENCH" -test.benchmem -test.cpu 1 -test.count 1 >> "$OUT/$side.txt"
  done
done
echo "load after: $(uptime)"
"$benchstat" "$OUT/old.txt" "$OUT/new.txt"
