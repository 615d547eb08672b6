#!/usr/bin/env bash
# The whole test suite from a fresh machine: install dependencies, build (dev preset), run the fuzz
# targets briefly, then every unit and integration test (ctest starts and stops the real servers).
set -euo pipefail
here="$(cd "$(dirname "$0")/.." && pwd)"
cd "$here"
scripts/install-deps.sh
jobs="${FLOE_JOBS:-$(nproc)}"

# Go unit tests of the fault proxy the integration tests rely on.
go="$(command -v go || echo /usr/local/go/bin/go)"
(cd tests/tools/faultproxy && "$go" vet ./... && "$go" test ./... 2>&1 | tail -3)

# Fuzz targets (clang + libFuzzer + ASan/UBSan), a bounded run each.
if command -v clang++-14 >/dev/null; then
  cmake --preset fuzz >/dev/null
  cmake --build build/fuzz -j "$jobs"
  FLOE_FUZZ_SECONDS="${FLOE_FUZZ_SECONDS:-6}" fuzz/run_all.sh build/fuzz
fi

cmake --preset dev >/dev/null
cmake --build build/dev -j "$jobs"
ctest --test-dir build/dev -j "$jobs" --output-on-failure
