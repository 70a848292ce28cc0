#!/usr/bin/env bash
# Stream throughput against the broker's own limit (issue 14, target 2).
# One broker in its own process, two topics preloaded with generated
# events in 6 partitions (EVENTS, 5M, and SMALL, 1M), then per round and
# per topic, back to back so a noisy neighbour slows all alike:
#   bare  a bare franz-go consumer (bench/bareconsume) reading the topic to
#         its end: the yardstick;
#   floor the same consumer parsing every record with sessionize's parser
#         (bareconsume --parse): what a drain, which also sessionizes and
#         writes, cannot beat with the parser it has;
#   old   sessionize run --drain --stop-when-idle of the whole topic, built
#         from OLD_REF (main), into a fresh warehouse;
#   new   the same, built from the work tree (old and new take turns
#         going first, round by round).
# Each is timed as a whole process (start-up included) under /usr/bin/time;
# the --stop-when-idle wait is taken off. The broker's CPU over the same
# span comes from /proc, so each line also says how many of the cores the
# reader and the broker kept busy together (all of them: the machine is the
# limit; fewer: something waits). For the big topic the rate without
# start-up (from the process start to its partitions being assigned) is
# printed too; target: >= 0.7x bare on it, >= 0.5x with start-up on the
# small one. The new binary's big drain writes a CPU profile (PROFILE=0:
# not), from which bench/profilesplit prints where the time went: fetch,
# parse, engine, Parquet encode, commit, GC (go tool pprof for more).
#
#   bench/stream-vs-bare.sh                         # 5M and 1M, one round
#   ROUNDS=3 bench/stream-vs-bare.sh                # best of 3
#   EVENTS=1000000 SMALL=200000 bench/stream-vs-bare.sh  # quick
#   OLD=0 bench/stream-vs-bare.sh                   # without the old binary
#   PROFILE=0 bench/stream-vs-bare.sh               # no CPU profile of new on the big topic
set -euo pipefail
cd "$(dirname "$0")/.."
EVENTS=${EVENTS:-5000000}
SMALL=${SMALL:-1000000}
USERS=${USERS:-50000}
PORT=${PORT:-29192}
ROUNDS=${ROUNDS:-1}
OLD=${OLD:-1}
OLD_REF=${OLD_REF:-main}
IDLE=${IDLE:-1s}
OUT=${OUT:-bench/out/stream-vs-bare}
rm -rf "$OUT" && mkdir -p "$OUT"
new="$OUT/sessionize-new"
go build -o "$new" ./cmd/sessionize
go build -o "$OUT/bareconsume" ./bench/bareconsume
go build -o "$OUT/profilesplit" ./bench/profilesplit
bins=(new)
if [ "$OLD" = 1 ]; then
  mkdir -p "$OUT/old-src"
  git archive "$OLD_REF" | tar -x -C "$OUT/old-src"
  (cd "$OUT/old-src" && go build -o ../sessionize-old ./cmd/sessionize)
  rm -rf "$OUT/old-src"
  bins=(old new)
fi
servers=127.0.0.1:$PORT
"$new" broker --listen "$servers" --data-dir "$OUT/kafka-data" --partitions 6 > "$OUT/broker.log" 2>&1 &
broker=$!
trap 'kill $broker 2>/dev/null || true' EXIT
sleep 1
echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs); $(uptime | sed 's/.*load/load/')"
echo "old: $OLD_REF ($(git rev-parse --short "$OLD_REF")), new: work tree ($(git rev-parse --short HEAD)$(git diff --quiet HEAD || echo +changes))"
"$new" produce -q --kafka-servers "$servers" --topic big --partitions 6 --events "$EVENTS" --num-users "$USERS" --seed 7
"$new" produce -q --kafka-servers "$servers" --topic small --partitions 6 --events "$SMALL" --num-users "$USERS" --seed 8
idle_s=$(awk -v d="$IDLE" 'BEGIN{sub(/s$/,"",d); print d}')
epoch() { date -d "$1" +%s.%N; }

# broker_cpu: the broker process's CPU seconds so far (user + system,
# /proc/PID/stat fields 14 and 15). Taken around each read, it says how much
# of the two cores the broker needed meanwhile: with the reader's own CPU,
# whether the machine was the limit.
ticks=$(getconf CLK_TCK)
broker_cpu() { awk -v t="$ticks" '{printf "%.2f", ($14+$15)/t}' "/proc/$broker/stat"; }

# bare NAME TOPIC [ARGS]: sets secs, rss, cpu and bcpu (the broker's,
# meanwhile).
bare() {
  local name=$1 topic=$2 start end b0
  shift 2
  b0=$(broker_cpu)
  start=$(date +%s.%N)
  /usr/bin/time -f '%M %U %S' -o "$OUT/$name.rss" "$OUT/bareconsume" --kafka-servers "$servers" --topic "$topic" "$@" > "$OUT/$name-$topic.log"
  end=$(date +%s.%N)
  secs=$(awk -v a="$start" -v b="$end" 'BEGIN{print b-a}')
  startup=$(sed -E 's/.*start-up ([0-9.]+) s.*/\1/' "$OUT/$name-$topic.log")
  read_time "$OUT/$name.rss"
  bcpu=$(awk -v a="$b0" -v b="$(broker_cpu)" 'BEGIN{printf "%.1f", b-a}')
}

# read_time FILE: rss (MiB) and cpu (user + system seconds) from GNU time's
# '%M %U %S'. CPU time is the steadier figure on a shared machine: the wall
# time of the same run moves by a third with the neighbours' load.
read_time() {
  rss=$(awk '{print int($1/1024)}' "$1")
  cpu=$(awk '{printf "%.1f", $2+$3}' "$1")
}

# drain BIN TOPIC RUN: sets secs (idle wait taken off), startup, rss, cpu,
# bcpu.
drain() {
  local bin=$1 topic=$2 run=$3 start end assigned b0 profile=()
  if [ "${PROFILE:-1}" = 1 ] && [ "$bin" = new ] && [ "$topic" = big ]; then
    profile=(--cpuprofile "$OUT/cpu-$run.pprof")
  fi
  b0=$(broker_cpu)
  start=$(date +%s.%N)
  /usr/bin/time -f '%M %U %S' -o "$OUT/$run.rss" "$OUT/sessionize-$bin" run --kafka-servers "$servers" --topic "$topic" \
    --group "$run" --warehouse "$OUT/wh-$run" --http-addr "" --drain --stop-when-idle "$IDLE" "${profile[@]}" > "$OUT/$run.log" 2>&1
  end=$(date +%s.%N)
  secs=$(awk -v a="$start" -v b="$end" -v i="$idle_s" 'BEGIN{print b-a-i}')
  assigned=$(epoch "$(grep -m1 'partitions assigned' "$OUT/$run.log" | sed -E 's/^time=([^ ]*) .*/\1/')")
  startup=$(awk -v a="$start" -v b="$assigned" 'BEGIN{print b-a}')
  read_time "$OUT/$run.rss"
  bcpu=$(awk -v a="$b0" -v b="$(broker_cpu)" 'BEGIN{printf "%.1f", b-a}')
  rm -rf "$OUT/wh-$run"
}

# busy: the cores the reader and the broker kept busy together over secs.
cores=$(nproc)
busy() { awk -v c="$cpu" -v b="$bcpu" -v s="$secs" -v n="$cores" 'BEGIN{printf "%.2f of %d cores busy", (c+b)/s, n}'; }

declare -A best best_nostart best_cpu
for round in $(seq 1 "$ROUNDS"); do
  for topic in big small; do
    n=$EVENTS; [ "$topic" = small ] && n=$SMALL
    for reader in bare floor; do
      args=(); [ "$reader" = floor ] && args=(--parse)
      bare "$reader" "$topic" "${args[@]}"
      rate=$(awk -v n="$n" -v s="$secs" 'BEGIN{printf "%.0f", n/s}')
      nostart=$(awk -v n="$n" -v s="$secs" -v u="$startup" 'BEGIN{printf "%.0f", n/(s-u)}')
      printf 'round %d %-5s %-5s %8d records in %6.2f s = %8d records/s (%8d without %.2f s start-up), peak RSS %4d MiB, CPU %5.1f s, broker %4.1f s: %s\n' \
        "$round" "$topic" "$reader" "$n" "$secs" "$rate" "$nostart" "$startup" "$rss" "$cpu" "$bcpu" "$(busy)"
      [ "${best[$reader-$topic]:-0}" -lt "$rate" ] && best[$reader-$topic]=$rate
      [ "${best_nostart[$reader-$topic]:-0}" -lt "$nostart" ] && best_nostart[$reader-$topic]=$nostart
    done
    # old and new take turns going first: whichever drains second ran a few
    # percent slower in runs of the same code as both (1.00x and 0.89x).
    order=("${bins[@]}")
    if [ "${#bins[@]}" = 2 ] && [ $((round % 2)) = 0 ]; then order=("${bins[1]}" "${bins[0]}"); fi
    for b in "${order[@]}"; do
      drain "$b" "$topic" "$b-$topic-$round"
      rate=$(awk -v n="$n" -v s="$secs" 'BEGIN{printf "%.0f", n/s}')
      nostart=$(awk -v n="$n" -v s="$secs" -v u="$startup" 'BEGIN{printf "%.0f", n/(s-u)}')
      printf 'round %d %-5s %-5s %8d records in %6.2f s = %8d records/s (%8d without %.2f s start-up), peak RSS %4d MiB, CPU %5.1f s, broker %4.1f s: %s, %d commits\n' \
        "$round" "$topic" "$b" "$n" "$secs" "$rate" "$nostart" "$startup" "$rss" "$cpu" "$bcpu" "$(busy)" "$(grep -c 'msg=commit' "$OUT/$b-$topic-$round.log")"
      if [ -z "${best_cpu[$b-$topic]:-}" ] || awk -v a="$cpu" -v b="${best_cpu[$b-$topic]}" 'BEGIN{exit !(a < b)}'; then
        best_cpu[$b-$topic]=$cpu
      fi
      [ "${best[$b-$topic]:-0}" -lt "$rate" ] && best[$b-$topic]=$rate
      [ "${best_nostart[$b-$topic]:-0}" -lt "$nostart" ] && best_nostart[$b-$topic]=$nostart
      if [ -s "$OUT/cpu-$b-$topic-$round.pprof" ]; then
        echo "  where $b's CPU time went (bench/profilesplit):"
        "$OUT/profilesplit" "$OUT/cpu-$b-$topic-$round.pprof" | sed 's/^/    /'
      fi
    done
  done
done
echo "best of $ROUNDS round(s); $(uptime | sed 's/.*load/load/')"
awk -v r="${best_nostart[floor-big]}" -v y="${best_nostart[bare-big]}" \
  'BEGIN{printf "floor big  without start-up: %8d / bare %8d records/s = %.2fx (reading and parsing alone: no drain with this parser gets past it)\n", r, y, r/y}'
awk -v r="${best[floor-small]}" -v y="${best[bare-small]}" \
  'BEGIN{printf "floor small with start-up:    %8d / bare %8d records/s = %.2fx\n", r, y, r/y}'
for b in "${bins[@]}"; do
  awk -v b="$b" -v r="${best_nostart[$b-big]}" -v y="${best_nostart[bare-big]}" \
    'BEGIN{printf "%-4s big   without start-up: %8d / bare %8d records/s = %.2fx (target >= 0.70x)\n", b, r, y, r/y}'
  awk -v b="$b" -v r="${best[$b-small]}" -v y="${best[bare-small]}" \
    'BEGIN{printf "%-4s small with start-up:    %8d / bare %8d records/s = %.2fx (target >= 0.50x)\n", b, r, y, r/y}'
  awk -v b="$b" -v r="${best[$b-big]}" -v y="${best[bare-big]}" \
    'BEGIN{printf "%-4s big   with start-up:    %8d / bare %8d records/s = %.2fx\n", b, r, y, r/y}'
done
if [ "$OLD" = 1 ]; then
  awk -v a="${best_nostart[new-big]}" -v b="${best_nostart[old-big]}" -v c="${best[new-small]}" -v d="${best[old-small]}" \
    'BEGIN{printf "new/old: big %.2fx, small %.2fx\n", a/b, c/d}'
  awk -v a="${best_cpu[new-big]}" -v b="${best_cpu[old-big]}" -v c="${best_cpu[new-small]}" -v d="${best_cpu[old-small]}" \
    'BEGIN{printf "CPU seconds of the drain (lowest of the rounds; profiled runs included): new %.1f / old %.1f big (%.2fx), new %.1f / old %.1f small (%.2fx)\n", a, b, a/b, c, d, c/d}'
fi
