#!/usr/bin/env bash
# Stops the test servers recorded in $STATE/pids by tests/servers/start.sh (TERM, then KILL after a bounded wait); safe to call twice.
set -euo pipefail

STATE="${1:-${FLOE_TEST_STATE:-/tmp/floe-test-servers}}"
STATE="$(realpath -m -- "$STATE")"
pids_file="$STATE/pids"
TERM_WAIT_SECONDS=10

if [ ! -f "$pids_file" ]; then
  echo "stop.sh: nothing recorded in $pids_file"
  exit 0
fi

# alive PID BINARY: the process exists, is not a zombie (PID 1 may never reap it) and still runs BINARY
# (guards against a recycled pid).
alive() {
  local pid=$1 bin=$2 state
  [ -r "/proc/$pid/stat" ] || return 1
  state="$(sed -E 's/^[0-9]+ \(.*\) ([A-Za-z]).*/\1/' "/proc/$pid/stat" 2>/dev/null)" || return 1
  [ "$state" != Z ] || return 1
  tr '\0' ' ' < "/proc/$pid/cmdline" 2>/dev/null | grep -qF -- "$bin"
}

names=(); pids=(); bins=()
while read -r name pid bin; do
  [ -n "${pid:-}" ] || continue
  names+=("$name"); pids+=("$pid"); bins+=("$bin")
done < "$pids_file"

for i in "${!pids[@]}"; do
  if alive "${pids[$i]}" "${bins[$i]}"; then
    kill -TERM "${pids[$i]}" 2>/dev/null || true
  fi
done

deadline=$((SECONDS + TERM_WAIT_SECONDS))
while :; do
  left=()
  for i in "${!pids[@]}"; do
    if alive "${pids[$i]}" "${bins[$i]}"; then left+=("$i"); fi
  done
  [ ${#left[@]} -gt 0 ] || break
  if [ $SECONDS -ge $deadline ]; then
    for i in "${left[@]}"; do
      echo "stop.sh: ${names[$i]} (pid ${pids[$i]}) ignored TERM; sending KILL" >&2
      kill -KILL "${pids[$i]}" 2>/dev/null || true
    done
    break
  fi
  sleep 0.1
done

rm -f -- "$pids_file"
echo "stop.sh: stopped ${#pids[@]} recorded process(es) from $STATE"
