# bench/make_combine_files.py owns the input files of the combine benchmark (issue 7): N small NetCDF-4 files, one per ensemble cell (polygon x injection x member), each with 12 monthly time steps.
"""Deterministic generator of the many small NetCDF-4 files bench/run_combine.sh combines into one datacube.

  make_combine_files.py --dir DIR --polygon P --injection I --member M [--jobs 2] [--force]

Writes P x I x M files DIR/cell_p{p:04d}_i{i:03d}_m{m:03d}.nc with netCDF4-python (NetCDF-4 / HDF5), one
per ensemble cell, then DIR/combine-files.json (the marker: the parameters, NAME_VERSION, the file count and
the seconds taken). When the marker already records the same parameters and every file is there, nothing is
written. Prints the marker as one JSON line.

Every file holds one cell of a 3-D ensemble (the layout of an ocean-alkalinity-enhancement ensemble:
polygon x injection date x member) and 12 months:
  dimensions  polygon = 1, injection = 1, member = 1, time = 12, y = 8, x = 8 (all fixed)
  polygon     int32 (polygon): the polygon id, POLYGON_ID0 + p
  injection   float64 (injection): CF time, "days since 2000-01-01", calendar standard: the first of
              month i after January 2000 (0, 31, 60, ... days)
  member      int32 (member): the member number, m
  time        float64 (time): CF time, "days since 2000-01-01", calendar standard: the 15th of each month
              of 2000; the same in every file
  y, x        float64 (y) / (x): 1-D grid coordinates (metres), the same in every file
  alk, dic    float32 (polygon, injection, member, time, y, x), one chunk (1, 1, 1, 12, 8, 8), zlib level 1
              with shuffle; values cell_values(name, p, i, m) below: distinct per cell and step, so a cell
              placed at the wrong index is seen by a comparison with that function
  run_version int32 scalar, RUN_VERSION in every file
The files are written in parallel by --jobs processes (default 2), each file to a temporary name and renamed.
"""
import argparse
import json
import multiprocessing
import os
import sys
import time

import numpy as np

NAME_VERSION = "combine-v1"  # part of the marker: change it when the content of the files changes
MARKER = "combine-files.json"
NT, NY, NX = 12, 8, 8
POLYGON_ID0 = 1000
RUN_VERSION = 7
TIME_UNITS = "days since 2000-01-01"
MONTH_START_DAYS = np.array([0, 31, 60, 91, 121, 152, 182, 213, 244, 274, 305, 335], dtype=np.float64)
TIME_DAYS = MONTH_START_DAYS + 14.0  # the 15th of each month of 2000 (a leap year)
Y_METRES = np.arange(NY, dtype=np.float64) * 5000.0 + 2500.0
X_METRES = np.arange(NX, dtype=np.float64) * 5000.0 + 2500.0


def file_name(p, i, m):
    return f"cell_p{p:04d}_i{i:03d}_m{m:03d}.nc"


def injection_days(i):
    """Days since 2000-01-01 of the first of month i counted from January 2000 (any i >= 0)."""
    year, month = 2000 + i // 12, i % 12 + 1
    return float((np.datetime64(f"{year:04d}-{month:02d}-01") - np.datetime64("2000-01-01")).astype(int))


def cell_values(name, p, i, m):
    """The float32 (time, y, x) values of variable `name` ("alk" or "dic") in cell (p, i, m)."""
    t = np.arange(NT, dtype=np.float64)[:, None, None]
    y = np.arange(NY, dtype=np.float64)[None, :, None]
    x = np.arange(NX, dtype=np.float64)[None, None, :]
    base = 2300.0 if name == "alk" else 2000.0
    v = base + 0.5 * p + 0.03125 * i + 0.001953125 * m + 0.25 * np.sin(t + 0.1 * y + 0.01 * x) + 0.125 * y + 0.0625 * x
    return v.astype(np.float32)


def write_file(args):
    directory, p, i, m = args
    import netCDF4

    path = os.path.join(directory, file_name(p, i, m))
    if os.path.exists(path):
        return 0
    tmp = path + f".tmp{os.getpid()}"
    with netCDF4.Dataset(tmp, "w", format="NETCDF4") as ds:
        for dim, size in (("polygon", 1), ("injection", 1), ("member", 1), ("time", NT), ("y", NY), ("x", NX)):
            ds.createDimension(dim, size)
        v = ds.createVariable("polygon", "i4", ("polygon",))
        v.long_name = "polygon id"
        v[:] = [POLYGON_ID0 + p]
        v = ds.createVariable("injection", "f8", ("injection",))
        v.units, v.calendar, v.long_name = TIME_UNITS, "standard", "injection date"
        v[:] = [injection_days(i)]
        v = ds.createVariable("member", "i4", ("member",))
        v.long_name = "ensemble member"
        v[:] = [m]
        v = ds.createVariable("time", "f8", ("time",))
        v.units, v.calendar, v.standard_name = TIME_UNITS, "standard", "time"
        v[:] = TIME_DAYS
        for dim, values in (("y", Y_METRES), ("x", X_METRES)):
            v = ds.createVariable(dim, "f8", (dim,))
            v.units, v.long_name = "m", f"{dim} coordinate of the grid"
            v[:] = values
        dims = ("polygon", "injection", "member", "time", "y", "x")
        for name, units in (("alk", "mmol m-3"), ("dic", "mmol m-3")):
            v = ds.createVariable(name, "f4", dims, zlib=True, complevel=1, shuffle=True,
                                  chunksizes=(1, 1, 1, NT, NY, NX))
            v.units = units
            v[:] = cell_values(name, p, i, m)[None, None, None]
        v = ds.createVariable("run_version", "i4", ())
        v.long_name = "version of the run configuration"
        v.assignValue(RUN_VERSION)
        ds.title = f"synthetic ensemble cell for the floe combine benchmark ({NAME_VERSION})"
    os.rename(tmp, path)
    return 1


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--dir", required=True)
    ap.add_argument("--polygon", type=int, required=True)
    ap.add_argument("--injection", type=int, required=True)
    ap.add_argument("--member", type=int, required=True)
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--force", action="store_true", help="write every file again")
    a = ap.parse_args(argv)
    if min(a.polygon, a.injection, a.member) < 1 or a.polygon > 9999 or max(a.injection, a.member) > 999:
        ap.error("grid sizes are 1..9999 (polygon) and 1..999 (injection, member)")
    params = {"name_version": NAME_VERSION, "polygon": a.polygon, "injection": a.injection, "member": a.member,
              "time": NT, "y": NY, "x": NX}
    files = a.polygon * a.injection * a.member
    os.makedirs(a.dir, exist_ok=True)
    marker = os.path.join(a.dir, MARKER)
    if not a.force and os.path.exists(marker):
        with open(marker) as f:
            old = json.load(f)
        if old.get("params") == params and sum(1 for n in os.listdir(a.dir) if n.startswith("cell_p") and n.endswith(".nc")) == files:
            print(json.dumps({**old, "generated": False}))
            return 0
    if os.path.exists(marker):
        os.remove(marker)
    for n in os.listdir(a.dir):  # files of another grid or version, and leftovers of an interrupted run
        if n.startswith("cell_p") and (n.endswith(".nc") or ".nc.tmp" in n):
            os.remove(os.path.join(a.dir, n))
    t = time.perf_counter()
    jobs = [(a.dir, p, i, m) for p in range(a.polygon) for i in range(a.injection) for m in range(a.member)]
    with multiprocessing.get_context("fork").Pool(max(1, a.jobs)) as pool:
        written = sum(pool.imap_unordered(write_file, jobs, chunksize=64))
    seconds = time.perf_counter() - t
    total = sum(os.path.getsize(os.path.join(a.dir, file_name(p, i, m))) for _, p, i, m in jobs)
    rec = {"params": params, "files": files, "bytes": total, "generate_s": round(seconds, 2), "jobs": a.jobs,
           "written": written, "dir": os.path.abspath(a.dir)}
    with open(marker + ".tmp", "w") as f:
        json.dump(rec, f)
    os.rename(marker + ".tmp", marker)
    print(json.dumps({**rec, "generated": True}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
