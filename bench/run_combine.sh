#!/usr/bin/env bash
# bench/run_combine.sh owns the combine benchmark (issue 7): 10,000 small NetCDF-4 files (3 nested ensemble dims + time) virtualized, combined and committed by floe vs VirtualiZarr open_virtual_mfdataset + to_icechunk, and floe alone at 100,000 files.
#
# Usage: bench/run_combine.sh [BUILD_DIR]   (default build/benchc)
#
# Build: floe in BUILD_DIR, configured from the release preset (with ccache when there is one) and built with
# -j2 (BUILD=0 uses what is there). The build is of the working tree; uncommitted changes under src/ are
# counted in the records (git_dirty_files). With FLOE_COMMIT=REV (e.g. HEAD), floe is instead built from that
# commit alone, in a private copy FLOE_SRC_DIR (built in FLOE_SRC_DIR/BUILD_DIR): the first time
# `git archive REV` unpacked, later `git diff --binary OLD REV | git apply` (so only changed files are
# rebuilt); other engineers' uncommitted edits and rebuilds of a shared tree stay out of the measurement.
# Data (bench/make_combine_files.py, kept in FILES_ROOT/cells-PxIxM; written once, skipped when its marker
# records the same parameters): P x I x M NetCDF-4 files cell_p..._i..._m....nc, one ensemble cell each
# (polygon, injection, member = 1 each, time 12, y 8, x 8; alk and dic float32 in one zlib chunk; a scalar
# run_version). GRID [25x20x20] = 10,000 files; BIG_GRID [100x50x20] = 100,000 files.
# Rounds: ROUNDS rounds on GRID, each one fresh process per tool into a fresh repository; the order of the
# tools is reversed every other round:
#   floe          floe virtualize 'DIR/*.nc' --repo file://REPO --nested polygon,injection,member --json
#                 ("seconds": floe's own figure, listing to committed snapshot)
#   virtualizarr  bench/peers/combine_virtualizarr.py --files-dir DIR --repo REPO: open_virtual_mfdataset
#                 (nested, parallel=ThreadPoolExecutor()) + vds.vz.to_icechunk + commit ("seconds": from
#                 open_virtual_mfdataset to the commit, after the imports)
# /usr/bin/time -f '%e %M %U %S' gives every run's whole-process wall time, peak RSS and CPU time: the
# figures compared. After round 1, bench/check_combine.py opens both repositories with icechunk-python +
# xarray and compares them with the generator's values and with each other (coordinates in full, CHECK_CELLS
# cells of alk and dic); it prints OK or MISMATCH, and a MISMATCH makes the script exit 1 after the rounds.
# With BIG=1, floe alone then runs BIG_ROUNDS times on BIG_GRID (its repository checked against the generator
# after the first run). Raw JSON lines go to bench/results/combine-<date>.jsonl (bench "combine",
# "combine_check" and "combine_files"); the Markdown summary (bench/summarize_combine.py) is printed at the end.
# floe is skipped, with a message, while its `virtualize` has no --nested (the peer still runs).
#
# Environment knobs (defaults in brackets):
#   ROUNDS [3]  TOOLS ["floe virtualizarr"]  GRID [25x20x20]  BIG [0]  BIG_GRID [100x50x20]  BIG_ROUNDS [1]
#   FILES_ROOT [/tmp/floe-bench-combine]  GEN_JOBS [2] generator processes  BUILD [1]  FLOE_COMMIT []
#   FLOE_SRC_DIR [FILES_ROOT/floe-src]
#   FLOE_ARGS [] extra `floe virtualize` options  PEER_ARGS [] extra peer options (--fast-combine,
#   --max-workers N)  CHECK [1]  CHECK_CELLS [16]  REPO_DIR [the run's scratch dir under TMPDIR]
#   FLOE_TIMEOUT [1800] and TOOL_TIMEOUT [3600] seconds per run  MAX_WALL [10800] seconds: no new round
#   starts after this much time  CTEST_WAIT [900] seconds to wait, before each run, while a ctest runs
set -euo pipefail

repo="$(cd "$(dirname "$0")/.." && pwd)"
cd "$repo"

build_dir="${1:-build/benchc}"
ROUNDS="${ROUNDS:-3}"
TOOLS="${TOOLS:-floe virtualizarr}"
GRID="${GRID:-25x20x20}"
BIG="${BIG:-0}"
BIG_GRID="${BIG_GRID:-100x50x20}"
BIG_ROUNDS="${BIG_ROUNDS:-1}"
FILES_ROOT="${FILES_ROOT:-/tmp/floe-bench-combine}"
GEN_JOBS="${GEN_JOBS:-2}"
BUILD="${BUILD:-1}"
FLOE_COMMIT="${FLOE_COMMIT:-}"
FLOE_SRC_DIR="${FLOE_SRC_DIR:-$FILES_ROOT/floe-src}"
FLOE_ARGS="${FLOE_ARGS:-}"
PEER_ARGS="${PEER_ARGS:-}"
CHECK="${CHECK:-1}"
CHECK_CELLS="${CHECK_CELLS:-16}"
FLOE_TIMEOUT="${FLOE_TIMEOUT:-1800}"
TOOL_TIMEOUT="${TOOL_TIMEOUT:-3600}"
MAX_WALL="${MAX_WALL:-10800}"
CTEST_WAIT="${CTEST_WAIT:-900}"

die() { echo "run_combine: $*" >&2; exit 1; }
log() { echo "run_combine: $(date +%H:%M:%S) $*" >&2; }

for knob in ROUNDS BIG_ROUNDS GEN_JOBS CHECK_CELLS FLOE_TIMEOUT TOOL_TIMEOUT MAX_WALL CTEST_WAIT; do
  [[ "${!knob}" =~ ^[0-9]+$ ]] || die "$knob must be a whole number"
done
[ "$ROUNDS" -le 50 ] && [ "$BIG_ROUNDS" -le 10 ] || die "ROUNDS is at most 50, BIG_ROUNDS at most 10"
for g in "$GRID" "$BIG_GRID"; do [[ "$g" =~ ^[0-9]+x[0-9]+x[0-9]+$ ]] || die "grids are PxIxM, got $g"; done
read -r -a tools <<<"$TOOLS"
for t in "${tools[@]}"; do case "$t" in floe | virtualizarr) ;; *) die "unknown tool $t" ;; esac; done
has_tool() { [[ " ${tools[*]} " == *" $1 "* ]]; }
py="$repo/.venv/bin/python"
[ -x "$py" ] || die "no $py: run scripts/install-deps.sh --with-bench"
"$py" -c 'import virtualizarr, icechunk, xarray, zarr, netCDF4, obstore' 2>/dev/null \
  || die "virtualizarr/icechunk/xarray/zarr/netCDF4/obstore missing in .venv: run scripts/install-deps.sh --with-bench"
timebin=/usr/bin/time
[ -x "$timebin" ] || die "GNU time (/usr/bin/time) is needed for the peak RSS (apt-get install time)"
export ICECHUNK_LOG="${ICECHUNK_LOG:-error}"  # icechunk-python's Rust warnings would bury the check's output

# ---------------------------------------------------------------- build
src_dir="$repo"
git_head="$(git rev-parse --short HEAD 2>/dev/null || echo unknown)"
git_dirty="$(git status --porcelain -- src CMakeLists.txt 2>/dev/null | wc -l)"
if [ -n "$FLOE_COMMIT" ]; then
  sha="$(git rev-parse --short "$FLOE_COMMIT^{commit}")" || die "FLOE_COMMIT $FLOE_COMMIT is not a commit"
  src_dir="$FLOE_SRC_DIR"
  if [ ! -f "$src_dir/.floe-commit" ]; then
    log "unpacking floe at $sha into $src_dir"
    rm -rf -- "$src_dir.tmp$$"
    mkdir -p "$src_dir.tmp$$" && git archive "$sha" | tar -x -C "$src_dir.tmp$$" && mv "$src_dir.tmp$$" "$src_dir" \
      && echo "$sha" >"$src_dir/.floe-commit" || die "git archive $sha failed"
  elif [ "$(cat "$src_dir/.floe-commit")" != "$sha" ]; then
    old_sha="$(cat "$src_dir/.floe-commit")"
    log "updating $src_dir from $old_sha to $sha"
    git diff --binary "$old_sha" "$sha" | (cd "$src_dir" && git apply --whitespace=nowarn) \
      || die "git diff $old_sha $sha did not apply to $src_dir (remove it to unpack afresh)"
    echo "$sha" >"$src_dir/.floe-commit"
  fi
  git_head="$sha"
  git_dirty=0
fi
case "$build_dir" in /*) ;; *) build_dir="$src_dir/$build_dir" ;; esac
floe_bin="$build_dir/src/floe/cli/floe"
if has_tool floe && [ "$BUILD" = 1 ]; then
  log "building floe ($git_head) in $build_dir (release preset, -j2)"
  launcher=()
  if command -v ccache >/dev/null; then launcher=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache); fi
  build_log="${TMPDIR:-/tmp}/run_combine-build.$$.log"
  (cd "$src_dir" && cmake --preset release -B "$build_dir" "${launcher[@]}") >"$build_log" 2>&1 \
    || { tail -n 40 "$build_log" >&2; die "cmake configure failed (log: $build_log)"; }
  cmake --build "$build_dir" --target floe -j2 >>"$build_log" 2>&1 \
    || { tail -n 40 "$build_log" >&2; die "build failed (log: $build_log)"; }
  rm -f "$build_log"
fi
floe_hash=""
if has_tool floe; then
  if [ ! -x "$floe_bin" ]; then
    log "SKIPPING floe: no $floe_bin"
  elif ! "$floe_bin" virtualize --help 2>/dev/null | grep -q -- '--nested'; then
    log "SKIPPING floe: $floe_bin virtualize has no --nested yet (the peer runs alone)"
  else
    floe_hash="$(sha256sum "$floe_bin" | cut -c1-16)"
  fi
  if [ -z "$floe_hash" ]; then
    kept=()
    for t in "${tools[@]}"; do [ "$t" = floe ] || kept+=("$t"); done
    tools=("${kept[@]}")
  fi
fi
[ "${#tools[@]}" -ge 1 ] || die "no tools to run"
[ "$git_dirty" = 0 ] || log "WARNING: $git_dirty uncommitted changes under src/ are in this build"

tmp="$(mktemp -d "${TMPDIR:-/tmp}/floe-bench-combine-run.XXXXXX")"
repo_root="$tmp"
if [ -n "${REPO_DIR:-}" ]; then
  repo_root="$(mktemp -d "$REPO_DIR/floe-bench-combine-repos.XXXXXX")" || die "cannot create a dir in $REPO_DIR"
fi
cleanup() {
  if [ "$repo_root" != "$tmp" ]; then rm -rf -- "$repo_root"; fi
  rm -rf -- "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

mkdir -p bench/results
results="bench/results/combine-$(date +%Y-%m-%d).jsonl"
run_id="$(date +%Y%m%dT%H%M%S)-$$"
cpu="$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -1)"
host_info="$(uname -m) $(nproc)cpu ${cpu} $(awk '/MemTotal/ {printf "%.0fGiB", $2 / 1048576}' /proc/meminfo)"
read -r -a floe_extra <<<"$FLOE_ARGS"
read -r -a peer_extra <<<"$PEER_ARGS"

# ---------------------------------------------------------------- data
files_dir() { echo "$FILES_ROOT/cells-$1"; }
make_files() { # grid
  local grid="$1" p i m
  IFS=x read -r p i m <<<"$grid"
  log "files of grid $grid in $(files_dir "$grid") (written if missing: ~12 ms per file per process)"
  timeout 3600 "$py" bench/make_combine_files.py --dir "$(files_dir "$grid")" --polygon "$p" --injection "$i" \
    --member "$m" --jobs "$GEN_JOBS" >"$tmp/files.json" || die "make_combine_files.py failed for $grid"
  : >"$tmp/err"
  "$py" bench/record_run.py --out "$tmp/files.json" --err "$tmp/err" --rc 0 --set bench=combine_files \
    --set "grid=$grid" --set "run_id=$run_id" --set "host=$host_info" >>"$results" 2>/dev/null
}
make_files "$GRID"
if [ "$BIG" = 1 ] && [ -n "$floe_hash" ]; then make_files "$BIG_GRID"; fi

# ---------------------------------------------------------------- runs
wait_for_ctest() { # a heavy ctest on the same two cores would be measured too
  local waited=0
  while pgrep -f ctest >/dev/null 2>&1 && [ "$waited" -lt "$CTEST_WAIT" ]; do
    [ "$waited" = 0 ] && log "a ctest is running: waiting (at most $CTEST_WAIT s)"
    sleep 15; waited=$((waited + 15))
  done
  ctest_seen=0
  if pgrep -f ctest >/dev/null 2>&1; then ctest_seen=1; log "WARNING: ctest still running; measuring anyway"; fi
}

last_rc=0
run_one() { # tool grid round dir -> one fresh process, recorded
  local tool="$1" grid="$2" round="$3" dir="$4" rc=0 limit load fdir files p i m
  local -a cmd extra=()
  fdir="$(files_dir "$grid")"
  IFS=x read -r p i m <<<"$grid"
  files=$((p * i * m))
  case "$tool" in
    floe)
      cmd=("$floe_bin" virtualize "$fdir/*.nc" --repo "file://$dir" --nested polygon,injection,member --json
        "${floe_extra[@]}")
      limit="$FLOE_TIMEOUT"
      extra=(--set "floe_bin_sha256=$floe_hash")
      [ -n "$FLOE_ARGS" ] && extra+=(--set "floe_args=$FLOE_ARGS")
      if [ "$(sha256sum "$floe_bin" | cut -c1-16)" != "$floe_hash" ]; then
        log "WARNING: $floe_bin changed since the start of this run"
        extra+=(--set floe_bin_changed=true)
      fi ;;
    virtualizarr)
      cmd=("$py" bench/peers/combine_virtualizarr.py --files-dir "$fdir" --repo "$dir" "${peer_extra[@]}")
      limit="$TOOL_TIMEOUT"
      [ -n "$PEER_ARGS" ] && extra+=(--set "peer_args=$PEER_ARGS") ;;
  esac
  wait_for_ctest
  load="$(cut -d' ' -f1 /proc/loadavg)"
  log "$tool on $files files ($grid), round $round (load $load)"
  : >"$tmp/time"
  timeout "$limit" "$timebin" -f '%e %M %U %S' -o "$tmp/time" "${cmd[@]}" >"$tmp/out" 2>"$tmp/err" || rc=$?
  last_rc=$rc
  "$py" bench/record_run.py --out "$tmp/out" --err "$tmp/err" --rc "$rc" --time "$tmp/time" \
    --set bench=combine --set "tool=$tool" --set "grid=$grid" --set "files=$files" --set "round=$round" \
    --set "run_id=$run_id" --set "host=$host_info" --set "git_head=$git_head" \
    --set "git_dirty_files=$git_dirty" --set "load_before=$load" --set "ctest_running=$ctest_seen" \
    "${extra[@]}" >>"$results"
  [ "$rc" = 0 ] || log "$tool failed (exit $rc): $(tail -n 3 "$tmp/err" | tr '\n' ' ')"
}

check_failed=0
run_check() { # grid NAME=DIR...
  local grid="$1" rc=0 named_repo
  shift
  local -a repos=()
  for named_repo in "$@"; do repos+=(--repo "$named_repo"); done
  log "checking $* against the generator${2:+ and each other} (icechunk-python + xarray)"
  timeout 1800 "$py" bench/check_combine.py --files-dir "$(files_dir "$grid")" "${repos[@]}" \
    --cells "$CHECK_CELLS" >"$tmp/check.json" 2>"$tmp/check.err" || rc=$?
  grep -v '^ *$' "$tmp/check.err" | grep -E 'check_combine|^  ' >&2 || true
  if [ "$rc" != 0 ]; then
    check_failed=1
    log "CHECK FAILED (exit $rc): $(tail -n 2 "$tmp/check.err" | tr '\n' ' ')"
  fi
  "$py" bench/record_run.py --out "$tmp/check.json" --err "$tmp/check.err" --rc "$rc" --set bench=combine_check \
    --set "grid=$grid" --set "run_id=$run_id" --set "host=$host_info" >>"$results" 2>/dev/null
}

start_s=$SECONDS
nrepo=0
for ((r = 1; r <= ROUNDS; r++)); do
  if [ $((SECONDS - start_s)) -ge "$MAX_WALL" ]; then
    log "MAX_WALL ($MAX_WALL s) reached: no more rounds"
    break
  fi
  order=("${tools[@]}")
  if [ $((r % 2)) = 0 ]; then
    order=()
    for ((k = ${#tools[@]} - 1; k >= 0; k--)); do order+=("${tools[$k]}"); done
  fi
  declare -A round_repo=()
  for t in "${order[@]}"; do
    round_repo[$t]="$repo_root/repo-$((++nrepo))-$t"
    run_one "$t" "$GRID" "$r" "${round_repo[$t]}"
    [ "$last_rc" = 0 ] || round_repo[$t]=""
  done
  if [ "$r" = 1 ] && [ "$CHECK" = 1 ]; then
    named=()
    for t in "${tools[@]}"; do [ -n "${round_repo[$t]}" ] && named+=("$t=${round_repo[$t]}"); done
    if [ "${#named[@]}" -ge 1 ]; then run_check "$GRID" "${named[@]}"; fi
    [ "${#named[@]}" = "${#tools[@]}" ] || { check_failed=1; log "CHECK incomplete: a tool failed in round 1"; }
  fi
  for t in "${tools[@]}"; do rm -rf -- "${round_repo[$t]:-/nonexistent}"; done
  unset round_repo
done

if [ "$BIG" = 1 ]; then
  if [ -z "$floe_hash" ]; then
    log "BIG=1: floe is not available (no --nested): nothing run at $BIG_GRID"
  else
    for ((r = 1; r <= BIG_ROUNDS; r++)); do
      dir="$repo_root/repo-$((++nrepo))-floe-big"
      run_one floe "$BIG_GRID" "$r" "$dir"
      if [ "$r" = 1 ] && [ "$CHECK" = 1 ] && [ "$last_rc" = 0 ]; then run_check "$BIG_GRID" "floe=$dir"; fi
      rm -rf -- "$dir"
    done
  fi
fi

log "raw results: $results (run_id $run_id), $((SECONDS - start_s)) s"
"$py" bench/summarize_combine.py --run-id "$run_id" "$results"
if [ "$check_failed" = 1 ]; then
  log "MISMATCH or failed check: the figures above are not comparable (see the check lines)"
  exit 1
fi
