#!/usr/bin/env bash
# Memory-bounded batch: sessionizes a large generated input twice, once with
# --memory-limit (partitions spill to disk) and once without, and prints
# peak RSS and time of each and whether the sessions are identical.
#
#   bench/memory-limit.sh                 # 20M events (~5.3 GB), limit 1GiB
#   EVENTS=2000000 LIMIT=256MiB bench/memory-limit.sh
set -euo pipefail
cd "$(dirname "$0")/.."
EVENTS=${EVENTS:-20000000}
USERS=${USERS:-200000}
LIMIT=${LIMIT:-1GiB}
OUT=${OUT:-bench/out}
mkdir -p "$OUT"
bin="$OUT/sessionize"
go build -o "$bin" ./cmd/sessionize

input="$OUT/events-$EVENTS-$USERS.jsonl"
if [ ! -s "$input" ]; then
  echo "generating $EVENTS events of $USERS users into $input"
  "$bin" produce -q --output "$input" --events "$EVENTS" --num-users "$USERS" --seed 11
fi
cat "$input" > /dev/null # warm the page cache so both runs read alike

run() { # name, extra flags...
  local name=$1; shift
  /usr/bin/time -f '%e %M' -o "$OUT/$name.time" \
    "$bin" batch -q --input "$input" --output "$OUT/$name.jsonl" --summary-json "$OUT/$name.summary.json" "$@"
  read -r secs kb < "$OUT/$name.time"
  spilled=$(grep -o '"spilled_bytes": [0-9]*' "$OUT/$name.summary.json" | grep -o '[0-9]*$')
  printf '%-14s %8.1f s %10.0f MiB peak RSS %10.0f MiB spilled\n' "$name" "$secs" "$((kb / 1024))" "$((spilled / 1048576))"
}
echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), $(free -g | awk '/Mem:/{print $2}') GiB RAM"
echo "input:   $(du -h "$input" | cut -f1), $EVENTS records"
run limited --memory-limit "$LIMIT"
run unlimited --memory-limit 64GiB
# Partition counts differ between the runs, so compare as sorted sets.
a=$(sort "$OUT/limited.jsonl" | sha256sum | cut -c1-16)
b=$(sort "$OUT/unlimited.jsonl" | sha256sum | cut -c1-16)
if [ "$a" = "$b" ]; then
  echo "sessions identical ($(wc -l < "$OUT/limited.jsonl") sessions, sha256 of sorted output $a)"
else
  echo "SESSIONS DIFFER: $a vs $b"; exit 1
fi
rm -f "$OUT/limited.jsonl" "$OUT/unlimited.jsonl"
