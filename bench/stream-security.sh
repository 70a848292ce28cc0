#!/usr/bin/env bash
# Streaming throughput over SASL_SSL (TLS + SCRAM-SHA-512) vs plaintext: the
# same generated events preloaded into 6 partitions of two brokers, each in
# its own process, one plaintext and one SASL_SSL; then
#   sessionize run --drain --stop-when-idle 2s
# against each, into a fresh warehouse. Prints records/s of both (idle wait
# excluded) and their ratio. The runs alternate, ROUNDS times each, and the
# best of each is kept, since the machine is shared.
#
#   bench/stream-security.sh                  # 1M events, 2 rounds
#   EVENTS=200000 ROUNDS=1 bench/stream-security.sh
set -euo pipefail
cd "$(dirname "$0")/.."
EVENTS=${EVENTS:-1000000}
USERS=${USERS:-20000}
ROUNDS=${ROUNDS:-2}
PLAIN_PORT=${PLAIN_PORT:-29192}
SECURE_PORT=${SECURE_PORT:-29193}
OUT=${OUT:-bench/out/stream-security}
rm -rf "$OUT" && mkdir -p "$OUT/certs"
bin="$OUT/sessionize"
go build -o "$bin" ./cmd/sessionize

# A throwaway CA and a server certificate for localhost.
c="$OUT/certs"
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 1 -subj /CN=bench-ca \
  -keyout "$c/ca-key.pem" -out "$c/ca.pem" 2>/dev/null
openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj /CN=localhost \
  -keyout "$c/server-key.pem" -out "$c/server.csr" 2>/dev/null
printf 'subjectAltName=DNS:localhost,IP:127.0.0.1\nextendedKeyUsage=serverAuth\n' > "$c/ext"
openssl x509 -req -in "$c/server.csr" -CA "$c/ca.pem" -CAkey "$c/ca-key.pem" -CAcreateserial -days 1 \
  -extfile "$c/ext" -out "$c/server.pem" 2>/dev/null
echo bench-secret > "$c/pw"

plain=127.0.0.1:$PLAIN_PORT
secure=localhost:$SECURE_PORT
"$bin" broker --listen "$plain" --partitions 6 > "$OUT/broker-plain.log" 2>&1 &
b1=$!
SESSIONIZE_BROKER_SASL_USER=bench:bench-secret "$bin" broker --listen "127.0.0.1:$SECURE_PORT" --advertise "$secure" \
  --partitions 6 --tls-cert-file "$c/server.pem" --tls-key-file "$c/server-key.pem" > "$OUT/broker-secure.log" 2>&1 &
b2=$!
trap 'kill $b1 $b2 2>/dev/null || true' EXIT
sleep 1
sec=(--kafka-tls --kafka-tls-ca-file "$c/ca.pem" --kafka-sasl-mechanism SCRAM-SHA-512
  --kafka-sasl-username bench --kafka-sasl-password-file "$c/pw")

echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), shared"
echo "preloading $EVENTS events of $USERS users into 6 partitions of each broker"
"$bin" produce -q --kafka-servers "$plain" --partitions 6 --events "$EVENTS" --num-users "$USERS" --seed 7
"$bin" produce -q --kafka-servers "$secure" "${sec[@]}" --partitions 6 --events "$EVENTS" --num-users "$USERS" --seed 7

# run_once NAME SERVERS [FLAGS...]: prints records/s.
run_once() {
  local name=$1 servers=$2; shift 2
  local wh="$OUT/warehouse-$name-$RANDOM" start end
  start=$(date +%s.%N)
  "$bin" run --kafka-servers "$servers" "$@" --warehouse "$wh" --group "g-$name-$RANDOM" --http-addr "" \
    --drain --stop-when-idle 2s > "$OUT/run-$name.log" 2>&1
  end=$(date +%s.%N)
  rm -rf "$wh"
  awk -v n="$EVENTS" -v a="$start" -v b="$end" 'BEGIN{printf "%.0f", n/(b-a-2)}'
}
best_plain=0; best_secure=0
for r in $(seq 1 "$ROUNDS"); do
  p=$(run_once plain "$plain"); s=$(run_once secure "$secure" "${sec[@]}")
  echo "round $r: plaintext $p records/s, SASL_SSL $s records/s"
  (( p > best_plain )) && best_plain=$p
  (( s > best_secure )) && best_secure=$s
done
printf 'plaintext:   %d records/s end to end (best of %d)\n' "$best_plain" "$ROUNDS"
printf 'SASL_SSL:    %d records/s end to end (TLS 1.3 + SCRAM-SHA-512, best of %d)\n' "$best_secure" "$ROUNDS"
printf 'ratio:       SASL_SSL / plaintext = %.2f\n' "$(awk -v a="$best_secure" -v b="$best_plain" 'BEGIN{print a/b}')"
