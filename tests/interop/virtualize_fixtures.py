# Ground-truth inputs of `floe virtualize` (tests/interop/test_virtualize.py): NetCDF-3/NetCDF-4/HDF5 files written by real writers, the sample files on disk, and what each must produce.
"""Fixtures of the `floe virtualize` ground-truth suite.

`generate(dest)` writes a matrix of small files (deterministic content, each well under a few MB) with
the real writers: netCDF4-python (netCDF-C), Debian's ncgen (netCDF-C 4.9.0 on libhdf5 1.10.8), h5py
(libver earliest and latest, every layout-v4 chunk index), hdf5plugin filters, h5netcdf, and h5repack
(paged aggregation, superblock v3). `external_fixtures()` lists the real files read in place:
$FLOE_TESTDATA/hdf5, $FLOE_TESTDATA/netcdf and Debian's libncarg-data NetCDF files.

Every `Fixture` says how its values are checked (`kind`), which variables must be named in floe's
warnings, and, for generated HDF5 files, which layout and chunk index each dataset was written with, so
`check_layouts` can confirm the file really exercises what it claims (through h5py and h5debug).

Run directly to generate into a directory and print the layout check:
    .venv/bin/python tests/interop/virtualize_fixtures.py /tmp/fixtures
"""

from __future__ import annotations

import os
import re
import shutil
import struct
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np

PROJECT_ROOT = Path(__file__).resolve().parents[2]
NCARG_ROOT = Path("/usr/share/ncarg")
# libncarg-data ships one 11.6 MB file (cdf/trinidad.nc); larger files are left out to keep the run short.
NCARG_MAX_BYTES = 4 * 1024 * 1024

# Layout names used in Fixture.layouts (what check_layouts verifies).
CONTIGUOUS = "contiguous"
COMPACT = "compact"
BTREE1 = "chunked/btree-v1"  # layout message v3
SINGLE = "chunked/single-chunk"
IMPLICIT = "chunked/implicit"
FIXED = "chunked/fixed-array"
FIXED_PAGED = "chunked/fixed-array-paged"  # more than 1024 chunks: the data block is paged
EXTENSIBLE = "chunked/extensible-array"
BTREE2 = "chunked/btree-v2"


@dataclass(frozen=True)
class Fixture:
    name: str
    path: Path
    # How values are compared: "netcdf3" and "netcdf4" through xarray's netcdf4 engine (CF-decoded);
    # "hdf5" array by array against h5py's raw `ds[...]`.
    kind: str
    covers: str
    # Variables (paths like "/g/v") that Zarr cannot express: each must be named in floe's warnings.
    must_warn: frozenset[str] = frozenset()
    # Dataset path -> intended layout (generated HDF5 files only; checked by check_layouts).
    layouts: dict[str, str] = field(default_factory=dict)
    # File-level properties checked by check_layouts: superblock version, user block, page size.
    superblock: int | None = None
    userblock: int | None = None
    page_size: int | None = None
    generated: bool = True

    @property
    def id(self) -> str:
        return self.name


# --------------------------------------------------------------------------------------------------
# netCDF4-python (netCDF-C) files
# --------------------------------------------------------------------------------------------------


def _rng(seed: int) -> np.random.Generator:
    return np.random.default_rng(seed)


def _nc4_file(path: Path, fmt: str) -> dict[str, str]:
    """The NETCDF4 / NETCDF4_CLASSIC matrix file. Returns dataset path -> layout."""
    import netCDF4

    classic = fmt == "NETCDF4_CLASSIC"
    rng = _rng(4 if classic else 5)
    layouts: dict[str, str] = {}
    with netCDF4.Dataset(path, "w", format=fmt) as ds:
        ds.title = "floe virtualize fixture"
        ds.history = "written by tests/interop/virtualize_fixtures.py"
        ds.Conventions = "CF-1.8"
        ds.setncattr("answer", np.int32(42))
        ds.setncattr("weights", np.array([0.25, 0.5, 1.5], dtype="f8"))
        if not classic:
            ds.setncattr_string("vlen_text", "a vlen string attribute")
            ds.setncattr_string("vlen_list", ["one", "two", "three"])
            ds.setncattr("u8_attr", np.uint64(2**40))
        ds.createDimension("time", None)
        ds.createDimension("lat", 12)
        ds.createDimension("lon", 16)
        ds.createDimension("station", 3)
        ds.createDimension("nchar", 8)
        nt = 5

        t = ds.createVariable("time", "f8", ("time",))
        t.units = "days since 2000-01-01 00:00:00"
        t.calendar = "standard"
        t.standard_name = "time"
        t[:] = np.arange(nt) * 0.5
        layouts["/time"] = BTREE1
        lat = ds.createVariable("lat", "f4", ("lat",))
        lat.units = "degrees_north"
        lat[:] = np.linspace(-55, 55, 12)
        lon = ds.createVariable("lon", "f4", ("lon",))
        lon.units = "degrees_east"
        lon[:] = np.linspace(0, 337.5, 16)
        layouts["/lat"] = layouts["/lon"] = CONTIGUOUS

        # zlib + shuffle, _FillValue with masked points, > 8 attributes (dense attribute storage).
        temp = ds.createVariable("temp", "f4", ("time", "lat", "lon"), zlib=True, complevel=4, shuffle=True,
                                 chunksizes=(1, 6, 8), fill_value=np.float32(-9999.0))
        temp.units = "K"
        temp.long_name = "air temperature"
        temp.standard_name = "air_temperature"
        temp.valid_min = np.float32(150)
        temp.valid_max = np.float32(350)
        temp.cell_methods = "time: mean"
        temp.comment = "dense attributes: more than eight of them"
        temp.source = "synthetic"
        temp.references = "none"
        temp.coordinates = "lat lon"
        values = (250 + 30 * rng.random((nt, 12, 16))).astype("f4")
        values[0, 0, :4] = -9999.0
        temp[:] = values
        layouts["/temp"] = BTREE1

        # fletcher32 checksums (netCDF-C puts the filter first).
        fl = ds.createVariable("checksummed", "f8", ("lat", "lon"), fletcher32=True, chunksizes=(6, 8))
        fl[:] = rng.standard_normal((12, 16))
        layouts["/checksummed"] = BTREE1

        # Big-endian, chunked and contiguous.
        be = ds.createVariable("big_endian", ">i4", ("lat", "lon"), endian="big", chunksizes=(4, 4))
        be[:] = np.arange(12 * 16, dtype="i4").reshape(12, 16) - 100
        layouts["/big_endian"] = BTREE1
        bec = ds.createVariable("big_endian_contig", ">f8", ("lat", "lon"), endian="big", contiguous=True)
        bec[:] = rng.standard_normal((12, 16))
        layouts["/big_endian_contig"] = CONTIGUOUS

        c = ds.createVariable("contig", "f8", ("lat", "lon"), contiguous=True)
        c[:] = np.arange(12 * 16).reshape(12, 16) * 0.25
        layouts["/contig"] = CONTIGUOUS
        # Chunk shape that does not divide the shape (partial edge chunks), no filter.
        cp = ds.createVariable("chunked_plain", "i2", ("lat", "lon"), chunksizes=(5, 7))
        cp[:] = (np.arange(12 * 16).reshape(12, 16) % 300 - 150).astype("i2")
        layouts["/chunked_plain"] = BTREE1

        # CF packing: scale_factor/add_offset/_FillValue.
        pk = ds.createVariable("packed", "i2", ("time", "lat", "lon"), zlib=True, chunksizes=(1, 12, 16),
                               fill_value=np.int16(-32767))
        pk.scale_factor = np.float32(0.01)
        pk.add_offset = np.float32(273.15)
        pk.units = "K"
        pk.set_auto_maskandscale(False)
        raw = rng.integers(-3000, 3000, (nt, 12, 16)).astype("i2")
        raw[1, 2, 3] = -32767
        pk[:] = raw
        layouts["/packed"] = BTREE1

        # missing_value and the netCDF default fill (no _FillValue set).
        mv = ds.createVariable("with_missing", "f4", ("lat", "lon"), chunksizes=(12, 16))
        mv.missing_value = np.float32(-1e20)
        mv.set_auto_maskandscale(False)
        vals = rng.random((12, 16)).astype("f4")
        vals[3, :] = -1e20
        mv[:] = vals

        # _Unsigned bytes with a fill value.
        ub = ds.createVariable("unsigned_bytes", "i1", ("lat", "lon"), fill_value=np.int8(-1))
        ub._Unsigned = "true"
        ub.set_auto_maskandscale(False)
        ub[:] = (np.arange(12 * 16).reshape(12, 16) % 256).astype("u1").view("i1")

        # Unwritten variables: default netCDF fill, explicit fill, contiguous.
        ds.createVariable("unwritten_default_fill", "f4", ("lat", "lon"), chunksizes=(6, 8))
        ds.createVariable("unwritten_explicit_fill", "i4", ("lat", "lon"), chunksizes=(6, 8),
                          fill_value=np.int32(-5))
        ds.createVariable("unwritten_contig", "f8", ("lat",), contiguous=True, fill_value=7.5)
        # Partly written along the unlimited dim: the chunks of the last time steps are holes.
        part = ds.createVariable("partial", "f4", ("time", "lat"), chunksizes=(1, 12), fill_value=np.float32(-1))
        part[0:2, :] = rng.random((2, 12)).astype("f4")

        # Scalars.
        crs = ds.createVariable("crs", "i4", ())
        crs.grid_mapping_name = "latitude_longitude"
        crs.semi_major_axis = 6378137.0
        crs.assignValue(0)
        sc = ds.createVariable("scalar_value", "f8", ())
        sc.units = "m"
        sc.assignValue(3.5)

        # Char variable (fixed-width names).
        names = ds.createVariable("station_name", "S1", ("station", "nchar"))
        names.long_name = "station name"
        names[:] = netCDF4.stringtochar(np.array(["alpha", "bravo", "charlie"], dtype="S8"))

        if not classic:
            for name, dtype, data in [("counts_u2", "u2", np.arange(3, dtype="u2") * 30000),
                                      ("ids_u8", "u8", np.array([1, 2**40, 2**63 + 5], dtype="u8")),
                                      ("ids_i8", "i8", np.array([-(2**62), 0, 2**62], dtype="i8"))]:
                v = ds.createVariable(name, dtype, ("station",))
                v[:] = data
            sv = ds.createVariable("station_label", str, ("station",))
            sv[:] = np.array(["north", "south-east", ""], dtype=object)

            fc = ds.createGroup("forecast")
            fc.description = "a nested group"
            fc.createDimension("step", 4)
            step = fc.createVariable("step", "i4", ("step",))
            step.units = "hours"
            step[:] = [0, 6, 12, 18]
            wind = fc.createVariable("wind", "f4", ("time", "step", "lat"), zlib=True, chunksizes=(2, 2, 12))
            wind.units = "m s-1"
            wind[:] = rng.random((nt, 4, 12)).astype("f4") * 20
            layouts["/forecast/wind"] = BTREE1
            mem = fc.createGroup("member")
            mem.createDimension("ens", 2)
            e = mem.createVariable("ens", "i4", ("ens",))
            e[:] = [1, 2]
            anom = mem.createVariable("anomaly", ">f8", ("ens", "step", "lon"), endian="big", chunksizes=(1, 4, 8),
                                      zlib=True, shuffle=True)
            anom[:] = rng.standard_normal((2, 4, 16))
            layouts["/forecast/member/anomaly"] = BTREE1
            # Zero length: an unlimited dimension never written and a variable on it.
            ob = ds.createGroup("observations")
            ob.createDimension("obs", None)
            o = ob.createVariable("obs_value", "f4", ("obs",), fill_value=np.float32(-1))
            o.units = "1"
    return layouts


def _nc3_file(path: Path, fmt: str) -> None:
    """NETCDF3_CLASSIC / NETCDF3_64BIT_OFFSET / NETCDF3_64BIT_DATA: record and fixed variables."""
    import netCDF4

    rng = _rng({"NETCDF3_CLASSIC": 31, "NETCDF3_64BIT_OFFSET": 32, "NETCDF3_64BIT_DATA": 35}[fmt])
    with netCDF4.Dataset(path, "w", format=fmt) as ds:
        ds.title = f"floe virtualize fixture ({fmt})"
        ds.institution = "floe"
        ds.setncattr("int_list", np.array([1, 2, 3], dtype="i4"))
        ds.createDimension("time", None)
        ds.createDimension("y", 5)
        ds.createDimension("x", 7)
        ds.createDimension("nchar", 6)
        nt = 4
        t = ds.createVariable("time", "f8", ("time",))
        t.units = "hours since 1990-01-01"
        t.calendar = "gregorian"
        t[:] = np.arange(nt) * 6.0
        y = ds.createVariable("y", "f4", ("y",))
        y[:] = np.arange(5) * 10.0
        x = ds.createVariable("x", "f4", ("x",))
        x[:] = np.arange(7) * -2.5
        a = ds.createVariable("rec_a", "f4", ("time", "y", "x"), fill_value=np.float32(1e30))
        a.units = "K"
        a.set_auto_maskandscale(False)
        va = rng.random((nt, 5, 7)).astype("f4")
        va[2, 1, 1] = 1e30
        a[:] = va
        # Short record of 10 bytes (padded to 12 in the record): scale/offset packing.
        b = ds.createVariable("rec_b", "i2", ("time", "y"))
        b.scale_factor = 0.5
        b.add_offset = 10.0
        b.set_auto_maskandscale(False)
        b[:] = rng.integers(-100, 100, (nt, 5)).astype("i2")
        # One byte per record (padded to 4).
        c = ds.createVariable("rec_c", "i1", ("time",))
        c.set_auto_maskandscale(False)
        c[:] = np.array([1, -2, 3, -4], dtype="i1")
        s = ds.createVariable("static", "f8", ("y", "x"))
        s.missing_value = -999.0
        s.set_auto_maskandscale(False)
        vs = rng.standard_normal((5, 7))
        vs[0, 0] = -999.0
        s[:] = vs
        n = ds.createVariable("label", "S1", ("y", "nchar"))
        n[:] = netCDF4.stringtochar(np.array(["a", "bb", "ccc", "dddd", "eeeee"], dtype="S6"))
        sc = ds.createVariable("scalar_i", "i4", ())
        sc.note = "a scalar"
        sc.assignValue(-17)
        sh = ds.createVariable("odd_short", "i2", ("x",))  # 14 bytes: padded to 16 before the next variable
        sh[:] = np.arange(7, dtype="i2") * 3
        if fmt == "NETCDF3_64BIT_DATA":
            for name, dtype, data in [("u4", "u4", np.arange(35, dtype="u4").reshape(5, 7) * 100000000),
                                      ("i8", "i8", np.array([-(2**60), -1, 0, 1, 2**60], dtype="i8")),
                                      ("u1", "u1", np.arange(7, dtype="u1") * 36),
                                      ("u8", "u8", np.array([0, 2**64 - 1, 5, 6, 7], dtype="u8"))]:
                dims = ("y", "x") if np.ndim(data) == 2 else (("x",) if len(data) == 7 else ("y",))
                v = ds.createVariable(name, dtype, dims)
                v[:] = data
            r8 = ds.createVariable("rec_u2", "u2", ("time", "x"))
            r8[:] = np.arange(nt * 7, dtype="u2").reshape(nt, 7) * 2000


def _nc3_one_record_var(path: Path) -> None:
    """Exactly one record variable: records are packed without padding (short[3] = 6 bytes each)."""
    import netCDF4

    with netCDF4.Dataset(path, "w", format="NETCDF3_CLASSIC") as ds:
        ds.createDimension("rec", None)
        ds.createDimension("k", 3)
        v = ds.createVariable("only_record", "i2", ("rec", "k"))
        v[:] = np.arange(15, dtype="i2").reshape(5, 3) - 7
        f = ds.createVariable("fixed", "f4", ("k",))
        f[:] = [1.5, 2.5, 3.5]


def _nc3_zero_records(path: Path) -> None:
    """A record dimension with no records: record variables have shape (0, ...)."""
    import netCDF4

    with netCDF4.Dataset(path, "w", format="NETCDF3_64BIT_OFFSET") as ds:
        ds.createDimension("time", None)
        ds.createDimension("z", 4)
        ds.createVariable("time", "f8", ("time",)).units = "days since 2001-01-01"
        ds.createVariable("empty_rec", "f4", ("time", "z"), fill_value=np.float32(-2))
        z = ds.createVariable("z", "f4", ("z",))
        z[:] = [0, 10, 20, 30]


def _nc4_dense_links(path: Path) -> dict[str, str]:
    """A NETCDF4 root group with 40 variables and 20 attributes per variable (dense links, dense attrs)."""
    import netCDF4

    rng = _rng(7)
    layouts = {}
    with netCDF4.Dataset(path, "w", format="NETCDF4") as ds:
        ds.createDimension("n", 10)
        for i in range(40):
            v = ds.createVariable(f"var{i:02d}", "f4" if i % 2 else "i4", ("n",),
                                  chunksizes=(4,), zlib=bool(i % 3 == 0))
            for k in range(20 if i < 3 else 2):
                v.setncattr(f"attr{k:02d}", f"value {k} of var {i}")
            v[:] = (rng.random(10) * 100).astype(v.dtype)
            layouts[f"/var{i:02d}"] = BTREE1
    return layouts


def _nc4_btree_levels(path: Path) -> dict[str, str]:
    """A netCDF-C B-tree v1 chunk index with internal levels (200 and 5000 chunks)."""
    import netCDF4

    rng = _rng(8)
    with netCDF4.Dataset(path, "w", format="NETCDF4") as ds:
        ds.createDimension("n", 400)
        ds.createDimension("r", 100)
        ds.createDimension("c", 100)
        a = ds.createVariable("many_chunks", "f8", ("n",), chunksizes=(2,), zlib=True)
        a[:] = rng.standard_normal(400)
        b = ds.createVariable("grid", "i2", ("r", "c"), chunksizes=(2, 1))
        b[:] = (np.arange(10000).reshape(100, 100) % 1000).astype("i2")
    return {"/many_chunks": BTREE1, "/grid": BTREE1}


def _multi_file(path: Path, index: int, variant: str = "ok") -> None:
    """One of the files concatenated along `time` (4 steps each, time chunk 2)."""
    import netCDF4

    rng = _rng(100 + index)
    with netCDF4.Dataset(path, "w", format="NETCDF4") as ds:
        ds.title = "floe concat fixture"
        ds.createDimension("time", None)
        ds.createDimension("y", 6)
        ds.createDimension("x", 5)
        t = ds.createVariable("time", "f8", ("time",), chunksizes=(2,))
        t.units = "days since 2020-01-01"
        t.calendar = "standard"
        t[:] = index * 4 + np.arange(4)
        y = ds.createVariable("y", "f4", ("y",))
        y[:] = np.arange(6)
        x = ds.createVariable("x", "f4", ("x",))
        x[:] = np.arange(5) * 2
        dtype = "f8" if variant == "dtype" else "f4"
        v = ds.createVariable("temp", dtype, ("time", "y", "x"), zlib=True, chunksizes=(2, 3, 5),
                              fill_value=-999.0)
        v.units = "K"
        v[:] = rng.random((4, 6, 5)) * 40 + 260
        w = ds.createVariable("wind", "i2", ("time", "x"), chunksizes=(2, 5))
        w.scale_factor = 0.1
        w[:] = rng.integers(0, 300, (4, 5)) / 10.0
        st = ds.createVariable("station_height", "f8", ("y",))  # no time dim: identical in every file
        st[:] = np.arange(6) * 100.0


def _h5netcdf_file(path: Path) -> None:
    """h5netcdf (h5py underneath, creation order tracked): dims, groups, attributes."""
    import h5netcdf

    rng = _rng(9)
    with h5netcdf.File(path, "w") as f:
        f.attrs["title"] = "written by h5netcdf"
        f.dimensions = {"t": None, "y": 4}
        t = f.create_variable("t", ("t",), "i8")
        t.attrs["units"] = "seconds since 1970-01-01"
        f.resize_dimension("t", 6)
        t[:] = np.arange(6) * 60
        yv = f.create_variable("y", ("y",), "f8", data=np.arange(4) * 0.5)
        yv.attrs["units"] = "m"
        v = f.create_variable("v", ("t", "y"), "f4", compression="gzip", chunks=(3, 4), fillvalue=np.float32(-1))
        v[:] = rng.random((6, 4)).astype("f4")
        v.attrs["long_name"] = "a value"
        g = f.create_group("sub")
        g.dimensions = {"k": 3}
        k = g.create_variable("k", ("k",), "i4", data=np.arange(3))
        k.attrs["note"] = "group coordinate"
        g.create_variable("w", ("k", "y"), "i2", data=np.arange(12, dtype="i2").reshape(3, 4))


# --------------------------------------------------------------------------------------------------
# h5py files
# --------------------------------------------------------------------------------------------------


def _dataset_lowlevel(group, name: str, data: np.ndarray, *, layout: str, chunks=None, maxshape=None,
                      alloc_early: bool = False, fill=None) -> None:
    """A dataset made through h5py's low-level API (compact layout, early allocation)."""
    import h5py

    dcpl = h5py.h5p.create(h5py.h5p.DATASET_CREATE)
    if layout == "compact":
        dcpl.set_layout(h5py.h5d.COMPACT)
    elif layout == "chunked":
        dcpl.set_chunk(tuple(chunks))
    if alloc_early:
        dcpl.set_alloc_time(h5py.h5d.ALLOC_TIME_EARLY)
    if fill is not None:
        dcpl.set_fill_value(np.array(fill, dtype=data.dtype))
    space = h5py.h5s.create_simple(data.shape, maxshape or data.shape)
    tid = h5py.h5t.py_create(data.dtype, logical=True)
    dsid = h5py.h5d.create(group.id, name.encode(), tid, space, dcpl=dcpl)
    dsid.write(h5py.h5s.ALL, h5py.h5s.ALL, np.ascontiguousarray(data))


def _h5_common(f, rng: np.random.Generator, layouts: dict[str, str], chunk_layout: str) -> None:
    """Datasets both the earliest and the latest h5py files hold."""
    import h5py

    f.attrs["title"] = "floe virtualize h5py fixture"
    f.attrs["int"] = np.int64(-3)
    f.attrs["floats"] = np.array([1.5, -2.25], dtype="f4")
    f.attrs["bytes_attr"] = np.bytes_(b"fixed bytes")
    f.attrs["vlen_list"] = ["x", "yy", "zzz"]

    f.create_dataset("contig", data=np.arange(600, dtype="f8").reshape(20, 30) / 7)
    layouts["/contig"] = CONTIGUOUS
    f.create_dataset("big_contig", data=np.linspace(-1, 1, 17).astype(">f8"))
    layouts["/big_contig"] = CONTIGUOUS
    f.create_dataset("gzip_shuffle", data=rng.random((40, 50)).astype("f4"), chunks=(8, 10), compression="gzip",
                     compression_opts=4, shuffle=True)
    layouts["/gzip_shuffle"] = chunk_layout
    f.create_dataset("fletcher", data=rng.standard_normal(30), chunks=(10,), fletcher32=True)
    layouts["/fletcher"] = chunk_layout
    f.create_dataset("fletcher_gzip", data=rng.integers(0, 1000, (30, 4)).astype("i4"), chunks=(7, 4),
                     fletcher32=True, compression="gzip", shuffle=True)
    layouts["/fletcher_gzip"] = chunk_layout
    f.create_dataset("big_endian", data=(np.arange(120).reshape(10, 12) - 60).astype(">i4"), chunks=(5, 6))
    layouts["/big_endian"] = chunk_layout
    f.create_dataset("big_endian_gzip", data=rng.random((10, 12)).astype(">f4"), chunks=(4, 5),
                     compression="gzip", fillvalue=np.float32(-3))
    layouts["/big_endian_gzip"] = chunk_layout
    holes = f.create_dataset("holes", shape=(20, 20), dtype="f4", chunks=(5, 5), fillvalue=np.float32(-1.5))
    holes[0:5, 0:5] = 1
    holes[10:15, 5:10] = rng.random((5, 5))
    holes[17, 19] = 4  # one element of the last chunk
    layouts["/holes"] = chunk_layout
    f.create_dataset("holes_gzip", shape=(12, 12), dtype="i2", chunks=(4, 4), fillvalue=np.int16(9),
                     compression="gzip")[4:8, 4:8] = 3
    layouts["/holes_gzip"] = chunk_layout
    f.create_dataset("unwritten_chunked", shape=(10,), dtype="i2", chunks=(5,), fillvalue=np.int16(42))
    layouts["/unwritten_chunked"] = chunk_layout
    f.create_dataset("unwritten_contig", shape=(8,), dtype="f4", fillvalue=np.float32(7))
    layouts["/unwritten_contig"] = CONTIGUOUS
    f.create_dataset("no_fill_set", data=np.arange(6, dtype="u2"), chunks=(4,))
    layouts["/no_fill_set"] = chunk_layout
    f.create_dataset("scalar", data=np.float64(2.5))
    f.create_dataset("scalar_int", data=np.int16(-7))
    f.create_dataset("empty", data=h5py.Empty("f4"))
    f.create_dataset("vlen_str", data=np.array(["a", "bc", "", "déf", "ghij"], dtype=h5py.string_dtype()))
    f.create_dataset("fixed_str", data=np.array([b"one", b"two", b"three", b"four"], dtype="S6"))
    f.create_dataset("enum", data=np.array([0, 1, 2, 1, 0, 2], dtype="u1"),
                     dtype=h5py.enum_dtype({"low": 0, "mid": 1, "high": 2}, basetype="u1"))
    f.create_dataset("compound", data=np.array([(1.5, 1), (2.5, 2), (3.5, 3)], dtype=[("x", "<f4"), ("n", "<i2")]))
    _dataset_lowlevel(f, "compact", np.arange(10, dtype="f8") * 1.25, layout="compact")
    layouts["/compact"] = COMPACT
    g = f.create_group("g1").create_group("g2")
    g.attrs["depth"] = 2
    g.create_dataset("deep", data=np.arange(12, dtype="i8").reshape(3, 4) * 10**12, chunks=(2, 2))
    layouts["/g1/g2/deep"] = chunk_layout
    # A group with more than eight links (dense link storage with libver latest).
    many = f.create_group("many")
    for i in range(12):
        many.create_dataset(f"d{i:02d}", data=np.full(3, i, dtype="i1"))
    # A dataset with more than eight attributes (dense attribute storage with libver latest).
    d = f.create_dataset("many_attrs", data=np.arange(4, dtype="f4"))
    for i in range(12):
        d.attrs[f"a{i:02d}"] = i * 1.5 if i % 2 else f"text {i}"


def _h5_earliest(path: Path) -> dict[str, str]:
    import h5py

    rng = _rng(11)
    layouts: dict[str, str] = {}
    with h5py.File(path, "w", libver="earliest") as f:
        _h5_common(f, rng, layouts, BTREE1)
        # More than 64 chunks: a B-tree v1 with an internal level.
        f.create_dataset("btree_deep", data=np.arange(300, dtype="i4") * 3, chunks=(2,))
        layouts["/btree_deep"] = BTREE1
        f.create_dataset("resizable", data=np.arange(20, dtype="f4").reshape(4, 5), maxshape=(None, 10),
                         chunks=(3, 3))
        layouts["/resizable"] = BTREE1
    return layouts


def _h5_latest(path: Path) -> dict[str, str]:
    import h5py

    rng = _rng(12)
    layouts: dict[str, str] = {}
    # libver v114 (the newest bound before HDF5 2.0): layout message v4. h5py's "latest" is v200 with the
    # HDF5 2.0 wheel, which writes layout message v5 (see h5_v200).
    with h5py.File(path, "w", libver=("v114", "v114")) as f:
        _h5_common(f, rng, layouts, FIXED)
        f.create_dataset("single_unfiltered", data=np.arange(120, dtype="i4").reshape(10, 12), chunks=(10, 12))
        layouts["/single_unfiltered"] = SINGLE
        f.create_dataset("single_filtered", data=rng.random((10, 12)), chunks=(10, 12), compression="gzip",
                         shuffle=True)
        layouts["/single_filtered"] = SINGLE
        _dataset_lowlevel(f, "implicit", np.arange(400, dtype="f4").reshape(20, 20), layout="chunked",
                          chunks=(5, 5), alloc_early=True)
        layouts["/implicit"] = IMPLICIT
        f.create_dataset("fixed_small", data=rng.random((40, 40)).astype("f4"), chunks=(8, 8), compression="gzip")
        layouts["/fixed_small"] = FIXED
        # 32 x 40 = 1280 chunks (> 1024: paged data block), with holes.
        paged = f.create_dataset("fixed_paged", shape=(64, 80), dtype="i2", chunks=(2, 2), fillvalue=np.int16(-9))
        block = (np.arange(64 * 80).reshape(64, 80) % 5000).astype("i2")
        paged[:, :60] = block[:, :60]
        paged[60:, 60:] = block[60:, 60:]
        layouts["/fixed_paged"] = FIXED_PAGED
        f.create_dataset("fixed_paged_gzip", data=rng.integers(0, 50, (40, 60)).astype("u1"), chunks=(1, 2),
                         compression="gzip")
        layouts["/fixed_paged_gzip"] = FIXED_PAGED
        # maxshape > shape in fixed dims: the chunk index is linearised over the maximum dims.
        ms = f.create_dataset("fixed_maxshape", shape=(10, 12), maxshape=(20, 30), dtype="f8", chunks=(4, 5),
                              fillvalue=-0.5)
        ms[:, :] = np.arange(120).reshape(10, 12) * 0.5
        ms[4:8, 5:10] = -0.5  # still written (a chunk of fill values is still stored)
        layouts["/fixed_maxshape"] = FIXED
        ms2 = f.create_dataset("fixed_maxshape_holes", shape=(9, 11), maxshape=(27, 33), dtype="i4", chunks=(3, 4),
                               fillvalue=np.int32(-1), compression="gzip")
        ms2[0:3, 4:8] = 5
        ms2[6:9, 8:11] = 6
        layouts["/fixed_maxshape_holes"] = FIXED
        # Extensible arrays: the unlimited dim first, not first, with holes, and many chunks.
        f.create_dataset("ea_first", data=rng.random((30, 6)).astype("f4"), maxshape=(None, 6), chunks=(2, 3),
                         compression="gzip")
        layouts["/ea_first"] = EXTENSIBLE
        f.create_dataset("ea_not_first", data=np.arange(180, dtype="i4").reshape(6, 30), maxshape=(6, None),
                         chunks=(3, 2))
        layouts["/ea_not_first"] = EXTENSIBLE
        ea3 = f.create_dataset("ea_middle_holes", shape=(4, 10, 5), maxshape=(8, None, 5), dtype="i2",
                               chunks=(2, 3, 5), fillvalue=np.int16(-4))
        ea3[0:2, 0:3, :] = 1
        ea3[2:4, 6:10, :] = 2
        layouts["/ea_middle_holes"] = EXTENSIBLE
        # 4000 chunks: super blocks and data blocks with more than 1024 elements (paged data blocks).
        f.create_dataset("ea_many", data=np.arange(8000, dtype="i4"), maxshape=(None,), chunks=(2,))
        layouts["/ea_many"] = EXTENSIBLE
        grown = f.create_dataset("ea_grown", shape=(3,), maxshape=(None,), dtype="f8", chunks=(4,), fillvalue=1.0)
        grown[:] = [1, 2, 3]
        grown.resize((11,))
        grown[9] = 9
        layouts["/ea_grown"] = EXTENSIBLE
        # B-tree v2: two unlimited dims.
        f.create_dataset("btree2", data=rng.random((12, 14)), maxshape=(None, None), chunks=(4, 4),
                         compression="gzip", shuffle=True)
        layouts["/btree2"] = BTREE2
        bt = f.create_dataset("btree2_holes", shape=(16, 16), maxshape=(None, None), dtype="u2", chunks=(4, 4),
                              fillvalue=np.uint16(77))
        bt[0:4, 12:16] = 1
        bt[8:12, 0:4] = 2
        layouts["/btree2_holes"] = BTREE2
        f.create_dataset("btree2_many", data=np.arange(2400, dtype="f4").reshape(40, 60), maxshape=(None, None),
                         chunks=(2, 2))
        layouts["/btree2_many"] = BTREE2
    return layouts


def register_hdf5plugin() -> None:
    """Makes h5py use hdf5plugin's filters. Importing netCDF4 points HDF5_PLUGIN_PATH at the netCDF4
    wheel's own plugins, whose blosc filter fails inside h5py's libhdf5 ("error during user callback")."""
    import hdf5plugin

    hdf5plugin.register(force=True)


def _h5_ea_paged(path: Path) -> dict[str, str]:
    """An extensible array big enough for data blocks of 2048 elements (> 1024: paged data blocks)."""
    import h5py

    with h5py.File(path, "w", libver=("v114", "v114")) as f:
        ds = f.create_dataset("ea_paged", shape=(46000,), maxshape=(None,), dtype="i2", chunks=(1,),
                              fillvalue=np.int16(-1))
        values = (np.arange(46000) % 30000).astype("i2")
        values[20000:20100] = -1
        ds[:20000] = values[:20000]  # a run of chunks never written (holes in paged data blocks)
        ds[20100:] = values[20100:]
    return {"/ea_paged": EXTENSIBLE}


def _h5_v200(path: Path) -> dict[str, str]:
    """h5py's libver "latest" with the HDF5 2.0 wheel: layout message v5 (Debian's h5debug 1.10.8 cannot
    decode it, so the layouts are not checked here)."""
    import h5py

    rng = _rng(14)
    with h5py.File(path, "w", libver="latest") as f:
        f.attrs["title"] = "HDF5 2.0 latest format"
        f.create_dataset("contig", data=np.arange(24, dtype="f8").reshape(4, 6))
        f.create_dataset("single", data=np.arange(12, dtype="i4").reshape(3, 4), chunks=(3, 4), compression="gzip")
        f.create_dataset("fixed", data=rng.random((20, 20)).astype("f4"), chunks=(5, 4), compression="gzip",
                         shuffle=True)
        f.create_dataset("extensible", data=np.arange(50, dtype="i8"), maxshape=(None,), chunks=(8,))
        f.create_dataset("btree2", data=np.arange(36, dtype="u2").reshape(6, 6), maxshape=(None, None),
                         chunks=(4, 4))
        _dataset_lowlevel(f, "implicit", np.arange(16, dtype="i4").reshape(4, 4), layout="chunked", chunks=(2, 2),
                          alloc_early=True)
        _dataset_lowlevel(f, "compact", np.arange(5, dtype="i2"), layout="compact")
        holes = f.create_dataset("holes", shape=(8, 8), dtype="f4", chunks=(4, 4), fillvalue=np.float32(2.5))
        holes[0:4, 0:4] = 1
    return {}


def _h5_plugins(path: Path) -> dict[str, str]:
    import h5py
    import hdf5plugin

    register_hdf5plugin()

    rng = _rng(13)
    data = (np.sin(np.arange(50 * 40).reshape(50, 40) / 17.0) * 100 + rng.random((50, 40))).astype("f4")
    layouts = {}
    with h5py.File(path, "w") as f:
        for name, filt in [("blosc_lz4", hdf5plugin.Blosc(cname="lz4", clevel=5, shuffle=hdf5plugin.Blosc.SHUFFLE)),
                           ("blosc_zstd_bitshuffle", hdf5plugin.Blosc(cname="zstd", clevel=3,
                                                                      shuffle=hdf5plugin.Blosc.BITSHUFFLE)),
                           ("lz4", hdf5plugin.LZ4()),
                           ("bitshuffle_lz4", hdf5plugin.Bitshuffle(cname="lz4")),
                           ("zstd", hdf5plugin.Zstd(clevel=5))]:
            f.create_dataset(name, data=data, chunks=(10, 20), **filt)
            layouts[f"/{name}"] = BTREE1
        f.create_dataset("zstd_shuffle_i8", data=np.arange(300, dtype="i8") ** 2, chunks=(64,), shuffle=True,
                         **hdf5plugin.Zstd())
        layouts["/zstd_shuffle_i8"] = BTREE1
    return layouts


def _h5_userblock(path: Path) -> dict[str, str]:
    import h5py

    with h5py.File(path, "w", userblock_size=512) as f:
        f.create_dataset("contig", data=np.arange(50, dtype="i4"))
        f.create_dataset("chunked", data=np.arange(64, dtype="f8").reshape(8, 8), chunks=(4, 4), compression="gzip")
        f.attrs["note"] = "512-byte user block"
    with open(path, "r+b") as fh:
        fh.write(b"floe user block: not HDF5 data\n")
    return {"/contig": CONTIGUOUS, "/chunked": BTREE1}


# --------------------------------------------------------------------------------------------------
# ncgen (Debian netCDF-C 4.9.0 on libhdf5 1.10.8) and h5repack
# --------------------------------------------------------------------------------------------------

CDL = r"""netcdf ncgen_source {
dimensions:
    time = UNLIMITED ;
    y = 6 ;
    x = 8 ;
variables:
    double time(time) ;
        time:units = "days since 1970-01-01" ;
    float y(y) ;
    float x(x) ;
    float precip(time, y, x) ;
        precip:_ChunkSizes = 1, 3, 4 ;
        precip:_DeflateLevel = 2 ;
        precip:_Shuffle = "true" ;
        precip:_FillValue = -1.f ;
        precip:units = "mm" ;
    short compact_var(x) ;
        compact_var:_Storage = "compact" ;
    int big(y, x) ;
        big:_Endianness = "big" ;
        big:_Storage = "contiguous" ;
    double checked(y, x) ;
        checked:_Fletcher32 = "true" ;
        checked:_ChunkSizes = 2, 8 ;

// global attributes:
        :title = "ncgen source of the paged and superblock-v3 fixtures" ;
data:
 time = 0, 1, 2 ;
 y = 0, 1, 2, 3, 4, 5 ;
 x = 0, 10, 20, 30, 40, 50, 60, 70 ;
 precip = %(data)s ;
 compact_var = -4, -3, -2, -1, 0, 1, 2, 3 ;
 big = %(big)s ;
 checked = %(checked)s ;
}
"""


def _ncgen_source(path: Path) -> dict[str, str]:
    data = ", ".join(f"{v:.3f}" for v in (np.arange(3 * 6 * 8) * 0.37 % 11))
    big = ", ".join(str(v) for v in np.arange(48) * 1000 - 20000)
    checked = ", ".join(f"{v:.6g}" for v in np.cos(np.arange(48)))
    cdl = path.with_suffix(".cdl")
    cdl.write_text(CDL % {"data": data, "big": big, "checked": checked})
    _run_tool(["ncgen", "-k", "nc4", "-o", str(path), str(cdl)])
    cdl.unlink()
    return {"/time": BTREE1, "/precip": BTREE1, "/compact_var": COMPACT, "/big": CONTIGUOUS, "/checked": BTREE1}


def tool_env() -> dict[str, str]:
    """The environment for Debian's HDF5/netCDF tools: without the HDF5_PLUGIN_PATH netCDF4-python sets."""
    env = dict(os.environ)
    env.pop("HDF5_PLUGIN_PATH", None)
    return env


def _run_tool(args: list[str]) -> None:
    res = subprocess.run(args, capture_output=True, text=True, env=tool_env(), timeout=120)
    if res.returncode != 0:
        raise RuntimeError(f"{' '.join(args)} failed ({res.returncode}): {res.stderr[-2000:]}")


def _h5repack(src: Path, dest: Path, *args: str) -> None:
    _run_tool(["h5repack", *args, str(src), str(dest)])


# --------------------------------------------------------------------------------------------------
# The matrix
# --------------------------------------------------------------------------------------------------

NC4_WARN = frozenset()  # netCDF-4 string variables may be loaded or warned; nothing there is inexpressible
H5_MUST_WARN = frozenset({"/compound"})


@dataclass(frozen=True)
class Spec:
    name: str
    filename: str
    kind: str
    covers: str
    build: Callable[[Path], dict[str, str] | None]
    must_warn: frozenset[str] = frozenset()
    superblock: int | None = None
    userblock: int | None = None
    page_size: int | None = None
    subdir: str = ""


def _repacked(args: tuple[str, ...]) -> Callable[[Path], dict[str, str]]:
    def build(path: Path) -> dict[str, str]:
        src = path.parent / f".{path.stem}-source.nc"
        layouts = _ncgen_source(src)
        _h5repack(src, path, *args)
        src.unlink()
        return layouts

    return build


SPECS: list[Spec] = [
    Spec("nc4", "nc4.nc", "netcdf4",
         "NETCDF4 (netCDF-C via netCDF4-python): zlib+shuffle, fletcher32, big endian chunked/contiguous, "
         "contiguous, non-dividing chunks, CF packing/_FillValue/missing_value/_Unsigned/units/calendar, "
         "dense attributes, > 8 variables, vlen string attributes, u2/u8/i8, string variable, char variable, "
         "scalars, unwritten variables (default/explicit fill, contiguous), holes along the unlimited dim, "
         "nested groups with inherited dims, zero-length unlimited dim",
         lambda p: _nc4_file(p, "NETCDF4"), superblock=2),
    Spec("nc4_classic", "nc4_classic.nc", "netcdf4",
         "NETCDF4_CLASSIC: the same matrix without groups and netCDF-4-only types",
         lambda p: _nc4_file(p, "NETCDF4_CLASSIC"), superblock=2),
    Spec("nc3_classic", "nc3_classic.nc", "netcdf3",
         "CDF-1: record variables with padded records (short[5], byte), fixed variables, char, scalar, CF attrs",
         lambda p: _nc3_file(p, "NETCDF3_CLASSIC")),
    Spec("nc3_64bit_offset", "nc3_64bit_offset.nc", "netcdf3", "CDF-2: the same as CDF-1 with 64-bit offsets",
         lambda p: _nc3_file(p, "NETCDF3_64BIT_OFFSET")),
    Spec("nc3_64bit_data", "nc3_64bit_data.nc", "netcdf3",
         "CDF-5: 64-bit counts and offsets, u1/u2/u4/i8/u8 variables", lambda p: _nc3_file(p, "NETCDF3_64BIT_DATA")),
    Spec("nc3_one_record_var", "nc3_one_record_var.nc", "netcdf3",
         "CDF-1 with exactly one record variable (records packed without padding)", _nc3_one_record_var),
    Spec("nc3_zero_records", "nc3_zero_records.nc", "netcdf3", "CDF-2 with a record dimension of length 0",
         _nc3_zero_records),
    Spec("nc4_dense_links", "nc4_dense_links.nc", "netcdf4",
         "40 variables in the root group (dense links) and 20 attributes on some (dense attributes)",
         _nc4_dense_links),
    Spec("nc4_btree_levels", "nc4_btree_levels.nc", "netcdf4",
         "B-tree v1 chunk indexes with internal levels (200 and 5000 chunks)", _nc4_btree_levels),
    Spec("h5netcdf", "h5netcdf.nc", "netcdf4", "h5netcdf writer: tracked creation order, dims, groups",
         _h5netcdf_file),
    Spec("h5_earliest", "h5_earliest.h5", "hdf5",
         "h5py libver earliest (superblock 0, symbol tables, B-tree v1): contiguous, compact, gzip+shuffle, "
         "fletcher32, big endian, holes, fill values, unwritten, scalar, null dataspace, vlen and fixed "
         "strings, enum, compound, nested groups, > 64 chunks, maxshape > shape",
         _h5_earliest, must_warn=H5_MUST_WARN, superblock=0),
    Spec("h5_latest", "h5_latest.h5", "hdf5",
         "h5py libver latest (superblock 3, layout v4): single chunk filtered/unfiltered, implicit, fixed "
         "array small/paged/maxshape > shape, extensible array unlimited first/not first/many chunks, "
         "B-tree v2, holes, dense links and attributes, and the common datasets of h5_earliest",
         _h5_latest, must_warn=H5_MUST_WARN, superblock=3),
    Spec("h5_ea_paged", "h5_ea_paged.h5", "hdf5",
         "an extensible array index with 46000 chunks (secondary blocks, paged data blocks) and holes",
         _h5_ea_paged, superblock=3),
    Spec("h5_v200", "h5_v200.h5", "hdf5",
         "h5py libver latest on the HDF5 2.0 wheel (layout message v5): contiguous, compact, single chunk, "
         "implicit, fixed array, extensible array, B-tree v2, holes", _h5_v200, superblock=3),
    Spec("h5_plugins", "h5_plugins.h5", "hdf5", "hdf5plugin filters: blosc (lz4, zstd+bitshuffle), lz4, "
         "bitshuffle+lz4, zstd (+shuffle)", _h5_plugins),
    Spec("h5_userblock", "h5_userblock.h5", "hdf5", "a 512-byte user block before the superblock",
         _h5_userblock, userblock=512),
    Spec("ncgen_compact", "ncgen_compact.nc", "netcdf4",
         "Debian ncgen (netCDF-C 4.9.0, libhdf5 1.10.8): compact variable, big-endian contiguous, fletcher32",
         _ncgen_source),
    Spec("paged_aggregation", "paged_aggregation.nc", "netcdf4",
         "h5repack -S PAGE -G 4194304 of the ncgen file: paged aggregation (file space info message)",
         _repacked(("-S", "PAGE", "-G", "4194304")), page_size=4194304),
    Spec("superblock_v3", "superblock_v3.nc", "netcdf4", "h5repack --low=2 --high=2 of the ncgen file: superblock v3",
         _repacked(("--low=2", "--high=2")), superblock=3),
]

# The concatenation set (its own directory, so the container prefix is that directory).
MULTI_DIR = "multi"
MULTI_FILES = [f"part{i}.nc" for i in range(3)]
MULTI_BAD = "bad/part_f8.nc"  # `temp` is float64 instead of float32


def fixture_names() -> list[str]:
    return [s.name for s in SPECS]


def generate(dest: Path) -> dict[str, Fixture]:
    """Writes every generated fixture into `dest` and returns them by name."""
    dest.mkdir(parents=True, exist_ok=True)
    out: dict[str, Fixture] = {}
    for spec in SPECS:
        path = dest / spec.subdir / spec.filename
        path.parent.mkdir(parents=True, exist_ok=True)
        layouts = spec.build(path) or {}
        out[spec.name] = Fixture(spec.name, path, spec.kind, spec.covers, spec.must_warn, dict(layouts),
                                 spec.superblock, spec.userblock, spec.page_size)
    multi = dest / MULTI_DIR
    multi.mkdir(exist_ok=True)
    for i, name in enumerate(MULTI_FILES):
        _multi_file(multi / name, i)
    (dest / MULTI_BAD).parent.mkdir(parents=True, exist_ok=True)
    _multi_file(dest / MULTI_BAD, 3, variant="dtype")
    return out


def multi_files(dest: Path) -> list[Path]:
    return [dest / MULTI_DIR / n for n in MULTI_FILES]


# --------------------------------------------------------------------------------------------------
# Real files read in place
# --------------------------------------------------------------------------------------------------


def testdata_root() -> Path:
    return Path(os.environ.get("FLOE_TESTDATA", PROJECT_ROOT.parent / "shared" / "testdata"))


def _kind_of_real_file(path: Path) -> str:
    with open(path, "rb") as fh:
        magic = fh.read(4)
    if magic[:3] == b"CDF":
        return "netcdf3"
    return "netcdf4" if path.suffix == ".nc" else "hdf5"


# Variables of the real files that Zarr cannot express (compound datatypes); found with h5py when listing.
def _compound_datasets(path: Path) -> frozenset[str]:
    import h5py

    found = set()
    try:
        with h5py.File(path, "r") as f:
            def visit(name, obj):
                if isinstance(obj, h5py.Dataset) and obj.dtype.names is not None:
                    found.add("/" + name)
            f.visititems(visit)
    except OSError:
        return frozenset()
    return frozenset(found)


def external_fixtures() -> list[Fixture]:
    """The sample files of $FLOE_TESTDATA/{hdf5,netcdf} and libncarg-data (those ≤ NCARG_MAX_BYTES)."""
    out: list[Fixture] = []
    root = testdata_root()
    for sub in ("hdf5", "netcdf"):
        for path in sorted((root / sub).glob("*")) if (root / sub).is_dir() else []:
            if not path.is_file():
                continue
            kind = _kind_of_real_file(path)
            warn = _compound_datasets(path) if kind != "netcdf3" else frozenset()
            out.append(Fixture(f"testdata/{sub}/{path.name}", path, kind, f"real file ({sub})", warn,
                               generated=False))
    if NCARG_ROOT.is_dir():
        for path in sorted(NCARG_ROOT.rglob("*.nc")):
            if path.stat().st_size > NCARG_MAX_BYTES:
                continue
            kind = _kind_of_real_file(path)
            out.append(Fixture(f"ncarg/{path.relative_to(NCARG_ROOT)}", path, kind, "libncarg-data sample",
                               generated=False))
    return out


# --------------------------------------------------------------------------------------------------
# Ground truth helpers: HDF5 layouts (h5py + h5debug) and the NetCDF-3 header
# --------------------------------------------------------------------------------------------------


def _h5debug_index_type(path: Path, addr: int) -> str | None:
    """'Index Type' of the layout message at object header `addr` (None for layout v3 / no index)."""
    out = subprocess.run(["h5debug", str(path), str(addr)], capture_output=True, text=True, timeout=60,
                         env=tool_env())
    text = out.stdout
    m = re.search(r"`layout'.*?Version:\s+(\d+)(.*?)(?:Message ID|\Z)", text, re.S)
    if not m:
        raise AssertionError(f"h5debug {path} {addr}: no layout message\n{text[:3000]}{out.stderr[:1000]}")
    version = int(m.group(1))
    idx = re.search(r"Index Type:\s+(.+)", m.group(2))
    return f"v{version}:{idx.group(1).strip() if idx else '-'}"


def actual_layout(path: Path, dataset: str) -> str:
    """The layout name (see the constants above) a dataset really has."""
    import h5py

    with h5py.File(path, "r") as f:
        ds = f[dataset]
        dcpl = ds.id.get_create_plist()
        layout = dcpl.get_layout()
        addr = h5py.h5o.get_info(ds.id).addr
        grid = 0
        if layout == h5py.h5d.CHUNKED:
            grid = int(np.prod([-(-n // c) for n, c in zip(ds.shape, ds.chunks)]))
    if layout == h5py.h5d.CONTIGUOUS:
        return CONTIGUOUS
    if layout == h5py.h5d.COMPACT:
        return COMPACT
    index = _h5debug_index_type(path, addr)
    names = {"v3:v1 B-tree": BTREE1, "v4:Single Chunk": SINGLE, "v4:Implicit": IMPLICIT, "v4:Fixed Array": FIXED,
             "v4:Extensible Array": EXTENSIBLE, "v4:v2 B-tree": BTREE2}
    name = names.get(index, index)
    if name == FIXED and grid > 1024:
        name = FIXED_PAGED
    return name


def check_layouts(fx: Fixture) -> list[str]:
    """Differences between what a generated fixture claims to exercise and what the file holds."""
    import h5py

    problems = []
    for dataset, want in fx.layouts.items():
        got = actual_layout(fx.path, dataset)
        if got != want:
            problems.append(f"{fx.name}:{dataset}: layout {got}, intended {want}")
    if fx.superblock is not None or fx.userblock is not None or fx.page_size is not None:
        with h5py.File(fx.path, "r") as f:
            fcpl = f.id.get_create_plist()
            if fx.superblock is not None and fcpl.get_version()[0] != fx.superblock:
                problems.append(f"{fx.name}: superblock v{fcpl.get_version()[0]}, intended v{fx.superblock}")
            if fx.userblock is not None and fcpl.get_userblock() != fx.userblock:
                problems.append(f"{fx.name}: user block {fcpl.get_userblock()}, intended {fx.userblock}")
            if fx.page_size is not None:
                strategy = fcpl.get_file_space_strategy()
                if strategy[0] != h5py.h5f.FSPACE_STRATEGY_PAGE or fcpl.get_file_space_page_size() != fx.page_size:
                    problems.append(f"{fx.name}: file space {strategy} page {fcpl.get_file_space_page_size()}, "
                                    f"intended paged {fx.page_size}")
    return problems


@dataclass(frozen=True)
class Nc3Var:
    name: str
    shape: tuple[int, ...]  # with the current number of records for record variables
    dtype: np.dtype  # big endian
    begin: int
    is_record: bool


@dataclass(frozen=True)
class Nc3Header:
    version: int
    numrecs: int
    recsize: int  # bytes from one record of all record variables to the next
    variables: dict[str, Nc3Var]


_NC3_TYPES = {1: ">i1", 2: ">S1", 3: ">i2", 4: ">i4", 5: ">f4", 6: ">f8", 7: ">u1", 8: ">u2", 9: ">u4",
              10: ">i8", 11: ">u8"}


def read_nc3_header(path: Path) -> Nc3Header:
    """An independent NetCDF-3 header reader (CDF-1/2/5) giving each variable's `begin`."""
    data = path.read_bytes()
    if data[:3] != b"CDF" or data[3] not in (1, 2, 5):
        raise ValueError(f"{path} is not NetCDF-3")
    version = data[3]
    pos = 4
    big = version == 5

    def count() -> int:
        nonlocal pos
        if big:
            (v,) = struct.unpack_from(">Q", data, pos)
            pos += 8
        else:
            (v,) = struct.unpack_from(">I", data, pos)
            pos += 4
        return v

    def u32() -> int:
        nonlocal pos
        (v,) = struct.unpack_from(">I", data, pos)
        pos += 4
        return v

    def name() -> str:
        nonlocal pos
        n = count()
        s = data[pos:pos + n].decode()
        pos += (n + 3) // 4 * 4
        return s

    def skip_attrs() -> None:
        nonlocal pos
        tag, n = u32(), count()
        assert tag in (0, 0x0C), tag
        for _ in range(n):
            name()
            t = u32()
            nelems = count()
            size = nelems * np.dtype(_NC3_TYPES[t]).itemsize
            pos += (size + 3) // 4 * 4

    numrecs = count()
    if numrecs == 0xFFFFFFFF:
        raise ValueError("streaming numrecs is not used by the fixtures")
    tag, ndims = u32(), count()
    dims = []
    for _ in range(ndims):
        dims.append((name(), count()))
    skip_attrs()
    tag, nvars = u32(), count()
    raw = []
    for _ in range(nvars):
        vname = name()
        rank = count()
        dimids = [count() for _ in range(rank)]
        skip_attrs()
        t = u32()
        vsize = count()
        if version == 1:
            begin = u32()
        else:
            (begin,) = struct.unpack_from(">Q", data, pos)
            pos += 8
        raw.append((vname, dimids, t, vsize, begin))
    record_vars = [r for r in raw if r[1] and dims[r[1][0]][1] == 0]
    if len(record_vars) == 1:
        v = record_vars[0]
        shape = [dims[d][1] for d in v[1][1:]]
        recsize = int(np.prod(shape, dtype=np.int64)) * np.dtype(_NC3_TYPES[v[2]]).itemsize
    else:
        recsize = sum(r[3] for r in record_vars)
    variables = {}
    for vname, dimids, t, vsize, begin in raw:
        is_record = bool(dimids) and dims[dimids[0]][1] == 0
        shape = tuple(numrecs if (i == 0 and is_record) else dims[d][1] for i, d in enumerate(dimids))
        variables[vname] = Nc3Var(vname, shape, np.dtype(_NC3_TYPES[t]), begin, is_record)
    return Nc3Header(version, numrecs, recsize, variables)


def nc3_values_from_header(path: Path, header: Nc3Header, name: str) -> np.ndarray:
    """A variable's values read straight from the file at the places the header reader computed."""
    var = header.variables[name]
    data = path.read_bytes()
    if not var.is_record:
        count = int(np.prod(var.shape, dtype=np.int64))
        return np.frombuffer(data, var.dtype, count, var.begin).reshape(var.shape)
    rest = var.shape[1:]
    count = int(np.prod(rest, dtype=np.int64))
    records = [np.frombuffer(data, var.dtype, count, var.begin + r * header.recsize).reshape(rest)
               for r in range(header.numrecs)]
    return np.stack(records) if records else np.zeros(var.shape, var.dtype)


def check_nc3_header(fx: Fixture) -> list[str]:
    """The header reader agrees with netCDF-C: every variable's bytes at `begin` are its values."""
    import netCDF4

    problems = []
    header = read_nc3_header(fx.path)
    with netCDF4.Dataset(fx.path) as ds:
        ds.set_auto_maskandscale(False)
        ds.set_auto_chartostring(False)
        if set(ds.variables) != set(header.variables):
            return [f"{fx.name}: header variables {sorted(header.variables)} != {sorted(ds.variables)}"]
        for name, v in ds.variables.items():
            expected = np.asarray(v[...])
            got = nc3_values_from_header(fx.path, header, name)
            if expected.shape != got.shape or not np.array_equal(expected.astype(got.dtype), got):
                problems.append(f"{fx.name}:{name}: bytes at begin {header.variables[name].begin} are not the values")
    return problems


def main(argv: list[str]) -> int:
    dest = Path(argv[1]) if len(argv) > 1 else Path("/tmp/floe-virtualize-fixtures")
    if dest.exists():
        shutil.rmtree(dest)
    start = time.monotonic()
    fixtures = generate(dest)
    print(f"generated {len(fixtures)} fixtures in {time.monotonic() - start:.1f} s into {dest}")
    problems = []
    for fx in fixtures.values():
        size = fx.path.stat().st_size
        p = check_layouts(fx) + (check_nc3_header(fx) if fx.kind == "netcdf3" else [])
        problems += p
        print(f"  {fx.name:22} {size:>9} B  {len(fx.layouts)} layouts checked{'  PROBLEMS' if p else ''}")
    for p in problems:
        print("  ", p)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
