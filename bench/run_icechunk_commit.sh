#!/usr/bin/env bash
# Icechunk commit benchmark (issue 3): floe vs icechunk-python, one array of ROWS x COLS virtual refs
# committed to a repository on local disk, then opening that repository and fetching one chunk ref.
#
# ROUNDS rounds, interleaved (floe, icechunk-python) per round; every commit runs in a fresh process into a
# fresh directory under a scratch dir, and every repository but the last of each tool is deleted right after
# its run. Then OPENS fresh-process "open + one ref" runs per tool on the last repository of each tool, and
# the same number crossed (floe reading icechunk-python's repository and back) as an interoperability check.
# Raw JSON lines are appended to bench/results/icechunk_commit-<date>.jsonl and a Markdown summary
# (bench/summarize.py) is printed at the end.
#
# Each tool times its own phases and reads its own peak RSS (ru_maxrss); this script adds the process's
# wall time, maximum RSS and CPU time (user + system, all threads) as /usr/bin/time sees them
# (process_wall_s, time_maxrss_bytes, cpu_s) when /usr/bin/time exists, else the wall time from `date`.
#
# Prerequisites: a release build at build/release (cmake --preset release && cmake --build build/release
# --target floe_bench_icechunk_commit), and the project .venv with icechunk-python 2.3 and zarr 3
# (scripts/install-deps.sh installs them for the interop tests).
#
# Environment knobs (defaults in brackets):
#   ROUNDS [3]  ROWS [10000]  COLS [1000]  FILES [10000]  OPENS [3]
#   SMALL [0]   1: ROWS=1000 COLS=100 (10^5 refs) for a smoke test
#   FLOE_MAX_REFS_PER_MANIFEST []  floe's max refs per manifest (empty: floe's default, 10^6)
#   PEER_SPLIT_ROWS [0]  icechunk-python manifest split size along rows (0: its default, no splitting)
#   SCRATCH [${TMPDIR:-/tmp}]  where the repositories go (10^7 refs is ~150-300 MB per repository)
#   TOOLS ["floe icechunk-python"]  KEEP [0] 1: keep the scratch dir
#   FLOE_BENCH_BIN [build/release/bench/floe_bench_icechunk_commit]  TOOL_TIMEOUT [3600] seconds
#
# On a shared checkout, build the floe side in a private worktree and point FLOE_BENCH_BIN at it: a rebuild
# of build/release by someone else mid-run would otherwise mix two versions of floe in one run. The script
# hashes the binary before every floe run and marks records whose binary differs from the first
# ("floe_bin_changed": true) with a warning.
set -euo pipefail

repo="$(cd "$(dirname "$0")/.." && pwd)"
cd "$repo"

ROUNDS="${ROUNDS:-3}"
if [ "${SMALL:-0}" = 1 ]; then
  ROWS="${ROWS:-1000}"; COLS="${COLS:-100}"
else
  ROWS="${ROWS:-10000}"; COLS="${COLS:-1000}"
fi
FILES="${FILES:-10000}"
OPENS="${OPENS:-3}"
FLOE_MAX_REFS_PER_MANIFEST="${FLOE_MAX_REFS_PER_MANIFEST:-}"
PEER_SPLIT_ROWS="${PEER_SPLIT_ROWS:-0}"
SCRATCH="${SCRATCH:-${TMPDIR:-/tmp}}"
TOOLS="${TOOLS:-floe icechunk-python}"
KEEP="${KEEP:-0}"
TOOL_TIMEOUT="${TOOL_TIMEOUT:-3600}"

die() { echo "run_icechunk_commit: $*" >&2; exit 1; }
log() { echo "run_icechunk_commit: $*" >&2; }

for v in ROUNDS ROWS COLS FILES OPENS PEER_SPLIT_ROWS; do
  [[ "${!v}" =~ ^[0-9]+$ ]] || die "$v must be a non-negative integer"
done
[ "$ROUNDS" -ge 1 ] && [ "$ROWS" -ge 1 ] && [ "$COLS" -ge 1 ] && [ "$FILES" -ge 1 ] || die "ROUNDS, ROWS, COLS, FILES must be >= 1"
[ -z "$FLOE_MAX_REFS_PER_MANIFEST" ] || [[ "$FLOE_MAX_REFS_PER_MANIFEST" =~ ^[1-9][0-9]*$ ]] \
  || die "FLOE_MAX_REFS_PER_MANIFEST must be a positive integer"

py="$repo/.venv/bin/python"
[ -x "$py" ] || die "no $py: run scripts/install-deps.sh"
"$py" -c 'import icechunk, zarr, numpy' 2>/dev/null || die "icechunk/zarr/numpy missing in .venv: run scripts/install-deps.sh"
floe_bin="${FLOE_BENCH_BIN:-$repo/build/release/bench/floe_bench_icechunk_commit}"
if [[ " $TOOLS " == *" floe "* ]] && [ ! -x "$floe_bin" ]; then
  log "SKIPPING floe: $floe_bin not found (build it with the release preset first)"
  TOOLS="${TOOLS//floe/}"
fi
read -r -a tools <<<"$TOOLS"
[ "${#tools[@]}" -ge 1 ] || die "no tools to run"
timebin=""
[ -x /usr/bin/time ] && timebin=/usr/bin/time
floe_hash=""
[ -x "$floe_bin" ] && floe_hash="$(sha256sum "$floe_bin" | cut -c1-16)"

mkdir -p "$SCRATCH"
tmp="$(mktemp -d "$SCRATCH/floe-bench-icechunk.XXXXXX")"
cleanup() { if [ "$KEEP" = 1 ]; then log "kept $tmp"; else rm -rf -- "$tmp"; fi; }
trap cleanup EXIT
trap 'exit 130' INT TERM

mkdir -p bench/results
results="bench/results/icechunk_commit-$(date +%Y-%m-%d).jsonl"
run_id="$(date +%Y%m%dT%H%M%S)-$$"
host_info="$(uname -m) $(nproc)cpu $(awk '/MemTotal/ {printf "%.0fGiB", $2 / 1048576}' /proc/meminfo)"
refs=$((ROWS * COLS))
scenario="${ROWS}x${COLS}"
[ -n "$FLOE_MAX_REFS_PER_MANIFEST" ] && scenario+=" floe-max-refs-${FLOE_MAX_REFS_PER_MANIFEST}"
[ "$PEER_SPLIT_ROWS" != 0 ] && scenario+=" peer-split-rows-${PEER_SPLIT_ROWS}"

cmd_for() { # tool mode dir [row col] -> sets the array cmd
  local tool="$1" mode="$2" dir="$3"
  local -a args
  if [ "$mode" = commit ]; then
    args=(commit --repo "$dir" --rows "$ROWS" --cols "$COLS" --files "$FILES")
  else
    args=(open --repo "$dir" --row "$4" --col "$5" --files "$FILES")
  fi
  case "$tool" in
    floe)
      cmd=("$floe_bin" "${args[@]}")
      if [ "$mode" = commit ] && [ -n "$FLOE_MAX_REFS_PER_MANIFEST" ]; then
        cmd+=(--max-refs-per-manifest "$FLOE_MAX_REFS_PER_MANIFEST")
      fi ;;
    icechunk-python)
      cmd=("$py" bench/peers/icechunk_commit.py "${args[@]}")
      if [ "$mode" = commit ] && [ "$PEER_SPLIT_ROWS" != 0 ]; then cmd+=(--split-rows "$PEER_SPLIT_ROWS"); fi ;;
    *) die "unknown tool $tool" ;;
  esac
}

run_one() { # label tool mode dir round [row col] [repo_written_by]
  local label="$1" tool="$2" mode="$3" dir="$4" round="$5" row="${6:-}" col="${7:-}" writer="${8:-$2}" rc=0
  local t0 t1 bin_hash=""
  cmd_for "$tool" "$mode" "$dir" "$row" "$col"
  if [ "$tool" = floe ]; then
    bin_hash="$(sha256sum "$floe_bin" | cut -c1-16)"
    [ "$bin_hash" = "$floe_hash" ] || log "WARNING: $floe_bin changed since the start of this run (rebuilt?)"
  fi
  t0=$(date +%s.%N)
  if [ -n "$timebin" ]; then
    timeout "$TOOL_TIMEOUT" "$timebin" -f '%e %M %U %S' -o "$tmp/time" "${cmd[@]}" >"$tmp/out" 2>"$tmp/err" || rc=$?
  else
    echo "" >"$tmp/time"
    timeout "$TOOL_TIMEOUT" "${cmd[@]}" >"$tmp/out" 2>"$tmp/err" || rc=$?
  fi
  t1=$(date +%s.%N)
  "$py" - "$tmp/out" "$tmp/err" "$tmp/time" "$rc" "$tool" "$label" "$round" "$run_id" "$host_info" \
      "$scenario" "$t0" "$t1" "$writer" "$bin_hash" "$floe_hash" "$floe_bin" >>"$results" <<'PY'
import json, sys, time
out, err, timef, rc, tool, label, rnd, run_id, host, scenario, t0, t1, writer, bin_hash, first_hash, floe_bin = sys.argv[1:]
line = None
for raw in open(out, errors="replace").read().splitlines():
    raw = raw.strip()
    if raw.startswith("{"):
        try:
            line = json.loads(raw)
        except ValueError:
            pass
rec = line if isinstance(line, dict) else {"tool": tool, "bench": label}
rec["tool"] = tool
if int(rc) != 0 or line is None:
    msg = [m for m in open(err, errors="replace").read().strip().splitlines() if m.strip()]
    rec["error"] = f"exit {rc}" + (": " + msg[-1][:300] if msg else "") + (" (timeout)" if rc == "124" else "")
wall = float(t1) - float(t0)
tparts = open(timef, errors="replace").read().split()  # "%e %M %U %S" on the last line
try:
    wall = float(tparts[-4])
    rec["time_maxrss_bytes"] = int(tparts[-3]) * 1024
    rec["cpu_s"] = round(float(tparts[-2]) + float(tparts[-1]), 3)  # user + system, all threads
except (IndexError, ValueError):
    pass
rec.update({"scenario": scenario, "round": int(rnd), "run_id": run_id, "host": host,
            "time": time.strftime("%Y-%m-%dT%H:%M:%S"), "process_wall_s": round(wall, 3),
            "repo_written_by": writer})
if tool == "floe":
    rec["floe_bin"] = floe_bin
    rec["floe_bin_sha256"] = bin_hash
    if bin_hash != first_hash:
        rec["floe_bin_changed"] = True
print(json.dumps(rec))
if "error" in rec:
    s = rec["error"]
elif rec.get("bench") == "icechunk_commit":
    s = (f"total {rec['total_s']:.2f}s (set {rec['set_refs_s']:.2f}s, commit {rec['commit_s']:.2f}s), "
         f"peak {rec['peak_rss_bytes'] / 2**20:,.0f} MiB = {rec['bytes_per_ref']:.1f} B/ref, "
         f"{rec['manifests']} manifests, {rec['repo_bytes'] / 2**20:,.1f} MiB on disk")
else:
    s = f"{rec['seconds']:.3f}s"
cpu = f", cpu {rec['cpu_s']:.2f}s" if "cpu_s" in rec else ""
sys.stderr.write(f"  {label} round {rnd} {tool:15s} [{writer} repo] {s}  (process {wall:.2f}s{cpu})\n")
PY
}

log "$refs refs ($ROWS x $COLS, $FILES files), $ROUNDS rounds: ${tools[*]}; scratch $tmp"
declare -A last_repo
for ((r = 1; r <= ROUNDS; r++)); do
  for t in "${tools[@]}"; do
    dir="$tmp/$t-$r"
    run_one icechunk_commit "$t" commit "$dir" "$r"
    if [ -n "${last_repo[$t]:-}" ]; then rm -rf -- "${last_repo[$t]}"; fi
    last_repo[$t]="$dir"
    sync
  done
done

row=$((ROWS * 7 / 10)); col=$((COLS * 3 / 10))  # one ref inside the array, away from the first manifest
log "open + one ref [$row,$col], $OPENS runs per tool"
for ((i = 1; i <= OPENS; i++)); do
  for t in "${tools[@]}"; do
    [ -d "${last_repo[$t]}" ] && run_one icechunk_open_one_ref "$t" open "${last_repo[$t]}" "$i" "$row" "$col"
  done
done
if [ "${#tools[@]}" -ge 2 ]; then
  log "cross reads (interoperability check): each tool opens the other's repository"
  for ((i = 1; i <= OPENS; i++)); do
    run_one icechunk_open_one_ref floe open "${last_repo[icechunk-python]}" "$i" "$row" "$col" icechunk-python
    run_one icechunk_open_one_ref icechunk-python open "${last_repo[floe]}" "$i" "$row" "$col" floe
  done
fi

log "raw results: $results (run_id $run_id)"
"$py" bench/summarize.py --run-id "$run_id" "$results"
