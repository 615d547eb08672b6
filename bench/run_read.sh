#!/usr/bin/env bash
# bench/run_read.sh owns the read benchmark (issue 5): floe read vs icechunk-python + zarr-python + xarray .load() on one region of a repository of virtual NetCDF-4 chunks, local and from S3 behind faultproxy.
#
# Files (bench/make_read_files.py, cached in DATA_DIR, uploaded to s3://BUCKET/read/ for the S3 scenarios):
# four ERA5-like monthly NetCDF-4 files of 6-hourly t2m, float32 (484 x 721 x 1440 in all), chunks
# (4, 181, 360), shuffle + zlib 4; 2.01 GB decoded, about 0.7 GB stored. They are virtualized by floe into
# one Icechunk repository joined along valid_time: on local disk (container file://DATA_DIR/), and per S3
# scenario on the S3 test server (s3://BUCKET/read-repo-RUN-SCENARIO/, container s3://BUCKET/read/ whose
# endpoint is the scenario's proxy, so every byte of both tools goes through it). Both tools then read
# the same region of the same repository (SEL, default: every time step, latitude 75..-60, longitude
# 0..200: 1,452 chunks, 1.51 GB decoded, an 839 MB float32 result):
#   floe-stats  floe [--endpoint PROXY] --json read REPO t2m --sel ... --authorize PREFIX --stats
#               (min/max/mean/NaN count streamed from the decoded slabs; nothing written)
#   floe-npy    the same with --out OUT_DIR/....npy (OUT_DIR defaults to /dev/shm: the file lands in
#               memory, as .load() does, rather than timing the disk; deleted after each run)
#   xarray      bench/peers/read_peers.py: Repository.open(..., authorize_virtual_chunk_access) ->
#               readonly_session -> xr.open_zarr(store, chunks=None).t2m.sel(...).load(); zarr's defaults
#               (async.concurrency 10); its --stats are computed after the timed part, to check the values
#   xarray-tuned  the same with zarr async.concurrency = PEER_CONCURRENCY (64: floe's requests in flight)
# "seconds" is each tool's own figure from opening the repository to the values in memory (floe: to the
# end of its output); /usr/bin/time adds the process's wall time (with Python's imports), peak RSS and CPU
# time. Scenarios: "local" (the repository and files on local disk, page cache warm after the warm-up run),
# "latency-<L>" (S3 through a faultproxy on 127.0.0.1:PROXY_PORT adding LATENCY per request) and
# "latency-0ms" (through a proxy adding nothing). ROUNDS rounds; the tools alternate within a round and the
# order is reversed every other round. GETs and bytes are the proxy's counters; server_cpu_s is the CPU
# time versitygw and the proxy spent during the run (they share the cores). Each record carries the
# 1-minute load average before the run. The decode ceiling (bench/floe_bench_inflate.cc: the first
# INFLATE_CHUNKS chunks inflated by libdeflate and decoded by floe's pipeline, on 1 and on nproc threads) is
# measured once per run, before the rounds. Raw JSON lines go to bench/results/read-<date>.jsonl; a Markdown
# summary (bench/summarize_read.py) is printed at the end.
#
# Builds nothing: floe is FLOE_BIN (default build/release/src/floe/cli/floe), the ceiling program
# INFLATE_BIN (default: floe_bench_inflate beside FLOE_BIN's build, build/release/bench/); cmake --preset
# release && cmake --build build/release --target floe floe_bench_inflate -j2. The Python peer needs the
# project .venv (scripts/install-deps.sh --with-bench). The floe binary is hashed before every run; records
# where it changed are flagged ("floe_bin_changed").
#
# Environment knobs (defaults in brackets):
#   ROUNDS [5]  TOOLS ["floe-stats floe-npy xarray xarray-tuned"]  SCENARIOS ["local latency"]
#   LATENCY [20ms]  DATA_DIR [$FLOE_BENCH_DATA/read, else /tmp/floe-bench-read]  OUT_DIR [/dev/shm]
#   SEL ["valid_time=2020-01-01:2020-04-30 latitude=75:-60 longitude=0:200"] (DIM=A:B words, given to both
#   tools)  VARIABLE [t2m]  FLOE_JOBS [] floe --jobs (default: all cores)  PEER_CONCURRENCY [64]
#   FLOE_BIN  INFLATE_BIN  INFLATE_CHUNKS [256]  BENCH_BUCKET [floe-bench]  PROXY_PORT [17077]
#   PROXY0_PORT [17078]  WARMUP [1] one unrecorded run per tool first  FLOE_TEST_STATE
#   [/tmp/floe-test-servers]  TOOL_TIMEOUT [600] seconds per run  MAX_WALL [3600] seconds: no new round
#   starts after this much time (the runs done so far are kept)
set -euo pipefail

repo="$(cd "$(dirname "$0")/.." && pwd)"
cd "$repo"

ROUNDS="${ROUNDS:-5}"
TOOLS="${TOOLS:-floe-stats floe-npy xarray xarray-tuned}"
SCENARIOS="${SCENARIOS:-local latency}"
LATENCY="${LATENCY:-20ms}"
if [ -n "${FLOE_BENCH_DATA:-}" ]; then DATA_DIR="${DATA_DIR:-$FLOE_BENCH_DATA/read}"; fi
DATA_DIR="${DATA_DIR:-/tmp/floe-bench-read}"
OUT_DIR="${OUT_DIR:-/dev/shm}"
SEL="${SEL:-valid_time=2020-01-01:2020-04-30 latitude=75:-60 longitude=0:200}"
VARIABLE="${VARIABLE:-t2m}"
FLOE_JOBS="${FLOE_JOBS:-}"
PEER_CONCURRENCY="${PEER_CONCURRENCY:-64}"
INFLATE_CHUNKS="${INFLATE_CHUNKS:-256}"
BUCKET="${BENCH_BUCKET:-floe-bench}"
PROXY_PORT="${PROXY_PORT:-17077}"
PROXY0_PORT="${PROXY0_PORT:-17078}"
WARMUP="${WARMUP:-1}"
STATE="${FLOE_TEST_STATE:-/tmp/floe-test-servers}"
TOOL_TIMEOUT="${TOOL_TIMEOUT:-600}"
MAX_WALL="${MAX_WALL:-3600}"

die() { echo "run_read: $*" >&2; exit 1; }
log() { echo "run_read: $*" >&2; }

[[ "$ROUNDS" =~ ^[0-9]+$ ]] && [ "$ROUNDS" -ge 1 ] && [ "$ROUNDS" -le 50 ] || die "ROUNDS must be 1..50"
[[ "$TOOL_TIMEOUT" =~ ^[0-9]+$ ]] && [[ "$MAX_WALL" =~ ^[0-9]+$ ]] || die "TOOL_TIMEOUT and MAX_WALL are seconds"
[[ "$INFLATE_CHUNKS" =~ ^[0-9]+$ ]] || die "INFLATE_CHUNKS is a count"
py="$repo/.venv/bin/python"
[ -x "$py" ] || die "no $py: run scripts/install-deps.sh --with-bench"
read -r -a tools <<<"$TOOLS"
read -r -a scenarios <<<"$SCENARIOS"
read -r -a sels <<<"$SEL"
for t in "${tools[@]}"; do
  case "$t" in floe-stats | floe-npy | xarray | xarray-tuned) ;; *) die "unknown tool $t" ;; esac
done
for s in "${scenarios[@]}"; do
  case "$s" in local | latency | latency-0ms) ;; *) die "unknown scenario $s (local, latency, latency-0ms)" ;; esac
done
"$py" -c 'import icechunk, xarray, zarr, netCDF4' 2>/dev/null \
  || die "icechunk/xarray/zarr/netCDF4 missing in .venv: run scripts/install-deps.sh --with-bench"

floe_bin="${FLOE_BIN:-$repo/build/release/src/floe/cli/floe}"
[ -x "$floe_bin" ] || die "$floe_bin not found (cmake --preset release && cmake --build build/release --target floe)"
"$floe_bin" read --help 2>/dev/null | grep -q -- '--stats' || die "$floe_bin has no 'read' subcommand (rebuild it)"
floe_hash="$(sha256sum "$floe_bin" | cut -c1-16)"
inflate_bin="${INFLATE_BIN:-$(cd "$(dirname "$floe_bin")/../../.." && pwd)/bench/floe_bench_inflate}"
[ -x "$inflate_bin" ] || log "no $inflate_bin: the decode ceiling is not measured (build floe_bench_inflate)"
timebin=""
if [ -x /usr/bin/time ]; then timebin=/usr/bin/time; fi

tmp="$(mktemp -d "${TMPDIR:-/tmp}/floe-bench-read-run.XXXXXX")"
. bench/s3_bench_lib.sh
s3_prefixes=()
cleanup() {
  local prefix
  for prefix in "${s3_prefixes[@]}"; do
    timeout 120 "$py" -c '
import sys
sys.path.insert(0, "bench")
from setup_ranged_get import s3_filesystem
fs = s3_filesystem(sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4])
if fs.exists(sys.argv[5]):
    fs.rm(sys.argv[5], recursive=True)' "$S3_ENDPOINT" "$AK" "$SK" "$REGION" "$prefix" >/dev/null 2>&1 \
      || log "could not remove s3://$prefix"
  done
  s3_bench_cleanup
  rm -f -- "$OUT_DIR"/floe-bench-read-$$-*.npy
  rm -rf -- "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

need_s3=0
for s in "${scenarios[@]}"; do [ "$s" = local ] || need_s3=1; done
upload_args=()
if [ $need_s3 = 1 ]; then
  s3_servers_up
  export AWS_ACCESS_KEY_ID="$AK" AWS_SECRET_ACCESS_KEY="$SK"
  upload_args=(--upload-endpoint "$S3_ENDPOINT" --bucket "$BUCKET" --prefix read/ --region "$REGION")
fi

# ---------------------------------------------------------------- files and repositories
log "files in $DATA_DIR (generated if missing)${upload_args:+, uploaded to s3://$BUCKET/read/}"
timeout 7200 "$py" bench/make_read_files.py --dir "$DATA_DIR" "${upload_args[@]}" >"$tmp/files.jsonl" \
  || die "make_read_files.py failed"
glob_name="$("$py" -c 'import json, sys; print(json.loads(open(sys.argv[1]).readline())["glob"])' "$tmp/files.jsonl")"
files_bytes="$("$py" -c '
import json, sys
print(sum(json.loads(l)["bytes"] for l in open(sys.argv[1])))' "$tmp/files.jsonl")"
data_abs="$(cd "$DATA_DIR" && pwd -P)"

mkdir -p bench/results
results="bench/results/read-$(date +%Y-%m-%d).jsonl"
run_id="$(date +%Y%m%dT%H%M%S)-$$"
host_info="$(uname -m) $(nproc)cpu $(awk '/MemTotal/ {printf "%.0fGiB", $2 / 1048576}' /proc/meminfo)"
lat_ms=$(awk -v l="$LATENCY" 'BEGIN { v = l + 0; if (l ~ /ms$/) print int(v); else if (l ~ /us$/) print int(v / 1000); else if (l ~ /s$/) print int(v * 1000); else print int(v) }')
git_head="$(git rev-parse --short HEAD 2>/dev/null || echo unknown)"
common=(--set bench=read --set "run_id=$run_id" --set "host=$host_info" --set "sel=$SEL" --set "variable=$VARIABLE"
  --set "files_bytes=$files_bytes" --set "git_head=$git_head")

virtualize() { # label source_glob repo_url [global options...] -- [virtualize options...]
  local label="$1" src="$2" url="$3" rc=0
  shift 3
  local -a global=() opts=()
  while [ $# -gt 0 ] && [ "$1" != -- ]; do global+=("$1"); shift; done
  [ $# -gt 0 ] && shift
  opts=("$@")
  log "virtualizing $src into $url"
  timeout "$TOOL_TIMEOUT" "$floe_bin" "${global[@]}" --json virtualize "$src" --repo "$url" --concat-dim valid_time \
    "${opts[@]}" >"$tmp/out" 2>"$tmp/err" || rc=$?
  "$py" bench/record_run.py --out "$tmp/out" --err "$tmp/err" --rc "$rc" "${common[@]}" --set kind=virtualize \
    --set "scenario=$label" --set tool=floe-virtualize --set round=0 >>"$results"
  [ "$rc" = 0 ] || die "floe virtualize failed (exit $rc): $(tail -n 3 "$tmp/err")"
}

local_repo="$tmp/repo-local"
virtualize local "$data_abs/$glob_name" "$local_repo" --

if [ -x "$inflate_bin" ]; then
  log "decode ceiling: $INFLATE_CHUNKS chunks, 1 and $(nproc) threads"
  rc=0
  timeout "$TOOL_TIMEOUT" "$inflate_bin" --repo "$local_repo" --array "/$VARIABLE" --max-chunks "$INFLATE_CHUNKS" \
    --rounds 5 --threads "$(nproc)" >"$tmp/out" 2>"$tmp/err" || rc=$?
  "$py" bench/record_run.py --out "$tmp/out" --err "$tmp/err" --rc "$rc" "${common[@]}" --set kind=inflate \
    --set scenario=local --set tool=floe_bench_inflate --set round=0 \
    --set "loadavg=$(cut -d' ' -f1 /proc/loadavg)" >>"$results"
fi

# ---------------------------------------------------------------- runs
cmd_for() { # tool repo_url port(empty: local) authorize out_file -> sets the array cmd
  local tool="$1" url="$2" port="$3" auth="$4" out="$5" s
  case "$tool" in
    floe-stats | floe-npy)
      cmd=("$floe_bin")
      if [ -n "$port" ]; then cmd+=(--endpoint "http://127.0.0.1:$port" --region "$REGION"); fi
      cmd+=(--json read "$url" "$VARIABLE" --authorize "$auth")
      for s in "${sels[@]}"; do cmd+=(--sel "$s"); done
      if [ -n "$FLOE_JOBS" ]; then cmd+=(--jobs "$FLOE_JOBS"); fi
      if [ "$tool" = floe-stats ]; then cmd+=(--stats); else cmd+=(--out "$out"); fi ;;
    xarray | xarray-tuned)
      cmd=("$py" bench/peers/read_peers.py --repo "$url" --variable "$VARIABLE" --authorize "$auth" --stats)
      for s in "${sels[@]}"; do cmd+=(--sel "$s"); done
      if [ -n "$port" ]; then cmd+=(--endpoint "http://127.0.0.1:$port" --region "$REGION"); fi
      if [ "$tool" = xarray-tuned ]; then cmd+=(--concurrency "$PEER_CONCURRENCY"); fi ;;
  esac
}

# CPU seconds (user + system) used so far by the S3 server and the scenario's proxy: they share the two cores
# with the tools, so the S3 scenarios report them per run (server_cpu_s).
server_pids=()
server_cpu_ticks() {
  local pid total=0 ticks
  for pid in "${server_pids[@]}"; do
    ticks=$(awk '{print $14 + $15}' "/proc/$pid/stat" 2>/dev/null) || ticks=0
    total=$((total + ${ticks:-0}))
  done
  echo "$total"
}
clk_tck="$(getconf CLK_TCK)"

nrun=0
run_one() { # scenario latency_ms round tool repo_url port authorize [record: 1/0]
  local scenario="$1" lat="$2" round="$3" tool="$4" url="$5" port="$6" auth="$7" record="${8:-1}" rc=0
  local out="$OUT_DIR/floe-bench-read-$$-$((++nrun)).npy" load
  local -a extra=()
  cmd_for "$tool" "$url" "$port" "$auth" "$out"
  if [[ "$tool" == floe-* ]]; then
    local bin_hash
    bin_hash="$(sha256sum "$floe_bin" | cut -c1-16)"
    extra=(--set "floe_bin=$floe_bin" --set "floe_bin_sha256=$bin_hash")
    if [ -n "$FLOE_JOBS" ]; then extra+=(--set "floe_jobs=$FLOE_JOBS"); fi
    if [ "$bin_hash" != "$floe_hash" ]; then
      log "WARNING: $floe_bin changed since the start of this run (rebuilt?)"
      extra+=(--set floe_bin_changed=true)
    fi
  fi
  local server_before=0
  if [ -n "$port" ]; then proxy_reset "$port"; server_before="$(server_cpu_ticks)"; fi
  load="$(cut -d' ' -f1 /proc/loadavg)"
  echo "" >"$tmp/time"
  if [ -n "$timebin" ]; then
    timeout "$TOOL_TIMEOUT" "$timebin" -f '%e %M %U %S' -o "$tmp/time" "${cmd[@]}" >"$tmp/out" 2>"$tmp/err" || rc=$?
  else
    timeout "$TOOL_TIMEOUT" "${cmd[@]}" >"$tmp/out" 2>"$tmp/err" || rc=$?
  fi
  local -a stats=()
  if [ -n "$port" ]; then
    proxy_stats "$port" "$tmp/stats"
    stats=(--stats "$tmp/stats")
    extra+=(--set "server_cpu_s=$(awk -v a="$server_before" -v b="$(server_cpu_ticks)" -v h="$clk_tck" 'BEGIN { printf "%.2f", (b - a) / h }')")
  fi
  if [ -f "$out" ]; then extra+=(--set "out_file_bytes=$(stat -c %s "$out")"); fi
  rm -f -- "$out"
  if [ "$record" = 1 ]; then
    "$py" bench/record_run.py --out "$tmp/out" --err "$tmp/err" --rc "$rc" --time "$tmp/time" "${stats[@]}" \
      "${common[@]}" --set kind=read --set "tool=$tool" --set "scenario=$scenario" --set "latency_ms=$lat" \
      --set "round=$round" --set "loadavg=$load" "${extra[@]}" >>"$results"
  elif [ "$rc" != 0 ]; then
    log "warm-up: $tool failed (exit $rc): $(tail -n 1 "$tmp/err")"
  fi
}

start_s=$SECONDS
for s in "${scenarios[@]}"; do
  case "$s" in
    local) port=""; lat=0; name=local; url="$local_repo"; auth="file://$data_abs/" ;;
    latency | latency-0ms)
      if [ "$s" = latency ]; then port="$PROXY_PORT"; lat="$lat_ms"; name="latency-${lat_ms}ms"; plat="$LATENCY"
      else port="$PROXY0_PORT"; lat=0; name=latency-0ms; plat=0s; fi
      start_proxy "$port" "$plat"
      server_pids=("${proxy_pids[-1]}")
      if [ -f "$STATE/pids" ]; then
        while read -r pname ppid _; do
          if [ "$pname" = versitygw ]; then server_pids+=("$ppid"); fi
        done <"$STATE/pids"
      fi
      key="read-repo-$run_id-$name"
      s3_prefixes+=("$BUCKET/$key")
      url="s3://$BUCKET/$key"
      auth="s3://$BUCKET/read/"
      # Virtualized straight from the server; the container's endpoint is the proxy, so reads go through it.
      virtualize "$name" "s3://$BUCKET/read/$glob_name" "$url" --endpoint "$S3_ENDPOINT" --region "$REGION" -- \
        --container "$auth=region=$REGION,endpoint=http://127.0.0.1:$port" ;;
  esac
  if [ "$WARMUP" = 1 ]; then
    log "$name: warm-up (one unrecorded run per tool)"
    for t in "${tools[@]}"; do run_one "$name" "$lat" 0 "$t" "$url" "$port" "$auth" 0; done
  fi
  log "$name: $ROUNDS rounds of ${tools[*]}${port:+ via faultproxy 127.0.0.1:$port}"
  for ((r = 1; r <= ROUNDS; r++)); do
    if [ $((SECONDS - start_s)) -ge "$MAX_WALL" ]; then
      log "MAX_WALL ($MAX_WALL s) reached: no more rounds in $name"
      break
    fi
    order=("${tools[@]}")
    if [ $((r % 2)) = 0 ]; then
      order=()
      for ((i = ${#tools[@]} - 1; i >= 0; i--)); do order+=("${tools[$i]}"); done
    fi
    for t in "${order[@]}"; do run_one "$name" "$lat" "$r" "$t" "$url" "$port" "$auth"; done
  done
done

log "raw results: $results (run_id $run_id), $((SECONDS - start_s)) s"
"$py" bench/summarize_read.py --run-id "$run_id" "$results"
