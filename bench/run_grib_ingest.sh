#!/usr/bin/env bash
# bench/run_grib_ingest.sh owns the GRIB2 ingest benchmark (issue 6): floe virtualize of whole synthetic GEFS / ECMWF ENS runs from S3 (full run and daily append) vs kerchunk's scan_grib and .idx path.
#
# Usage: bench/run_grib_ingest.sh [BUILD_DIR]   (default build/release)
#
# Build: floe and the fixture generator floe_grib_forecast_fixtures (tests/interop/tool; needs libeccodes-dev)
# are built in BUILD_DIR (configured from the release preset with FLOE_BUILD_TESTS=ON, since the generator is a
# test tool, and ccache; BUILD=0 skips the build and uses what is there).
# Data: the generator writes two GEFS runs (31 members x 81 lead times, 5 messages per file but the 0 h files,
# .idx sidecars) and two ECMWF ENS runs (51 members x 85 steps, 204 messages per file, .index sidecars), init
# RUN1 and RUN2, into CACHE_DIR/{gefs,ens} once (REGENERATE=1 writes them again), and bench/upload_tree.py
# uploads them to s3://BUCKET/{gefs,ens}/ on the S3 test server (objects already there with the right size are
# kept). The one-time mapping of kerchunk's .idx path (bench/peers/grib_ingest_peers.py mapping: one
# build_idx_grib_mapping per GEFS file of RUN1, local files, 2 processes) is cached in
# CACHE_DIR/kerchunk-mapping-gefs.pkl; its time is reported once, not per round.
# Rounds: ROUNDS rounds, each a fresh process per run; in each round and in each scenario (S3 through a
# faultproxy adding LATENCY per request on PROXY_PORT, then one adding nothing on PROXY0_PORT):
#   floe full     floe --endpoint PROXY virtualize 's3://BUCKET/gefs/gefs.D/HH/atmos/pgrb2ap5/ge*.f*'
#                   --repo FRESH_DIR --format grib2 --layout gefs --json      (RUN1; ENS: '.../enfo/*-enfo-ef.grib2'
#                   --layout ecmwf-ens); "seconds" is floe's own figure: listing, sidecars, headers, the
#                   Icechunk commit into a fresh local repository
#   floe append   the same for RUN2 into that repository with --append-dim init_time --tag RUN2 (the daily case)
#   kerchunk-idx  (GEFS) grib_ingest_peers.py idx over the whole RUN1: listing, parse_grib_idx + map_from_index
#                   per file on IDX_THREADS threads, with the cached mapping
#   kerchunk-scan grib_ingest_peers.py scan: scan_grib, one file after the other, over the 31 GEFS files of lead
#                   time SCAN_LEAD, and over the first ENS_SCAN_FILES ENS files; the whole run is extrapolated
#                   per file (reported as extrapolated_run_s)
# Every record has the proxy's counters (requests, GETs, HEADs, bytes; reset before each run) and /usr/bin/time's
# process wall time, CPU time and peak RSS. floe's records carry the generator's message count (expected_messages)
# next to its virtual_refs; after round 1's appends at LATENCY, icechunk-python opens each repository
# (grib_ingest_peers.py check-repo: arrays, init_time, tags, virtual refs = both runs' messages; bench
# "grib_ingest_check"). Raw JSON lines go to bench/results/grib_ingest-<date>.jsonl, the Markdown summary
# (bench/summarize_grib_ingest.py) is printed at the end. Servers: the tests/servers state in FLOE_TEST_STATE is
# reused when its S3 server answers, else started (and stopped at the end).
#
# Environment knobs (defaults in brackets):
#   ROUNDS [3]  MODELS ["gefs ecmwf-ens"]  TOOLS ["floe kerchunk-idx kerchunk-scan"]  SCENARIOS ["latency latency-0ms"]
#   LATENCY [20ms]  PROXY_PORT [17077]  PROXY0_PORT [17078]  CACHE_DIR [/tmp/floe-bench-grib-ingest]
#   REGENERATE [0]  BUILD [1]  BENCH_BUCKET [floe-bench-grib]  RUN1 [2026112000]  RUN2 [2026112100]
#   SCAN_LEAD [003]  ENS_SCAN_FILES [2]  IDX_THREADS [16]  WARMUP [1] one unrecorded floe run per model and
#   one kerchunk scan of one file first  TOOL_TIMEOUT [900] seconds per peer run  FLOE_TIMEOUT [120] seconds per
#   floe run (a hung floe is recorded as failed, and its append is skipped)  REPO_DIR [the run's scratch dir]
#   FLOE_ARGS [] extra `floe virtualize` options  FLOE_TEST_STATE [/tmp/floe-test-servers]
# (CACHE_DIR is not /tmp/floe-bench-grib, bench/run_grib_decode.sh's directory, which REGENERATE=1 there deletes.)
set -euo pipefail

repo="$(cd "$(dirname "$0")/.." && pwd)"
cd "$repo"

build_dir="${1:-build/release}"
ROUNDS="${ROUNDS:-3}"
MODELS="${MODELS:-gefs ecmwf-ens}"
TOOLS="${TOOLS:-floe kerchunk-idx kerchunk-scan}"
SCENARIOS="${SCENARIOS:-latency latency-0ms}"
LATENCY="${LATENCY:-20ms}"
PROXY_PORT="${PROXY_PORT:-17077}"
PROXY0_PORT="${PROXY0_PORT:-17078}"
CACHE_DIR="${CACHE_DIR:-/tmp/floe-bench-grib-ingest}"
REGENERATE="${REGENERATE:-0}"
BUILD="${BUILD:-1}"
BUCKET="${BENCH_BUCKET:-floe-bench-grib}"
RUN1="${RUN1:-2026112000}"
RUN2="${RUN2:-2026112100}"
SCAN_LEAD="${SCAN_LEAD:-003}"
ENS_SCAN_FILES="${ENS_SCAN_FILES:-2}"
IDX_THREADS="${IDX_THREADS:-16}"
WARMUP="${WARMUP:-1}"
TOOL_TIMEOUT="${TOOL_TIMEOUT:-900}"
FLOE_TIMEOUT="${FLOE_TIMEOUT:-120}"
FLOE_ARGS="${FLOE_ARGS:-}"
STATE="${FLOE_TEST_STATE:-/tmp/floe-test-servers}"

die() { echo "run_grib_ingest: $*" >&2; exit 1; }
log() { echo "run_grib_ingest: $*" >&2; }

[[ "$ROUNDS" =~ ^[0-9]+$ ]] && [ "$ROUNDS" -ge 1 ] && [ "$ROUNDS" -le 50 ] || die "ROUNDS must be 1..50"
for knob in ENS_SCAN_FILES IDX_THREADS TOOL_TIMEOUT FLOE_TIMEOUT; do
  [[ "${!knob}" =~ ^[0-9]+$ ]] || die "$knob must be a whole number"
done
[[ "$RUN1" =~ ^[0-9]{10}$ && "$RUN2" =~ ^[0-9]{10}$ ]] || die "RUN1 and RUN2 are YYYYMMDDHH"
read -r -a models <<<"$MODELS"
read -r -a tools <<<"$TOOLS"
read -r -a scenarios <<<"$SCENARIOS"
for m in "${models[@]}"; do case "$m" in gefs | ecmwf-ens) ;; *) die "unknown model $m (gefs, ecmwf-ens)" ;; esac; done
for t in "${tools[@]}"; do
  case "$t" in floe | kerchunk-idx | kerchunk-scan) ;; *) die "unknown tool $t" ;; esac
done
for s in "${scenarios[@]}"; do
  case "$s" in latency | latency-0ms) ;; *) die "unknown scenario $s (latency, latency-0ms)" ;; esac
done
has_tool() { [[ " ${tools[*]} " == *" $1 "* ]]; }
has_model() { [[ " ${models[*]} " == *" $1 "* ]]; }
py="$repo/.venv/bin/python"
[ -x "$py" ] || die "no $py: run scripts/install-deps.sh --with-bench"
if has_tool kerchunk-idx || has_tool kerchunk-scan; then
  "$py" -c 'import kerchunk.grib2, cfgrib, eccodes, s3fs, pandas' 2>/dev/null \
    || die "kerchunk/cfgrib/eccodes/s3fs missing in .venv: run scripts/install-deps.sh --with-bench"
fi

# ---------------------------------------------------------------- build
floe_bin="$build_dir/src/floe/cli/floe"
fixtures_bin="$build_dir/tests/interop/tool/floe_grib_forecast_fixtures"
if [ "$BUILD" = 1 ]; then
  log "building floe and floe_grib_forecast_fixtures in $build_dir (release, tests on for the generator, ccache)"
  launcher=()
  if command -v ccache >/dev/null; then launcher=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache); fi
  build_log="${TMPDIR:-/tmp}/run_grib_ingest-build.$$.log"
  cmake --preset release -B "$build_dir" -DFLOE_BUILD_TESTS=ON "${launcher[@]}" >"$build_log" 2>&1 \
    || { tail -n 40 "$build_log" >&2; die "cmake configure failed (log: $build_log)"; }
  cmake --build "$build_dir" --target floe floe_grib_forecast_fixtures -j2 >>"$build_log" 2>&1 \
    || { tail -n 40 "$build_log" >&2; die "build failed (floe_grib_forecast_fixtures needs libeccodes-dev; log: $build_log)"; }
  rm -f "$build_log"
fi
[ -x "$floe_bin" ] || die "no $floe_bin"
[ -x "$fixtures_bin" ] || die "no $fixtures_bin (built when ecCodes is found)"
"$floe_bin" virtualize --help 2>/dev/null | grep -q -- '--append-dim' || die "$floe_bin has no virtualize --append-dim"
floe_hash="$(sha256sum "$floe_bin" | cut -c1-16)"
fixtures_hash="$(sha256sum tests/interop/tool/floe_grib_forecast_fixtures.cc | cut -c1-16)"

tmp="$(mktemp -d "${TMPDIR:-/tmp}/floe-bench-grib-ingest-run.XXXXXX")"
. bench/s3_bench_lib.sh
cleanup() {
  s3_bench_cleanup
  if [ -n "${REPO_DIR:-}" ] && [ -n "${repo_root:-}" ] && [ "$repo_root" != "$tmp" ]; then rm -rf -- "$repo_root"; fi
  rm -rf -- "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# ---------------------------------------------------------------- data
declare -A subdir=([gefs]=gefs [ecmwf-ens]=ens) layout=([gefs]=gefs [ecmwf-ens]=ecmwf-ens)
run_path() { # model run -> the run's directory, relative to the model's dir
  local d="${2:0:8}" h="${2:8:2}"
  case "$1" in
    gefs) echo "gefs.$d/$h/atmos/pgrb2ap5" ;;
    ecmwf-ens) echo "$d/${h}z/ifs/0p25/enfo" ;;
  esac
}
run_glob() { # model run -> the floe/kerchunk glob of the run's GRIB files
  case "$1" in
    gefs) echo "s3://$BUCKET/gefs/$(run_path gefs "$2")/ge*.f*" ;;
    ecmwf-ens) echo "s3://$BUCKET/ens/$(run_path ecmwf-ens "$2")/*-enfo-ef.grib2" ;;
  esac
}
declare -A messages files
for m in "${models[@]}"; do
  dir="$CACHE_DIR/${subdir[$m]}"
  for run in "$RUN1" "$RUN2"; do
    manifest="$dir/manifest-$m-$run.jsonl"
    if [ "$REGENERATE" = 1 ] || [ ! -s "$manifest" ] || [ ! -d "$dir/$(run_path "$m" "$run")" ]; then
      rm -rf -- "${dir:?}/$(run_path "$m" "$run")" "$manifest"
      log "writing the $m run $run into $dir"
      "$fixtures_bin" "$m" --out "$dir" --init "$run" --jobs 2 >&2 || die "floe_grib_forecast_fixtures $m failed"
    fi
    messages[$m-$run]=$(wc -l <"$manifest")
    files[$m-$run]=$(find "$dir/$(run_path "$m" "$run")" -type f ! -name '*.idx' ! -name '*.index' | wc -l)
    log "$m $run: ${files[$m-$run]} files, ${messages[$m-$run]} messages"
  done
done

s3_servers_up
export AWS_ACCESS_KEY_ID="$AK" AWS_SECRET_ACCESS_KEY="$SK"
for m in "${models[@]}"; do
  "$py" bench/upload_tree.py --dir "$CACHE_DIR/${subdir[$m]}" --endpoint "$S3_ENDPOINT" --bucket "$BUCKET" \
    --prefix "${subdir[$m]}/" --region "$REGION" >"$tmp/upload.json" || die "upload of $m failed"
  log "uploaded: $(cat "$tmp/upload.json")"
done

mapping="$CACHE_DIR/kerchunk-mapping-gefs.pkl"
mapping_rec=""
if has_tool kerchunk-idx && has_model gefs; then
  if [ "$REGENERATE" = 1 ] || [ ! -s "$mapping" ] || [ "$mapping" -ot "$CACHE_DIR/gefs/manifest-gefs-$RUN1.jsonl" ]; then
    log "building kerchunk's one-time .idx mapping of the GEFS run $RUN1 (every file, 2 processes; minutes)"
    "$py" bench/peers/grib_ingest_peers.py mapping --dir "$CACHE_DIR/gefs/$(run_path gefs "$RUN1")" \
      --out "$mapping" --jobs 2 >"$tmp/mapping.json" || die "the kerchunk mapping failed"
    mapping_rec="$(cat "$tmp/mapping.json")"
    cp "$tmp/mapping.json" "$mapping.json"
  elif [ -s "$mapping.json" ]; then
    mapping_rec="$(cat "$mapping.json")"
  fi
fi

# ---------------------------------------------------------------- runs
mkdir -p bench/results
results="bench/results/grib_ingest-$(date +%Y-%m-%d).jsonl"
run_id="$(date +%Y%m%dT%H%M%S)-$$"
cpu="$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -1)"
host_info="$(uname -m) $(nproc)cpu ${cpu} $(awk '/MemTotal/ {printf "%.0fGiB", $2 / 1048576}' /proc/meminfo)"
git_head="$(git rev-parse --short HEAD 2>/dev/null || echo unknown)"
# The build is of the working tree: say whether it differed from HEAD where floe and the generator come from.
git_dirty="$(git status --porcelain -- src tests/interop/tool tests/support CMakeLists.txt 2>/dev/null | wc -l)"
[ "$git_dirty" = 0 ] || log "WARNING: $git_dirty uncommitted changes under src/ or the generator's sources are in this build"
lat_ms=$(awk -v l="$LATENCY" 'BEGIN { v = l + 0; if (l ~ /ms$/) print int(v); else if (l ~ /us$/) print int(v / 1000); else if (l ~ /s$/) print int(v * 1000); else print int(v) }')
repo_root="$tmp"
if [ -n "${REPO_DIR:-}" ]; then
  repo_root="$(mktemp -d "$REPO_DIR/floe-bench-grib-ingest-repos.XXXXXX")" || die "cannot create a dir in $REPO_DIR"
fi
read -r -a floe_extra <<<"$FLOE_ARGS"
timebin=""
if [ -x /usr/bin/time ]; then timebin=/usr/bin/time; fi
if [ -n "$mapping_rec" ]; then
  echo "$mapping_rec" >"$tmp/out"; : >"$tmp/err"
  "$py" bench/record_run.py --out "$tmp/out" --err "$tmp/err" --rc 0 --set bench=grib_ingest \
    --set tool=kerchunk-mapping --set model=gefs --set case=one-time-mapping --set scenario=local \
    --set round=0 --set "run_id=$run_id" --set "host=$host_info" >>"$results"
fi

# run_one scenario lat_ms port round tool model case record [command...]: one fresh process, recorded; its exit
# status is left in last_rc.
last_rc=0
run_one() {
  local scenario="$1" lat="$2" port="$3" round="$4" tool="$5" model="$6" case="$7" record="$8" rc=0 load limit
  shift 8
  load="$(cut -d' ' -f1 /proc/loadavg)"
  limit="$TOOL_TIMEOUT"
  [ "$tool" = floe ] && limit="$FLOE_TIMEOUT"
  proxy_reset "$port"
  : >"$tmp/time"
  if [ -n "$timebin" ]; then
    timeout "$limit" "$timebin" -f '%e %M %U %S' -o "$tmp/time" "$@" >"$tmp/out" 2>"$tmp/err" || rc=$?
  else
    timeout "$limit" "$@" >"$tmp/out" 2>"$tmp/err" || rc=$?
  fi
  last_rc=$rc
  proxy_stats "$port" "$tmp/stats"
  if [ "$record" != 1 ]; then
    [ "$rc" = 0 ] || log "warm-up: $tool $model $case failed (exit $rc): $(tail -n 1 "$tmp/err")"
    return 0
  fi
  local -a extra=()
  local expected
  case "$case" in
    full) expected="${messages[$model-$RUN1]}" ;;
    append) expected="${messages[$model-$RUN2]}" ;;
    *) expected="" ;;
  esac
  [ -n "$expected" ] && extra+=(--set "expected_messages=$expected")
  if [ "$tool" = floe ]; then
    extra+=(--set "floe_bin_sha256=$floe_hash")
    [ -n "$FLOE_ARGS" ] && extra+=(--set "floe_args=$FLOE_ARGS")
    if [ "$(sha256sum "$floe_bin" | cut -c1-16)" != "$floe_hash" ]; then
      log "WARNING: $floe_bin changed since the start of this run"
      extra+=(--set floe_bin_changed=true)
    fi
  fi
  "$py" bench/record_run.py --out "$tmp/out" --err "$tmp/err" --rc "$rc" --time "$tmp/time" --stats "$tmp/stats" \
    --set bench=grib_ingest --set "tool=$tool" --set "model=$model" --set "case=$case" \
    --set "scenario=$scenario" --set "latency_ms=$lat" --set "round=$round" --set "run_id=$run_id" \
    --set "host=$host_info" --set "git_head=$git_head" --set "fixtures_sha256=$fixtures_hash" \
    --set "load_before=$load" --set "git_dirty_files=$git_dirty" "${extra[@]}" >>"$results"
}

floe_cmd() { # port model run repo_dir [append] -> cmd
  local port="$1" model="$2" run="$3" dir="$4" append="${5:-}"
  cmd=("$floe_bin" --endpoint "http://127.0.0.1:$port" --region "$REGION" --json virtualize "$(run_glob "$model" "$run")"
    --repo "$dir" --format grib2 --layout "${layout[$model]}")
  if [ -n "$append" ]; then cmd+=(--append-dim init_time --tag "$run"); fi
  cmd+=("${floe_extra[@]}")
}

nrepo=0
one_round() { # scenario lat port round record
  local scenario="$1" lat="$2" port="$3" round="$4" record="$5" m dir
  for m in "${models[@]}"; do
    if has_tool floe; then
      dir="$repo_root/repo-$((++nrepo))"
      floe_cmd "$port" "$m" "$RUN1" "$dir"
      run_one "$scenario" "$lat" "$port" "$round" floe "$m" full "$record" "${cmd[@]}"
      if [ "$record" = 1 ] && [ "$last_rc" != 0 ]; then
        log "floe $m full failed in round $round ($scenario, exit $last_rc): its append is skipped"
      elif [ "$record" = 1 ]; then
        floe_cmd "$port" "$m" "$RUN2" "$dir" append
        run_one "$scenario" "$lat" "$port" "$round" floe "$m" append "$record" "${cmd[@]}"
        if [ "$round" = 1 ] && [ "$scenario" = "latency-${lat_ms}ms" ]; then
          # The committed repository as icechunk-python reads it (not timed).
          "$py" bench/peers/grib_ingest_peers.py check-repo --repo "$dir" --model "$m" \
            --expected "$((${messages[$m-$RUN1]} + ${messages[$m-$RUN2]}))" >"$tmp/check.json" 2>"$tmp/check.err" \
            && sed "s/^{/{\"bench\": \"grib_ingest_check\", \"run_id\": \"$run_id\", /" "$tmp/check.json" >>"$results" \
            || log "check-repo of $m failed: $(tail -n 1 "$tmp/check.err")"
        fi
      fi
      rm -rf -- "$dir"
    fi
    [ "$record" = 1 ] || continue
    if has_tool kerchunk-idx && [ "$m" = gefs ]; then
      run_one "$scenario" "$lat" "$port" "$round" kerchunk-idx "$m" full 1 "$py" bench/peers/grib_ingest_peers.py idx \
        --glob "$(run_glob "$m" "$RUN1")" --mapping "$mapping" --run-time "$RUN1" --threads "$IDX_THREADS" \
        --endpoint "http://127.0.0.1:$port" --region "$REGION"
    fi
    if has_tool kerchunk-scan; then
      local glob limit=0
      if [ "$m" = gefs ]; then
        glob="s3://$BUCKET/gefs/$(run_path gefs "$RUN1")/ge*.f$SCAN_LEAD"
      else
        glob="$(run_glob "$m" "$RUN1")"; limit="$ENS_SCAN_FILES"
      fi
      run_one "$scenario" "$lat" "$port" "$round" kerchunk-scan "$m" scan-subset 1 "$py" bench/peers/grib_ingest_peers.py scan \
        --glob "$glob" --limit "$limit" --run-files "${files[$m-$RUN1]}" --endpoint "http://127.0.0.1:$port" --region "$REGION"
    fi
  done
}

declare -A sport slat
for s in "${scenarios[@]}"; do
  case "$s" in
    latency) start_proxy "$PROXY_PORT" "$LATENCY"; sport[$s]="$PROXY_PORT"; slat[$s]="$lat_ms" ;;
    latency-0ms) start_proxy "$PROXY0_PORT" 0s; sport[$s]="$PROXY0_PORT"; slat[$s]=0 ;;
  esac
done
name_of() { if [ "$1" = latency ]; then echo "latency-${lat_ms}ms"; else echo latency-0ms; fi; }

start_s=$SECONDS
if [ "$WARMUP" = 1 ]; then
  s="${scenarios[-1]}"
  log "warm-up: one unrecorded floe run per model through $(name_of "$s")"
  one_round "$(name_of "$s")" "${slat[$s]}" "${sport[$s]}" 0 0
  if has_tool kerchunk-scan; then
    run_one warmup 0 "${sport[$s]}" 0 kerchunk-scan gefs warmup 0 "$py" bench/peers/grib_ingest_peers.py scan \
      --glob "s3://$BUCKET/gefs/$(run_path gefs "$RUN1")/ge*.f$SCAN_LEAD" --limit 1 --endpoint "http://127.0.0.1:${sport[$s]}" --region "$REGION"
  fi
fi
log "run $run_id: $ROUNDS rounds of ${models[*]} x ${tools[*]} x ${scenarios[*]}; results in $results"
for ((r = 1; r <= ROUNDS; r++)); do
  for s in "${scenarios[@]}"; do
    log "round $r, $(name_of "$s")"
    one_round "$(name_of "$s")" "${slat[$s]}" "${sport[$s]}" "$r" 1
  done
done
log "raw results: $results (run_id $run_id), $((SECONDS - start_s)) s"
"$py" bench/summarize_grib_ingest.py --run-id "$run_id" "$results"
