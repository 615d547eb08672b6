#!/usr/bin/env python3
# Writes the codec test vectors into OUT_DIR with the real libraries: Zarr v3 arrays written by zarr-python
# (every codec and data type it writes, sharding with missing inner chunks) and single encoded buffers from
# h5py/hdf5plugin (the HDF5 filters' own framing, read back with read_direct_chunk), imagecodecs, numcodecs,
# Python's gzip and the zstd command line tool, each with its expected decoded bytes. OUT_DIR/cases.json
# lists them for codecs_test.cc.
import gzip
import json
import os
import subprocess
import sys
import warnings

import h5py
import hdf5plugin
import imagecodecs
import numcodecs
import numpy as np
import zarr
import zarr.codecs as zc
import zarr.codecs.numcodecs as znc

warnings.filterwarnings("ignore")

OUT = sys.argv[1]
CASES = []
RANDOM = np.random.default_rng(20261121)


def write_bytes(relative, data):
    path = os.path.join(OUT, relative)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "wb") as f:
        f.write(bytes(data))
    return relative


def little_endian(values):
    values = np.ascontiguousarray(values)
    if values.dtype.byteorder == ">":
        values = values.astype(values.dtype.newbyteorder("<"))
    return values.tobytes()


def sample(dtype, shape):
    """Values that exercise every byte of the type (signs, NaN, non-ASCII text)."""
    dtype = np.dtype(dtype)
    count = int(np.prod(shape))
    if dtype.kind == "b":
        values = RANDOM.integers(0, 2, count).astype(bool)
    elif dtype.kind in "iu":
        info = np.iinfo(dtype)
        values = RANDOM.integers(info.min, info.max, count, dtype=dtype, endpoint=True)
    elif dtype.kind == "f":
        values = (RANDOM.standard_normal(count) * 1000).astype(dtype)
        values[::17] = np.nan
        values[5::23] = -np.inf
    elif dtype.kind == "c":
        values = (RANDOM.standard_normal(count) + 1j * RANDOM.standard_normal(count)).astype(dtype)
    elif dtype.kind == "U":
        words = ["", "a", "été", "ζω", "floe", "\U0001f30a"]
        values = np.array([words[i % len(words)][: dtype.itemsize // 4] for i in range(count)], dtype=dtype)
    elif dtype.kind == "S":
        values = np.array([b"ab\x00c"[: (i % 5)] for i in range(count)], dtype=dtype)
    elif dtype.kind == "V":
        values = np.frombuffer(RANDOM.bytes(count * dtype.itemsize), dtype=dtype)
    elif dtype.kind in "mM":
        values = RANDOM.integers(-(10**12), 10**12, count).astype(dtype)
    else:
        raise ValueError(dtype)
    return values.reshape(shape)


def array_case(name, data, chunks, write=None, **kwargs):
    """A zarr-python array; `write` fills part of it (the rest stays missing), default the whole."""
    path = os.path.join(OUT, "zarr", name)
    array = zarr.create_array(store=path, shape=data.shape, chunks=chunks, dtype=data.dtype,
                              zarr_format=3, **kwargs)
    if write is None:
        array[...] = data
    else:
        write(array, data)
    expected = np.asarray(array[...])  # zarr-python's own reading, fill values included
    CASES.append({"kind": "zarr", "name": name, "path": f"zarr/{name}",
                  "expected": write_bytes(f"expected/{name}.bin", little_endian(expected))})


def buffer_case(name, codecs, dtype, shape, encoded, expected, fill_value=0):
    CASES.append({"kind": "buffer", "name": name, "codecs": codecs, "data_type": dtype,
                  "shape": list(shape), "fill_value": fill_value,
                  "encoded": write_bytes(f"buffers/{name}.enc", encoded),
                  "expected": write_bytes(f"buffers/{name}.bin", expected)})


def little_bytes_codec(size):
    return {"name": "bytes", "configuration": {"endian": "little"}} if size > 1 else {"name": "bytes"}


# --- zarr-python 3 arrays ---------------------------------------------------------------------------------
DTYPES = {"bool": "?", "int8": "i1", "uint8": "u1", "int16": "<i2", "uint16": "<u2", "int32": "<i4",
          "uint32": "<u4", "int64": "<i8", "uint64": "<u8", "float16": "<f2", "float32": "<f4",
          "float64": "<f8", "complex64": "<c8", "complex128": "<c16", "utf32": "<U3", "bytes": "S4",
          "raw": "V3", "datetime64": "<M8[s]", "timedelta64": "<m8[ms]"}

for label, dtype in DTYPES.items():  # default codecs (bytes + zstd), partial edge chunks
    array_case(f"dtype_{label}", sample(dtype, (7, 13)), (3, 5))
for label, dtype in DTYPES.items():  # big-endian bytes, no compressor
    if np.dtype(dtype).itemsize > 1 or label == "bool":
        array_case(f"big_{label}", sample(dtype, (5, 6)), (2, 4),
                   serializer=zc.BytesCodec(endian="big"), compressors=None)

array_case("scalar", np.array(42, dtype="<i4"), ())
array_case("one_dim_odd", sample("<f8", (100,)), (33,), compressors=zc.GzipCodec(level=1))
array_case("transpose_3d", sample("<i4", (4, 5, 6)), (3, 2, 4),
           filters=[zc.TransposeCodec(order=[2, 0, 1])])
array_case("transpose_big", sample("<u2", (5, 7)), (4, 3), filters=[zc.TransposeCodec(order=[1, 0])],
           serializer=zc.BytesCodec(endian="big"), compressors=None)
array_case("crc32c", sample("<f4", (9, 4)), (4, 4), compressors=[zc.Crc32cCodec()])
array_case("zstd_crc32c", sample("<i8", (9, 4)), (4, 4),
           compressors=[zc.ZstdCodec(level=5, checksum=True), zc.Crc32cCodec()])
for level in (1, 9):
    array_case(f"gzip_{level}", sample("<f4", (20, 30)), (8, 16), compressors=zc.GzipCodec(level=level))
for cname in ("blosclz", "lz4", "lz4hc", "zlib", "zstd"):  # numcodecs' blosc has no snappy
    for shuffle in ("noshuffle", "shuffle", "bitshuffle"):
        array_case(f"blosc_{cname}_{shuffle}", sample("<f4", (30, 17)), (16, 8),
                   compressors=zc.BloscCodec(cname=cname, shuffle=shuffle, clevel=5, typesize=4))
array_case("blosc_int16_bitshuffle", sample("<i2", (40, 3)), (40, 3),
           compressors=zc.BloscCodec(cname="zstd", shuffle="bitshuffle", typesize=2))
array_case("numcodecs_zlib", sample("<i4", (20, 9)), (8, 4), compressors=[znc.Zlib(level=6)])
array_case("numcodecs_gzip", sample("<i4", (20, 9)), (8, 4), compressors=[znc.GZip(level=6)])
array_case("numcodecs_bz2", sample("<f8", (20, 9)), (8, 4), compressors=[znc.BZ2(level=9)])
array_case("numcodecs_zstd", sample("<f8", (20, 9)), (8, 4), compressors=[znc.Zstd(level=3)])
array_case("numcodecs_blosc", sample("<f8", (20, 9)), (8, 4),
           compressors=[znc.Blosc(cname="lz4", shuffle=numcodecs.Blosc.BITSHUFFLE)])
array_case("numcodecs_shuffle_zlib_fletcher32", sample("<i4", (20, 9)), (8, 4),
           compressors=[znc.Shuffle(elementsize=4), znc.Zlib(level=4), znc.Fletcher32()])
array_case("numcodecs_shuffle_int16", sample("<i2", (50, 7)), (20, 7),
           compressors=[znc.Shuffle(elementsize=2), znc.Zlib(level=1)])
array_case("numcodecs_shuffle_int64", sample("<i8", (50, 7)), (20, 7), compressors=[znc.Shuffle(elementsize=8)])
array_case("numcodecs_shuffle_three", sample("u1", (50, 6)), (20, 6), compressors=[znc.Shuffle(elementsize=3)])
array_case("numcodecs_shuffle_odd", sample("<f8", (10, 3)), (4, 3),
           compressors=[znc.Shuffle(elementsize=8), znc.GZip(level=1)])
array_case("numcodecs_fletcher32_odd_length", sample("i1", (7,)), (7,), compressors=[znc.Fletcher32()])


def write_corner(array, data):  # leaves most inner chunks and whole shards missing
    array[0:3, 0:5] = data[0:3, 0:5]
    array[7:9, 12:15] = data[7:9, 12:15]


array_case("sharding_end", sample("<i2", (12, 20)), (6, 10), shards=(12, 20), fill_value=-7)
array_case("sharding_end_missing", sample("<i2", (12, 20)), (3, 5), shards=(6, 10), fill_value=-7,
           write=write_corner)
array_case("sharding_start_missing", sample("<f4", (12, 20)), (6, 10), write=write_corner,
           fill_value=float("nan"),
           serializer=zc.ShardingCodec(chunk_shape=(3, 5), codecs=[zc.BytesCodec(), zc.ZstdCodec()],
                                       index_codecs=[zc.BytesCodec(), zc.Crc32cCodec()],
                                       index_location="start"),
           compressors=None)
array_case("sharding_then_zstd", sample("<u4", (8, 8)), (8, 8),
           serializer=zc.ShardingCodec(chunk_shape=(4, 2), codecs=[zc.BytesCodec(endian="big")],
                                       index_codecs=[zc.BytesCodec()]),
           compressors=[zc.ZstdCodec(level=1)])
array_case("sharding_nested", sample("<i2", (8, 8)), (8, 8),
           serializer=zc.ShardingCodec(chunk_shape=(4, 4), codecs=[zc.ShardingCodec(chunk_shape=(2, 2))]),
           compressors=None)
array_case("sharding_edge", sample("<f8", (10, 7)), (3, 2), shards=(6, 4),
           compressors=[zc.GzipCodec(level=2)])


# --- HDF5 filters: the chunk bytes libhdf5 stores, with the Zarr codecs floe's HDF5 parser writes -----------
def hdf5_chunks(name, data, chunks, codecs_for, **filters):
    """Writes `data` into an HDF5 file with `filters` and adds one buffer case per chunk."""
    path = os.path.join(OUT, "hdf5", f"{name}.h5")
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with h5py.File(path, "w") as f:
        dataset = f.create_dataset("data", data=data, chunks=chunks, **filters)
        plist = dataset.id.get_create_plist()
        cd_values = {plist.get_filter(i)[0]: plist.get_filter(i)[2] for i in range(plist.get_nfilters())}
        grid = [range(0, n, c) for n, c in zip(data.shape, chunks)]
        for index, origin in enumerate(np.stack(np.meshgrid(*grid, indexing="ij"), -1).reshape(-1, len(chunks))):
            mask, encoded = dataset.id.read_direct_chunk(tuple(int(o) for o in origin))
            assert mask == 0, (name, mask)
            block = data[tuple(slice(o, o + c) for o, c in zip(origin, chunks))]
            buffer_case(f"hdf5_{name}_{index}", codecs_for(cd_values), data.dtype.name if data.dtype.kind != "b" else "bool",
                        chunks, encoded, little_endian(block))


def deflate_codecs(item_size, shuffle=True, fletcher=False):
    def make(cd_values):
        codecs = [little_bytes_codec(item_size)]
        if shuffle:
            codecs.append({"name": "numcodecs.shuffle", "configuration": {"elementsize": item_size}})
        codecs.append({"name": "numcodecs.zlib", "configuration": {"level": 4}})
        if fletcher:
            codecs.append({"name": "numcodecs.fletcher32"})
        return codecs
    return make


hdf5_chunks("shuffle_deflate_fletcher_i4", sample("<i4", (12, 37)), (4, 37), deflate_codecs(4, True, True),
            shuffle=True, compression="gzip", compression_opts=4, fletcher32=True)
hdf5_chunks("shuffle_deflate_f8", sample("<f8", (3, 37)), (3, 37), deflate_codecs(8), shuffle=True,
            compression="gzip", compression_opts=4)
hdf5_chunks("fletcher_u1_odd", sample("u1", (2, 15)), (2, 15),
            lambda cd: [{"name": "bytes"}, {"name": "numcodecs.fletcher32"}], fletcher32=True)


def lz4_codecs(item_size):
    return lambda cd: [little_bytes_codec(item_size), {"name": "numcodecs.imagecodecs_lz4h5"}]


hdf5_chunks("lz4_blocks", np.repeat(sample("<i4", (1, 300)), 4, axis=0), (4, 300), lz4_codecs(4),
            **hdf5plugin.LZ4(nbytes=1000))
hdf5_chunks("lz4_incompressible", sample("<f8", (2, 64)), (2, 64), lz4_codecs(8), **hdf5plugin.LZ4())


def bitshuffle_codecs(item_size, compression):
    def make(cd_values):
        values = cd_values[32008]
        return [little_bytes_codec(item_size),
                {"name": "floe.hdf5_bitshuffle",
                 "configuration": {"elementsize": int(values[2]), "blocksize": int(values[3]),
                                   "compression": compression}}]
    return make


for compression in ("none", "lz4", "zstd"):
    for dtype, shape in (("<i4", (3, 37)), ("<f8", (5, 1000)), ("u1", (1, 13)), ("<i2", (2, 4100))):
        label = f"bitshuffle_{compression}_{np.dtype(dtype).name}"
        hdf5_chunks(label, sample(dtype, shape), shape, bitshuffle_codecs(np.dtype(dtype).itemsize, compression),
                    **hdf5plugin.Bitshuffle(cname=compression))
    hdf5_chunks(f"bitshuffle_{compression}_blocks_of_16", sample("<u2", (1, 75)), (1, 75),
                bitshuffle_codecs(2, compression), **hdf5plugin.Bitshuffle(nelems=16, cname=compression))


def szip_codecs(item_size):
    def make(cd_values):
        values = cd_values[h5py.h5z.FILTER_SZIP]
        return [little_bytes_codec(item_size),
                {"name": "numcodecs.imagecodecs_szip",
                 "configuration": {"options_mask": int(values[0]), "pixels_per_block": int(values[1]),
                                   "bits_per_pixel": int(values[2]), "pixels_per_scanline": int(values[3]),
                                   "header": True}}]
    return make


hdf5_chunks("szip_nn_i4", np.arange(4 * 50, dtype="<i4").reshape(4, 50) * 3, (4, 50), szip_codecs(4),
            compression="szip", compression_opts=("nn", 8))
hdf5_chunks("szip_ec_u2", (np.arange(210, dtype="<u2") * 7 % 500).reshape(3, 70), (3, 70), szip_codecs(2), compression="szip",
            compression_opts=("ec", 16))
hdf5_chunks("szip_nn_i8", np.arange(66, dtype="<i8").reshape(2, 33) * 1000, (2, 33), szip_codecs(8), compression="szip",
            compression_opts=("nn", 32))
hdf5_chunks("bzip2", sample("<i2", (6, 50)), (3, 50),
            lambda cd: [little_bytes_codec(2), {"name": "numcodecs.bz2", "configuration": {"level": 9}}],
            **hdf5plugin.BZip2(blocksize=9))

for cname in ("blosclz", "lz4", "lz4hc", "zlib", "zstd"):  # no snappy here either: see codecs_test.cc
    hdf5_chunks(f"blosc_{cname}", np.linspace(-5, 5, 800, dtype="<f4").reshape(8, 100), (4, 100),
                lambda cd: [little_bytes_codec(4), {"name": "blosc", "configuration": {"typesize": 4}}],
                **hdf5plugin.Blosc(cname=cname, clevel=5, shuffle=hdf5plugin.Blosc.SHUFFLE))

# --- single buffers from the codec libraries ---------------------------------------------------------------
values = sample("<i4", (1000,))
raw = little_endian(values)
buffer_case("imagecodecs_lz4h5_small_blocks", [little_bytes_codec(4), {"name": "numcodecs.imagecodecs_lz4h5"}],
            "int32", (1000,), imagecodecs.lz4h5_encode(raw, blocksize=512), raw)
smooth = np.arange(1000, dtype="<i4") // 7
buffer_case("imagecodecs_lz4h5_compressible", [little_bytes_codec(4), {"name": "numcodecs.imagecodecs_lz4h5"}],
            "int32", (1000,), imagecodecs.lz4h5_encode(smooth.tobytes(), blocksize=1000), smooth.tobytes())
szip_config = {"options_mask": 141, "pixels_per_block": 32, "bits_per_pixel": 32, "pixels_per_scanline": 1000,
               "header": True}
buffer_case("imagecodecs_szip", [little_bytes_codec(4), {"name": "numcodecs.imagecodecs_szip",
                                                         "configuration": szip_config}],
            "int32", (1000,), imagecodecs.szip_encode(smooth.tobytes(), **{k: v for k, v in szip_config.items()}),
            smooth.tobytes())
zstd_stream = subprocess.run(["zstd", "-q", "-c", "-3"], input=raw, stdout=subprocess.PIPE, check=True).stdout
buffer_case("zstd_streamed_no_content_size", [little_bytes_codec(4), {"name": "zstd"}], "int32", (1000,),
            zstd_stream, raw)
two_frames = numcodecs.Zstd(level=1).encode(raw[:1000]) + numcodecs.Zstd(level=1).encode(raw[1000:])
buffer_case("zstd_two_frames", [little_bytes_codec(4), {"name": "zstd"}], "int32", (1000,), two_frames, raw)
buffer_case("gzip_two_members", [little_bytes_codec(4), {"name": "gzip"}], "int32", (1000,),
            gzip.compress(raw[:1500]) + gzip.compress(raw[1500:]), raw)
buffer_case("blosc_memcpyed", [little_bytes_codec(4), {"name": "blosc"}], "int32", (1000,),
            numcodecs.Blosc(cname="lz4", clevel=0).encode(raw), raw)

with open(os.path.join(OUT, "cases.json"), "w") as f:
    json.dump(CASES, f, indent=1)
print(f"{len(CASES)} cases in {OUT}")
