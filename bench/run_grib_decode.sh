#!/usr/bin/env bash
# bench/run_grib_decode.sh owns the GRIB2 decode benchmark run (issue 6): floe vs ecCodes' C API vs gribberish, per message.
#
# Usage: bench/run_grib_decode.sh [BUILD_DIR]   (default build/release; the program is
#        BUILD_DIR/bench/floe_bench_grib_decode: cmake --preset release && cmake --build build/release
#        --target floe_bench_grib_decode -j2)
#
# Messages: `floe_bench_grib_decode generate DATA_DIR` writes one GRIB2 message per file (synthetic
# 0.25-degree global fields, one per data representation template, and every message of
# ../shared/testdata/grib), once; delete DATA_DIR (or REGENERATE=1) to write them again. Then ROUNDS
# rounds, each a fresh process per side, in alternating order: `floe_bench_grib_decode time` (floe and
# ecCodes, alternating call by call on one thread, and the check that their values agree) and
# bench/grib_decode_gribberish.py (gribberish on the same files). Each times every message after a warm-up
# call until MIN_REPEATS calls and BUDGET_MS of its time (or MAX_REPEATS calls) and reports the median.
# Raw JSON lines (one per message, tool and round) are appended to bench/results/grib_decode-<date>.jsonl;
# the Markdown summary (bench/summarize.py) is printed at the end.
#
# Environment knobs (defaults in brackets):
#   ROUNDS [5]  DATA_DIR [/tmp/floe-bench-grib]  REGENERATE [0]  ONLY [] substring of the message names
#   WARMUP [1]  MIN_REPEATS [5]  MAX_REPEATS [51]  BUDGET_MS [300]  TOOL_TIMEOUT [1800] seconds per process
set -euo pipefail

repo="$(cd "$(dirname "$0")/.." && pwd)"
cd "$repo"

build_dir="${1:-build/release}"
ROUNDS="${ROUNDS:-5}"
DATA_DIR="${DATA_DIR:-/tmp/floe-bench-grib}"
REGENERATE="${REGENERATE:-0}"
ONLY="${ONLY:-}"
WARMUP="${WARMUP:-1}"
MIN_REPEATS="${MIN_REPEATS:-5}"
MAX_REPEATS="${MAX_REPEATS:-51}"
BUDGET_MS="${BUDGET_MS:-300}"
TOOL_TIMEOUT="${TOOL_TIMEOUT:-1800}"

die() { echo "run_grib_decode: $*" >&2; exit 1; }
log() { echo "run_grib_decode: $*" >&2; }

[[ "$ROUNDS" =~ ^[0-9]+$ ]] && [ "$ROUNDS" -ge 1 ] && [ "$ROUNDS" -le 50 ] || die "ROUNDS must be 1..50"
for knob in WARMUP MIN_REPEATS MAX_REPEATS BUDGET_MS TOOL_TIMEOUT; do
  [[ "${!knob}" =~ ^[0-9]+$ ]] || die "$knob must be a whole number"
done
bin="$build_dir/bench/floe_bench_grib_decode"
[ -x "$bin" ] || die "no $bin: cmake --preset release && cmake --build build/release --target floe_bench_grib_decode -j2 (needs libeccodes-dev)"
py="$repo/.venv/bin/python"
[ -x "$py" ] || die "no $py: run scripts/install-deps.sh --with-bench"
"$py" -c 'import gribberish' 2>/dev/null || die "gribberish missing in .venv: run scripts/install-deps.sh --with-bench"

if [ "$REGENERATE" = 1 ] || ! ls "$DATA_DIR"/*.grib2 >/dev/null 2>&1; then
  rm -rf "$DATA_DIR"
  log "writing the messages into $DATA_DIR"
  "$bin" generate "$DATA_DIR" || die "generate failed"
fi
log "$(ls "$DATA_DIR"/*.grib2 | wc -l) messages in $DATA_DIR"

tmp="$(mktemp -d "${TMPDIR:-/tmp}/floe-bench-grib-run.XXXXXX")"
trap 'rm -rf "$tmp"' EXIT
trap 'exit 130' INT TERM

mkdir -p bench/results
results="bench/results/grib_decode-$(date +%Y-%m-%d).jsonl"
run_id="$(date +%Y%m%dT%H%M%S)-$$"
cpu="$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -1)"
host_info="$(uname -m) $(nproc)cpu ${cpu}"
git_head="$(git rev-parse --short HEAD 2>/dev/null || echo unknown)"
timing=(--warmup "$WARMUP" --min-repeats "$MIN_REPEATS" --max-repeats "$MAX_REPEATS" --budget-ms "$BUDGET_MS")
[ -n "$ONLY" ] && timing+=(--only "$ONLY")

run_side() { # side round
  local side="$1" round="$2" rc=0 load
  load="$(cut -d' ' -f1 /proc/loadavg)"
  case "$side" in
    floe+eccodes) cmd=("$bin" time "$DATA_DIR" "${timing[@]}") ;;
    gribberish) cmd=("$py" bench/grib_decode_gribberish.py "$DATA_DIR" "${timing[@]}") ;;
  esac
  timeout "$TOOL_TIMEOUT" "${cmd[@]}" >"$tmp/out" 2>"$tmp/err" || rc=$?
  "$py" bench/record_run.py --each-line --out "$tmp/out" --err "$tmp/err" --rc "$rc" \
    --set bench=grib_decode --set round="$round" --set run_id="$run_id" --set "host=$host_info" \
    --set load_before="$load" --set git_head="$git_head" >>"$results"
}

log "run $run_id: $ROUNDS rounds (floe+ecCodes, gribberish), results in $results"
for ((r = 1; r <= ROUNDS; r++)); do
  if ((r % 2 == 1)); then
    run_side floe+eccodes "$r"; run_side gribberish "$r"
  else
    run_side gribberish "$r"; run_side floe+eccodes "$r"
  fi
done

log "raw results: $results (run_id $run_id)"
"$py" bench/summarize.py --run-id "$run_id" "$results"
