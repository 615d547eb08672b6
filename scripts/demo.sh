#!/usr/bin/env bash
# floe's main job on an embedded default. Until virtualization lands this shows the store layer on
# local files: listing with globs, object metadata, an inclusive byte range, and a batch of ranges
# coalesced into few reads. Usage: scripts/demo.sh [DATA_DIR] (default: ../shared/testdata or generated files)
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
  data="$(mktemp -d)"
  for i in 1 2 3; do head -c 300000 /dev/urandom > "$data/sample-$i.nc"; done
  echo "demo: no test data found; generated three files in $data"
fi
first="$(find "$data" -type f -name '*.nc' -printf '%s %p\n' | sort -n | tail -1 | cut -d' ' -f2-)"
size="$(stat -c %s "$first")"

echo "== floe store ls '$data/**/*.nc'"
"$floe" store ls "$data/**/*.nc"
echo
echo "== floe store stat $first"
"$floe" store stat "$first"
echo
echo "== floe store cat $first --range 0-3  (the format's magic bytes)"
"$floe" store cat "$first" --range 0-3 | od -An -c
echo
tail_range="$((size - 100))-$((size - 1))"
echo "== floe store fetch $first --ranges 0-1023,2048-4095,$tail_range"
"$floe" store fetch "$first" --ranges "0-1023,2048-4095,$tail_range"

# Icechunk: create a repository, branch and tag it, and read the official compatibility repositories.
repo="$(mktemp -d)/demo-repo"
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
