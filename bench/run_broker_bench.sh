#!/usr/bin/env bash
# Side-by-side MQTT broker benchmark: `iotsim serve` vs Debian's mosquitto.
#
# usage: bench/run_broker_bench.sh [IOTSIM_BIN] [LOADGEN_BIN]
#   IOTSIM_BIN   default build/release/iotsim
#   LOADGEN_BIN  default build/release/bench/iotsim_loadgen
# Builds nothing. Each broker is started fresh for every load, pinned to CPU
# $BROKER_CPU (0); the load generator runs pinned to CPU $LOADGEN_CPU (1).
# Progress goes to stderr; the result table (plain text, then markdown) to stdout.
#
# Environment (defaults in brackets):
#   BROKERS            brokers to run, in column order ["mosquitto iotsim"];
#                      a name may repeat (e.g. "mosquitto mosquitto" = noise check)
#   MODES              loads to run ["idle fanin qos1 fanout latency"]
#   QUICK=1            smoke-test sizes (0.5 s loads, 1 s latency run, 2000 idle conns)
#   DURATION           seconds that fanin, qos1 and fanout publish for; the loadgen
#                      then waits for those messages to be delivered [3]
#   MESSAGES           if set, a fixed count of messages per publisher for fanin, qos1
#                      and fanout instead of DURATION (or per load: FANIN_MESSAGES,
#                      QOS1_MESSAGES, FANOUT_MESSAGES)
#   PAYLOAD            payload bytes [64]
#   FANIN_PUBLISHERS   [10]       QOS1_PUB_WINDOW  unacked QoS 1 publishes [100]
#   FANOUT_SUBSCRIBERS [100]
#   LATENCY_RATE       msg/s [1000]   LATENCY_SECONDS [10]
#   IDLE_CONNECTIONS   [10000]    IDLE_HOLD        seconds [5]
#   RUNS               repetitions of every load (fresh broker each); the table
#                      shows the median [1]
#   PORT               first TCP port to use; each broker start takes the next [18830]
#   BROKER_CPU [0]  LOADGEN_CPU [1]
#   MOSQUITTO_BIN      [mosquitto]
#   MOSQUITTO_NODELAY  auto|0|1 [auto]: add `set_tcp_nodelay true` to mosquitto's
#                      config; auto = only for the latency load (mosquitto's default
#                      Nagle + delayed ACK costs it ~40 ms p99, but disabling Nagle
#                      costs it ~40% of its throughput, so each load gets its best)
#   MOSQUITTO_EXTRA_CONF  extra mosquitto config lines, separated by ';'
#                      (e.g. "max_inflight_messages 100")
#   IOTSIM_EXTRA_ARGS  extra arguments appended to `iotsim serve`
#   LOADGEN_TIMEOUT    seconds, per loadgen run [120]
#   WAIT_QUIET         before each load, wait up to this many seconds for both CPUs
#                      to be < 10% busy with other work [0 = only warn]
#   KEEP_WORK=1        keep the temp dir (configs, logs, raw JSON results)
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
IOTSIM=${1:-$ROOT/build/release/iotsim}
LOADGEN=${2:-$ROOT/build/release/bench/iotsim_loadgen}

BROKERS=${BROKERS:-"mosquitto iotsim"}
MODES=${MODES:-"idle fanin qos1 fanout latency"}
if [[ ${QUICK:-0} == 1 ]]; then
  : "${DURATION:=0.5}" "${LATENCY_SECONDS:=1}" "${IDLE_CONNECTIONS:=2000}" "${IDLE_HOLD:=2}"
fi
PAYLOAD=${PAYLOAD:-64}
FANIN_PUBLISHERS=${FANIN_PUBLISHERS:-10}
DURATION=${DURATION:-3}
FANIN_MESSAGES=${MESSAGES:-${FANIN_MESSAGES:-}}
QOS1_MESSAGES=${MESSAGES:-${QOS1_MESSAGES:-}}
QOS1_PUB_WINDOW=${QOS1_PUB_WINDOW:-100}
FANOUT_SUBSCRIBERS=${FANOUT_SUBSCRIBERS:-100}
FANOUT_MESSAGES=${MESSAGES:-${FANOUT_MESSAGES:-}}
LATENCY_RATE=${LATENCY_RATE:-1000}
LATENCY_SECONDS=${LATENCY_SECONDS:-10}
IDLE_CONNECTIONS=${IDLE_CONNECTIONS:-10000}
IDLE_HOLD=${IDLE_HOLD:-5}
RUNS=${RUNS:-1}
NEXT_PORT=${PORT:-18830}
BROKER_CPU=${BROKER_CPU:-0}
LOADGEN_CPU=${LOADGEN_CPU:-1}
MOSQUITTO_BIN=${MOSQUITTO_BIN:-mosquitto}
MOSQUITTO_NODELAY=${MOSQUITTO_NODELAY:-auto}
MOSQUITTO_EXTRA_CONF=${MOSQUITTO_EXTRA_CONF:-}
IOTSIM_EXTRA_ARGS=${IOTSIM_EXTRA_ARGS:-}
LOADGEN_TIMEOUT=${LOADGEN_TIMEOUT:-120}
WAIT_QUIET=${WAIT_QUIET:-0}
NOISY=0

log() { echo "[bench] $*" >&2; }
die() { echo "[bench] error: $*" >&2; exit 1; }
awk "BEGIN { exit !($IDLE_HOLD >= 1) }" || die "IDLE_HOLD must be at least 1 second"

# ---------------------------------------------------------------- preflight
command -v taskset >/dev/null || die "taskset not found (apt-get install -y util-linux)"
[[ -x $LOADGEN ]] || die "loadgen binary not found: $LOADGEN (build target iotsim_loadgen)"
for b in $BROKERS; do
  case $b in
    mosquitto) command -v "$MOSQUITTO_BIN" >/dev/null || die "mosquitto not found ($MOSQUITTO_BIN)" ;;
    iotsim) [[ -x $IOTSIM ]] || die "iotsim binary not found: $IOTSIM" ;;
    *) die "unknown broker '$b' in BROKERS (use mosquitto and/or iotsim)" ;;
  esac
done
for m in $MODES; do
  case $m in idle | fanin | qos1 | fanout | latency) ;; *) die "unknown mode '$m' in MODES" ;; esac
done
NCPU=$(nproc)
((BROKER_CPU < NCPU && LOADGEN_CPU < NCPU)) || die "need CPUs $BROKER_CPU and $LOADGEN_CPU, have $NCPU"

# Both brokers and the loadgen inherit this limit.
if ! ulimit -n 65536 2>/dev/null; then
  hard=$(ulimit -Hn)
  ulimit -n "$hard" 2>/dev/null || true
  log "warning: cannot raise 'ulimit -n' to 65536 (hard limit $hard); using $(ulimit -n)"
fi
nofile=$(ulimit -n)
if [[ $nofile != unlimited ]] && ((nofile < IDLE_CONNECTIONS + 200)); then
  die "ulimit -n is $nofile, too low for IDLE_CONNECTIONS=$IDLE_CONNECTIONS"
fi

WORK=$(mktemp -d /tmp/iotsim-broker-bench.XXXXXX)
BPID="" LGPID=""

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
  stop_pid "$LGPID"
  stop_pid "$BPID"
  if [[ ${KEEP_WORK:-0} == 1 ]]; then log "work dir kept: $WORK"; else rm -rf "$WORK"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
rss_kb() { awk '/^VmRSS:/ {print $2}' "/proc/$1/status" 2>/dev/null || echo 0; }
cpu_ticks() { sed 's/^.*) //' "/proc/$1/stat" 2>/dev/null | awk '{print $12 + $13}' || echo 0; }
now() { date +%s.%N; }
# jget JSON KEY -> value of a top-level scalar in the loadgen's flat JSON line
jget() { sed -n "s/.*\"$2\":\"\{0,1\}\([^,\"}]*\).*/\1/p" <<<"$1"; }
calc() { awk "BEGIN { printf \"%.${2:-1}f\", $1 }"; }
# cpu_stat N -> "busy total" jiffies of CPU N (busy includes niced work, irq, softirq
# and steal: even a niced process delays the wake-ups the ping-pong loads depend on)
cpu_stat() { awk -v c="cpu$1" '$1 == c { print $2+$3+$4+$7+$8+$9, $2+$3+$4+$5+$6+$7+$8+$9 }' /proc/stat; }
busy_pct() { # busy_pct "BEFORE" "AFTER"
  local b0 t0 b1 t1
  read -r b0 t0 <<<"$1"
  read -r b1 t1 <<<"$2"
  calc "($t1 > $t0) ? 100 * ($b1 - $b0) / ($t1 - $t0) : 0" 0
}
# proc_snap -> "pid starttime jiffies" for every process but this script, the broker
# and the loadgen (children's time is included once they are reaped).
proc_snap() {
  cat /proc/[0-9]*/stat 2>/dev/null | awk -v me=$$ -v b="${BPID:-0}" -v l="${LGPID:-0}" '{
      pid = $1; s = $0; sub(/^[^(]*\(.*\) /, "", s); split(s, f, " ")
      if (pid == me || pid == b || pid == l || f[2] == l || f[2] == me) next
      print pid, f[20], f[12] + f[13] + f[14] + f[15] }'
}
# foreign_jiffies BEFORE_FILE AFTER_FILE -> CPU time of other processes between the
# snapshots (over-counts children reaped in between, whose time may predate it)
foreign_jiffies() {
  awk 'NR == FNR { t[$1 " " $2] = $3; next }
    { k = $1 " " $2; d += (k in t) ? $3 - t[k] : $3 }
    END { print d + 0 }' "$1" "$2"
}
# all_busy -> busy jiffies of all CPUs (not niced); own_jiffies -> this script's
# reaped children (the loadgen, ...); both to estimate other work from the other side
all_busy() { awk '$1 == "cpu" { print $2+$3+$4+$7+$8+$9 }' /proc/stat; }
own_jiffies() { sed 's/^.*) //' /proc/$$/stat | awk '{ print $14 + $15 }'; }
# Other sessions' work on the benchmark CPUs makes results meaningless: check first.
wait_quiet() {
  local start=$SECONDS a0 a1 b0 b1 pa pb
  while :; do
    a0=$(cpu_stat "$BROKER_CPU") b0=$(cpu_stat "$LOADGEN_CPU")
    sleep 0.5
    a1=$(cpu_stat "$BROKER_CPU") b1=$(cpu_stat "$LOADGEN_CPU")
    pa=$(busy_pct "$a0" "$a1") pb=$(busy_pct "$b0" "$b1")
    ((pa < 10 && pb < 10)) && return 0
    if ((SECONDS - start >= WAIT_QUIET)); then
      log "warning: machine not idle before this load (CPU $BROKER_CPU ${pa}% busy, CPU $LOADGEN_CPU ${pb}% busy); results will be noisy"
      NOISY=1
      return 0
    fi
  done
}

# start_broker NAME MODE -> sets BPID, BPORT, BLOG
start_broker() {
  local name=$1 mode=$2 i
  BPORT=$NEXT_PORT
  NEXT_PORT=$((NEXT_PORT + 1))
  port_open "$BPORT" && die "port $BPORT is already in use (set PORT=...)"
  BLOG=$WORK/$name-$mode-$BPORT.log
  case $name in
    mosquitto)
      local conf=$WORK/mosquitto-$BPORT.conf
      {
        echo "listener $BPORT 127.0.0.1"
        echo "allow_anonymous true"
        echo "max_connections -1"
        echo "persistence false"
        echo "log_dest stderr"
        echo "log_type error"
        echo "log_type warning"
        if [[ $MOSQUITTO_NODELAY == 1 || ($MOSQUITTO_NODELAY == auto && $mode == latency) ]]; then
          echo "set_tcp_nodelay true"
        fi
        if [[ -n $MOSQUITTO_EXTRA_CONF ]]; then tr ';' '\n' <<<"$MOSQUITTO_EXTRA_CONF"; fi
      } >"$conf"
      chmod 755 "$WORK"
      chmod 644 "$conf"
      taskset -c "$BROKER_CPU" "$MOSQUITTO_BIN" -c "$conf" >"$BLOG" 2>&1 &
      BPID=$!
      ;;
    iotsim)
      local data=$WORK/iotsim-data-$BPORT
      mkdir -p "$data"
      # shellcheck disable=SC2086 # IOTSIM_EXTRA_ARGS is split on purpose
      taskset -c "$BROKER_CPU" "$IOTSIM" serve --data-dir "$data" --host 127.0.0.1 \
        --mqtt-port "$BPORT" --mqtts-port 0 --http-port 0 --https-port 0 --wss-port 0 $IOTSIM_EXTRA_ARGS >"$BLOG" 2>&1 &
      BPID=$!
      for ((i = 0; i < 300; i++)); do
        grep -q listening "$BLOG" 2>/dev/null && break
        kill -0 "$BPID" 2>/dev/null || break
        sleep 0.1
      done
      grep -q listening "$BLOG" 2>/dev/null || {
        tail -n 20 "$BLOG" >&2
        die "iotsim did not print 'listening' within 30 s"
      }
      ;;
  esac
  for ((i = 0; i < 300; i++)); do
    kill -0 "$BPID" 2>/dev/null || {
      tail -n 20 "$BLOG" >&2
      die "$name exited during startup"
    }
    port_open "$BPORT" && break
    sleep 0.1
  done
  port_open "$BPORT" || die "$name is not accepting connections on port $BPORT after 30 s"
  sleep 0.5 # let start-up allocations settle before the baseline RSS
}

stop_broker() {
  if ! kill -0 "$BPID" 2>/dev/null; then
    log "warning: broker died during the run; last log lines:"
    tail -n 20 "$BLOG" >&2
  fi
  stop_pid "$BPID"
  BPID=""
}

# size_flag/size_val COUNT -> loadgen flag and value: a fixed message count if set,
# else a duration
size_flag() { if [[ -n $1 ]]; then echo --messages; else echo --seconds; fi; }
size_val() { echo "${1:-$DURATION}"; }

# run_loadgen OUTFILE ARGS... ; returns the loadgen's exit status
run_loadgen() {
  local out=$1
  shift
  taskset -c "$LOADGEN_CPU" timeout -k 5 "$LOADGEN_TIMEOUT" "$LOADGEN" "$@" --port "$BPORT" \
    >"$out" 2>>"$WORK/loadgen.err" &
  LGPID=$!
  local rc=0
  wait "$LGPID" || rc=$?
  LGPID=""
  return $rc
}

declare -A VAL # VAL[label,metric] = space-separated values of all runs
add() { VAL[$1,$2]="${VAL[$1,$2]:-} $3"; }

# run_mode LABEL BROKER MODE
run_mode() {
  local label=$1 name=$2 mode=$3 out=$WORK/$1-$3-$RANDOM.json rc=0 json
  wait_quiet
  start_broker "$name" "$mode"
  local rss0 c0 t0 c1 t1 s0 s1
  rss0=$(rss_kb "$BPID")
  c0=$(cpu_ticks "$BPID")
  s0=$(cpu_stat "$LOADGEN_CPU")
  proc_snap >"$WORK/procs0"
  local a0 o0
  a0=$(all_busy) o0=$(own_jiffies)
  t0=$(now)
  case $mode in
    idle)
      local ready=$WORK/ready-$BPORT peak=0 r
      taskset -c "$LOADGEN_CPU" timeout -k 5 "$LOADGEN_TIMEOUT" "$LOADGEN" idle --port "$BPORT" \
        --connections "$IDLE_CONNECTIONS" --hold "$IDLE_HOLD" --ready-file "$ready" \
        >"$out" 2>>"$WORK/loadgen.err" &
      LGPID=$!
      while [[ ! -f $ready ]] && kill -0 "$LGPID" 2>/dev/null; do sleep 0.1; done
      # Peak RSS while all connections are open (sampled until the loadgen exits).
      if [[ -f $ready ]]; then
        while kill -0 "$LGPID" 2>/dev/null; do
          r=$(rss_kb "$BPID")
          ((r > peak)) && peak=$r
          sleep 0.2
        done
      fi
      wait "$LGPID" || rc=$?
      LGPID=""
      ;;
    fanin) run_loadgen "$out" fanin --publishers "$FANIN_PUBLISHERS" --subscribers 1 \
      "$(size_flag "$FANIN_MESSAGES")" "$(size_val "$FANIN_MESSAGES")" --payload "$PAYLOAD" --qos 0 || rc=$? ;;
    qos1) run_loadgen "$out" qos1 --publishers 1 --subscribers 1 "$(size_flag "$QOS1_MESSAGES")" "$(size_val "$QOS1_MESSAGES")" \
      --payload "$PAYLOAD" --pub-window "$QOS1_PUB_WINDOW" || rc=$? ;;
    fanout) run_loadgen "$out" fanout --publishers 1 --subscribers "$FANOUT_SUBSCRIBERS" \
      "$(size_flag "$FANOUT_MESSAGES")" "$(size_val "$FANOUT_MESSAGES")" --payload "$PAYLOAD" --qos 0 || rc=$? ;;
    latency) run_loadgen "$out" latency --rate "$LATENCY_RATE" --seconds "$LATENCY_SECONDS" \
      --payload "$PAYLOAD" || rc=$? ;;
  esac
  c1=$(cpu_ticks "$BPID")
  s1=$(cpu_stat "$LOADGEN_CPU")
  t1=$(now)
  proc_snap >"$WORK/procs1"
  local bcpu lbusy foreign f1 f2
  # Other processes' CPU: the smaller of two over-estimates (theirs incl. reaped
  # children; all CPUs' busy time minus broker and loadgen, which still includes
  # the kernel's softirq work for our own traffic)
  f1=$(foreign_jiffies "$WORK/procs0" "$WORK/procs1")
  f2=$(($(all_busy) - a0 - (c1 - c0) - ($(own_jiffies) - o0)))
  foreign=$(calc "100 * ($f1 < $f2 ? $f1 : $f2) / $(getconf CLK_TCK) / ($t1 - $t0)" 0)
  if ((foreign > 10)); then
    log "warning: other processes used ${foreign}% of a CPU during this load; result is noisy"
    NOISY=1
    add "$label" "$mode.noisy" 1
  fi
  bcpu=$(calc "($c1 - $c0) / $(getconf CLK_TCK) / ($t1 - $t0) * 100" 0)
  lbusy=$(busy_pct "$s0" "$s1")
  stop_broker
  json=$(tail -n 1 "$out" 2>/dev/null || true)
  echo "{\"broker\":\"$label\",\"result\":$json}" >>"$WORK/results.jsonl"
  if [[ -z $json || $(jget "$json" ok) != true ]]; then
    log "$label $mode: FAILED (exit $rc): $(jget "$json" error)"
    tail -n 5 "$WORK/loadgen.err" >&2 || true
    add "$label" "$mode.failed" 1
    return 0
  fi
  local inc=""
  [[ $(jget "$json" complete) == true ]] || inc=" INCOMPLETE($(jget "$json" reason))"
  local lcpu
  lcpu=$(jget "$json" loadgen_cpu_pct)
  case $mode in
    idle)
      local n
      n=$(jget "$json" connected)
      ((peak > 0)) || peak=$rss0
      add "$label" idle_rss0 "$(calc "$rss0 / 1024" 1)"
      add "$label" idle_rss1 "$(calc "$peak / 1024" 1)"
      add "$label" idle_per_conn "$(calc "($peak - $rss0) * 1024 / $n" 0)"
      log "$label idle: $n conns, RSS ${rss0} kB -> ${peak} kB = $(calc "($peak - $rss0) * 1024 / $n" 0) B/conn$inc"
      ;;
    latency)
      for k in p50_us p99_us max_us; do add "$label" "lat_$k" "$(jget "$json" $k)"; done
      log "$label latency: p50 $(jget "$json" p50_us) us, p99 $(jget "$json" p99_us) us, max $(jget "$json" max_us) us (broker cpu ${bcpu}%)$inc"
      ;;
    *)
      add "$label" "$mode" "$(jget "$json" msgs_per_s)"
      add "$label" "$mode.cpu" "$bcpu"
      add "$label" "$mode.lgcpu" "$lcpu"
      log "$label $mode: $(jget "$json" msgs_per_s) msgs/s (broker process cpu ${bcpu}%, loadgen process cpu ${lcpu}%, CPU $LOADGEN_CPU busy ${lbusy}%)$inc"
      if ((lbusy > 90)); then
        log "warning: CPU $LOADGEN_CPU was ${lbusy}% busy - the loadgen may be the bottleneck; $mode result is a lower bound"
      fi
      ;;
  esac
  [[ -z $inc ]] || add "$label" "$mode.incomplete" 1
}

# ---------------------------------------------------------------- run
LABELS=()
declare -A SEEN
for b in $BROKERS; do
  SEEN[$b]=$((${SEEN[$b]:-0} + 1))
  label=$b
  ((SEEN[$b] > 1)) && label="$b#${SEEN[$b]}"
  LABELS+=("$label")
  for ((run = 1; run <= RUNS; run++)); do
    for m in $MODES; do
      log "== $label: $m (run $run/$RUNS)"
      run_mode "$label" "$b" "$m"
    done
  done
done

# ---------------------------------------------------------------- report
median() { tr ' ' '\n' <<<"$1" | awk 'NF' | sort -g | awk '{a[NR]=$1} END { if (NR == 0) print ""; else if (NR % 2) print a[(NR+1)/2]; else print (a[NR/2] + a[NR/2+1]) / 2 }'; }

# metric key | description | better (higher/lower) | target ratio check ("" = info only)
METRICS=(
  "fanin|fan-in ${FANIN_PUBLISHERS}->1 QoS 0 (msgs/s)|higher|>=1.5"
  "qos1|QoS 1 1->1 (msgs/s)|higher|>=1.5"
  "fanout|fan-out 1->${FANOUT_SUBSCRIBERS} QoS 0 (deliveries/s)|higher|>=1.5"
  "lat_p50_us|latency p50 @ ${LATENCY_RATE} msg/s (us)|lower|"
  "lat_p99_us|latency p99 @ ${LATENCY_RATE} msg/s (us)|lower|<=1"
  "lat_max_us|latency max @ ${LATENCY_RATE} msg/s (us)|lower|"
  "idle_per_conn|memory per idle connection (bytes RSS)|lower|<=1"
  "idle_rss0|RSS at start (MiB)|lower|"
  "idle_rss1|RSS with ${IDLE_CONNECTIONS} idle connections (MiB)|lower|"
  "fanin.cpu|broker CPU during fan-in (%)|info|"
  "qos1.cpu|broker CPU during QoS 1 (%)|info|"
  "fanout.cpu|broker CPU during fan-out (%)|info|"
)
fmt_num() { # thousands separators for big numbers, 1 decimal for small ones
  awk -v v="$1" 'BEGIN {
    if (v == "") { print "-"; exit }
    if (v >= 1000 || v == int(v)) { s = sprintf("%.0f", v); o = "";
      while (length(s) > 3) { o = "," substr(s, length(s) - 2) o; s = substr(s, 1, length(s) - 3) }
      print s o } else printf "%.1f\n", v }'
}
ROWS=()
for spec in "${METRICS[@]}"; do
  IFS='|' read -r key desc better target <<<"$spec"
  mode=${key%%.*}
  case $key in lat_*) mode=latency ;; idle_*) mode=idle ;; esac
  [[ " $MODES " == *" $mode "* ]] || continue
  row="$desc|$better"
  vals=()
  for l in "${LABELS[@]}"; do
    v=$(median "${VAL[$l,$key]:-}")
    [[ -n ${VAL[$l,$mode.failed]:-} ]] && v=""
    vals+=("$v")
    cell=$(fmt_num "$v")
    [[ -n ${VAL[$l,$mode.failed]:-} ]] && cell="FAILED"
    [[ -n ${VAL[$l,$mode.incomplete]:-} && -n $v ]] && cell="$cell (incomplete)"
    [[ -n ${VAL[$l,$mode.noisy]:-} && -n $v ]] && cell="$cell (noisy)"
    row="$row|$cell"
  done
  if ((${#LABELS[@]} == 2)); then
    ratio="-" verdict="-"
    a=${vals[0]} b=${vals[1]}
    if [[ -n $a && -n $b ]] && awk "BEGIN { exit !($a > 0) }"; then
      ratio=$(calc "$b / $a" 2)
      if [[ -n $target ]]; then
        op=${target%%[0-9]*} lim=${target#"$op"}
        if awk "BEGIN { exit !($ratio $op $lim) }"; then verdict="yes ($target)"; else verdict="NO ($target)"; fi
      fi
    fi
    row="$row|$ratio|$verdict"
  fi
  ROWS+=("$row")
done

HDR="metric|better"
for l in "${LABELS[@]}"; do HDR="$HDR|$l"; done
((${#LABELS[@]} == 2)) && HDR="$HDR|${LABELS[1]}/${LABELS[0]}|target met"

sz() { if [[ -n $1 ]]; then echo "$1 msgs"; else echo "${DURATION} s"; fi; }
SETTINGS="payload ${PAYLOAD} B; fan-in ${FANIN_PUBLISHERS} pubs $(sz "$FANIN_MESSAGES"); QoS 1 $(sz "$QOS1_MESSAGES") (window ${QOS1_PUB_WINDOW}); fan-out ${FANOUT_SUBSCRIBERS} subs $(sz "$FANOUT_MESSAGES"); latency ${LATENCY_RATE} msg/s for ${LATENCY_SECONDS} s; ${IDLE_CONNECTIONS} idle conns; runs ${RUNS} (median); broker on CPU ${BROKER_CPU}, loadgen on CPU ${LOADGEN_CPU}; mosquitto set_tcp_nodelay=${MOSQUITTO_NODELAY}${MOSQUITTO_EXTRA_CONF:+, extra config: $MOSQUITTO_EXTRA_CONF}"
MACHINE="$(awk -F': ' '/model name/ {print $2; exit}' /proc/cpuinfo), $(nproc) CPUs, kernel $(uname -r), $(date -u +%Y-%m-%d)"

echo
echo "Broker benchmark ($MACHINE)"
echo "$SETTINGS"
echo
{
  echo "$HDR"
  for r in "${ROWS[@]}"; do echo "$r"; done
} | awk -F'|' '{ for (i = 1; i <= NF; i++) { c[NR, i] = $i; if (length($i) > w[i]) w[i] = length($i) }
    if (NF > nf) nf = NF }
  END { for (r = 1; r <= NR; r++) { line = ""
      for (i = 1; i <= nf; i++) line = line sprintf(i == 1 ? "%-*s" : "  %*s", w[i], c[r, i])
      print line } }'
echo
echo "Markdown:"
echo
echo "_${MACHINE}. ${SETTINGS}._"
echo
echo "| ${HDR//|/ | } |"
sep=$(awk -F'|' '{ s = "|"; for (i = 1; i <= NF; i++) s = s "---|"; print s }' <<<"$HDR")
echo "$sep"
for r in "${ROWS[@]}"; do echo "| ${r//|/ | } |"; done
if ((NOISY)); then
  echo
  echo "WARNING: other processes were using the CPUs before or during some loads (marked noisy); rerun on an idle machine (or with WAIT_QUIET=600, RUNS=3)."
fi
if [[ ${KEEP_WORK:-0} == 1 ]]; then log "raw results: $WORK/results.jsonl"; fi
