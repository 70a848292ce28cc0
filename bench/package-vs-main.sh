#!/usr/bin/env bash
# A package's benchmarks in this tree against another revision's (default:
# main), side by side on one machine: both test binaries are built first,
# then their runs alternate (old, new, old, new ...) so that load from other
# jobs on the shared cores falls on both alike, and benchstat compares them.
# Absolute figures move with the load; read the ratios (for the parser,
# cpu-ns/op, the CPU time of the benchmark's thread per record, is the
# steadier of them).
#
#   bench/package-vs-main.sh                               # the parser: BenchmarkParse, 8 runs of each
#   PKG=internal/session BENCH='Engine$' bench/package-vs-main.sh   # the engine
#   BASE=abc123 COUNT=4 bench/package-vs-main.sh
#
# FILES, test files of PKG copied from this tree over the old revision's so
# that the same benchmark code runs on both sides (they must use only API
# both revisions have): for the parser its benchmark with cpu-ns/op, which
# the old revision lacks; for other packages none (each side's own).
set -euo pipefail
cd "$(dirname "$0")/.."
BASE=${BASE:-main}
COUNT=${COUNT:-8}
PKG=${PKG:-internal/event}
BENCH=${BENCH:-'Parse$'}
if [ "$PKG" = internal/event ]; then
  FILES=${FILES-parser_bench_test.go cputime_linux_test.go cputime_other_test.go}
else
  FILES=${FILES-}
fi
OUT=${OUT:-bench/out/package-vs-main/$(basename "$PKG")}
rm -rf "$OUT" && mkdir -p "$OUT"
src=$(mktemp -d)
trap 'rm -rf "$src"' EXIT
# The old revision's source tree (git archive: no worktree to clean up).
git archive "$BASE" | tar -x -C "$src"
for f in $FILES; do cp "$PKG/$f" "$src/$PKG/"; done
(cd "$src" && go test -c -o "$OLDPWD/$OUT/old.test" "./$PKG")
go test -c -o "$OUT/new.test" "./$PKG"
benchstat=$(command -v benchstat || echo "$(go env GOPATH)/bin/benchstat")
[ -x "$benchstat" ] || go install golang.org/x/perf/cmd/benchstat@latest
echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs); $PKG -bench '$BENCH'; old = $BASE ($(git rev-parse --short "$BASE")), new = $(git rev-parse --short HEAD)$(git diff --quiet HEAD -- "$PKG" || echo ' + uncommitted changes')"
echo "load before: $(uptime)"
for i in $(seq "$COUNT"); do
  for side in old new; do
    (cd "$PKG" && "$OLDPWD/$OUT/$side.test" -test.run XXX -test.bench "$BENCH" -test.benchmem -test.cpu 1 -test.count 1) >> "$OUT/$side.txt"
  done
done
echo "load after: $(uptime)"
"$benchstat" "$OUT/old.txt" "$OUT/new.txt"
