#!/usr/bin/env bash
# Streaming throughput and recovery: a topic preloaded with generated events
# in 6 partitions on a broker in its own process, then
#   1. sessionize run --drain --stop-when-idle 2s into a fresh warehouse:
#      records/s end to end (idle wait excluded), peak RSS;
#   2. restart-to-first-commit after kill -9: a run is killed mid-stream and
#      restarted; the time from the restart to its first commit is printed;
#   3. the throughput run of 1. again with the warehouse on versitygw (an S3
#      server on this machine; on PATH or in $(go env GOPATH)/bin, else
#      skipped with a note), and its ratio to the local disk's.
#
#   bench/stream.sh                    # 5M events
#   EVENTS=500000 bench/stream.sh      # quick
#   S3=0 bench/stream.sh               # without 3.
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

# 1. Throughput. throughput NAME GROUP WAREHOUSE-FLAGS... runs one drain run
# of the whole topic in its own group and prints records/s; it leaves the
# rate in $rate.
throughput() {
  local name=$1 group=$2; shift 2
  local start end secs rss commits
  start=$(date +%s.%N)
  /usr/bin/time -f '%M' -o "$OUT/$name.rss" "$bin" run --kafka-servers "$servers" --group "$group" "$@" \
    --drain --stop-when-idle 2s > "$OUT/$name.log" 2>&1
  end=$(date +%s.%N)
  secs=$(awk -v a="$start" -v b="$end" 'BEGIN{print b-a-2}')
  rss=$(( $(cat "$OUT/$name.rss") / 1024 ))
  commits=$(grep -c 'msg=commit' "$OUT/$name.log")
  rate=$(awk -v n="$EVENTS" -v s="$secs" 'BEGIN{printf "%.0f", n/s}')
  printf '%-12s %d records in %.1f s = %d records/s end to end (%d commits, peak RSS %d MiB)\n' \
    "$name:" "$EVENTS" "$secs" "$rate" "$commits" "$rss"
}
throughput throughput sessionize --warehouse "$OUT/warehouse"
local_rate=$rate

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

# 3. Throughput with the warehouse on S3 (versitygw, posix backend on this
# machine's disk): the same run, another group, so it reads from the start.
if [ "${S3:-1}" = 1 ]; then
  vgw=$(command -v versitygw || echo "$(go env GOPATH)/bin/versitygw")
  if [ -x "$vgw" ]; then
    mkdir -p "$OUT/s3/lake"
    s3port=$((PORT + 1))
    "$vgw" --access bench --secret bench-secret --port "127.0.0.1:$s3port" posix "$OUT/s3" > "$OUT/versitygw.log" 2>&1 &
    vgwpid=$!
    trap 'kill $broker $vgwpid 2>/dev/null || true' EXIT
    for _ in $(seq 1 100); do (exec 3<>"/dev/tcp/127.0.0.1/$s3port") 2>/dev/null && break; sleep 0.1; done
    AWS_EC2_METADATA_DISABLED=true SESSIONIZE_S3_SECRET_ACCESS_KEY=bench-secret \
      throughput s3 s3bench --warehouse s3://lake/warehouse --catalog-uri "sqlite://$(realpath "$OUT")/s3-catalog.db" \
      --s3-endpoint "http://127.0.0.1:$s3port" --s3-region us-east-1 --s3-access-key-id bench
    printf '             warehouse on versitygw: %.2fx the local disk'"'"'s records/s\n' "$(awk -v a="$rate" -v b="$local_rate" 'BEGIN{print a/b}')"
  else
    echo "s3:          skipped: no versitygw (go install github.com/versity/versitygw/cmd/versitygw@v1.8.0)"
  fi
fi
