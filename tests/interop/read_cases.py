# Inputs of the `floe read` interop suite (tests/interop/test_read.py): the zarr-python codec x data type matrix and the gridded datasets for coordinate selections.
"""What test_read.py reads back through `floe read`.

`ZARR_CASES` is the matrix of arrays zarr-python 3 writes into one icechunk-python repository: every data
type zarr-python writes (bool, ints, unsigned ints, float16/32/64, complex64/128, fixed_length_utf32,
null_terminated_bytes, numpy.datetime64, numpy.timedelta64) with a few pipelines each, and every codec floe
reads (bytes both endians, transpose, crc32c, gzip, zstd with and without checksum, blosc for each
compressor x shuffle mode and odd typesizes, sharding_indexed with the index at either end, nested codecs,
nested shards and missing inner chunks, the numcodecs wrappers zlib/gzip/zstd/blosc/bz2/shuffle/
fletcher32) on a few data types each. Shapes have partial edge chunks; some arrays are written only in
part (chunks never written read as the fill value), some are 0-d, some never written at all. Fill values
include NaN, Infinity, -Infinity and non-default values.

`grid_datasets()` and `calendar_datasets()` build the xarray datasets of the coordinate-selection tests:
ascending/descending latitude, longitude in 0..360 and in -180..180, float32 coordinates, and a CF time
axis per calendar.

Everything is deterministic (seeded) and small: the whole matrix is a few MB.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import zarr
import zarr.codecs as zc
import zarr.codecs.numcodecs as znc

# --------------------------------------------------------------------------------------------------
# Data types
# --------------------------------------------------------------------------------------------------

# name -> numpy dtype; the Zarr v3 names zarr-python writes for them are in the comments.
DTYPES: dict[str, np.dtype] = {
    "bool": np.dtype("bool"),
    "int8": np.dtype("i1"),
    "int16": np.dtype("i2"),
    "int32": np.dtype("i4"),
    "int64": np.dtype("i8"),
    "uint8": np.dtype("u1"),
    "uint16": np.dtype("u2"),
    "uint32": np.dtype("u4"),
    "uint64": np.dtype("u8"),
    "float16": np.dtype("f2"),
    "float32": np.dtype("f4"),
    "float64": np.dtype("f8"),
    "complex64": np.dtype("c8"),
    "complex128": np.dtype("c16"),
    "utf32": np.dtype("<U5"),  # fixed_length_utf32 (length_bytes 20)
    "bytes": np.dtype("S6"),  # null_terminated_bytes (length_bytes 6)
    "datetime_s": np.dtype("M8[s]"),  # numpy.datetime64 unit s
    "datetime_ns": np.dtype("M8[ns]"),
    "timedelta_ms": np.dtype("m8[ms]"),  # numpy.timedelta64 unit ms
}

WORDS = ["", "a", "zé", "日本", "𝄞x", "hello", "\u00fc\u00df", "12345", "tab\t", "ω"]
BYTE_WORDS = [b"", b"a", b"ab\x01", b"\xff\xfe", b"abcdef", b"x y", b"\x7f", b"123"]


def values_for(dtype: np.dtype, shape: tuple[int, ...], seed: int) -> np.ndarray:
    """Deterministic values of `dtype` spanning its range (floats with NaN, ±inf, -0.0, subnormals)."""
    rng = np.random.default_rng(seed)
    kind = dtype.kind
    n = int(np.prod(shape))
    if kind == "b":
        out = rng.random(n) < 0.5
    elif kind in "iu":
        info = np.iinfo(dtype)
        out = rng.integers(info.min, info.max, size=n, dtype=dtype, endpoint=True)
    elif kind == "f":
        out = (rng.standard_normal(n) * 100).astype(dtype)
        specials = [np.nan, np.inf, -np.inf, -0.0, np.finfo(dtype).tiny / 4, np.finfo(dtype).max]
        for i, s in enumerate(specials):
            if 3 * i + 1 < n:
                out[3 * i + 1] = s
    elif kind == "c":
        part = np.dtype(f"f{dtype.itemsize // 2}")
        out = (rng.standard_normal(n) * 10).astype(part) + 1j * (rng.standard_normal(n) * 10).astype(part)
        out = out.astype(dtype)
        if n > 4:
            out[1] = complex(np.nan, 1.0)
            out[4] = complex(-np.inf, np.nan)
    elif kind == "U":
        out = np.array([WORDS[i] for i in rng.integers(0, len(WORDS), n)], dtype=dtype)
    elif kind == "S":
        out = np.array([BYTE_WORDS[i] for i in rng.integers(0, len(BYTE_WORDS), n)], dtype=dtype)
    elif kind in "Mm":
        out = rng.integers(-(10**12), 10**12, size=n, dtype="i8").view(dtype)
        if n > 2:
            out[2] = np.array("NaT", dtype=dtype)
    else:
        raise AssertionError(dtype)
    return out.reshape(shape)


def special_fill(dtype: np.dtype, index: int) -> Any:
    """A non-default fill value of `dtype`, rotating through NaN / Infinity / -Infinity / a number."""
    kind = dtype.kind
    if kind == "b":
        return True
    if kind == "i":
        return [-7, int(np.iinfo(dtype).min), 5][index % 3]
    if kind == "u":
        return [7, int(np.iinfo(dtype).max), 1][index % 3]
    if kind == "f":
        return [np.nan, np.inf, -np.inf, 1.5][index % 4]
    if kind == "c":
        return [complex(np.nan, np.inf), complex(1.5, -2.0), complex(0.0, np.nan)][index % 3]
    if kind == "U":
        return ["zé", "fill"][index % 2]
    if kind == "S":
        return [b"ab", b"fill\x01"][index % 2]
    if kind == "M":
        return np.datetime64("2001-02-03T04:05:06").astype(dtype)
    if kind == "m":
        return np.timedelta64(1234, "ms").astype(dtype)
    raise AssertionError(dtype)


# --------------------------------------------------------------------------------------------------
# Cases
# --------------------------------------------------------------------------------------------------

# (shape, chunks) with partial edge chunks; shards below are multiples of the chunks.
SHAPE_2D = ((13, 11), (4, 5))
SHAPE_1D = ((29,), (8,))
SHAPE_3D = ((5, 6, 7), (2, 4, 3))
SHAPE_THIN = ((3, 1, 17), (2, 1, 5))
SHARDED_2D = ((13, 11), (2, 3), (4, 6))
SHARDED_1D = ((29,), (4,), (12,))
SHARDED_3D = ((5, 6, 7), (2, 2, 3), (4, 4, 6))


@dataclass
class ZarrCase:
    """One array of the matrix: where it lives, how zarr-python creates it and what is written."""

    path: str  # "/codec/name"
    dtype: str  # key of DTYPES
    shape: tuple[int, ...]
    chunks: tuple[int, ...]
    shards: tuple[int, ...] | None = None
    create: dict[str, Any] = field(default_factory=dict)  # extra create_array arguments
    fill: Any = None  # None: zarr-python's default
    # "full": every element; "partial": some chunks never written (and some written in part);
    # "none": nothing written (every chunk reads as the fill value).
    write: str = "full"
    seed: int = 0

    @property
    def id(self) -> str:
        return self.path.strip("/")

    @property
    def np_dtype(self) -> np.dtype:
        return DTYPES[self.dtype]

    @property
    def sharded(self) -> bool:
        return self.shards is not None or isinstance(self.create.get("serializer"), zc.ShardingCodec)

    @property
    def inner_chunks(self) -> tuple[int, ...]:
        """The chunks the codecs see innermost: the shards' inner chunks, or the chunks."""
        serializer = self.create.get("serializer")
        if isinstance(serializer, zc.ShardingCodec):
            return tuple(serializer.chunk_shape)
        return self.chunks

    def isel_box(self) -> tuple[list[str], tuple[slice, ...]]:
        """An --isel sub-box crossing chunk boundaries (negative indices on the last dimension) and the
        equivalent numpy index."""
        args, index = [], []
        for d, (n, c) in enumerate(zip(self.shape, self.inner_chunks)):
            if n == 1:
                start, stop = 0, 1
            else:
                start, stop = min(max(c - 1, 1), n - 1), min(n, 2 * c + 1)
            last = d == len(self.shape) - 1
            s_text = str(start - n) if last else str(start)
            e_text = "" if (last and stop == n) else str(stop - n if (last and stop < n) else stop)
            args.append(f"dim_{d}={s_text}:{e_text}")
            index.append(slice(start, stop))
        return args, tuple(index)


def _partial_regions(shape: tuple[int, ...], chunks: tuple[int, ...]) -> list[tuple[slice, ...]]:
    """Regions written for write="partial": the first chunk whole, a box not aligned with the chunks
    (chunks written in part) and the last element; the chunks in between are never written."""
    first = tuple(slice(0, min(c, n)) for n, c in zip(shape, chunks))
    middle = []
    for n, c in zip(shape, chunks):
        start = min(n - 1, c + 1)
        middle.append(slice(start, max(min(n, 2 * c), start + 1)))  # inside the second chunk
    middle = tuple(middle)
    last = tuple(slice(n - 1, n) for n in shape)
    return [first, middle, last]


def _blosc_cases() -> list[ZarrCase]:
    out = []
    dtypes = ["uint8", "int16", "float32", "float64", "complex128", "int64", "uint32", "float16"]
    k = 0
    for cname in ["lz4", "lz4hc", "zstd", "zlib", "blosclz"]:
        for shuffle in ["noshuffle", "shuffle", "bitshuffle"]:
            dt = dtypes[k % len(dtypes)]
            shape, chunks = [SHAPE_2D, SHAPE_3D, SHAPE_1D][k % 3]
            out.append(ZarrCase(f"/blosc/{cname}_{shuffle}_{dt}", dt, shape, chunks,
                                create={"compressors": [zc.BloscCodec(cname=cname, shuffle=shuffle, clevel=5)]},
                                write="partial" if k % 4 == 3 else "full", seed=100 + k))
            k += 1
    # typesize other than the element size (blosc shuffles by the header's typesize), level 0
    # (memcpy'd frames), a small blocksize (several blocks per frame), and numcodecs' Blosc.
    out += [
        ZarrCase("/blosc/typesize2_float64", "float64", *SHAPE_2D, seed=130,
                 create={"compressors": [zc.BloscCodec(cname="zstd", shuffle="shuffle", typesize=2)]}),
        ZarrCase("/blosc/typesize8_int16", "int16", *SHAPE_1D, seed=131,
                 create={"compressors": [zc.BloscCodec(cname="lz4", shuffle="bitshuffle", typesize=8)]}),
        ZarrCase("/blosc/clevel0_int32", "int32", *SHAPE_3D, seed=132,
                 create={"compressors": [zc.BloscCodec(cname="lz4", shuffle="shuffle", clevel=0)]}),
        ZarrCase("/blosc/blocksize64_float32", "float32", (40, 30), (20, 30), seed=133,
                 create={"compressors": [zc.BloscCodec(cname="zstd", shuffle="bitshuffle", blocksize=64)]}),
        ZarrCase("/blosc/numcodecs_zlib_int32", "int32", *SHAPE_2D, seed=134,
                 create={"compressors": [znc.Blosc(cname="zlib", clevel=3, shuffle=2)]}),
        ZarrCase("/blosc/numcodecs_lz4hc_uint16", "uint16", *SHAPE_1D, seed=135,
                 create={"compressors": [znc.Blosc(cname="lz4hc", clevel=9, shuffle=1)]}),
    ]
    return out


def _sharding_cases() -> list[ZarrCase]:
    nested_inner = [zc.TransposeCodec(order=(1, 0)), zc.BytesCodec(endian="big"), zc.GzipCodec(level=1),
                    zc.Crc32cCodec()]
    return [
        ZarrCase("/sharding/end_float32", "float32", SHARDED_2D[0], SHARDED_2D[1], shards=SHARDED_2D[2],
                 seed=200, create={"compressors": None}, write="partial", fill=np.nan),
        ZarrCase("/sharding/start_int16", "int16", SHARDED_2D[0], SHARDED_2D[2], seed=201, write="partial",
                 create={"serializer": zc.ShardingCodec(chunk_shape=SHARDED_2D[1], index_location="start"),
                         "compressors": None}, fill=-7),
        ZarrCase("/sharding/start_nested_codecs_float64", "float64", SHARDED_2D[0], SHARDED_2D[2], seed=202,
                 create={"serializer": zc.ShardingCodec(chunk_shape=SHARDED_2D[1], codecs=nested_inner,
                                                        index_codecs=[zc.BytesCodec(endian="big")],
                                                        index_location="start"),
                         "compressors": None}, write="partial", fill=-np.inf),
        ZarrCase("/sharding/end_index_crc_big_uint32", "uint32", SHARDED_3D[0], SHARDED_3D[2], seed=203,
                 create={"serializer": zc.ShardingCodec(
                     chunk_shape=SHARDED_3D[1],
                     codecs=[zc.BytesCodec(endian="big"), zc.ZstdCodec(level=5, checksum=True)],
                     index_codecs=[zc.BytesCodec(endian="big"), zc.Crc32cCodec()], index_location="end"),
                     "compressors": None}),
        ZarrCase("/sharding/nested_shards_int32", "int32", (13, 11), (8, 10), seed=204, write="partial",
                 create={"serializer": zc.ShardingCodec(
                     chunk_shape=(4, 10),
                     codecs=[zc.ShardingCodec(chunk_shape=(2, 5), codecs=[zc.BytesCodec(), zc.GzipCodec()])]),
                     "compressors": None}),
        # The default zstd after the shard (a bytes-to-bytes codec on the whole shard).
        ZarrCase("/sharding/zstd_after_shard_uint8", "uint8", SHARDED_1D[0], SHARDED_1D[2], seed=205,
                 create={"serializer": zc.ShardingCodec(chunk_shape=SHARDED_1D[1])}, write="partial"),
        ZarrCase("/sharding/blosc_inner_complex64", "complex64", SHARDED_3D[0], SHARDED_3D[1],
                 shards=SHARDED_3D[2], seed=206, write="partial",
                 create={"compressors": [zc.BloscCodec(cname="lz4", shuffle="shuffle")]}),
        ZarrCase("/sharding/one_inner_chunk_per_shard_int64", "int64", (13, 11), (4, 5), shards=(4, 5), seed=207,
                 create={"compressors": [zc.ZstdCodec(level=1)]}),
        ZarrCase("/sharding/unwritten_float16", "float16", SHARDED_2D[0], SHARDED_2D[1], shards=SHARDED_2D[2],
                 seed=208, write="none", fill=np.inf),
    ]


def _codec_cases() -> list[ZarrCase]:
    out: list[ZarrCase] = []

    def add(name: str, dtypes: list[str], shapes: list[tuple], create: dict[str, Any], **kw) -> None:
        for i, dt in enumerate(dtypes):
            shape, chunks = shapes[i % len(shapes)]
            out.append(ZarrCase(f"/codecs/{name}_{dt}", dt, shape, chunks, create=dict(create),
                                seed=300 + len(out), **kw))

    add("transpose", ["int32", "float64", "utf32"], [SHAPE_2D, SHAPE_3D],
        {"filters": [zc.TransposeCodec(order=(1, 0))], "compressors": None})
    out[-2].create = {"filters": [zc.TransposeCodec(order=(2, 0, 1))], "compressors": None}
    add("transpose_big_gzip", ["uint16", "complex128"], [SHAPE_3D],
        {"filters": [zc.TransposeCodec(order=(1, 2, 0))], "serializer": zc.BytesCodec(endian="big"),
         "compressors": [zc.GzipCodec(level=6)]}, write="partial")
    add("crc32c", ["int8", "float32", "datetime_s"], [SHAPE_2D, SHAPE_1D], {"compressors": [zc.Crc32cCodec()]})
    add("gzip1", ["uint64", "bool"], [SHAPE_3D, SHAPE_2D], {"compressors": [zc.GzipCodec(level=1)]})
    add("gzip9", ["float16", "bytes"], [SHAPE_1D], {"compressors": [zc.GzipCodec(level=9)]})
    add("zstd_checksum", ["int64", "complex64", "timedelta_ms"], [SHAPE_2D, SHAPE_THIN],
        {"compressors": [zc.ZstdCodec(level=3, checksum=True)]})
    add("zstd19", ["uint32", "float64"], [SHAPE_3D], {"compressors": [zc.ZstdCodec(level=19)]})
    add("zstd_negative_level", ["int16"], [SHAPE_2D], {"compressors": [zc.ZstdCodec(level=-5)]})
    add("gzip_crc32c_big", ["float32", "int32"], [SHAPE_2D],
        {"serializer": zc.BytesCodec(endian="big"), "compressors": [zc.GzipCodec(level=4), zc.Crc32cCodec()]})
    add("numcodecs_shuffle_zlib_fletcher32", ["float32", "int64", "uint16"], [SHAPE_2D, SHAPE_3D],
        {"compressors": [znc.Shuffle(), znc.Zlib(level=4), znc.Fletcher32()]}, write="partial")
    add("numcodecs_zlib", ["float64", "uint8"], [SHAPE_1D, SHAPE_2D], {"compressors": [znc.Zlib(level=1)]})
    add("numcodecs_shuffle", ["int32", "complex128"], [SHAPE_3D], {"compressors": [znc.Shuffle()]})
    add("numcodecs_fletcher32", ["int16", "float16"], [SHAPE_2D], {"compressors": [znc.Fletcher32()]})
    add("numcodecs_gzip", ["int32"], [SHAPE_2D], {"compressors": [znc.GZip(level=5)]})
    add("numcodecs_zstd", ["float32"], [SHAPE_3D], {"compressors": [znc.Zstd(level=3)]})
    add("numcodecs_bz2", ["uint64"], [SHAPE_1D], {"compressors": [znc.BZ2(level=9)]})
    return out


def _dtype_cases() -> list[ZarrCase]:
    """Every data type with: plain bytes, the default pipeline with missing chunks and a special fill,
    big-endian bytes + gzip, sharding with missing inner chunks, and 0-d arrays (written and not)."""
    out = []
    for i, (name, dt) in enumerate(DTYPES.items()):
        base = 1000 + 10 * i
        out.append(ZarrCase(f"/dtypes/{name}_bytes", name, *SHAPE_2D, seed=base, create={"compressors": None}))
        out.append(ZarrCase(f"/dtypes/{name}_default_partial", name, *SHAPE_3D, seed=base + 1,
                            fill=special_fill(dt, i), write="partial"))
        if dt.itemsize > 1 and dt.kind not in "bS":
            out.append(ZarrCase(f"/dtypes/{name}_big_gzip", name, *SHAPE_1D, seed=base + 2,
                                create={"serializer": zc.BytesCodec(endian="big"),
                                        "compressors": [zc.GzipCodec(level=5)]},
                                fill=special_fill(dt, i + 1)))
        out.append(ZarrCase(f"/dtypes/{name}_sharded_partial", name, SHARDED_2D[0], SHARDED_2D[1],
                            shards=SHARDED_2D[2], seed=base + 3, create={"compressors": None},
                            fill=special_fill(dt, i + 2), write="partial"))
        out.append(ZarrCase(f"/dtypes/{name}_0d", name, (), (), seed=base + 4))
        out.append(ZarrCase(f"/dtypes/{name}_0d_unwritten", name, (), (), seed=base + 5,
                            fill=special_fill(dt, i + 3), write="none"))
    out.append(ZarrCase("/dtypes/float32_unwritten_nan", "float32", *SHAPE_2D, seed=1900, fill=np.nan, write="none"))
    out.append(ZarrCase("/dtypes/float64_thin_neg_inf", "float64", *SHAPE_THIN, seed=1901, fill=-np.inf,
                        write="partial"))
    return out


ZARR_CASES: list[ZarrCase] = _dtype_cases() + _codec_cases() + _blosc_cases() + _sharding_cases()


def write_case(group: zarr.Group, case: ZarrCase) -> zarr.Array:
    """Creates the case's array under `group` (its path's parent groups included) and writes it."""
    parent_path, _, name = case.path.strip("/").rpartition("/")
    parent = group.require_group(parent_path) if parent_path else group
    kwargs: dict[str, Any] = dict(case.create, chunks=case.chunks)
    if case.shards is not None:
        kwargs["shards"] = case.shards
    if case.fill is not None:
        kwargs["fill_value"] = case.fill
    dims = [f"dim_{d}" for d in range(len(case.shape))]
    array = parent.create_array(name, shape=case.shape, dtype=case.np_dtype, dimension_names=dims, **kwargs)
    values = values_for(case.np_dtype, case.shape, case.seed)
    if case.write == "full":
        array[...] = values
    elif case.write == "partial":
        for region in _partial_regions(case.shape, case.inner_chunks):
            array[region] = values[region]
    return array


# --------------------------------------------------------------------------------------------------
# Gridded datasets for coordinate selections
# --------------------------------------------------------------------------------------------------


def grid_datasets() -> dict[str, Any]:
    """name -> xarray Dataset (time, lat, lon) with CF attributes, in the shapes `.sel` tests need."""
    import xarray as xr

    rng = np.random.default_rng(7)
    out = {}
    time = np.arange(40, dtype="f8") * 6.0  # 6-hourly, in hours since 2020-01-30
    time_attrs = {"units": "hours since 2020-01-30 00:00:00", "calendar": "standard", "standard_name": "time"}

    def make(lat: np.ndarray, lon: np.ndarray, lon_attrs: dict, lat_dtype="f8", chunks=(8, 9, 16)) -> Any:
        data = (rng.standard_normal((len(time), len(lat), len(lon))) * 10 + 280).astype("f4")
        data[3, 2, 5] = np.nan
        ds = xr.Dataset(
            {"t2m": (("time", "lat", "lon"), data, {"units": "K", "long_name": "2 m temperature"})},
            coords={"time": ("time", time, time_attrs),
                    "lat": ("lat", lat.astype(lat_dtype), {"units": "degrees_north", "standard_name": "latitude"}),
                    "lon": ("lon", lon, lon_attrs)},
            attrs={"title": "floe read selection fixture", "Conventions": "CF-1.8"})
        ds["t2m"].encoding["chunks"] = chunks
        for c in ("time", "lat", "lon"):
            ds[c].encoding["chunks"] = (ds[c].size,)
        return ds

    lat_up = np.arange(-88.75, 90, 2.5)  # 72 values
    lat_down = lat_up[::-1].copy()
    lon_360 = np.arange(0, 360, 2.5)  # 144 values, 0 .. 357.5
    lon_180 = np.arange(-180, 180, 2.5)  # -180 .. 177.5
    east = {"units": "degrees_east", "standard_name": "longitude"}
    out["asc_0_360"] = make(lat_up, lon_360, east)
    out["desc_pm180"] = make(lat_down, lon_180, east)
    # float32 coordinates at steps that are not exact in binary; lon named "longitude" by standard_name only.
    lat32 = (np.arange(-9, 9.01, 0.1)).astype("f4")
    lon32 = (np.arange(355.0, 365.0, 0.1) % 360).astype("f4")  # crosses the seam inside the data: not monotonic
    lon32 = np.sort(lon32)
    out["f32_fine"] = make(lat32, lon32.astype("f8"), {"standard_name": "longitude", "units": "degrees"},
                           lat_dtype="f4", chunks=(8, 50, 25))
    return out


# calendar -> (units, step in units, count, dates the tests select: ranges and points)
CALENDARS: dict[str, dict[str, Any]] = {
    "standard": {"units": "hours since 2000-01-01 00:00:00", "step": 6.0, "count": 500, "dtype": "i4"},
    "gregorian_1582": {"calendar": "standard", "units": "days since 1582-09-01", "step": 1.0, "count": 90,
                       "dtype": "f8"},
    "proleptic_gregorian": {"units": "days since 1999-12-15 12:00", "step": 0.25, "count": 400, "dtype": "f8"},
    "noleap": {"units": "days since 2000-01-01", "step": 0.5, "count": 800, "dtype": "f4"},
    "365_day": {"units": "hours since 1900-02-20", "step": 12.0, "count": 60, "dtype": "i8"},
    "all_leap": {"units": "days since 2001-01-01", "step": 1.0, "count": 430, "dtype": "i2"},
    "366_day": {"units": "minutes since 2001-02-25 00:00", "step": 720.0, "count": 20, "dtype": "f8"},
    "360_day": {"units": "days since 2000-01-01", "step": 0.5, "count": 900, "dtype": "f8"},
    "julian": {"units": "days since 1900-02-25", "step": 1.0, "count": 20, "dtype": "i4"},
}


def calendar_datasets() -> dict[str, Any]:
    """calendar label -> Dataset with a raw (undecoded) CF time coordinate and a (time, x) variable."""
    import xarray as xr

    out = {}
    for i, (label, spec) in enumerate(CALENDARS.items()):
        calendar = spec.get("calendar", label)
        times = (np.arange(spec["count"]) * spec["step"]).astype(spec["dtype"])
        data = np.random.default_rng(50 + i).standard_normal((spec["count"], 3)).astype("f8")
        ds = xr.Dataset({"v": (("time", "x"), data, {"units": "1"})},
                        coords={"time": ("time", times, {"units": spec["units"], "calendar": calendar}),
                                "x": ("x", np.arange(3, dtype="i4"))})
        ds["v"].encoding["chunks"] = (37, 3)
        ds["time"].encoding["chunks"] = (spec["count"],)
        out[label] = ds
    return out
