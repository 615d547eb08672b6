# Ground truth for `floe read` (issue 5): zarr-python arrays, virtualized NetCDF/HDF5 variables, coordinate selections against xarray's .sel, output files and errors.
"""`floe read` against the Python libraries that wrote or read the same data.

  1. zarr-python matrix: every array of read_cases.ZARR_CASES (each codec and data type zarr-python 3
     writes, into one icechunk-python repository) read whole and as an --isel sub-box crossing chunk
     boundaries, into .npy, equals zarr's `array[...]` exactly (NaN-aware, -0.0 kept, same dtype);
     chunks never written count as missing and read as the fill value.
  2. virtualized files: every array `floe virtualize` makes from the fixtures of virtualize_fixtures.py
     (generated files, $FLOE_TESTDATA/hdf5 and netcdf, a sample of libncarg-data) read raw equals
     netCDF4-python with auto mask/scale off (NetCDF files) or h5py (HDF5 files); with --decode-cf it
     equals what xarray decodes from the same repository (xr.open_zarr over icechunk-python).
  3. coordinate selections equal xarray's .sel on the same repository: ascending/descending latitude,
     longitude in ±180 against 0..360 and the reverse, seam-crossing boxes (xr.concat of the two .sel
     pieces), nearest points, float32 coordinates, CF time ranges with partial dates in every calendar
     (xarray with cftime), and --isel with negative indices.
  4. outputs and errors: .nc read back with netCDF4/xarray (dims, selected coordinates, attributes),
     .csv for points, --stats against numpy, --branch/--tag/--snapshot; unknown variable or dimension,
     a selection outside the coordinates, an unauthorized virtual container, a corrupted chunk and a
     virtual source modified after virtualization fail with exit 1, a message that says what and where,
     and no output file.

No expected value comes from floe: the truth is zarr-python, netCDF4-python, h5py, xarray or numpy.
Runs without the S3 servers (local repositories only).
"""

from __future__ import annotations

import math
import os
import re
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import icechunk as ic
import numpy as np
import pytest
import xarray as xr
import zarr

import read_cases as RC
from conftest import Floe, Result, _executable_from_env, ic_list, parse_chunk_key

EXIT_OK, EXIT_USER = 0, 1

pytestmark = [
    pytest.mark.filterwarnings("ignore::xarray.SerializationWarning"),
    # null_terminated_bytes and fixed_length_utf32 have no Zarr v3 spec yet; zarr-python says so on every use.
    pytest.mark.filterwarnings("ignore:The data type .* does not have a Zarr V3 specification"),
    pytest.mark.filterwarnings("ignore:Combining a `sharding_indexed` codec disables partial reads"),
]


# --------------------------------------------------------------------------------------------------
# floe and comparisons
# --------------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def floe() -> Floe:
    """floe for local repositories (no S3 servers needed)."""
    return Floe(_executable_from_env("FLOE_BIN"), None)


def floe_read(floe: Floe, url: str, variable: str, *args: str, out: Path | str | None = None,
              check: bool = True, json_out: bool = True) -> Result:
    sub = ["read", str(url), variable, *args]
    if out is not None:
        sub += ["--out", str(out)]
    res = floe.run(sub, json_out=json_out, check=False)
    if check:
        assert res.returncode == EXIT_OK, f"floe read failed\n{res.describe()}"
        assert_no_crash(res)
    return res


def sel_args(kind: str, selections: dict[str, str] | list[str]) -> list[str]:
    items = selections.items() if isinstance(selections, dict) else [tuple(s.split("=", 1)) for s in selections]
    out: list[str] = []
    for dim, spec in items:
        out += [f"--{kind}", f"{dim}={spec}"]
    return out


def assert_no_crash(res: Result) -> None:
    err = res.stderr.decode(errors="replace")
    assert res.returncode >= 0, f"floe died of signal {-res.returncode}\n{res.describe()}"
    for marker in ("terminate called", "Segmentation", "Assertion", "AddressSanitizer", "runtime error:",
                   "Aborted", "core dumped"):
        assert marker not in err, f"floe crashed ({marker!r})\n{res.describe()}"


def little_endian(values: np.ndarray) -> np.ndarray:
    """`values` with a little-endian dtype (floe writes .npy little-endian; zarr may return big)."""
    if values.dtype.byteorder == ">":
        return values.astype(values.dtype.newbyteorder("<"))
    return values


def assert_same_array(expected: Any, actual: Any, what: str, check_dtype: bool = True) -> None:
    """Equal shape, dtype and values; NaN equals NaN (real and imaginary parts apart), zeros keep their sign,
    NaT equals NaT."""
    expected = little_endian(np.asarray(expected))
    actual = little_endian(np.asarray(actual))
    assert actual.shape == expected.shape, f"{what}: shape {actual.shape} != expected {expected.shape}"
    if check_dtype:
        assert actual.dtype == expected.dtype, f"{what}: dtype {actual.dtype} != expected {expected.dtype}"
    kind = expected.dtype.kind
    if kind in "fc":
        parts = [(expected.real, actual.real), (expected.imag, actual.imag)] if kind == "c" else [(expected, actual)]
        same = np.ones(expected.shape, dtype=bool)
        for e, a in parts:
            e64, a64 = e.astype("f8"), np.asarray(a).astype("f8")
            same &= ((e64 == a64) & (np.signbit(e64) == np.signbit(a64))) | (np.isnan(e64) & np.isnan(a64))
    elif kind in "Mm":
        same = expected.view("i8") == actual.view("i8")
    else:
        same = np.asarray(expected == actual)
    if not np.all(same):
        bad = np.argwhere(~np.asarray(same))
        first = tuple(bad[0]) if bad.size else ()
        raise AssertionError(f"{what}: {len(bad)} of {expected.size} values differ, first at {first}: "
                             f"floe {actual[first]!r} != expected {expected[first]!r}")


# --------------------------------------------------------------------------------------------------
# 1. Arrays zarr-python writes
# --------------------------------------------------------------------------------------------------


@dataclass
class ZarrRepo:
    url: str
    group: zarr.Group  # read-only, through icechunk-python
    stored_chunks: dict[str, int]  # array path -> chunk keys icechunk lists


@pytest.fixture(scope="module")
def zarr_repo(tmp_path_factory) -> ZarrRepo:
    """One repository with every array of read_cases.ZARR_CASES (chunks of up to 40 bytes inline, the rest
    native)."""
    root = tmp_path_factory.mktemp("read-zarr") / "repo"
    config = ic.RepositoryConfig.default()
    config.inline_chunk_threshold_bytes = 40
    repo = ic.Repository.create(ic.local_filesystem_storage(str(root)), config=config)
    session = repo.writable_session("main")
    group = zarr.open_group(session.store, mode="w", zarr_format=3)
    for case in RC.ZARR_CASES:
        RC.write_case(group, case)
    session.commit("zarr-python codec x data type matrix")
    readonly = repo.readonly_session(branch="main")
    stored: dict[str, int] = {}
    for key in ic_list(readonly.store):
        parsed = parse_chunk_key(key)
        if parsed is not None:
            stored[parsed[0]] = stored.get(parsed[0], 0) + 1
    return ZarrRepo(str(root), zarr.open_group(readonly.store, mode="r", zarr_format=3), stored)


def chunk_grid_size(shape: tuple[int, ...], chunks: tuple[int, ...]) -> int:
    return math.prod(-(-n // c) for n, c in zip(shape, chunks))


# floe bugs these tests found and that are not fixed yet: strict, so a fix turns them into failures to remove here.
KNOWN_ZARR_BUGS = {
    "sharding/zstd_after_shard_uint8": (
        "array_reader.cc takes the shard-by-range path whenever pipeline_->sharding() is set, also when a "
        "bytes->bytes codec (zarr-python's default zstd with serializer=ShardingCodec) follows "
        "sharding_indexed; it must check CodecPipeline::shard_ranges_readable() and otherwise decode whole "
        "stored chunks through the pipeline (error: 'shard (0) holds 41 bytes, less than its 52-byte index')"),
}


def known_bug_params(items: list, ids: list[str], bugs: dict[str, str]) -> list:
    return [pytest.param(item, id=i, marks=pytest.mark.xfail(strict=True, reason=bugs[i])) if i in bugs
            else pytest.param(item, id=i) for item, i in zip(items, ids)]


@pytest.mark.parametrize("case", known_bug_params(RC.ZARR_CASES, [c.id for c in RC.ZARR_CASES], KNOWN_ZARR_BUGS))
def test_zarr_python_array(case: RC.ZarrCase, zarr_repo: ZarrRepo, floe: Floe, tmp_path: Path) -> None:
    array = zarr_repo.group[case.path.strip("/")]
    expected = np.asarray(array[...], dtype=array.dtype)  # 0-d strings come back as a narrower numpy scalar
    out = tmp_path / "whole.npy"
    summary = floe_read(floe, zarr_repo.url, case.path, out=out).json()
    assert_same_array(expected, np.load(out), f"{case.path} (whole)")
    assert summary["shape"] == list(case.shape), summary
    stored = zarr_repo.stored_chunks.get(case.path, 0)
    if case.write != "full":
        grid = chunk_grid_size(case.shape, case.shards or case.chunks)
        assert stored < grid, f"{case.path}: the fixture was to leave chunks unwritten ({stored} of {grid} stored)"
        if not case.sharded:
            assert summary["missing_chunks"] == grid - stored, (
                f"{case.path}: floe counts {summary['missing_chunks']} missing chunks, icechunk stores "
                f"{stored} of {grid}")
    if not case.shape:
        return
    args, index = case.isel_box()
    out = tmp_path / "box.npy"
    floe_read(floe, zarr_repo.url, case.path, *sel_args("isel", args), out=out)
    assert_same_array(expected[index], np.load(out), f"{case.path} --isel {' '.join(args)}")
