# bench/make_virtualize_files.py owns the input files of the virtualize benchmark (issue 4): a POP-like NetCDF-4 file, its paged copy, ERA5-like NetCDF-4 and NetCDF-3 files.
"""Deterministic generator of the files that bench/run_virtualize.sh virtualizes.

  make_virtualize_files.py [--dir DIR] [--only NAME[,NAME...]] [--force]
                           [--upload-endpoint URL --bucket B [--prefix P] [--region R]]

Writes (each only if missing, through a temporary name and an atomic rename) into DIR (default
/tmp/floe-bench-virtualize) and prints one JSON line per file: {"name", "path", "bytes", "format", ...}.
With --upload-endpoint, also uploads each file to s3://B/P<file name> on that S3 endpoint (bucket created if
absent; an object already there with the same size is kept: the versioned name fixes its content) and adds
"key" to its line. Credentials: AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY, else FLOE_TEST_S3_ACCESS_KEY /
FLOE_TEST_S3_SECRET_KEY.

pop.nc          ~100 MB NetCDF-4 shaped like a CESM POP history file: dims time (unlimited, 1), z_t 60,
                z_w 60, nlat 384, nlon 320, d2 2; 1-D coordinates time, z_t, z_w, time_bound; 12 2-D float64
                grid variables (TLAT, TLONG, ... written right after their definition, as a model's init
                step does, so their object headers and chunk B-trees sit between the data); 8 3-D float32
                variables (1 x 60 x 384 x 320, chunks 1 x 10 x 192 x 160 = 24 chunks) and 26 2-D float32
                variables (1 x 384 x 320, one chunk); 50 variables in all, so the root group's links are
                dense; every variable has 9 attributes (long_name, units, coordinates, grid_loc,
                cell_methods, _FillValue, missing_value, valid_range, comment) so attributes are dense;
                20 global attributes; zlib level 1 with netCDF4-python's default shuffle. Written with the
                system netCDF-C (4.9.0 and HDF5 1.10.8 on Debian bookworm) through ctypes, with
                netCDF4-python's calls: see SystemNetCDF for why not through netCDF4-python's wheel.
                The data is a smooth field plus seeded noise with the low 14 mantissa bits cleared, so
                zlib does real work (about 2.7:1 on the 3-D variables) and the file lands at 100.4 MB.
pop-paged.nc    pop.nc after `h5repack -S PAGE -G 4194304` (paged aggregation, 4 MiB pages: metadata
                gathered at the front).
era5.nc         ERA5-like monthly single-variable NetCDF-4 file as the new CDS writes it: t2m float32
                (valid_time 744 hourly steps, latitude, longitude), one chunk per hour, zlib 1. Scaled
                down from 0.25 deg (721 x 1440, 3.1 GB raw) to 2 deg (91 x 180, 48.7 MB raw, 8.7 MB on
                disk: it compresses 5.6:1); the 744 steps are kept, so the chunk index has the real 744
                entries (a B-tree v1 of 12 leaves under one root).
era5-nc3.nc     ERA5-like NetCDF-3 (64-bit offset, CDF-2) file as the old CDS wrote it: t2m and msl as
                int16 with scale_factor/add_offset, time as the record dimension (744 records), 2 deg
                grid; 48.7 MB. Each record of each variable is one chunk (1,488 refs).

Everything is seeded (numpy PCG64) and written in a fixed order, so the contents are identical between
runs; NAME_VERSION below is part of every file name and must change when the generator changes.
"""
import argparse
import ctypes
import json
import os
import shutil
import subprocess
import sys
import time

import numpy as np

NAME_VERSION = "v2"
DEFAULT_DIR = "/tmp/floe-bench-virtualize"
MANTISSA_DROP_BITS = 13   # low float32 mantissa bits cleared: tunes the zlib ratio (~100 MB pop.nc)


def quantize(a, bits=MANTISSA_DROP_BITS):
    """Clears the low `bits` mantissa bits of a float32 array (in place on a copy)."""
    a = np.ascontiguousarray(a, dtype=np.float32)
    u = a.view(np.uint32)
    u &= np.uint32((0xFFFFFFFF << bits) & 0xFFFFFFFF)
    return a


def smooth_field(rng, shape, scale, offset, noise):
    """A smooth pattern (sums of separable sines) with seeded noise, float32."""
    out = np.full(shape, offset, dtype=np.float32)
    grids = np.meshgrid(*[np.linspace(0.0, 1.0, n, dtype=np.float32) for n in shape], indexing="ij", sparse=True)
    for k in range(3):
        term = np.float32(scale / (k + 1))
        for g in grids:
            term = term * np.sin(np.float32(np.pi * (k + 1) * rng.uniform(0.5, 2.0)) * g
                                 + np.float32(rng.uniform(0, np.pi)))
        out += term
    out += rng.standard_normal(shape, dtype=np.float32) * np.float32(noise)
    return out


COMMON_ATTRS = ("long_name", "units", "coordinates", "grid_loc", "cell_methods", "_FillValue",
                "missing_value", "valid_range", "comment")


def var_attrs(name, units, coords, grid_loc, dtype):
    fill = np.array(9.96921e36, dtype=dtype)
    return {
        "long_name": f"{name} (synthetic POP-like field)",
        "units": units,
        "coordinates": coords,
        "grid_loc": grid_loc,
        "cell_methods": "time: mean",
        "missing_value": fill,
        "valid_range": np.array([-1e30, 1e30], dtype=dtype),
        "comment": f"generated by bench/make_virtualize_files.py {NAME_VERSION}; not model output",
    }


class SystemNetCDF:
    """The few netCDF4.Dataset calls write_pop makes, on the system netCDF-C (libnetcdf.so.19) through ctypes.

    The layout of a NetCDF-4 file depends on the HDF5 library that writes it. netCDF4-python's wheels bundle
    HDF5 2.x, which creates every chunk index (B-tree v1 root) when the variable is defined, so all metadata
    ends up in the first few MB. HDF5 1.8-1.12, which wrote the archives (and Debian bookworm's 1.10.8, the
    ground truth of docs/research/hdf5.md), allocates a chunk index when the variable's first chunk is written,
    between the data: the scattered layout issue 4 is about. So pop.nc is written through this class.
    """

    TYPES = {"f4": (5, "float"), "f8": (6, "double")}

    class Var:
        def __init__(self, ds, varid, dtype):
            self.__dict__.update(_ds=ds, _id=varid, _dtype=np.dtype(dtype))

        def setncatts(self, attrs):
            for k, v in attrs.items():
                self._ds._put_att(self._id, k, v)

        def __setattr__(self, name, value):
            self._ds._put_att(self._id, name, value)

        def __setitem__(self, key, value):
            data = np.ascontiguousarray(value, dtype=self._dtype)
            key = key if isinstance(key, tuple) else (key,)
            free = iter(data.shape if data.ndim else (1,))
            start, count = [], []
            for k in key:
                if isinstance(k, int):
                    start.append(k)
                    count.append(1)
                else:
                    n = next(free)
                    start.append(k.start or 0)
                    count.append(n if k.stop is None else k.stop - (k.start or 0))
            for n in free:
                start.append(0)
                count.append(n)
            size_t = ctypes.c_size_t * len(start)
            fn = getattr(self._ds.lib, f"nc_put_vara_{SystemNetCDF.TYPES[self._dtype.str[1:]][1]}")
            self._ds._check(fn(self._ds.ncid, self._id, size_t(*start), size_t(*count),
                               data.ctypes.data_as(ctypes.c_void_p)))

    def __init__(self, path):
        import ctypes.util

        name = ctypes.util.find_library("netcdf")
        if not name:
            raise RuntimeError("libnetcdf not found (Debian: libnetcdf-dev)")
        self.lib = ctypes.CDLL(name)
        self.lib.nc_strerror.restype = ctypes.c_char_p
        ncid = ctypes.c_int()
        self._check(self.lib.nc_create(path.encode(), 0x1000, ctypes.byref(ncid)))  # NC_NETCDF4 | NC_CLOBBER
        self.ncid = ncid.value
        self.dims = {}

    def _check(self, status):
        if status != 0:
            raise RuntimeError(f"netCDF-C: {self.lib.nc_strerror(status).decode()}")

    def _put_att(self, varid, name, value):
        if isinstance(value, str):
            raw = value.encode()
            self._check(self.lib.nc_put_att_text(self.ncid, varid, name.encode(), ctypes.c_size_t(len(raw)), raw))
            return
        arr = np.atleast_1d(np.asarray(value))
        xtype, suffix = self.TYPES[arr.dtype.str[1:]]
        arr = np.ascontiguousarray(arr)
        self._check(getattr(self.lib, f"nc_put_att_{suffix}")(
            self.ncid, varid, name.encode(), xtype, ctypes.c_size_t(arr.size), arr.ctypes.data_as(ctypes.c_void_p)))

    def set_fill_off(self):
        old = ctypes.c_int()
        self._check(self.lib.nc_set_fill(self.ncid, 0x100, ctypes.byref(old)))  # NC_NOFILL

    def setncattr(self, name, value):
        self._put_att(-1, name, value)  # NC_GLOBAL

    def createDimension(self, name, size):
        dimid = ctypes.c_int()
        self._check(self.lib.nc_def_dim(self.ncid, name.encode(), ctypes.c_size_t(size or 0), ctypes.byref(dimid)))
        self.dims[name] = dimid.value

    def createVariable(self, name, dtype, dims, zlib=False, complevel=4, chunksizes=None, fill_value=None):
        xtype = self.TYPES[dtype][0]
        dimids = (ctypes.c_int * len(dims))(*[self.dims[d] for d in dims])
        varid = ctypes.c_int()
        self._check(self.lib.nc_def_var(self.ncid, name.encode(), xtype, len(dims), dimids, ctypes.byref(varid)))
        v = varid.value
        if chunksizes is not None:
            self._check(self.lib.nc_def_var_chunking(self.ncid, v, 0, (ctypes.c_size_t * len(chunksizes))(*chunksizes)))
        if zlib:  # netCDF4-python's defaults: shuffle on with zlib
            self._check(self.lib.nc_def_var_deflate(self.ncid, v, 1, 1, complevel))
        if fill_value is not None:
            fill = np.array([fill_value], dtype=dtype)
            self._check(self.lib.nc_def_var_fill(self.ncid, v, 0, fill.ctypes.data_as(ctypes.c_void_p)))
        return SystemNetCDF.Var(self, v, dtype)

    def close(self):
        self._check(self.lib.nc_close(self.ncid))


def write_pop(path, rng):
    ds = SystemNetCDF(path)
    ds.set_fill_off()
    for i in range(20):
        ds.setncattr(f"global_attr_{i:02d}", f"synthetic POP history file, attribute {i}")
    ds.createDimension("time", None)
    ds.createDimension("d2", 2)
    ds.createDimension("z_t", 60)
    ds.createDimension("z_w", 60)
    ds.createDimension("nlat", 384)
    ds.createDimension("nlon", 320)

    def coord(name, dims, dtype, units, values):
        v = ds.createVariable(name, dtype, dims)
        v.long_name = name
        v.units = units
        v[:] = values
        return v

    coord("time", ("time",), "f8", "days since 0001-01-01 00:00:00", [730000.5])
    coord("time_bound", ("time", "d2"), "f8", "days since 0001-01-01 00:00:00", [[730000.0, 730001.0]])
    coord("z_t", ("z_t",), "f4", "centimeters", np.linspace(500.0, 537500.0, 60, dtype=np.float32))
    coord("z_w", ("z_w",), "f4", "centimeters", np.linspace(0.0, 525000.0, 60, dtype=np.float32))

    # Grid variables: defined and written one by one, as a model's initialisation does.
    grid = ["TLAT", "TLONG", "ULAT", "ULONG", "HT", "HU", "DXT", "DYT", "TAREA", "UAREA", "ANGLE", "KMT"]
    for name in grid:
        v = ds.createVariable(name, "f8", ("nlat", "nlon"), zlib=True, complevel=1, fill_value=9.96921e36)
        v.setncatts({k: val for k, val in var_attrs(name, "degrees", "ULONG ULAT", "2110", "f8").items()
                     if k != "cell_methods"})
        v.cell_methods = "time: point"
        data = smooth_field(rng, (384, 320), 90.0, 0.0, 0.05).astype(np.float64)
        v[:] = np.round(data, 2)

    v3 = [f"V3D_{i:02d}" for i in range(8)]
    v2 = [f"V2D_{i:02d}" for i in range(26)]
    made = {}
    for name in v3:
        v = ds.createVariable(name, "f4", ("time", "z_t", "nlat", "nlon"), zlib=True, complevel=1,
                              chunksizes=(1, 10, 192, 160), fill_value=np.float32(9.96921e36))
        v.setncatts(var_attrs(name, "degC", "TLONG TLAT z_t time", "3111", "f4"))
        made[name] = v
    for name in v2:
        v = ds.createVariable(name, "f4", ("time", "nlat", "nlon"), zlib=True, complevel=1,
                              chunksizes=(1, 384, 320), fill_value=np.float32(9.96921e36))
        v.setncatts(var_attrs(name, "W/m^2", "TLONG TLAT time", "2110", "f4"))
        made[name] = v
    for name in v3:
        for k in range(0, 60, 10):  # one chunk row at a time: bounded memory
            made[name][0, k:k + 10] = quantize(smooth_field(rng, (10, 384, 320), 20.0, 10.0, 0.5))
    for name in v2:
        made[name][0] = quantize(smooth_field(rng, (384, 320), 100.0, 50.0, 2.0))
    ds.close()


def write_era5_nc4(path, rng):
    import netCDF4

    ds = netCDF4.Dataset(path, "w", format="NETCDF4")
    ds.set_fill_off()
    ds.Conventions = "CF-1.7"
    ds.institution = "synthetic (ERA5-like layout, bench/make_virtualize_files.py)"
    ds.createDimension("valid_time", 744)
    ds.createDimension("latitude", 91)
    ds.createDimension("longitude", 180)
    t = ds.createVariable("valid_time", "i8", ("valid_time",))
    t.units = "seconds since 1970-01-01"
    t.calendar = "proleptic_gregorian"
    t[:] = 1704067200 + 3600 * np.arange(744, dtype=np.int64)
    la = ds.createVariable("latitude", "f8", ("latitude",))
    la.units = "degrees_north"
    la[:] = np.linspace(90.0, -90.0, 91)
    lo = ds.createVariable("longitude", "f8", ("longitude",))
    lo.units = "degrees_east"
    lo[:] = np.linspace(0.0, 358.0, 180)
    v = ds.createVariable("t2m", "f4", ("valid_time", "latitude", "longitude"), zlib=True, complevel=1,
                          chunksizes=(1, 91, 180), fill_value=np.float32(np.nan))
    v.setncatts({"long_name": "2 metre temperature", "units": "K", "standard_name": "unknown",
                 "GRIB_paramId": np.int64(167), "GRIB_shortName": "2t", "GRIB_units": "K",
                 "coordinates": "number valid_time latitude longitude expver"})
    for s in range(0, 744, 124):
        v[s:s + 124] = quantize(smooth_field(rng, (124, 91, 180), 15.0, 285.0, 0.3))
    ds.close()


def write_era5_nc3(path, rng):
    import netCDF4

    ds = netCDF4.Dataset(path, "w", format="NETCDF3_64BIT_OFFSET")
    ds.set_fill_off()
    ds.Conventions = "CF-1.6"
    ds.history = "synthetic (ERA5-like old-CDS layout, bench/make_virtualize_files.py)"
    ds.createDimension("longitude", 180)
    ds.createDimension("latitude", 91)
    ds.createDimension("time", None)
    lo = ds.createVariable("longitude", "f4", ("longitude",))
    lo.units = "degrees_east"
    lo[:] = np.linspace(0.0, 358.0, 180, dtype=np.float32)
    la = ds.createVariable("latitude", "f4", ("latitude",))
    la.units = "degrees_north"
    la[:] = np.linspace(90.0, -90.0, 91, dtype=np.float32)
    t = ds.createVariable("time", "i4", ("time",))
    t.units = "hours since 1900-01-01 00:00:00.0"
    t.calendar = "gregorian"
    specs = {"t2m": ("2 metre temperature", "K", 285.0, 15.0), "msl": ("Mean sea level pressure", "Pa", 101325.0, 1500.0)}
    vs = {}
    for name, (long_name, units, offset, scale) in specs.items():
        v = ds.createVariable(name, "i2", ("time", "latitude", "longitude"), fill_value=np.int16(-32767))
        v.scale_factor = np.float64(scale * 4 / 65534)
        v.add_offset = np.float64(offset)
        v.missing_value = np.int16(-32767)
        v.units = units
        v.long_name = long_name
        v.set_auto_maskandscale(False)
        vs[name] = (v, offset, scale)
    t[:] = 1078200 + np.arange(744, dtype=np.int32)
    for s in range(0, 744, 124):
        for name, (v, offset, scale) in vs.items():
            f = smooth_field(rng, (124, 91, 180), scale, offset, scale / 50)
            v[s:s + 124] = np.clip(np.round((f - offset) / v.scale_factor), -32766, 32766).astype(np.int16)
    ds.close()


def repack_paged(src, dst):
    subprocess.run(["h5repack", "-S", "PAGE", "-G", "4194304", src, dst], check=True, timeout=600)


FILES = {  # name -> (file name, format, writer or (source, converter))
    "pop": (f"pop-{NAME_VERSION}.nc", "netcdf4", write_pop),
    "pop-paged": (f"pop-paged-{NAME_VERSION}.nc", "netcdf4 (paged, 4 MiB)", ("pop", repack_paged)),
    "era5": (f"era5-{NAME_VERSION}.nc", "netcdf4", write_era5_nc4),
    "era5-nc3": (f"era5-nc3-{NAME_VERSION}.nc", "netcdf3 (64-bit offset)", write_era5_nc3),
}
SEEDS = {"pop": 4001, "era5": 4002, "era5-nc3": 4003}


def ensure(name, out_dir, force, made):
    fname, fmt, how = FILES[name]
    path = os.path.join(out_dir, fname)
    if force or not os.path.exists(path):
        t0 = time.monotonic()
        tmp = path + f".tmp-{os.getpid()}"
        try:
            if callable(how):
                how(tmp, np.random.Generator(np.random.PCG64(SEEDS[name])))
            else:
                src_name, convert = how
                src = ensure(src_name, out_dir, force and src_name not in made, made)
                convert(src, tmp)
            os.replace(tmp, path)
        finally:
            if os.path.exists(tmp):
                os.unlink(tmp)
        made[name] = round(time.monotonic() - t0, 1)
        print(f"make_virtualize_files: wrote {path} ({os.path.getsize(path):,} bytes) in {made[name]} s",
              file=sys.stderr)
    return path


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
            sys.exit(f"make_virtualize_files: s3://{target} has {got} bytes after upload, want {size}")
        print(f"make_virtualize_files: uploaded s3://{target} in {time.monotonic() - t0:.1f} s", file=sys.stderr)
    return key


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--dir", default=os.environ.get("VIRTUALIZE_FILES_DIR", DEFAULT_DIR))
    p.add_argument("--only", default="", help="comma-separated subset of: " + ", ".join(FILES))
    p.add_argument("--force", action="store_true", help="regenerate even if present")
    p.add_argument("--upload-endpoint", help="S3 endpoint to upload the files to")
    p.add_argument("--bucket", default="floe-bench")
    p.add_argument("--prefix", default="virtualize/")
    p.add_argument("--region", default="us-east-1")
    a = p.parse_args(argv)
    names = [n for n in a.only.split(",") if n] or list(FILES)
    unknown = [n for n in names if n not in FILES]
    if unknown:
        p.error(f"unknown file(s): {', '.join(unknown)}")
    if any(isinstance(FILES[n][2], tuple) for n in names) and not shutil.which("h5repack"):
        p.error("h5repack not found (Debian: hdf5-tools)")
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
    made = {}
    for n in names:
        path = ensure(n, a.dir, a.force, made)
        rec = {"name": n, "path": path, "bytes": os.path.getsize(path), "format": FILES[n][1]}
        if n in made:
            rec["generated_s"] = made[n]
        if fs is not None:
            rec["key"] = upload(fs, path, a.bucket, a.prefix + os.path.basename(path), force=n in made)
        print(json.dumps(rec))
    return 0


if __name__ == "__main__":
    sys.exit(main())
