#!/usr/bin/env bash
# Installs everything floe needs to build, test and benchmark: Debian packages, the S3 test server, the Python peers.
# Usage: scripts/install-deps.sh [--build-only] [--with-bench]
set -euo pipefail
here="$(cd "$(dirname "$0")/.." && pwd)"
build_only=0; with_bench=0
for arg in "$@"; do
  case "$arg" in
    --build-only) build_only=1 ;;
    --with-bench) with_bench=1 ;;
    *) echo "install-deps: unknown option $arg" >&2; exit 1 ;;
  esac
done

sudo_cmd=""
if [ "$(id -u)" != 0 ]; then sudo_cmd="sudo"; fi

build_packages=(
  build-essential cmake ninja-build pkg-config git ca-certificates curl
  libcurl4-openssl-dev libnghttp2-dev libssl-dev libdeflate-dev zlib1g-dev libzstd-dev
  libblosc-dev liblz4-dev libaec-dev nlohmann-json3-dev flatbuffers-compiler libflatbuffers-dev
  libfmt-dev libcli11-dev libgtest-dev libgmock-dev libbenchmark-dev
)
test_packages=( nginx-light clang-14 libclang-rt-14-dev python3-venv )

missing=()
for pkg in "${build_packages[@]}" $( [ $build_only = 1 ] || echo "${test_packages[@]}" ); do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "install-deps: apt-get install ${missing[*]}"
  $sudo_cmd apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
[ $build_only = 1 ] && exit 0

# The S3 test server: versitygw checks SigV4 and conditional writes.
go="$(command -v go || echo /usr/local/go/bin/go)"
gobin="$("$go" env GOPATH)/bin"
if [ ! -x "$gobin/versitygw" ]; then
  echo "install-deps: go install versitygw"
  (cd /tmp && "$go" install github.com/versity/versitygw/cmd/versitygw@v1.7.0)
fi

# Python peers for benchmarks (and later interop tests) live in a project venv.
if [ $with_bench = 1 ]; then
  venv="$here/.venv"
  [ -x "$venv/bin/python" ] || python3 -m venv "$venv"
  "$venv/bin/pip" install -q --upgrade pip >/dev/null
  "$venv/bin/pip" install -q -r "$here/bench/requirements.txt"
fi
