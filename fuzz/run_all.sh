#!/usr/bin/env bash
# Runs every libFuzzer target of a fuzz build for a bounded time each; new inputs stay in a scratch copy.
set -euo pipefail
build="${1:-build/fuzz}"
seconds="${FLOE_FUZZ_SECONDS:-20}"
here="$(cd "$(dirname "$0")" && pwd)"
scratch="$(mktemp -d)"; trap 'rm -rf "$scratch"' EXIT
for binary in "$build"/fuzz/fuzz_*; do
  name="$(basename "$binary")"; corpus="${name#fuzz_}"
  mkdir -p "$scratch/$corpus"; cp -r "$here/corpus/$corpus/." "$scratch/$corpus/" 2>/dev/null || true
  echo "fuzz: $name for ${seconds}s"
  "$binary" -max_total_time="$seconds" -rss_limit_mb=2048 -print_final_stats=0 "$scratch/$corpus" 2>&1 | tail -2
done
