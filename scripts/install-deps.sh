#!/usr/bin/env bash
# Installs everything floe needs to build, test and benchmark: Debian packages, the S3 test server, the Python peers
# (a Python >= 3.12 venv in .venv with the interop suite's packages; --with-bench adds the benchmark peers).
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
  libblosc-dev liblz4-dev libaec-dev libbz2-dev nlohmann-json3-dev flatbuffers-compiler libflatbuffers-dev
  libfmt-dev libcli11-dev libgtest-dev libgmock-dev libbenchmark-dev libhdf5-dev libnetcdf-dev
  libopenjp2-7-dev libpng-dev
)
# hdf5-tools/netcdf-bin: h5repack, h5debug, ncgen make and inspect the virtualize fixtures; libncarg-data ships
# sample NetCDF files; the filter plugins let Debian's HDF5 tools read the hdf5plugin-filtered fixtures.
# ecCodes is the GRIB tests' oracle and message writer (C API and grib_* tools).
test_packages=( nginx-light clang-14 libclang-rt-14-dev python3-venv hdf5-tools netcdf-bin libncarg-data
  hdf5-filter-plugin hdf5-filter-plugin-blosc-serial bitshuffle libeccodes-dev libeccodes-tools )

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

# Python peers live in a project venv: the interop suite's (always: ctest runs it) and, with --with-bench,
# the benchmark peers. icechunk-python 2.x needs Python >= 3.12.
py_ok() { "$1" -c 'import sys, venv; sys.exit(0 if sys.version_info >= (3, 12) else 1)' 2>/dev/null; }
find_python() {
  local candidate root
  for candidate in python3.13 python3.12 python3; do
    if command -v "$candidate" >/dev/null && py_ok "$(command -v "$candidate")"; then
      command -v "$candidate"; return 0
    fi
  done
  if command -v pyenv >/dev/null; then root="$(pyenv root)"; else root="${PYENV_ROOT:-$HOME/.pyenv}"; fi
  for candidate in "$root"/versions/3.1[23]*/bin/python3.1[23]; do
    if [ -x "$candidate" ] && py_ok "$candidate"; then echo "$candidate"; return 0; fi
  done
  return 1
}
venv="$here/.venv"
if [ -x "$venv/bin/python" ] && ! py_ok "$venv/bin/python"; then
  echo "install-deps: $venv has Python $("$venv/bin/python" -c 'import platform; print(platform.python_version())'), icechunk needs >= 3.12: recreating it"
  rm -rf -- "$venv"
fi
if [ ! -x "$venv/bin/python" ]; then
  if ! python="$(find_python)"; then
    echo "install-deps: the interop tests need Python >= 3.12 (icechunk-python 2.x) with the venv module;" >&2
    echo "  looked for python3.13, python3.12, python3 on PATH and \$(pyenv root)/versions/3.1[23]*/bin." >&2
    echo "  Install one, e.g. 'pyenv install 3.12' or 'apt-get install python3.12 python3.12-venv'." >&2
    exit 1
  fi
  echo "install-deps: creating $venv with $python"
  "$python" -m venv "$venv"
  "$venv/bin/pip" install -q --upgrade pip >/dev/null
fi
requirements=(-r "$here/tests/interop/requirements.txt")
if [ $with_bench = 1 ]; then requirements+=(-r "$here/bench/requirements.txt"); fi
"$venv/bin/pip" install -q "${requirements[@]}"
