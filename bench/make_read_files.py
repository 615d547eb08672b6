# bench/make_read_files.py owns the input files of the read benchmark (issue 5): ERA5-like monthly NetCDF-4 files of 6-hourly t2m (shuffle + zlib 4) totalling 2 GB decoded.
"""Deterministic generator of the NetCDF-4 files that bench/run_read.sh virtualizes and reads.

  make_read_files.py [--dir DIR] [--force]
                     [--upload-endpoint URL --bucket B [--prefix P] [--region R]]

Writes (each only if missing, through a temporary name and an atomic rename) into DIR (default
$FLOE_BENCH_DATA/read, else /tmp/floe-bench-read) and prints one JSON line per file: {"name", "path",
"bytes", "steps", "glob" (the pattern that matches the four), ...}. With --upload-endpoint, also uploads each file to s3://B/P<file name> (bucket created
if absent; an object already there with the same size is kept: the versioned name fixes its content) and adds
"key" to its line. Credentials: AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY, else FLOE_TEST_S3_ACCESS_KEY /
FLOE_TEST_S3_SECRET_KEY.

The files: era5-t2m-6h-2020MM-v2.nc for January to April 2020 (124, 116, 124 and 120 steps; 484 in all),
each a single-variable NetCDF-4 file as the new CDS writes ERA5 (dims valid_time, latitude, longitude;
valid_time int64 "seconds since 1970-01-01", proleptic_gregorian, chunked by day; latitude 90 .. -90 and longitude 0 ..
359.75 at 0.25 deg, 721 x 1440), but 6-hourly rather than hourly so that four months fit in 2 GB:
  t2m  float32 (valid_time, latitude, longitude), chunks (4, 181, 360) = 1.04 MB decoded (one day x a
       quarter of the latitudes x a quarter of the longitudes; the last latitude chunk has 180 of its 181
       rows), shuffle + zlib level 4 (netCDF4-python's defaults with zlib=True), _FillValue NaN.
  121 days x 16 spatial chunks = 1,936 chunks; 484 x 721 x 1440 x 4 B = 2.01 GB decoded, 0.72 GB stored.
The time chunk (one day) divides every month, so the files concatenate along valid_time into one Zarr
array with a regular grid (NCAR's ERA5 chunks of 27 steps would not).

Values: a smooth climatology (latitude profile plus waves in longitude), a diurnal and a synoptic cycle,
and seeded Gaussian noise of 0.15 K, rounded to multiples of 2^-9 K as GRIB's 16-bit packing of ERA5 t2m
leaves them (the low mantissa bits of a float32 near 280 K are then zero), so shuffle + zlib sees data
that compresses like the real field (about 2.5:1 here). Everything is seeded (numpy PCG64) and written in a
fixed order, so the contents are identical between runs; NAME_VERSION is part of every file name and must
change when the generator changes.
"""
import argparse
import json
import os
import sys
import time

import numpy as np

NAME_VERSION = "v2"
MONTHS = [(2020, 1, 31), (2020, 2, 29), (2020, 3, 31), (2020, 4, 30)]
STEPS_PER_DAY = 4
NLAT, NLON = 721, 1440
CHUNKS = (STEPS_PER_DAY, 181, 360)
COMPLEVEL = 4
SLAB_DAYS = 8          # days generated and written per call (whole time chunks: no partial chunk rewrites)
QUANTUM = 2.0 ** -9    # K: the step GRIB's 16-bit packing of t2m leaves
NOISE_K = 0.15


def default_dir():
    base = os.environ.get("FLOE_BENCH_DATA")
    return os.path.join(base, "read") if base else "/tmp/floe-bench-read"


def file_name(year, month):
    return f"era5-t2m-6h-{year}{month:02d}-{NAME_VERSION}.nc"


def seconds_since_epoch(year, month):
    return int(np.datetime64(f"{year}-{month:02d}-01T00:00:00", "s").astype(np.int64))


def climatology(lat, lon):
    """A smooth 2-D t2m climatology (K), float64 (NLAT, NLON)."""
    la = np.radians(lat)[:, None]
    lo = np.radians(lon)[None, :]
    return (250.0 + 50.0 * np.cos(la) ** 2 + 6.0 * np.sin(3 * lo) * np.cos(la) + 3.0 * np.cos(5 * lo + 2 * la)
            - 8.0 * np.exp(-((lat[:, None] - 30.0) ** 2) / 200.0) * (np.sin(2 * lo) > 0.3))


def write_month(path, year, month, days, rng):
    import netCDF4

    steps = days * STEPS_PER_DAY
    lat = np.linspace(90.0, -90.0, NLAT)
    lon = np.arange(NLON) * 0.25
    clim = climatology(lat, lon).astype(np.float32)
    la = np.radians(lat).astype(np.float32)[None, :, None]
    lo = np.radians(lon).astype(np.float32)[None, None, :]

    ds = netCDF4.Dataset(path, "w", format="NETCDF4")
    ds.set_fill_off()
    ds.Conventions = "CF-1.7"
    ds.institution = f"synthetic (ERA5-like layout, bench/make_read_files.py {NAME_VERSION})"
    ds.createDimension("valid_time", steps)
    ds.createDimension("latitude", NLAT)
    ds.createDimension("longitude", NLON)
    # Chunked by day like t2m: floe joins files along valid_time only when every file's length is a multiple of
    # the coordinate's chunk length, even for the loaded coordinate (a contiguous 124-step coordinate is one
    # chunk of 124 and would not join the 116-step February).
    t = ds.createVariable("valid_time", "i8", ("valid_time",), chunksizes=(STEPS_PER_DAY,))
    t.long_name = "time"
    t.standard_name = "time"
    t.units = "seconds since 1970-01-01"
    t.calendar = "proleptic_gregorian"
    t0 = seconds_since_epoch(year, month)
    t[:] = t0 + (86400 // STEPS_PER_DAY) * np.arange(steps, dtype=np.int64)
    v = ds.createVariable("latitude", "f8", ("latitude",))
    v.units = "degrees_north"
    v.standard_name = "latitude"
    v[:] = lat
    v = ds.createVariable("longitude", "f8", ("longitude",))
    v.units = "degrees_east"
    v.standard_name = "longitude"
    v[:] = lon
    t2m = ds.createVariable("t2m", "f4", ("valid_time", "latitude", "longitude"), zlib=True, shuffle=True,
                            complevel=COMPLEVEL, chunksizes=CHUNKS, fill_value=np.float32(np.nan))
    t2m.setncatts({"long_name": "2 metre temperature", "units": "K", "standard_name": "unknown",
                   "GRIB_paramId": np.int64(167), "GRIB_shortName": "2t", "GRIB_units": "K",
                   "coordinates": "valid_time latitude longitude"})
    for first in range(0, steps, SLAB_DAYS * STEPS_PER_DAY):
        n = min(SLAB_DAYS * STEPS_PER_DAY, steps - first)
        hours = ((t0 - seconds_since_epoch(2020, 1)) / 3600.0 + 6.0 * np.arange(first, first + n)).astype(np.float32)
        hours = hours[:, None, None]
        diurnal = 5.0 * np.cos(la) * np.cos(np.float32(2 * np.pi / 24) * hours + lo)
        synoptic = 4.0 * np.sin(np.float32(2 * np.pi / 120) * hours + 4 * lo + 3 * la) * np.sin(2 * la) ** 2
        field = clim[None] + diurnal + synoptic
        field += rng.standard_normal(field.shape, dtype=np.float32) * np.float32(NOISE_K)
        field = (np.round(field / np.float32(QUANTUM)) * np.float32(QUANTUM)).astype(np.float32)
        t2m[first:first + n] = field
    ds.close()
    return steps


def ensure(year, month, days, out_dir, force):
    path = os.path.join(out_dir, file_name(year, month))
    generated = None
    if force or not os.path.exists(path):
        t0 = time.monotonic()
        tmp = path + f".tmp-{os.getpid()}"
        try:
            write_month(tmp, year, month, days, np.random.Generator(np.random.PCG64(5000 + 100 * year + month)))
            os.replace(tmp, path)
        finally:
            if os.path.exists(tmp):
                os.unlink(tmp)
        generated = round(time.monotonic() - t0, 1)
        print(f"make_read_files: wrote {path} ({os.path.getsize(path):,} bytes) in {generated} s", file=sys.stderr)
    return path, generated


def upload(fs, path, bucket, key, force):
    target = f"{bucket}/{key}"
    size = os.path.getsize(path)
    try:
        have = None if force else fs.info(target)["size"]
    except FileNotFoundError:
        have = None
    if have != size:
        t0 = time.monotonic()
        fs.put_file(path, target)
        got = fs.info(target)["size"]
        if got != size:
            sys.exit(f"make_read_files: s3://{target} has {got} bytes after upload, want {size}")
        print(f"make_read_files: uploaded s3://{target} in {time.monotonic() - t0:.1f} s", file=sys.stderr)
    return key


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--dir", default=default_dir())
    p.add_argument("--force", action="store_true", help="regenerate even if present")
    p.add_argument("--upload-endpoint", help="S3 endpoint to upload the files to")
    p.add_argument("--bucket", default="floe-bench")
    p.add_argument("--prefix", default="read/")
    p.add_argument("--region", default="us-east-1")
    a = p.parse_args(argv)
    os.makedirs(a.dir, exist_ok=True)
    fs = None
    if a.upload_endpoint:
        sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
        from setup_ranged_get import ensure_bucket, s3_filesystem

        ak = os.environ.get("AWS_ACCESS_KEY_ID") or os.environ.get("FLOE_TEST_S3_ACCESS_KEY")
        sk = os.environ.get("AWS_SECRET_ACCESS_KEY") or os.environ.get("FLOE_TEST_S3_SECRET_KEY")
        if not ak or not sk:
            p.error("no S3 credentials in the environment")
        fs = s3_filesystem(a.upload_endpoint, ak, sk, a.region)
        ensure_bucket(fs, a.bucket, a.region)
    for year, month, days in MONTHS:
        path, generated = ensure(year, month, days, a.dir, a.force)
        rec = {"name": os.path.basename(path), "path": path, "bytes": os.path.getsize(path),
               "steps": days * STEPS_PER_DAY, "glob": f"era5-t2m-6h-*-{NAME_VERSION}.nc"}
        if generated is not None:
            rec["generated_s"] = generated
        if fs is not None:
            rec["key"] = upload(fs, path, a.bucket, a.prefix + os.path.basename(path), force=generated is not None)
        print(json.dumps(rec))
    return 0


if __name__ == "__main__":
    sys.exit(main())
