#!/usr/bin/env bash
# bench/run_virtualize.sh owns the virtualize benchmark (issue 4): floe virtualize vs VirtualiZarr 2.x vs kerchunk, per file, local and from S3 behind faultproxy.
#
# Files (bench/make_virtualize_files.py, cached in FILES_DIR, uploaded to s3://BUCKET/virtualize/): a ~100 MB
# POP-like NetCDF-4 file, its paged copy (h5repack -S PAGE -G 4 MiB), an ERA5-like NetCDF-4 file and an
# ERA5-like NetCDF-3 file. Every tool virtualizes one file per fresh process:
#   floe          floe virtualize FILE --repo DIR --json  (or, from S3: floe --endpoint PROXY --region R
#                 virtualize s3://BUCKET/KEY --repo DIR --json); its "seconds" include the Icechunk commit
#                 into a fresh local repository.
#   virtualizarr  bench/peers/virtualize_peers.py: open_virtual_dataset(url, registry, HDFParser() or
#                 NetCDF3Parser()) timed alone ("seconds"), then to_icechunk + commit into a fresh local
#                 repository in the same process ("with_commit_s", the figure comparable with floe's).
#   kerchunk      bench/peers/virtualize_peers.py: SingleHdf5ToZarr / NetCDF3ToZarr(...).translate().
# Scenarios: "local" (the files on local disk), "latency-<L>" (S3 through a faultproxy on 127.0.0.1:PROXY_PORT
# adding LATENCY per request) and "latency-0ms" (the same through a proxy adding nothing). ROUNDS rounds,
# interleaved: each round runs every file with every tool, in a fixed order. GETs, HEADs and bytes are read
# from the proxy's counters, reset before each run. /usr/bin/time adds the whole process's wall time, peak RSS
# and CPU time. Raw JSON lines go to bench/results/virtualize-<date>.jsonl; a Markdown summary
# (bench/summarize.py) is printed at the end.
#
# Builds nothing: floe is FLOE_BIN (default build/release/src/floe/cli/floe; cmake --preset release &&
# cmake --build build/release --target floe -j2) and is skipped with a message when missing or when it has
# no `virtualize` subcommand. The Python peers need the project .venv (scripts/install-deps.sh --with-bench).
# On a shared checkout, build floe in a private copy and point FLOE_BIN at it: the binary is hashed before
# every floe run and records where it changed are flagged ("floe_bin_changed").
#
# Environment knobs (defaults in brackets):
#   ROUNDS [5]  FILES ["pop pop-paged era5 era5-nc3"]  TOOLS ["floe virtualizarr kerchunk"]
#   SCENARIOS ["local latency latency-0ms"]  LATENCY [20ms]  FILES_DIR [/tmp/floe-bench-virtualize]
#   FLOE_BIN [build/release/src/floe/cli/floe]  FLOE_ARGS [] extra `floe virtualize` options (e.g.
#   "--metadata-block-size 65536"; named in the scenario label)  BENCH_BUCKET [floe-bench]
#   PROXY_PORT [17075] (LATENCY proxy)  PROXY0_PORT [17076] (0-latency proxy)  WARMUP [1] one unrecorded
#   run per tool first  FLOE_TEST_STATE [/tmp/floe-test-servers]  TOOL_TIMEOUT [300] seconds per run
#   MAX_WALL [1500] seconds: no new round starts after this much time (the runs done so far are kept)
#   REPO_DIR [the run's scratch dir under TMPDIR] where the fresh repositories of floe and VirtualiZarr go
#   (e.g. /dev/shm: tmpfs, where floe's fsyncs cost nothing; named in the scenario label)
set -euo pipefail

repo="$(cd "$(dirname "$0")/.." && pwd)"
cd "$repo"

ROUNDS="${ROUNDS:-5}"
FILES="${FILES:-pop pop-paged era5 era5-nc3}"
TOOLS="${TOOLS:-floe virtualizarr kerchunk}"
SCENARIOS="${SCENARIOS:-local latency latency-0ms}"
LATENCY="${LATENCY:-20ms}"
FILES_DIR="${FILES_DIR:-/tmp/floe-bench-virtualize}"
FLOE_ARGS="${FLOE_ARGS:-}"
BUCKET="${BENCH_BUCKET:-floe-bench}"
PROXY_PORT="${PROXY_PORT:-17075}"
PROXY0_PORT="${PROXY0_PORT:-17076}"
WARMUP="${WARMUP:-1}"
STATE="${FLOE_TEST_STATE:-/tmp/floe-test-servers}"
TOOL_TIMEOUT="${TOOL_TIMEOUT:-300}"
MAX_WALL="${MAX_WALL:-1500}"

die() { echo "run_virtualize: $*" >&2; exit 1; }
log() { echo "run_virtualize: $*" >&2; }

[[ "$ROUNDS" =~ ^[0-9]+$ ]] && [ "$ROUNDS" -ge 1 ] && [ "$ROUNDS" -le 50 ] || die "ROUNDS must be 1..50"
[[ "$TOOL_TIMEOUT" =~ ^[0-9]+$ ]] && [[ "$MAX_WALL" =~ ^[0-9]+$ ]] || die "TOOL_TIMEOUT and MAX_WALL are seconds"
py="$repo/.venv/bin/python"
[ -x "$py" ] || die "no $py: run scripts/install-deps.sh --with-bench"
read -r -a tools <<<"$TOOLS"
read -r -a files <<<"$FILES"
read -r -a scenarios <<<"$SCENARIOS"
for t in "${tools[@]}"; do
  case "$t" in floe | virtualizarr | kerchunk) ;; *) die "unknown tool $t" ;; esac
done
for s in "${scenarios[@]}"; do
  case "$s" in local | latency | latency-0ms) ;; *) die "unknown scenario $s (local, latency, latency-0ms)" ;; esac
done
if [[ " ${tools[*]} " == *" virtualizarr "* || " ${tools[*]} " == *" kerchunk "* ]]; then
  "$py" -c 'import virtualizarr, kerchunk, h5py, obstore, s3fs, icechunk' 2>/dev/null \
    || die "VirtualiZarr/kerchunk/h5py/obstore/s3fs/icechunk missing in .venv: run scripts/install-deps.sh --with-bench"
fi

floe_bin="${FLOE_BIN:-$repo/build/release/src/floe/cli/floe}"
floe_hash=""
if [[ " ${tools[*]} " == *" floe "* ]]; then
  if [ ! -x "$floe_bin" ]; then
    log "SKIPPING floe: $floe_bin not found (cmake --preset release && cmake --build build/release --target floe)"
  elif ! "$floe_bin" virtualize --help 2>/dev/null | grep -q -- '--repo'; then
    log "SKIPPING floe: $floe_bin has no 'virtualize' subcommand (rebuild it)"
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
timebin=""
if [ -x /usr/bin/time ]; then timebin=/usr/bin/time; fi

tmp="$(mktemp -d "${TMPDIR:-/tmp}/floe-bench-virtualize-run.XXXXXX")"
. bench/s3_bench_lib.sh
cleanup() {
  s3_bench_cleanup
  if [ -n "${REPO_DIR:-}" ] && [ -n "${repo_root:-}" ] && [ "$repo_root" != "$tmp" ]; then rm -rf -- "$repo_root"; fi
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
  upload_args=(--upload-endpoint "$S3_ENDPOINT" --bucket "$BUCKET" --prefix virtualize/ --region "$REGION")
fi

# ---------------------------------------------------------------- files
log "files in $FILES_DIR (generated if missing)${upload_args:+, uploaded to s3://$BUCKET/virtualize/}"
only="$(IFS=,; echo "${files[*]}")"
timeout 1800 "$py" bench/make_virtualize_files.py --dir "$FILES_DIR" --only "$only" "${upload_args[@]}" \
  >"$tmp/files.jsonl" || die "make_virtualize_files.py failed"
declare -A fpath fkey ffmt fbytes
while IFS=$'\t' read -r name path key fmt bytes; do
  [ "$key" = - ] && key=""  # a tab is whitespace to read: an empty field would shift the others
  fpath[$name]="$path"; fkey[$name]="$key"; ffmt[$name]="$fmt"; fbytes[$name]="$bytes"
done < <("$py" -c '
import json, sys
for line in open(sys.argv[1]):
    r = json.loads(line)
    fmt = "netcdf3" if r["format"].startswith("netcdf3") else "hdf5"
    print("\t".join([r["name"], r["path"], r.get("key") or "-", fmt, str(r["bytes"])]))' "$tmp/files.jsonl")

mkdir -p bench/results
results="bench/results/virtualize-$(date +%Y-%m-%d).jsonl"
run_id="$(date +%Y%m%dT%H%M%S)-$$"
host_info="$(uname -m) $(nproc)cpu $(awk '/MemTotal/ {printf "%.0fGiB", $2 / 1048576}' /proc/meminfo)"
lat_ms=$(awk -v l="$LATENCY" 'BEGIN { v = l + 0; if (l ~ /ms$/) print int(v); else if (l ~ /us$/) print int(v / 1000); else if (l ~ /s$/) print int(v * 1000); else print int(v) }')
label_suffix=""
if [ -n "$FLOE_ARGS" ]; then label_suffix=" floe[${FLOE_ARGS}]"; fi
repo_root="$tmp"
if [ -n "${REPO_DIR:-}" ]; then
  repo_root="$(mktemp -d "$REPO_DIR/floe-bench-virtualize-repos.XXXXXX")" || die "cannot create a dir in $REPO_DIR"
  label_suffix+=" repos[$REPO_DIR]"
fi
read -r -a floe_extra <<<"$FLOE_ARGS"

cmd_for() { # tool file port(empty: local) repo_dir -> sets the array cmd
  local tool="$1" f="$2" port="$3" dir="$4" src
  if [ -n "$port" ]; then src="s3://$BUCKET/${fkey[$f]}"; else src="${fpath[$f]}"; fi
  case "$tool" in
    floe)
      cmd=("$floe_bin")
      if [ -n "$port" ]; then cmd+=(--endpoint "http://127.0.0.1:$port" --region "$REGION"); fi
      cmd+=(virtualize "$src" --repo "$dir" --json "${floe_extra[@]}") ;;
    virtualizarr)
      cmd=("$py" bench/peers/virtualize_peers.py --tool virtualizarr --file "$src" --format "${ffmt[$f]}"
        --icechunk-repo "$dir")
      if [ -n "$port" ]; then cmd+=(--endpoint "http://127.0.0.1:$port" --region "$REGION"); fi ;;
    kerchunk)
      cmd=("$py" bench/peers/virtualize_peers.py --tool kerchunk --file "$src" --format "${ffmt[$f]}")
      if [ -n "$port" ]; then cmd+=(--endpoint "http://127.0.0.1:$port" --region "$REGION"); fi ;;
  esac
}

nrun=0
run_one() { # scenario latency_ms round tool file port(empty: local) [record: 1/0]
  local scenario="$1" lat="$2" round="$3" tool="$4" f="$5" port="$6" record="${7:-1}" rc=0 bin_hash=""
  local dir="$repo_root/repo-$((++nrun))"
  local -a extra=()
  cmd_for "$tool" "$f" "$port" "$dir"
  if [ "$tool" = floe ]; then
    bin_hash="$(sha256sum "$floe_bin" | cut -c1-16)"
    extra=(--set "floe_bin=$floe_bin" --set "floe_bin_sha256=$bin_hash")
    if [ -n "$FLOE_ARGS" ]; then extra+=(--set "floe_args=$FLOE_ARGS"); fi
    if [ "$bin_hash" != "$floe_hash" ]; then
      log "WARNING: $floe_bin changed since the start of this run (rebuilt?)"
      extra+=(--set floe_bin_changed=true)
    fi
  fi
  if [ -n "$port" ]; then proxy_reset "$port"; fi
  echo "" >"$tmp/time"
  if [ -n "$timebin" ]; then
    timeout "$TOOL_TIMEOUT" "$timebin" -f '%e %M %U %S' -o "$tmp/time" "${cmd[@]}" >"$tmp/out" 2>"$tmp/err" || rc=$?
  else
    timeout "$TOOL_TIMEOUT" "${cmd[@]}" >"$tmp/out" 2>"$tmp/err" || rc=$?
  fi
  local -a stats=()
  if [ -n "$port" ]; then proxy_stats "$port" "$tmp/stats"; stats=(--stats "$tmp/stats"); fi
  rm -rf -- "$dir"
  if [ "$record" = 1 ]; then
    "$py" bench/record_run.py --out "$tmp/out" --err "$tmp/err" --rc "$rc" --time "$tmp/time" "${stats[@]}" \
      --set bench=virtualize --set "tool=$tool" --set "file=$f" --set "file_bytes=${fbytes[$f]}" \
      --set "format=${ffmt[$f]}" --set "scenario=$scenario$label_suffix" --set "latency_ms=$lat" \
      --set "round=$round" --set "run_id=$run_id" --set "host=$host_info" "${extra[@]}" >>"$results"
  elif [ "$rc" != 0 ]; then
    log "warm-up: $tool on $f failed (exit $rc): $(tail -n 1 "$tmp/err")"
  fi
}

start_s=$SECONDS
for s in "${scenarios[@]}"; do
  case "$s" in
    local) port=""; lat=0; name=local ;;
    latency) start_proxy "$PROXY_PORT" "$LATENCY"; port="$PROXY_PORT"; lat="$lat_ms"; name="latency-${lat_ms}ms" ;;
    latency-0ms) start_proxy "$PROXY0_PORT" 0s; port="$PROXY0_PORT"; lat=0; name=latency-0ms ;;
  esac
  if [ "$WARMUP" = 1 ]; then
    log "$name: warm-up (one unrecorded run per tool on ${files[0]})"
    for t in "${tools[@]}"; do run_one "$name" "$lat" 0 "$t" "${files[0]}" "$port" 0; done
  fi
  log "$name: $ROUNDS rounds of ${files[*]} x ${tools[*]}${port:+ via faultproxy 127.0.0.1:$port}"
  for ((r = 1; r <= ROUNDS; r++)); do
    if [ $((SECONDS - start_s)) -ge "$MAX_WALL" ]; then
      log "MAX_WALL ($MAX_WALL s) reached: no more rounds in $name"
      break
    fi
    for f in "${files[@]}"; do
      for t in "${tools[@]}"; do run_one "$name" "$lat" "$r" "$t" "$f" "$port"; done
    done
  done
done

log "raw results: $results (run_id $run_id), $((SECONDS - start_s)) s"
"$py" bench/summarize.py --run-id "$run_id" "$results"
