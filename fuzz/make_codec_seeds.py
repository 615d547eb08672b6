#!/usr/bin/env python3
# Writes the seed corpora of the codec fuzz targets (fuzz/corpus/codec_*/) with the real encoders:
# each seed is one byte choosing the target's pipeline (see fuzz_codec_*.cc) and then an encoded chunk.
# Run with the project's .venv python from the repository root; the seeds are small and checked in.
import gzip
import os
import subprocess
import sys
import tempfile
import warnings

import h5py
import hdf5plugin
import imagecodecs
import numcodecs
import numpy as np
import zarr
import zarr.codecs as zc

warnings.filterwarnings("ignore")
ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "corpus")


def seed(target, name, variant, encoded):
    directory = os.path.join(ROOT, f"codec_{target}")
    os.makedirs(directory, exist_ok=True)
    with open(os.path.join(directory, name), "wb") as f:
        f.write(bytes([variant]) + bytes(encoded))


def hdf5_chunk(data, **filters):
    with tempfile.TemporaryDirectory() as tmp:
        with h5py.File(os.path.join(tmp, "f.h5"), "w") as f:
            dataset = f.create_dataset("d", data=data, chunks=data.shape, **filters)
            mask, encoded = dataset.id.read_direct_chunk((0,) * data.ndim)
            assert mask == 0
            return encoded


def zarr_chunk(data, chunk_key, **kwargs):
    with tempfile.TemporaryDirectory() as tmp:
        array = zarr.create_array(store=tmp, shape=data.shape, chunks=data.shape, dtype=data.dtype, **kwargs)
        array[...] = data
        with open(os.path.join(tmp, chunk_key), "rb") as f:
            return f.read()


smooth = (np.arange(256, dtype="<i4") // 3) * 5
raw = smooth.tobytes()
seed("bytes", "int32_little", 0, np.arange(64, dtype="<i4").tobytes())
seed("bytes", "float64_big", 1, np.linspace(0, 1, 15).astype(">f8").tobytes())
seed("bytes", "uint8", 2, b"abcdefg")
seed("bytes", "complex64_big", 3, (np.arange(4) * (1 + 2j)).astype(">c8").tobytes())
seed("transpose", "int16_big", 0, np.arange(60, dtype=">i2").reshape(3, 4, 5).transpose(2, 0, 1).tobytes())
seed("crc32c", "bytes", 0, zarr_chunk(np.arange(64, dtype="u1"), "c/0", compressors=[zc.Crc32cCodec()]))
seed("gzip", "one_member", 0, gzip.compress(raw))
seed("gzip", "two_members", 0, gzip.compress(raw[:500]) + gzip.compress(raw[500:]))
seed("numcodecs_zlib", "zlib", 0, numcodecs.Zlib(level=6).encode(raw))
seed("numcodecs_zlib", "hdf5_shuffle_deflate_fletcher32", 1,
     hdf5_chunk(smooth, shuffle=True, compression="gzip", fletcher32=True))
seed("zstd", "content_size", 0, numcodecs.Zstd(level=3).encode(raw))
seed("zstd", "streamed", 0, subprocess.run(["zstd", "-q", "-c"], input=raw, stdout=subprocess.PIPE, check=True).stdout)
for cname in ("blosclz", "lz4", "zstd", "zlib"):
    seed("blosc", cname, 0, numcodecs.Blosc(cname=cname, shuffle=numcodecs.Blosc.SHUFFLE).encode(
        np.linspace(-1, 1, 256, dtype="<f4")))
seed("blosc", "lz4hc_bitshuffle", 0, numcodecs.Blosc(cname="lz4hc", shuffle=numcodecs.Blosc.BITSHUFFLE).encode(
    np.linspace(-1, 1, 256, dtype="<f4")))
shard_data = np.arange(64, dtype="<i2").reshape(8, 8)


def sparse(array, data):
    array[0:4, 4:8] = data[0:4, 4:8]


def shard(data, serializer, compressors=None, write=None):
    with tempfile.TemporaryDirectory() as tmp:
        array = zarr.create_array(store=tmp, shape=data.shape, chunks=data.shape, dtype=data.dtype,
                                  serializer=serializer, compressors=compressors, fill_value=0)
        if write:
            write(array, data)
        else:
            array[...] = data
        with open(os.path.join(tmp, "c/0/0"), "rb") as f:
            return f.read()


seed("sharding", "index_end", 0, shard(shard_data, zc.ShardingCodec(chunk_shape=(4, 4), codecs=[zc.BytesCodec(), zc.ZstdCodec()])))
seed("sharding", "index_end_sparse", 0, shard(shard_data, zc.ShardingCodec(chunk_shape=(4, 4), codecs=[zc.BytesCodec(), zc.ZstdCodec()]), write=sparse))
seed("sharding", "index_start", 1, shard(shard_data, zc.ShardingCodec(chunk_shape=(4, 4), codecs=[zc.BytesCodec()], index_codecs=[zc.BytesCodec()], index_location="start"), write=sparse))
seed("sharding", "then_zstd", 2, shard(np.arange(64, dtype="<u4").reshape(8, 8), zc.ShardingCodec(chunk_shape=(4, 2), codecs=[zc.BytesCodec(endian="big")], index_codecs=[zc.BytesCodec()]), compressors=[zc.ZstdCodec()]))
seed("shuffle", "int32", 0, numcodecs.Shuffle(elementsize=4).encode(np.arange(100, dtype="<i4")))
# 33 three-byte elements shuffled, the 100th byte left over at the end as HDF5 leaves it.
seed("shuffle", "three_byte_elements", 1,
     bytes(numcodecs.Shuffle(elementsize=3).encode(np.frombuffer(bytes(range(99)), "u1"))) + b"\x63")
seed("fletcher32", "odd", 0, numcodecs.Fletcher32().encode(np.frombuffer(bytes(range(33)), "u1")))
seed("bz2", "stream", 0, numcodecs.BZ2(level=9).encode(raw))
seed("lz4h5", "blocks", 0, imagecodecs.lz4h5_encode(raw, blocksize=300))
seed("lz4h5", "raw_block", 0, imagecodecs.lz4h5_encode(np.random.default_rng(1).bytes(1024), blocksize=1024))
seed("szip", "nn", 0, imagecodecs.szip_encode(raw, options_mask=141, pixels_per_block=32, bits_per_pixel=32,
                                               pixels_per_scanline=256, header=True))
bits = (np.arange(257, dtype="<i4") * 7) % 100
for variant, cname in enumerate(("none", "lz4", "zstd")):
    seed("bitshuffle", cname, variant, hdf5_chunk(bits, **hdf5plugin.Bitshuffle(cname=cname)))
print("seeds written under", ROOT, file=sys.stderr)
