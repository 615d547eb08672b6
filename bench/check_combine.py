# bench/check_combine.py owns the correctness check of the combine benchmark (issue 7): each repository against the generator's values, and the repositories against each other, through icechunk-python + xarray.
"""Check combined repositories of bench/make_combine_files.py's files; print one JSON line and OK or MISMATCH.

  check_combine.py --files-dir DIR --repo NAME=REPO_DIR [--repo NAME=REPO_DIR ...] [--cells 8] [--seed 0]

Each repository is opened as a user would (icechunk.Repository.open with the file:// container of DIR
authorized, readonly_session("main"), xr.open_zarr(store, consolidated=False, chunks=None), CF decoding on),
and checked against the grid recorded in DIR/combine-files.json and the generator's own functions:
  - alk and dic have dims (polygon, injection, member, time, y, x) and the grid's sizes, dtype float32;
  - the coordinates, in full: polygon = 1000 + p, member = m, injection = the first of month i after
    2000-01 (decoded datetime64), time = the 15th of each month of 2000, y and x the generator's metres;
  - run_version is a scalar equal to the generator's;
  - alk and dic of CELLS cells (the first, the last and seeded random ones) equal cell_values(...) exactly.
Across repositories (with two or more): every decoded coordinate array and alk/dic of the sampled cells are
compared with the first repository's. A coordinate stored with another dtype, units or calendar (read with
decode_times=False) is a note, not a mismatch: both decode to the same values, which is what a reader sees.
Output: {"bench": "combine_check", "ok": true|false, "repos": [NAME...], "cells": [...], "mismatches":
[...], "notes": [...], "checked": {NAME: {"dims", "coords", "units"}}}; then OK or MISMATCH with the reasons
on stderr.
Exit status 1 on any mismatch, 2 when a repository cannot be opened.
"""
import argparse
import json
import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import make_combine_files as gen  # noqa: E402

DIMS = ("polygon", "injection", "member", "time", "y", "x")
COORDS = ("polygon", "injection", "member", "time", "y", "x")


def open_repo(path, files_dir, decode_times=True):
    import icechunk
    import xarray as xr

    storage = icechunk.local_filesystem_storage(os.path.abspath(path))
    prefix = f"file://{os.path.abspath(files_dir)}/"
    local = icechunk.credentials.LocalFileSystemAccess
    repo = icechunk.Repository.open(storage, authorize_virtual_chunk_access={prefix: local})
    store = repo.readonly_session("main").store
    return xr.open_zarr(store, consolidated=False, chunks=None, decode_times=decode_times)


def expected_coords(params):
    days = lambda d: np.datetime64("2000-01-01", "ns") + (np.asarray(d) * 86400e9).astype("timedelta64[ns]")
    return {
        "polygon": gen.POLYGON_ID0 + np.arange(params["polygon"]),
        "injection": days([gen.injection_days(i) for i in range(params["injection"])]),
        "member": np.arange(params["member"]),
        "time": days(gen.TIME_DAYS),
        "y": gen.Y_METRES,
        "x": gen.X_METRES,
    }


def sample_cells(params, n, seed):
    grid = (params["polygon"], params["injection"], params["member"])
    cells = [(0, 0, 0), tuple(g - 1 for g in grid)]
    rng = np.random.default_rng(seed)
    while len(cells) < max(n, 2) and len(set(cells)) < grid[0] * grid[1] * grid[2]:
        cells.append(tuple(int(rng.integers(g)) for g in grid))
    return list(dict.fromkeys(cells))


def check_one(name, ds, params, cells, mismatches):
    want_sizes = {"polygon": params["polygon"], "injection": params["injection"], "member": params["member"],
                  "time": params["time"], "y": params["y"], "x": params["x"]}
    for var in ("alk", "dic"):
        if var not in ds:
            mismatches.append(f"{name}: no variable {var}")
            continue
        v = ds[var]
        if v.dims != DIMS or dict(zip(v.dims, v.shape)) != want_sizes or v.dtype != np.float32:
            mismatches.append(f"{name}: {var} is {v.dtype} {dict(zip(v.dims, v.shape))}, want float32 {want_sizes}")
            continue
        for p, i, m in cells:
            got = v.isel(polygon=p, injection=i, member=m).values
            want = gen.cell_values(var, p, i, m)
            if got.shape != want.shape or not np.array_equal(got, want):
                bad = int(np.sum(got != want)) if got.shape == want.shape else "shape"
                mismatches.append(f"{name}: {var} cell (p={p}, i={i}, m={m}) differs from the generator ({bad} values)")
    for coord, want in expected_coords(params).items():
        if coord not in ds.coords:
            mismatches.append(f"{name}: no coordinate {coord}")
            continue
        got = ds[coord].values
        if got.shape != want.shape or not np.array_equal(got, want.astype(got.dtype) if got.dtype.kind != "M" else want):
            mismatches.append(f"{name}: coordinate {coord} = {got[:4]}... ({got.dtype}), want {want[:4]}...")
    if "run_version" not in ds:
        mismatches.append(f"{name}: no variable run_version")
    elif ds["run_version"].shape != () or int(ds["run_version"].values) != gen.RUN_VERSION:
        mismatches.append(f"{name}: run_version has shape {ds['run_version'].shape} and values "
                          f"{np.unique(ds['run_version'].values)[:4]}, want the scalar {gen.RUN_VERSION}")


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--files-dir", required=True)
    ap.add_argument("--repo", action="append", required=True, metavar="NAME=DIR")
    ap.add_argument("--cells", type=int, default=8)
    ap.add_argument("--seed", type=int, default=0)
    a = ap.parse_args(argv)
    with open(os.path.join(a.files_dir, gen.MARKER)) as f:
        params = json.load(f)["params"]
    repos = []
    for item in a.repo:
        name, sep, path = item.partition("=")
        if not sep:
            ap.error(f"--repo wants NAME=DIR, got {item!r}")
        repos.append((name, path))
    cells = sample_cells(params, a.cells, a.seed)
    mismatches, notes, checked, opened = [], [], {}, []
    for name, path in repos:
        try:
            ds = open_repo(path, a.files_dir)
            raw = open_repo(path, a.files_dir, decode_times=False)
        except Exception as e:  # any failure to open is the finding: report it with its cause
            mismatches.append(f"{name}: cannot open {path}: {type(e).__name__}: {e}")
            continue
        check_one(name, ds, params, cells, mismatches)
        checked[name] = {"dims": {k: int(v) for k, v in ds.sizes.items()}, "coords": sorted(ds.coords),
                         "units": {c: raw[c].attrs.get("units") for c in ("injection", "time") if c in raw}}
        opened.append((name, ds, raw))
    if len(opened) >= 2:
        first, ds0, raw0 = opened[0]
        for name, ds, raw in opened[1:]:
            for coord in COORDS:
                if coord in ds0.coords and coord in ds.coords and not np.array_equal(ds0[coord].values, ds[coord].values):
                    mismatches.append(f"{name} vs {first}: coordinate {coord} differs: "
                                      f"{ds[coord].values[:4]} vs {ds0[coord].values[:4]}")
                if coord in raw0.coords and coord in raw.coords:
                    r0, r1 = raw0[coord], raw[coord]
                    enc0 = (str(r0.dtype), r0.attrs.get("units"), r0.attrs.get("calendar"))
                    enc1 = (str(r1.dtype), r1.attrs.get("units"), r1.attrs.get("calendar"))
                    if enc0 != enc1 or not np.array_equal(r0.values, r1.values):
                        notes.append(f"{name} vs {first}: coordinate {coord} is stored differently "
                                     f"({enc1} vs {enc0}; values {'equal' if np.array_equal(r0.values, r1.values) else 'differ'})")
            for var in ("alk", "dic"):
                if var not in ds0 or var not in ds:
                    continue
                for p, i, m in cells:
                    x0 = ds0[var].isel(polygon=p, injection=i, member=m).values
                    x1 = ds[var].isel(polygon=p, injection=i, member=m).values
                    if not np.array_equal(x0, x1):
                        mismatches.append(f"{name} vs {first}: {var} cell (p={p}, i={i}, m={m}) differs")
    ok = not mismatches and len(opened) == len(repos)
    print(json.dumps({"bench": "combine_check", "ok": ok, "repos": [n for n, _ in repos],
                      "cells": [list(c) for c in cells], "mismatches": mismatches[:50], "notes": notes, "checked": checked}))
    if ok:
        sys.stderr.write(f"check_combine: OK ({', '.join(n for n, _ in repos)}: coordinates in full, "
                         f"{len(cells)} cells of alk and dic equal the generator's values"
                         + (" and each other" if len(repos) > 1 else "") + ")\n")
        sys.stderr.write("".join(f"  note: {n}\n" for n in notes))
        return 0
    sys.stderr.write("check_combine: MISMATCH\n" + "".join(f"  {m}\n" for m in mismatches[:20]))
    return 2 if len(opened) < len(repos) else 1


if __name__ == "__main__":
    sys.exit(main())
