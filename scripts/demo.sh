#!/usr/bin/env bash
# floe's main job on an embedded default: NetCDF and HDF5 files virtualized into a local Icechunk repository
# (listed, logged, chunk references shown, shown as a dataset and a region read back), then the store layer and repository operations underneath. Usage: scripts/demo.sh [DATA_DIR] (default: ../shared/testdata or generated files)
set -euo pipefail
here="$(cd "$(dirname "$0")/.." && pwd)"
cd "$here"
scripts/install-deps.sh --build-only
cmake --preset release >/dev/null
cmake --build build/release -j "$(nproc)" --target floe
floe=build/release/src/floe/cli/floe

data="${1:-}"
if [ -z "$data" ] && [ -d ../shared/testdata/netcdf ]; then data="$(cd ../shared/testdata && pwd)"; fi
if [ -z "$data" ]; then
  # No shared test data: write a small NetCDF-3 classic file (a 4 x 3 record variable) with the standard library.
  data="$(mktemp -d)"; mkdir -p "$data/netcdf"
  python3 - "$data/netcdf/demo.nc" <<'PY'
import struct, sys
def name(s): b = s.encode(); return struct.pack(">i", len(b)) + b + b"\0" * (-len(b) % 4)
header = b"CDF\x01" + struct.pack(">i", 4)
header += struct.pack(">ii", 0x0A, 2) + name("time") + struct.pack(">i", 0) + name("x") + struct.pack(">i", 3)
header += struct.pack(">ii", 0, 0)
var = name("t") + struct.pack(">iii", 2, 0, 1) + struct.pack(">ii", 0x0C, 1) + name("units")
var += struct.pack(">ii", 2, 1) + b"K\0\0\0" + struct.pack(">iii", 5, 12, 0)
header += struct.pack(">ii", 0x0B, 1)
begin = len(header) + len(var)
header += var[:-4] + struct.pack(">i", begin)
open(sys.argv[1], "wb").write(header + struct.pack(">12f", *[float(i) for i in range(12)]))
PY
  echo "demo: no test data found; wrote $data/netcdf/demo.nc"
fi
first="$(find "$data" -type f -name '*.nc' -printf '%s %p\n' | sort -n | tail -1 | cut -d' ' -f2-)"

# The main job: NetCDF / HDF5 files into a versioned Icechunk repository of virtual chunks.
repo="$(mktemp -d)/demo-repo"
echo "== floe virtualize $first --repo $repo"
"$floe" virtualize "$first" --repo "$repo"
echo "== floe ls $repo"
"$floe" ls "$repo"
array="$("$floe" --json ls "$repo" | python3 -c 'import json,sys; print(max((n for n in json.load(sys.stdin) if n.get("kind")=="array"), key=lambda n: len(n.get("shape", [])))["path"])' 2>/dev/null || true)"
if [ -n "$array" ]; then
  echo "== floe repo refs $repo $array   (the first chunk references: file, offset, length)"
  "$floe" repo refs "$repo" "$array" | head -3
fi
# Reading it back: the dataset as xarray would show it, then a region of the largest array (virtual chunks
# are read from the source files, so their directory is authorized).
echo "== floe info $repo --authorize file://$(dirname "$first")/"
"$floe" info "$repo" --authorize "file://$(dirname "$first")/"
if [ -n "$array" ]; then
  out="$(dirname "$repo")/region.nc"
  echo "== floe read $repo $array --isel <first half of dim 0> --decode-cf --out $out"
  half="$("$floe" --json info "$repo" "$array" | python3 -c 'import json,sys; d=json.load(sys.stdin); a=[x for x in list(d["data_vars"].values()) + list(d["coords"].values()) if x["shape"]][0]; print("%s=0:%d" % (a["dims"][0], max(1, a["shape"][0] // 2)))' 2>/dev/null || true)"
  "$floe" read "$repo" "$array" ${half:+--isel "$half"} --decode-cf --out "$out" --authorize "file://$(dirname "$first")/"
  "$floe" read "$repo" "$array" ${half:+--isel "$half"} --decode-cf --stats --authorize "file://$(dirname "$first")/"
fi
if [ -d "$data/hdf5" ]; then
  h5repo="$(mktemp -d)/hdf5-repo"
  for file in "$data"/hdf5/pyfive_dim_scales.hdf5 "$data"/hdf5/kerchunk_hdf5_compression_zstd.h5; do
    [ -f "$file" ] || continue
    echo "== floe virtualize $file --repo $h5repo --group /$(basename "$file" | tr . _)"
    "$floe" virtualize "$file" --repo "$h5repo" --group "/$(basename "$file" | tr . _)"
  done
  [ -d "$h5repo" ] && { echo "== floe ls $h5repo"; "$floe" ls "$h5repo"; echo "== floe repo log $h5repo"; "$floe" repo log "$h5repo"; }
fi

# The store layer underneath: listing with globs, metadata, ranges.
size="$(stat -c %s "$first")"
echo
echo "== floe store ls '$data/**/*.nc'"
"$floe" store ls "$data/**/*.nc"
echo
echo "== floe store cat $first --range 0-3  (the format's magic bytes)"
"$floe" store cat "$first" --range 0-3 | od -An -c
echo
tail_range="$((size - 100))-$((size - 1))"
echo "== floe store fetch $first --ranges 0-1023,2048-4095,$tail_range"
"$floe" store fetch "$first" --ranges "0-1023,2048-4095,$tail_range"

# Icechunk: create a repository, branch and tag it, and read the official compatibility repositories.
repo="$(mktemp -d)/init-repo"
echo
echo "== floe repo init $repo --container s3://nsf-ncar-era5/=anonymous,region=us-west-2"
"$floe" repo init "$repo" --container "s3://nsf-ncar-era5/=anonymous,region=us-west-2"
"$floe" repo branch create "$repo" dev main
"$floe" repo tag create "$repo" v0 main
echo "== floe repo info $repo"
"$floe" repo info "$repo"
if [ -d ../shared/testdata/icechunk/test-repo-v2 ]; then
  fixtures="$(mktemp -d)"
  cp -r ../shared/testdata/icechunk/test-repo-v2 ../shared/testdata/icechunk/test-repo-v1 "$fixtures/"
  for name in test-repo-v2 test-repo-v1; do
    echo
    echo "== floe ls $fixtures/$name   (written by icechunk-python; spec $([ $name = test-repo-v1 ] && echo 1 || echo 2))"
    "$floe" ls "$fixtures/$name"
    echo "== floe repo log $fixtures/$name"
    "$floe" repo log "$fixtures/$name"
  done
  echo "== floe repo get $fixtures/test-repo-v2 group1/small_chunks/c/0 | od -An -tx1"
  "$floe" repo get "$fixtures/test-repo-v2" group1/small_chunks/c/0 | od -An -tx1
fi
