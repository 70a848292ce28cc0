#!/usr/bin/env bash
# Streaming throughput and recovery: a topic preloaded with generated events
# in 6 partitions on a broker in its own process, then
#   1. sessionize run --drain --stop-when-idle 2s into a fresh warehouse:
#      records/s end to end (idle wait excluded), peak RSS;
#   2. restart-to-first-commit after kill -9: a run is killed mid-stream and
#      restarted; the time from the restart to its first commit is printed.
#
#   bench/stream.sh                    # 5M events
#   EVENTS=500000 bench/stream.sh      # quick
set -euo pipefail
cd "$(dirname "$0")/.."
EVENTS=${EVENTS:-5000000}
USERS=${USERS:-50000}
PORT=${PORT:-29092}
OUT=${OUT:-bench/out/stream}
rm -rf "$OUT" && mkdir -p "$OUT"
bin="$OUT/sessionize"
go build -o "$bin" ./cmd/sessionize
servers=127.0.0.1:$PORT

"$bin" broker --listen "$servers" --data-dir "$OUT/kafka-data" --partitions 6 > "$OUT/broker.log" 2>&1 &
broker=$!
trap 'kill $broker 2>/dev/null || true' EXIT
sleep 1
echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), $(free -g | awk '/Mem:/{print $2}') GiB RAM"
echo "preloading $EVENTS events of $USERS users into 6 partitions (broker in its own process)"
"$bin" produce -q --kafka-servers "$servers" --topic clickstream --partitions 6 --events "$EVENTS" --num-users "$USERS" --seed 7

# 1. Throughput.
start=$(date +%s.%N)
/usr/bin/time -f '%M' -o "$OUT/run.rss" "$bin" run --kafka-servers "$servers" --warehouse "$OUT/warehouse" \
  --drain --stop-when-idle 2s > "$OUT/run.log" 2>&1
end=$(date +%s.%N)
secs=$(awk -v a="$start" -v b="$end" 'BEGIN{print b-a-2}')
rss=$(( $(cat "$OUT/run.rss") / 1024 ))
commits=$(grep -c 'msg=commit' "$OUT/run.log")
printf 'throughput:  %d records in %.1f s = %.0f records/s end to end (%d commits, peak RSS %d MiB)\n' \
  "$EVENTS" "$secs" "$(awk -v n="$EVENTS" -v s="$secs" 'BEGIN{print n/s}')" "$commits" "$rss"

# 2. Restart after kill -9 (another group, so it reads from the start).
"$bin" run --kafka-servers "$servers" --warehouse "$OUT/warehouse2" --group crash --commit-interval 1s > "$OUT/crash1.log" 2>&1 &
victim=$!
for _ in $(seq 1 100); do grep -q 'msg=commit' "$OUT/crash1.log" 2>/dev/null && break; sleep 0.1; done
sleep 1
kill -9 $victim; wait $victim 2>/dev/null || true
restart=$(date +%s%N)
"$bin" run --kafka-servers "$servers" --warehouse "$OUT/warehouse2" --group crash --commit-interval 1s > "$OUT/crash2.log" 2>&1 &
again=$!
for _ in $(seq 1 600); do grep -q 'msg=commit' "$OUT/crash2.log" 2>/dev/null && break; sleep 0.05; done
first=$(date +%s%N)
kill $again; wait $again 2>/dev/null || true
printf 'recovery:    restart to first commit after kill -9: %.2f s\n' "$(awk -v a="$restart" -v b="$first" 'BEGIN{print (b-a)/1e9}')"
# Where the time went: the group hands the partitions over only once the
# killed member's session has timed out; then state is restored and the
# first interval's records are committed.
ts() { grep -m1 "$1" "$OUT/crash2.log" | sed -E 's/^time=[^T]*T([0-9:.]*)Z.*/\1/' | awk -F: '{print $1*3600+$2*60+$3}'; }
joined=$(ts 'joining consumer group'); assigned=$(ts 'partitions assigned'); committed=$(ts 'msg=commit')
printf '             joining to assignment %.2f s (the killed member'"'"'s session timeout), assignment to first commit %.2f s\n' \
  "$(awk -v a="$joined" -v b="$assigned" 'BEGIN{print b-a}')" "$(awk -v a="$assigned" -v b="$committed" 'BEGIN{print b-a}')"
