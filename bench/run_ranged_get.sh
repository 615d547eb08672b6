#!/usr/bin/env bash
# Ranged-GET benchmark: floe vs s3fs/fsspec vs obstore (and plain curl as the 0-latency ceiling).
#
# 1,000 ranged GETs of 1 MiB (10 objects x 100 ranges) from the local S3 server (versitygw)
# through faultproxy, first with 20 ms added per request, then with 0 added latency. Every tool
# runs in a fresh process per run, ROUNDS rounds, interleaved (floe, s3fs, obstore[, curl]) per
# round. Requests issued and bytes moved are read from the proxy's counters (reset before each
# run), not self-reported. Raw JSON lines are appended to bench/results/ranged_get-<date>.jsonl,
# and a Markdown summary (bench/summarize.py) is printed at the end.
#
# Prerequisites: scripts/install-deps.sh --with-bench (versitygw, faultproxy sources, .venv with
# the peers), and a release build at build/release (floe is skipped with a message if
# build/release/bench/floe_bench_ranged_get is missing).
#
# Environment knobs (defaults in brackets):
#   ROUNDS [5]  CONCURRENCY [64]  LATENCY [20ms]  OBJECTS [10]  RANGES_PER_KEY [100]
#   RANGE_SIZE [1048576]  STRIDE [2162688 = 2 MiB + 64 KiB]  OBJECT_SIZE [218103808 = 208 MiB]
#   BENCH_BUCKET [floe-bench]  PROXY_PORT [17072] (LATENCY proxy)  PROXY0_PORT [17073] (0-latency)
#   FLOE_TEST_STATE [/tmp/floe-test-servers]  SKIP_ZERO_LATENCY [0]  SKIP_LATENCY [0]
#   FLOE_BENCH_BIN [build/release/bench/floe_bench_ranged_get]
#
# Why the stride is 2 MiB + 64 KiB and not 2 MiB: object_store (obstore) merges ranges whose gap
# is <= 1 MiB into one request by default; with a 2 MiB stride the gap is exactly 1 MiB and
# obstore would issue 500 requests instead of 1000. With a 1 MiB + 64 KiB gap no tool can merge.
# The objects are 208 MiB so that 100 ranges at that stride fit (last range ends at 205.2 MiB).
set -euo pipefail

repo="$(cd "$(dirname "$0")/.." && pwd)"
cd "$repo"

ROUNDS="${ROUNDS:-5}"
CONCURRENCY="${CONCURRENCY:-64}"
LATENCY="${LATENCY:-20ms}"
OBJECTS="${OBJECTS:-10}"
RANGES_PER_KEY="${RANGES_PER_KEY:-100}"
RANGE_SIZE="${RANGE_SIZE:-1048576}"
STRIDE="${STRIDE:-2162688}"
OBJECT_SIZE="${OBJECT_SIZE:-218103808}"
BUCKET="${BENCH_BUCKET:-floe-bench}"
PROXY_PORT="${PROXY_PORT:-17072}"
PROXY0_PORT="${PROXY0_PORT:-17073}"
STATE="${FLOE_TEST_STATE:-/tmp/floe-test-servers}"
SKIP_ZERO_LATENCY="${SKIP_ZERO_LATENCY:-0}"
SKIP_LATENCY="${SKIP_LATENCY:-0}"
TOOL_TIMEOUT=300

die() { echo "run_ranged_get: $*" >&2; exit 1; }
log() { echo "run_ranged_get: $*" >&2; }

[[ "$ROUNDS" =~ ^[0-9]+$ ]] && [ "$ROUNDS" -ge 1 ] && [ "$ROUNDS" -le 100 ] || die "ROUNDS must be 1..100"
last_end=$(( (RANGES_PER_KEY - 1) * STRIDE + RANGE_SIZE ))
[ "$last_end" -le "$OBJECT_SIZE" ] || die "OBJECT_SIZE $OBJECT_SIZE too small: ranges reach $last_end"

py="$repo/.venv/bin/python"
[ -x "$py" ] || die "no $py: run scripts/install-deps.sh --with-bench"
"$py" -c 'import s3fs, obstore' 2>/dev/null || die "s3fs/obstore missing in .venv: run scripts/install-deps.sh --with-bench"
floe_bin="${FLOE_BENCH_BIN:-$repo/build/release/bench/floe_bench_ranged_get}"

# ---------------------------------------------------------------- servers
. bench/s3_bench_lib.sh
s3_servers_up

tmp="$(mktemp -d "${TMPDIR:-/tmp}/floe-bench-ranged.XXXXXX")"
cleanup() {
  s3_bench_cleanup
  rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# ---------------------------------------------------------------- data
log "setup: $OBJECTS objects x $OBJECT_SIZE bytes in s3://$BUCKET at $S3_ENDPOINT"
KEYS=$(timeout 1800 "$py" bench/setup_ranged_get.py --endpoint "$S3_ENDPOINT" --bucket "$BUCKET" \
  --access-key "$AK" --secret-key "$SK" --region "$REGION" --count "$OBJECTS" --size "$OBJECT_SIZE") \
  || die "setup failed"

common_args() { # endpoint -> sets the array args
  args=(--endpoint "$1" --bucket "$BUCKET" --keys "$KEYS" --ranges-per-key "$RANGES_PER_KEY"
    --range-size "$RANGE_SIZE" --stride "$STRIDE" --access-key "$AK" --secret-key "$SK"
    --concurrency "$CONCURRENCY")
}

# Warm the server's page cache once, directly (not through a proxy), so no tool pays cold reads.
log "warm-up read (curl, direct, not recorded)"
common_args "$S3_ENDPOINT"
timeout "$TOOL_TIMEOUT" bash bench/peers/ranged_get_curl.sh "${args[@]}" >/dev/null \
  || die "warm-up read failed"

mkdir -p bench/results
results="bench/results/ranged_get-$(date +%Y-%m-%d).jsonl"
run_id="$(date +%Y%m%dT%H%M%S)-$$"
host_info="$(uname -m) $(nproc)cpu"

tool_cmd() { # tool endpoint -> sets the array cmd
  local tool="$1" ep="$2"
  common_args "$ep"
  case "$tool" in
    floe) cmd=("$floe_bin" "${args[@]}") ;;
    s3fs) cmd=("$py" bench/peers/ranged_get_s3fs.py "${args[@]}") ;;
    obstore) cmd=("$py" bench/peers/ranged_get_obstore.py "${args[@]}") ;;
    curl) cmd=(bash bench/peers/ranged_get_curl.sh "${args[@]}") ;;
  esac
}

run_one() { # scenario latency_ms round tool port
  local scenario="$1" lat_ms="$2" round="$3" tool="$4" port="$5" rc=0
  proxy_reset "$port"
  tool_cmd "$tool" "http://127.0.0.1:$port"
  timeout "$TOOL_TIMEOUT" "${cmd[@]}" >"$tmp/out" 2>"$tmp/err" || rc=$?
  proxy_stats "$port" "$tmp/stats"
  "$py" - "$tmp/out" "$tmp/err" "$tmp/stats" "$rc" "$tool" "$scenario" "$lat_ms" "$round" \
      "$run_id" "$CONCURRENCY" "$host_info" >>"$results" <<'PY'
import json, sys, time
out, err, stats, rc, tool, scenario, lat, rnd, run_id, conc, host = sys.argv[1:]
line = None
for raw in open(out, errors="replace").read().splitlines():
    raw = raw.strip()
    if raw.startswith("{"):
        try:
            line = json.loads(raw)
        except ValueError:
            pass
rec = line if isinstance(line, dict) else {"tool": tool}
rec["tool"] = tool
if int(rc) != 0 or line is None:
    msg = open(err, errors="replace").read().strip().splitlines()
    rec["error"] = f"exit {rc}" + (": " + msg[-1][:300] if msg else "") + (" (timeout)" if rc == "124" else "")
try:
    st = json.load(open(stats))
except ValueError:
    st = {}
rec.update({
    "bench": "ranged_get", "scenario": scenario, "latency_ms": int(lat), "round": int(rnd),
    "run_id": run_id, "concurrency": int(conc), "host": host,
    "time": time.strftime("%Y-%m-%dT%H:%M:%S"),
    "proxy_requests": st.get("requests"), "proxy_bytes_out": st.get("bytes_out"),
})
print(json.dumps(rec))
sys.stderr.write(f"  {scenario} round {rnd} {tool:8s} "
                 + (f"{rec['seconds']:.3f}s" if "seconds" in rec and "error" not in rec else rec.get("error", "?"))
                 + f"  proxy: {rec['proxy_requests']} requests, {rec['proxy_bytes_out']} bytes\n")
PY
}

tools=(s3fs obstore)
if [ -x "$floe_bin" ]; then
  tools=(floe "${tools[@]}")
else
  log "SKIPPING floe: $floe_bin not found (build it with the release preset first)"
fi

lat_ms=$(awk -v l="$LATENCY" 'BEGIN { v = l + 0; if (l ~ /ms$/) print int(v); else if (l ~ /us$/) print int(v / 1000); else if (l ~ /s$/) print int(v * 1000); else print int(v) }')
if [ "$SKIP_LATENCY" != 1 ]; then
  start_proxy "$PROXY_PORT" "$LATENCY"
  log "scenario latency-${lat_ms}ms via faultproxy 127.0.0.1:$PROXY_PORT (${ROUNDS} rounds: ${tools[*]})"
  for ((r = 1; r <= ROUNDS; r++)); do
    for t in "${tools[@]}"; do run_one "latency-${lat_ms}ms" "$lat_ms" "$r" "$t" "$PROXY_PORT"; done
  done
fi
if [ "$SKIP_ZERO_LATENCY" != 1 ]; then
  start_proxy "$PROXY0_PORT" 0s
  log "scenario latency-0ms via faultproxy 127.0.0.1:$PROXY0_PORT (${ROUNDS} rounds: ${tools[*]} curl)"
  for ((r = 1; r <= ROUNDS; r++)); do
    for t in "${tools[@]}" curl; do run_one "latency-0ms" 0 "$r" "$t" "$PROXY0_PORT"; done
  done
fi

log "raw results: $results (run_id $run_id)"
"$py" bench/summarize.py --run-id "$run_id" "$results"
