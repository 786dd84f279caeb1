#!/usr/bin/env bash
# TLS handshakes per second with client certificates: `iotsim serve` vs Debian's mosquitto,
# both configured like AWS IoT Core's port 8883 (client certificate required, verified against
# the local CA), each connection followed by an MQTT 3.1.1 CONNECT that must get CONNACK 0.
#
# usage: bench/run_tls_bench.sh [IOTSIM_BIN] [TLS_BENCH_BIN]
#   IOTSIM_BIN     default $IOTSIM_BIN or build/release/iotsim
#   TLS_BENCH_BIN  default $TLS_BENCH_BIN or build/release/bench/iotsim_tls_bench
# Builds nothing. One temporary data directory: iotsim creates the local CA, its server
# certificate and the demo device certificate there on first start (the device certificate is
# registered with the allow-all `iotsim-demo-policy`); mosquitto is given the same CA, server
# certificate and key, so both servers do the same cryptography. Both servers run for the whole
# script, pinned to CPU $SERVER_CPU; the client runs pinned to CPU $CLIENT_CPU. For every TLS
# version and concurrency the servers are measured alternately, in $SERVERS order, RUNS times.
# Progress goes to stderr; the result table (plain text, then markdown) to stdout.
#
# Environment (defaults in brackets):
#   HANDSHAKES     connections per measurement [2000]
#   CONCURRENCY    client worker threads, one measurement each ["1 4"]
#   TLS_VERSIONS   auto | 1.2 | 1.3, one measurement each ["auto"]
#                  (auto = the highest both sides support: TLS 1.3 with OpenSSL 3)
#   WARMUP         unmeasured connections before each measurement [20]
#   RUNS           rounds per TLS version and concurrency; a round measures each server once
#                  (alternating, so both share any other load alike); the table shows medians,
#                  and the ratio is the median of the rounds' ratios [1]
#   WAIT_QUIET     before each measurement, wait up to this many seconds for the CPUs to be
#                  < 10% busy with other work [0 = only warn; the table is then marked noisy]
#   SERVERS        the two columns, in order ["mosquitto iotsim"]; a name may repeat
#                  ("iotsim iotsim": run-to-run noise, the ratio should be ~1.00)
#   SERVER_CPU [0]  CLIENT_CPU [1]  PIN=0 to run unpinned
#   PORT           first TCP port to try [18883]; MOSQUITTO_BIN [mosquitto]
#   MOSQUITTO_NODELAY  1: `set_tcp_nodelay true` in mosquitto's config [1]. With its default
#                  (Nagle on) the CONNACK waits behind the client's delayed ACK of the
#                  server's last handshake flight: ~40 ms per connection at concurrency 1.
#                  iotsim sets TCP_NODELAY on every connection.
#   KEEP_WORK=1    keep the temp dir (data dir, configs, logs, raw JSON results)
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
IOTSIM=${1:-${IOTSIM_BIN:-$ROOT/build/release/iotsim}}
TLS_BENCH=${2:-${TLS_BENCH_BIN:-$ROOT/build/release/bench/iotsim_tls_bench}}

HANDSHAKES=${HANDSHAKES:-2000}
CONCURRENCY=${CONCURRENCY:-"1 4"}
TLS_VERSIONS=${TLS_VERSIONS:-auto}
WARMUP=${WARMUP:-20}
RUNS=${RUNS:-1}
WAIT_QUIET=${WAIT_QUIET:-0}
SERVERS=${SERVERS:-"mosquitto iotsim"}
SERVER_CPU=${SERVER_CPU:-0}
CLIENT_CPU=${CLIENT_CPU:-1}
PIN=${PIN:-1}
NEXT_PORT=${PORT:-18883}
MOSQUITTO_BIN=${MOSQUITTO_BIN:-mosquitto}
MOSQUITTO_NODELAY=${MOSQUITTO_NODELAY:-1}

log() { echo "[tls-bench] $*" >&2; }
die() { echo "[tls-bench] error: $*" >&2; exit 1; }

[[ -x $IOTSIM ]] || die "iotsim binary not found: $IOTSIM (build target iotsim, Release)"
[[ -x $TLS_BENCH ]] || die "tls bench binary not found: $TLS_BENCH (build target iotsim_tls_bench)"
if [[ " $SERVERS " == *" mosquitto "* ]]; then
  command -v "$MOSQUITTO_BIN" >/dev/null || die "mosquitto not found ($MOSQUITTO_BIN; apt-get install -y mosquitto)"
fi
read -ra SLIST <<<"$SERVERS"
((${#SLIST[@]} == 2)) || die "SERVERS needs exactly two names (got '$SERVERS')"
for s in "${SLIST[@]}"; do
  case $s in mosquitto | iotsim) ;; *) die "unknown server '$s' in SERVERS" ;; esac
done
for v in $TLS_VERSIONS; do
  case $v in auto | 1.2 | 1.3) ;; *) die "unknown TLS version '$v' in TLS_VERSIONS" ;; esac
done
SERVER_PIN=() CLIENT_PIN=()
if [[ $PIN == 1 ]]; then
  command -v taskset >/dev/null || die "taskset not found (apt-get install -y util-linux), or PIN=0"
  NCPU=$(nproc)
  ((SERVER_CPU < NCPU && CLIENT_CPU < NCPU)) || die "need CPUs $SERVER_CPU and $CLIENT_CPU, have $NCPU"
  SERVER_PIN=(taskset -c "$SERVER_CPU") CLIENT_PIN=(taskset -c "$CLIENT_CPU")
fi

WORK=$(mktemp -d /tmp/iotsim-tls-bench.XXXXXX)
DATA=$WORK/data
IOTSIM_PID="" MOSQ_PID=""

stop_pid() { # stop_pid PID: TERM, then KILL after 5 s
  local pid=$1 i
  [[ -n $pid ]] || return 0
  kill -0 "$pid" 2>/dev/null || { wait "$pid" 2>/dev/null || true; return 0; }
  kill -TERM "$pid" 2>/dev/null || true
  for ((i = 0; i < 50; i++)); do
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
  if kill -0 "$pid" 2>/dev/null; then kill -KILL "$pid" 2>/dev/null || true; fi
  wait "$pid" 2>/dev/null || true
}
cleanup() {
  stop_pid "$MOSQ_PID"
  stop_pid "$IOTSIM_PID"
  if [[ ${KEEP_WORK:-0} == 1 ]]; then log "work dir kept: $WORK"; else rm -rf "$WORK"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
free_port() { # free_port VAR: sets VAR to the next port from NEXT_PORT that nothing listens on
  while port_open "$NEXT_PORT"; do NEXT_PORT=$((NEXT_PORT + 1)); done
  printf -v "$1" '%s' "$NEXT_PORT"
  NEXT_PORT=$((NEXT_PORT + 1))
}
cpu_ticks() { sed 's/^.*) //' "/proc/$1/stat" 2>/dev/null | awk '{print $12 + $13}' || echo 0; }
jget() { sed -n "s/.*\"$2\":\"\{0,1\}\([^,\"}]*\).*/\1/p" <<<"$1"; }
calc() { awk "BEGIN { printf \"%.${2:-1}f\", $1 }"; }
CLK_TCK=$(getconf CLK_TCK)
# busy_now -> percent of all CPUs busy over 0.5 s (before a measurement: other sessions' work)
busy_now() {
  local a b
  a=$(awk '$1 == "cpu" { print $2+$3+$4+$7+$8+$9, $2+$3+$4+$5+$6+$7+$8+$9 }' /proc/stat)
  sleep 0.5
  b=$(awk '$1 == "cpu" { print $2+$3+$4+$7+$8+$9, $2+$3+$4+$5+$6+$7+$8+$9 }' /proc/stat)
  awk -v a="$a" -v b="$b" 'BEGIN { split(a, x, " "); split(b, y, " "); t = y[2] - x[2];
    printf "%.0f", (t > 0) ? 100 * (y[1] - x[1]) / t : 0 }'
}
NOISY=0

# ---------------------------------------------------------------- iotsim
free_port IOTSIM_PORT
log "starting iotsim on 127.0.0.1:$IOTSIM_PORT (data dir $DATA)"
"${SERVER_PIN[@]}" "$IOTSIM" serve --data-dir "$DATA" --host 127.0.0.1 --mqtt-port 0 \
  --mqtts-port "$IOTSIM_PORT" --http-port 0 --https-port 0 --wss-port 0 \
  >"$WORK/iotsim.out" 2>"$WORK/iotsim.err" &
IOTSIM_PID=$!
for ((i = 0; i < 300; i++)); do
  grep -q '^iotsim: listening' "$WORK/iotsim.out" 2>/dev/null && break
  kill -0 "$IOTSIM_PID" 2>/dev/null || { cat "$WORK/iotsim.err" >&2; die "iotsim exited at start"; }
  sleep 0.1
done
grep -q '^iotsim: listening' "$WORK/iotsim.out" || die "iotsim did not say it is listening in 30 s"
log "$(grep '^iotsim: listening' "$WORK/iotsim.out")"
CA=$DATA/root-CA.crt SERVER_CERT=$DATA/server.cert.pem SERVER_KEY=$DATA/server.private.key
DEVICE_CERT=$DATA/device.cert.pem DEVICE_KEY=$DATA/device.private.key
for f in "$CA" "$SERVER_CERT" "$SERVER_KEY" "$DEVICE_CERT" "$DEVICE_KEY"; do
  [[ -s $f ]] || die "iotsim did not create $f"
done

# ---------------------------------------------------------------- mosquitto
if [[ " $SERVERS " == *" mosquitto "* ]]; then
  free_port MOSQ_PORT
  MOSQ_CONF=$WORK/mosquitto.conf
  {
    # As root, mosquitto 2 drops to user mosquitto before it reads the certificates, which are
    # the caller's (0600 key, 0700 temp dir): keep the caller's user.
    if [[ $(id -u) == 0 ]]; then echo "user root"; fi
    echo "per_listener_settings false"
    echo "persistence false"
    echo "log_dest stderr"
    echo "log_type error"
    echo "log_type warning"
    echo "max_connections -1"
    echo "listener $MOSQ_PORT 127.0.0.1"
    echo "cafile $CA"
    echo "certfile $SERVER_CERT"
    echo "keyfile $SERVER_KEY"
    echo "require_certificate true"
    echo "use_identity_as_username true"
    if [[ $MOSQUITTO_NODELAY == 1 ]]; then echo "set_tcp_nodelay true"; fi
  } >"$MOSQ_CONF"
  log "starting mosquitto $("$MOSQUITTO_BIN" -h 2>/dev/null | awk 'NR == 1 {print $3}') on 127.0.0.1:$MOSQ_PORT"
  "${SERVER_PIN[@]}" "$MOSQUITTO_BIN" -c "$MOSQ_CONF" >"$WORK/mosquitto.out" 2>"$WORK/mosquitto.err" &
  MOSQ_PID=$!
  for ((i = 0; i < 100; i++)); do
    port_open "$MOSQ_PORT" && break
    kill -0 "$MOSQ_PID" 2>/dev/null || { cat "$WORK/mosquitto.err" >&2; die "mosquitto exited at start"; }
    sleep 0.1
  done
  port_open "$MOSQ_PORT" || die "mosquitto is not listening on $MOSQ_PORT after 10 s"
fi

server_pid() { case $1 in iotsim) echo "$IOTSIM_PID" ;; mosquitto) echo "$MOSQ_PID" ;; esac; }
server_port() { case $1 in iotsim) echo "$IOTSIM_PORT" ;; mosquitto) echo "$MOSQ_PORT" ;; esac; }

# ---------------------------------------------------------------- measurements
# Rounds alternate the servers (round r measures each server once, in $SERVERS order), so that
# both see the same share of any other work on the machine; the ratio column is the median of
# the rounds' ratios, the other columns the median of each figure over the rounds.
declare -A RATES P50S P99S SCPUS CCPUS ERRS VERSION RATIOS
FAILED=0
median() { tr ' ' '\n' <<<"$1" | grep -v '^$' | sort -g | awk '{ a[NR] = $1 } END { print (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2 }'; }
# Columns are keyed by position, so a server may be named twice (SERVERS="iotsim iotsim": noise).
A=${SLIST[0]} B=${SLIST[1]}
for v in $TLS_VERSIONS; do
  for c in $CONCURRENCY; do
    for ((r = 1; r <= RUNS; r++)); do
      round=()
      for col in 0 1; do
        s=${SLIST[$col]}
        pid=$(server_pid "$s")
        kill -0 "$pid" 2>/dev/null || die "$s is no longer running (see $WORK/$s.err)"
        waited=$SECONDS
        while busy=$(busy_now) && ((busy >= 10 && SECONDS - waited < WAIT_QUIET)); do sleep 2; done
        if ((busy >= 10)); then
          log "warning: the machine is ${busy}% busy before this measurement; results will be noisy"
          NOISY=1
        fi
        t0=$(cpu_ticks "$pid")
        set +e
        out=$("${CLIENT_PIN[@]}" "$TLS_BENCH" --port "$(server_port "$s")" --cafile "$CA" \
          --cert "$DEVICE_CERT" --key "$DEVICE_KEY" --tls "$v" -n "$HANDSHAKES" -c "$c" \
          --warmup "$WARMUP" --label "$s" 2> >(tee -a "$WORK/client.log" >&2))
        rc=$?
        set -e
        t1=$(cpu_ticks "$pid")
        echo "$out" >>"$WORK/results.jsonl"
        [[ -n $out ]] || die "tls bench produced no result for $s (exit $rc)"
        ((rc == 0)) || FAILED=1
        ok=$(jget "$out" ok)
        k="$v|$c|$col"
        round[$col]=$(jget "$out" rate)
        RATES[$k]+=" ${round[$col]}"
        P50S[$k]+=" $(jget "$out" p50_ms)"
        P99S[$k]+=" $(jget "$out" p99_ms)"
        SCPUS[$k]+=" $(calc "($ok > 0) ? 1e6 * ($t1 - $t0) / $CLK_TCK / $ok : 0" 0)"
        CCPUS[$k]+=" $(calc "($ok > 0) ? 1e6 * $(jget "$out" client_cpu_s) / $ok : 0" 0)"
        ERRS[$k]=$((${ERRS[$k]:-0} + $(jget "$out" errors)))
        VERSION[$k]=$(jget "$out" tls)
      done
      RATIOS["$v|$c"]+=" $(calc "(${round[0]} > 0) ? ${round[1]} / ${round[0]} : 0" 3)"
    done
  done
done

# iotsim's view: handshake failures it logged (a sign of trouble if not zero).
IOTSIM_HS_FAILED=$(cat "$WORK/iotsim.out" "$WORK/iotsim.err" 2>/dev/null | grep -c 'tls_handshake_failed' || true)

# ---------------------------------------------------------------- report
echo
echo "TLS handshakes with client certificates (+ MQTT CONNECT/CONNACK), $HANDSHAKES per measurement, RUNS=$RUNS rounds (medians)"
if [[ " $SERVERS " == *" mosquitto "* ]]; then
  echo "mosquitto set_tcp_nodelay $([[ $MOSQUITTO_NODELAY == 1 ]] && echo true || echo false)"
fi
echo "servers on CPU $([[ $PIN == 1 ]] && echo "$SERVER_CPU" || echo any), client on CPU $([[ $PIN == 1 ]] && echo "$CLIENT_CPU" || echo any); $(nproc) CPUs; $("$MOSQUITTO_BIN" -h 2>/dev/null | head -1); $(openssl version 2>/dev/null || true)"
echo
printf '%-7s %-4s | %-10s %8s %8s %8s %5s %9s | %-10s %8s %8s %8s %5s %9s | %-6s %s\n' \
  tls conc "$A" hs/s p50ms p99ms errs "srv-us/hs" "$B" hs/s p50ms p99ms errs "srv-us/hs" "$B/$A" "(rounds)"
MD="| TLS | concurrency | $A handshakes/s | $B handshakes/s | $B/$A (median of rounds; range) | $A p50 / p99 (ms) | $B p50 / p99 (ms) | server CPU per handshake, $A / $B (us) | client CPU per handshake, $A / $B (us) | errors ($A / $B) |
|---|---|---|---|---|---|---|---|---|---|"
range() { tr ' ' '\n' <<<"$1" | grep -v '^$' | sort -g | awk 'NR == 1 { lo = $1 } { hi = $1 } END { printf "%.2f-%.2f", lo, hi }'; }
for v in $TLS_VERSIONS; do
  for c in $CONCURRENCY; do
    ka="$v|$c|0" kb="$v|$c|1"
    ra=$(median "${RATES[$ka]}") rb=$(median "${RATES[$kb]}")
    pa50=$(median "${P50S[$ka]}") pa99=$(median "${P99S[$ka]}") pb50=$(median "${P50S[$kb]}") pb99=$(median "${P99S[$kb]}")
    sa=$(median "${SCPUS[$ka]}") sb=$(median "${SCPUS[$kb]}") ca=$(median "${CCPUS[$ka]}") cb=$(median "${CCPUS[$kb]}")
    ratio=$(calc "$(median "${RATIOS["$v|$c"]}")" 2) spread=$(range "${RATIOS["$v|$c"]}")
    printf '%-7s %-4s | %-10s %8s %8s %8s %5s %9s | %-10s %8s %8s %8s %5s %9s | %-6s %s\n' \
      "${VERSION[$ka]}" "$c" "" "$(calc "$ra" 1)" "$(calc "$pa50" 2)" "$(calc "$pa99" 2)" "${ERRS[$ka]}" "$(calc "$sa" 0)" \
      "" "$(calc "$rb" 1)" "$(calc "$pb50" 2)" "$(calc "$pb99" 2)" "${ERRS[$kb]}" "$(calc "$sb" 0)" "$ratio" "($spread)"
    MD+="
| ${VERSION[$ka]} | $c | $(calc "$ra" 0) | $(calc "$rb" 0) | $ratio ($spread) | $(calc "$pa50" 1) / $(calc "$pa99" 1) | $(calc "$pb50" 1) / $(calc "$pb99" 1) | $(calc "$sa" 0) / $(calc "$sb" 0) | $(calc "$ca" 0) / $(calc "$cb" 0) | ${ERRS[$ka]} / ${ERRS[$kb]} |"
  done
done
echo
echo "$MD"
echo
echo "iotsim logged $IOTSIM_HS_FAILED failed TLS handshakes."
if ((NOISY)); then echo "(noisy: other work was running on the machine during some measurements)"; fi
if ((FAILED)); then
  log "some connections failed (see the errors above)"
  exit 1
fi
