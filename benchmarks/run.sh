#!/usr/bin/env bash
# End-to-end load benchmarks for RouterExtProc: the do-nothing baseline ext_proc server and the router on several
# configurations, all driven by the same Envoy-like load generator in the same run; writes benchmarks/RESULTS.md.
#
#   benchmarks/run.sh                 # everything (3 min with the heuristic and Redis scenarios on 2 cores; more with neural ones)
#   SKIP_ROUTER=1 benchmarks/run.sh   # baseline + a sweep against it only (no router needed)
#
# Knobs (environment): DURATION=15s WARMUP=3s CONCURRENCY=16 CHANNELS=2 SWEEP_START=100 SWEEP_FACTOR=1.6
#   SWEEP_MAX=20000 SWEEP_STEP=4s SWEEP_P99_LIMIT_MS=100 READY_TIMEOUT=180 RESULTS_DIR=benchmarks/results OUT=benchmarks/RESULTS.md
#   HEURISTIC_CONFIG=config/examples/heuristic.yaml NEURAL_CONFIG=config/examples/models-and-safety.yaml
#   ROUTER_DLL=src/RouterExtProc/bin/Release/net10.0/RouterExtProc.dll SKIP_BUILD=1 LOG_DIR=<dir, default: a new temp dir>
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

DURATION="${DURATION:-15s}"
WARMUP="${WARMUP:-3s}"
CONCURRENCY="${CONCURRENCY:-16}"
CHANNELS="${CHANNELS:-2}"
SWEEP_START="${SWEEP_START:-100}"
SWEEP_FACTOR="${SWEEP_FACTOR:-1.6}"
SWEEP_MAX="${SWEEP_MAX:-20000}"
SWEEP_STEP="${SWEEP_STEP:-4s}"
SWEEP_P99_LIMIT_MS="${SWEEP_P99_LIMIT_MS:-100}"
READY_TIMEOUT="${READY_TIMEOUT:-180}"
RESULTS_DIR="${RESULTS_DIR:-benchmarks/results}"
OUT="${OUT:-benchmarks/RESULTS.md}"
HEURISTIC_CONFIG="${HEURISTIC_CONFIG:-config/examples/heuristic.yaml}"
NEURAL_CONFIG="${NEURAL_CONFIG:-config/examples/models-and-safety.yaml}"
ROUTER_DLL="${ROUTER_DLL:-src/RouterExtProc/bin/Release/net10.0/RouterExtProc.dll}"
LOADGEN_DLL="benchmarks/RouterExtProc.LoadGen/bin/Release/net10.0/RouterExtProc.LoadGen.dll"
# Process logs stay out of the repository (only *.json under results/ is git-ignored).
LOG_DIR="${LOG_DIR:-$(mktemp -d "${TMPDIR:-/tmp}/router-bench-logs.XXXXXX")}"

mkdir -p "$RESULTS_DIR" "$LOG_DIR"
rm -f "$RESULTS_DIR"/*.json

STARTED_PIDS=()
TEMP_FILES=()
COMMANDS=()
NOTES=()
RUN_FILES=()
SWEEP_FILES=()

log() { printf '[run.sh %s] %s\n' "$(date -u +%H:%M:%S)" "$*" >&2; }
note() { log "NOTE: $*"; NOTES+=("$*"); }

# Stop only what this script started, by pid: TERM first, KILL after 10 s.
stop_pid() {
  local pid="$1"
  kill -0 "$pid" 2>/dev/null || return 0
  kill -TERM "$pid" 2>/dev/null || true
  for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || return 0; sleep 0.1; done
  log "pid $pid ignored SIGTERM for 10 s; killing"
  kill -KILL "$pid" 2>/dev/null || true
}

cleanup() {
  local pid
  for pid in "${STARTED_PIDS[@]}"; do stop_pid "$pid"; done
  [ "${#TEMP_FILES[@]}" -gt 0 ] && rm -f "${TEMP_FILES[@]}"
  return 0
}
trap cleanup EXIT
trap 'log "interrupted"; exit 130' INT TERM

free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'
}

# Waits until "$1" (a command) succeeds, up to $2 seconds, while pid $3 is alive.
wait_until() {
  local check="$1" timeout="$2" pid="$3" waited=0
  while ! eval "$check" >/dev/null 2>&1; do
    if ! kill -0 "$pid" 2>/dev/null; then return 2; fi
    if [ "$waited" -ge $((timeout * 10)) ]; then return 1; fi
    sleep 0.1; waited=$((waited + 1))
  done
}

loadgen() {
  COMMANDS+=("dotnet $LOADGEN_DLL $*")
  dotnet "$LOADGEN_DLL" "$@"
}

# Closed-loop scenario: the same shape for the baseline and every router configuration.
closed_scenario() {
  local name="$1" target="$2" pid="$3"
  local json="$RESULTS_DIR/$name.json"
  if loadgen run --name "$name" --target "$target" --concurrency "$CONCURRENCY" --channels "$CHANNELS" \
      --duration "$DURATION" --requests 10000000 --warmup "$WARMUP" --router-pid "$pid" --json "$json"; then
    RUN_FILES+=("$json")
  elif [ -f "$json" ]; then
    note "scenario $name: no request was answered (see $json)"
    RUN_FILES+=("$json")
  else
    note "scenario $name failed before producing results"
  fi
}

# ---------------------------------------------------------------------------------------------------------------
if [ "${SKIP_BUILD:-0}" != "1" ]; then
  log "building Release (once)"
  COMMANDS+=("dotnet build -c Release benchmarks/RouterExtProc.LoadGen")
  dotnet build -c Release benchmarks/RouterExtProc.LoadGen -v quiet -nologo >"$LOG_DIR/build-loadgen.log" 2>&1 \
    || { tail -30 "$LOG_DIR/build-loadgen.log"; exit 1; }
  if [ "${SKIP_ROUTER:-0}" != "1" ]; then
    COMMANDS+=("dotnet build -c Release src/RouterExtProc")
    if ! dotnet build -c Release src/RouterExtProc -v quiet -nologo >"$LOG_DIR/build-router.log" 2>&1; then
      tail -30 "$LOG_DIR/build-router.log"
      note "router build failed (log: $LOG_DIR/build-router.log); router scenarios skipped"
      SKIP_ROUTER=1
    fi
  fi
fi

# --- baseline ----------------------------------------------------------------------------------------------------
BASELINE_PORT="$(free_port)"
log "baseline ext_proc server on 127.0.0.1:$BASELINE_PORT"
COMMANDS+=("dotnet $LOADGEN_DLL baseline-server --port $BASELINE_PORT")
dotnet "$LOADGEN_DLL" baseline-server --port "$BASELINE_PORT" >"$LOG_DIR/baseline-server.log" 2>&1 &
BASELINE_PID=$!
STARTED_PIDS+=("$BASELINE_PID")
wait_until "grep -q 'listening on' '$LOG_DIR/baseline-server.log'" 60 "$BASELINE_PID" \
  || { cat "$LOG_DIR/baseline-server.log"; log "baseline server did not start"; exit 1; }
closed_scenario baseline "http://127.0.0.1:$BASELINE_PORT" "$BASELINE_PID"

# --- router scenarios --------------------------------------------------------------------------------------------
ROUTER_PID=""
ROUTER_GRPC=""
start_router() {
  local name="$1" config="$2"
  ROUTER_GRPC="$(free_port)"
  local admin; admin="$(free_port)"
  log "router [$name]: $config (grpc $ROUTER_GRPC, admin $admin)"
  COMMANDS+=("dotnet $ROUTER_DLL --config $config --grpc-port $ROUTER_GRPC --admin-port $admin")
  dotnet "$ROUTER_DLL" --config "$config" --grpc-port "$ROUTER_GRPC" --admin-port "$admin" >"$LOG_DIR/router-$name.log" 2>&1 &
  ROUTER_PID=$!
  STARTED_PIDS+=("$ROUTER_PID")
  local rc=0
  wait_until "curl -fsS -o /dev/null http://127.0.0.1:$admin/readyz" "$READY_TIMEOUT" "$ROUTER_PID" || rc=$?
  if [ "$rc" -ne 0 ]; then
    tail -20 "$LOG_DIR/router-$name.log" >&2 || true
    if [ "$rc" -eq 2 ]; then
      note "router [$name] exited during startup (log: $LOG_DIR/router-$name.log); scenario skipped: $(grep -m1 -iE -A3 'exception|error' "$LOG_DIR/router-$name.log" | tr '\n' ' ' | sed 's/  */ /g' | cut -c1-400)"
    else
      note "router [$name] did not become ready on http://127.0.0.1:$admin/readyz within ${READY_TIMEOUT}s (log: $LOG_DIR/router-$name.log); scenario skipped"
    fi
    stop_pid "$ROUTER_PID"
    return 1
  fi
}

router_scenario() {
  local name="$1" config="$2"
  if start_router "$name" "$config"; then
    closed_scenario "$name" "http://127.0.0.1:$ROUTER_GRPC" "$ROUTER_PID"
    stop_pid "$ROUTER_PID"
  fi
}

# A copy of a config next to the original (model paths are relative to the config file), removed on exit. Sets
# DERIVED rather than printing it: a $(...) caller runs in a subshell, where TEMP_FILES+= is lost and the copy
# outlived the run (an example-config test then found it).
derived_config() {
  local source="$1" suffix="$2"
  DERIVED="$(dirname "$source")/.bench-$suffix-$(basename "$source")"
  cp "$source" "$DERIVED"
  TEMP_FILES+=("$DERIVED")
}

SWEEP_TARGET_NAME="baseline"
SWEEP_TARGET="http://127.0.0.1:$BASELINE_PORT"
SWEEP_PID="$BASELINE_PID"

if [ "${SKIP_ROUTER:-0}" = "1" ]; then
  note "router scenarios skipped (SKIP_ROUTER=1 or router build failed)"
elif [ ! -f "$ROUTER_DLL" ]; then
  note "router not built at $ROUTER_DLL; router scenarios skipped"
else
  if [ -f "$HEURISTIC_CONFIG" ]; then
    router_scenario heuristic "$HEURISTIC_CONFIG"
  else
    note "$HEURISTIC_CONFIG not found; heuristic scenario skipped"
  fi

  if [ -f "$NEURAL_CONFIG" ]; then
    router_scenario neural "$NEURAL_CONFIG"
    if grep -qE '^\s*max_batch:' "$NEURAL_CONFIG"; then
      for batch in 1 8; do
        derived_config "$NEURAL_CONFIG" "batch$batch"; cfg="$DERIVED"
        sed -i -E "s/^(\s*max_batch:\s*)[0-9]+/\1$batch/" "$cfg"
        router_scenario "neural-batch$batch" "$cfg"
      done
    else
      note "$NEURAL_CONFIG has no max_batch keys; micro-batching scenarios skipped"
    fi
  else
    note "$NEURAL_CONFIG not found; neural and micro-batching scenarios skipped"
  fi

  if [ -f "$HEURISTIC_CONFIG" ]; then
    if command -v redis-server >/dev/null 2>&1; then
      REDIS_PORT="$(free_port)"
      COMMANDS+=("redis-server --port $REDIS_PORT --bind 127.0.0.1 --save '' --appendonly no")
      redis-server --port "$REDIS_PORT" --bind 127.0.0.1 --save '' --appendonly no >"$LOG_DIR/redis.log" 2>&1 &
      REDIS_PID=$!
      STARTED_PIDS+=("$REDIS_PID")
      if wait_until "redis-cli -p $REDIS_PORT ping | grep -q PONG" 30 "$REDIS_PID"; then
        derived_config "$HEURISTIC_CONFIG" redis; cfg="$DERIVED"
        # Replace the top-level state: section (if any) with one pointing at this redis-server.
        awk 'BEGIN{skip=0} /^state:/{skip=1; next} skip && /^[^[:space:]#]/{skip=0} !skip{print}' "$HEURISTIC_CONFIG" >"$cfg"
        printf '\nstate:\n  backend: redis\n  redis:\n    endpoints: ["127.0.0.1:%s"]\n' "$REDIS_PORT" >>"$cfg"
        router_scenario heuristic-redis "$cfg"
      else
        note "redis-server did not answer PING; redis scenario skipped"
      fi
      stop_pid "$REDIS_PID"
    else
      note "redis-server not installed; in-memory vs Redis scenario skipped"
    fi
  fi

  # The sweep goes against the router (heuristic config) when it starts, else against the baseline.
  if [ -f "$HEURISTIC_CONFIG" ] && start_router heuristic-sweep "$HEURISTIC_CONFIG"; then
    SWEEP_TARGET_NAME="heuristic"
    SWEEP_TARGET="http://127.0.0.1:$ROUTER_GRPC"
    SWEEP_PID="$ROUTER_PID"
  fi
fi

# --- open-loop sweep ---------------------------------------------------------------------------------------------
SWEEP_NAME="sweep-$SWEEP_TARGET_NAME"
log "open-loop sweep against $SWEEP_TARGET_NAME"
if loadgen sweep --name "$SWEEP_NAME" --target "$SWEEP_TARGET" --router-pid "$SWEEP_PID" --channels "$CHANNELS" \
    --start-rate "$SWEEP_START" --factor "$SWEEP_FACTOR" --max-rate "$SWEEP_MAX" --step-duration "$SWEEP_STEP" --p99-limit-ms "$SWEEP_P99_LIMIT_MS" \
    --warmup "$WARMUP" --out-dir "$RESULTS_DIR"; then
  SWEEP_FILES+=("$RESULTS_DIR/$SWEEP_NAME.json")
else
  note "sweep $SWEEP_NAME failed"
fi
[ "$SWEEP_PID" != "$BASELINE_PID" ] && stop_pid "$SWEEP_PID"
stop_pid "$BASELINE_PID"

# --- RESULTS.md --------------------------------------------------------------------------------------------------
log "writing $OUT"
TABLE="$(dotnet "$LOADGEN_DLL" report "${RUN_FILES[@]}" "${SWEEP_FILES[@]}" --baseline baseline)"
CPU_MODEL="$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//' || true)"
MEM_TOTAL="$(awk '/MemTotal/ {printf "%.1f GiB", $2/1048576}' /proc/meminfo)"
OS_NAME="$(. /etc/os-release 2>/dev/null && echo "${PRETTY_NAME:-unknown}") ($(uname -sr))"
DOTNET_SDK="$(dotnet --version)"
DOTNET_RUNTIME="$(dotnet --list-runtimes | grep -m1 'Microsoft.NETCore.App' | awk '{print $2}')"
COMMIT="$(git rev-parse --short HEAD 2>/dev/null || echo unknown)"
git diff --quiet 2>/dev/null || COMMIT="$COMMIT (working tree has uncommitted changes)"

{
  echo "# RouterExtProc load benchmarks"
  echo
  echo "Produced by \`benchmarks/run.sh\` on $(date -u '+%Y-%m-%d %H:%M UTC'); see benchmarks/README.md for what each scenario means."
  echo
  echo "## Machine"
  echo
  echo "- CPUs: $(nproc) ($CPU_MODEL), load average at start: $(cut -d' ' -f1-3 /proc/loadavg)"
  echo "- Memory: $MEM_TOTAL"
  echo "- OS: $OS_NAME"
  echo "- .NET: SDK $DOTNET_SDK, runtime $DOTNET_RUNTIME"
  echo "- Commit: $COMMIT"
  echo
  echo "The load generator runs on the same machine and competes for the same cores; compare rows with each other"
  echo "and with the baseline row from this run, not with other machines."
  echo
  echo "## Results"
  echo
  echo "Closed loop: concurrency $CONCURRENCY over $CHANNELS HTTP/2 connections, $DURATION measured after $WARMUP warmup."
  echo "Latency is the added ext_proc latency per request (first message sent to last answer read)."
  echo "Ratios compare with the do-nothing baseline server measured in this same run."
  echo
  echo "$TABLE"
  echo
  if [ "${#SWEEP_FILES[@]}" -gt 0 ]; then
    echo "![latency vs offered load]($(basename "$RESULTS_DIR")/$SWEEP_NAME.svg)"
    echo
  fi
  if [ "${#NOTES[@]}" -gt 0 ]; then
    echo "## Notes"
    echo
    for n in "${NOTES[@]}"; do echo "- $n"; done
    echo
  fi
  echo "## Commands"
  echo
  echo '```'
  for c in "${COMMANDS[@]}"; do echo "$c"; done
  echo '```'
} >"$OUT"
log "done: $OUT (process logs: $LOG_DIR)"
