# Ground truth for `floe read` of arrays with a rectilinear chunk grid, written by zarr-python 3.4 through icechunk-python.
"""`floe read` of rectilinear chunk grids (zarr-extensions chunk-grids/rectilinear) against zarr-python.

zarr-python 3.4.2 with `array.rectilinear_chunks` writes each array of CASES into one icechunk-python
repository: a 1-D time axis chunked by month lengths, a 3-D cube rectilinear on axis 0 and evenly
chunked on the others, runs of equal edges, a transposed 2-D array (its codecs depend on each chunk's
shape), arrays shrunk after writing so that the last edge passes the array's end or a whole edge lies
past it, zstd and gzip, small chunks stored inline. Every array leaves some chunks unwritten.

Each array read whole and as --isel boxes crossing chunk edges into .npy equals zarr-python's
`array[...]` exactly (same dtype, NaN-aware); unwritten chunks count as missing and read as the fill
value. `floe info` shows the edges per axis; a rectilinear grid with sharding fails with exit 1,
naming the array and the codec, and writes no output.

icechunk-python 2.3 refuses a bare step in chunk_shapes ("cannot parse `chunk_shapes`"), so evenly
chunked axes are written as explicit edges here (zarr-python writes them as runs); floe's parsing of
bare steps is covered by tests/unit/zarr/rectilinear_grid_test.cc.
"""

from __future__ import annotations

import itertools
import math
import random
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import icechunk as ic
import numpy as np
import pytest
import zarr

from conftest import Floe, Result, _executable_from_env, ic_list, parse_chunk_key

EXIT_OK, EXIT_USER = 0, 1


@pytest.fixture(scope="module", autouse=True)
def rectilinear_chunks():
    """zarr-python refuses to write or read rectilinear grids unless this flag is on."""
    with zarr.config.set({"array.rectilinear_chunks": True}):
        yield


@pytest.fixture(scope="module")
def floe() -> Floe:
    return Floe(_executable_from_env("FLOE_BIN"), None)


def run_floe(floe: Floe, *args: str, json_out: bool = True) -> Result:
    res = floe.run(list(args), json_out=json_out, check=False)
    err = res.stderr.decode(errors="replace")
    assert res.returncode >= 0, f"floe died of signal {-res.returncode}\n{res.describe()}"
    for marker in ("terminate called", "Segmentation", "AddressSanitizer", "runtime error:", "Aborted"):
        assert marker not in err, f"floe crashed ({marker!r})\n{res.describe()}"
    return res


def assert_same_array(expected: np.ndarray, actual: np.ndarray, what: str) -> None:
    assert actual.shape == expected.shape, f"{what}: shape {actual.shape} != expected {expected.shape}"
    assert actual.dtype == expected.dtype, f"{what}: dtype {actual.dtype} != expected {expected.dtype}"
    same = (actual == expected) | ((actual != actual) & (expected != expected))  # NaN equals NaN
    if not np.all(same):
        bad = np.argwhere(~same)
        first = tuple(bad[0])
        raise AssertionError(f"{what}: {len(bad)} of {expected.size} values differ, first at {first}: "
                             f"floe {actual[first]!r} != zarr-python {expected[first]!r}")


# --------------------------------------------------------------------------------------------------
# The arrays
# --------------------------------------------------------------------------------------------------


@dataclass
class Case:
    name: str
    dims: tuple[str, ...]
    shape: tuple[int, ...]  # as created; `resize` may shrink it afterwards
    edges: list[list[int]]  # per axis, summing to `shape` (zarr-python requires it at creation)
    dtype: str
    fill_value: Any
    write: Callable[[zarr.Array], None]  # leaves some chunks unwritten
    compressors: Any = "auto"
    filters: Any = "auto"
    resize: tuple[int, ...] | None = None  # shrunk after writing: edges past the end are kept
    boxes: list[dict[str, str]] = field(default_factory=list)  # --isel boxes crossing edges


def values(shape: tuple[int, ...], dtype: str, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    if np.dtype(dtype).kind == "f":
        return rng.normal(size=shape).astype(dtype)
    return rng.integers(0, 1000, size=shape).astype(dtype)


def write_time(a: zarr.Array) -> None:  # the third month (chunk 2) is never written
    data = values(a.shape, a.dtype.str, 1)
    a[0:59] = data[0:59]
    a[90:120] = data[90:120]


def write_cube(a: zarr.Array) -> None:  # chunks (1, *, *) and (2, 1, *) are never written
    data = values(a.shape, a.dtype.str, 2)
    a[0:3] = data[0:3]
    a[6:10, 0:3] = data[6:10, 0:3]


def write_runs(a: zarr.Array) -> None:  # every other chunk
    data = values(a.shape, a.dtype.str, 3)
    for start, stop in [(0, 1), (2, 3), (4, 5), (6, 7), (8, 9), (10, 20), (30, 40), (50, 60), (70, 80), (90, 100)]:
        a[start:stop] = data[start:stop]


def write_transposed(a: zarr.Array) -> None:  # all but chunk (1, 1)
    data = values(a.shape, a.dtype.str, 4)
    a[0:2] = data[0:2]
    a[2:7, 0:4] = data[2:7, 0:4]
    a[2:7, 5:9] = data[2:7, 5:9]


def write_shrunk(a: zarr.Array) -> None:  # all but chunk (1, 0)
    data = values(a.shape, a.dtype.str, 5)
    a[0:4] = data[0:4]
    a[4:8, 2:5] = data[4:8, 2:5]
    a[8:12] = data[8:12]


CASES = [
    Case("time", ("time",), (120,), [[31, 28, 31, 30]], "float32", np.nan, write_time,
         compressors=zarr.codecs.ZstdCodec(level=3),
         boxes=[{"time": "29:62"}, {"time": "58:91"}, {"time": "59:90"}, {"time": "-1:"}, {"time": "30"}]),
    Case("cube", ("t", "y", "x"), (10, 6, 8), [[3, 3, 4], [3, 3], [4, 4]], "int16", -1, write_cube,
         compressors=zarr.codecs.GzipCodec(level=5),
         boxes=[{"t": "2:7", "y": "2:5", "x": "3:6"}, {"t": "5:10", "x": "0:5"}, {"t": "6", "y": "-2:"}]),
    Case("runs", ("step",), (100,), [[1] * 10 + [10] * 9], "int64", 7, write_runs,
         compressors=zarr.codecs.ZstdCodec(level=1),
         boxes=[{"step": "5:25"}, {"step": "9:11"}, {"step": "35:95"}]),
    # The transpose codec depends on the chunk's shape: one pipeline per shape.
    Case("transposed", ("row", "col"), (7, 9), [[2, 5], [4, 1, 4]], "uint32", 3, write_transposed,
         compressors=None, filters=[zarr.codecs.TransposeCodec(order=(1, 0))],
         boxes=[{"row": "1:4", "col": "3:6"}, {"row": "2:", "col": "4"}]),
    # Shrunk from 12 to 9 rows: the last edge (rows 8..11) holds one row of the array.
    Case("shrunk_partial", ("row", "col"), (12, 5), [[4, 4, 4], [2, 3]], "float64", 0.5, write_shrunk,
         compressors=zarr.codecs.ZstdCodec(level=3), resize=(9, 5),
         boxes=[{"row": "3:9", "col": "1:4"}, {"row": "8"}]),
    # Shrunk from 12 to 6 rows: the third edge lies wholly past the end.
    Case("shrunk_whole", ("row", "col"), (12, 5), [[4, 4, 4], [2, 3]], "float64", 0.5, write_shrunk,
         compressors=zarr.codecs.GzipCodec(level=1), resize=(6, 5),
         boxes=[{"row": "3:6", "col": "1:3"}]),
]


@dataclass
class Repo:
    url: str
    group: zarr.Group  # read-only, through icechunk-python
    stored: dict[str, set[tuple[int, ...]]]  # array path -> chunk indices icechunk lists


@pytest.fixture(scope="module")
def repo(tmp_path_factory, rectilinear_chunks) -> Repo:
    root = tmp_path_factory.mktemp("read-rectilinear") / "repo"
    config = ic.RepositoryConfig.default()
    config.inline_chunk_threshold_bytes = 64  # the small chunks of "runs" and "transposed" inline
    repository = ic.Repository.create(ic.local_filesystem_storage(str(root)), config=config)
    session = repository.writable_session("main")
    group = zarr.open_group(session.store, mode="w", zarr_format=3)
    for case in CASES:
        array = group.create_array(case.name, shape=case.shape, chunks=case.edges, dtype=case.dtype,
                                   fill_value=case.fill_value, compressors=case.compressors,
                                   filters=case.filters, dimension_names=case.dims)
        assert array.metadata.to_dict()["chunk_grid"]["name"] == "rectilinear", case.name
        case.write(array)
        if case.resize:
            array.resize(case.resize)
    # A rectilinear grid with sharding, which floe refuses. In a group of its own: floe describes a
    # whole group to read one of its arrays, and one array it cannot parse fails the group.
    sharded = group.create_group("unsupported").create_array("sharded", shape=(12,), chunks=(3,), shards=[[6, 6]], dtype="int32",
                                 dimension_names=("i",))
    sharded[:] = np.arange(12, dtype="int32")
    session.commit("rectilinear chunk grids")
    readonly = repository.readonly_session(branch="main")
    stored: dict[str, set[tuple[int, ...]]] = {}
    for key in ic_list(readonly.store):
        parsed = parse_chunk_key(key)
        if parsed is not None:
            stored.setdefault(parsed[0], set()).add(parsed[1])
    return Repo(str(root), zarr.open_group(readonly.store, mode="r", zarr_format=3), stored)


def overlapping_chunks(edges: list[list[int]], shape: tuple[int, ...]) -> list[int]:
    """Per axis, how many edges start before the end of the array (zarr-python's nchunks)."""
    counts = []
    for axis_edges, extent in zip(edges, shape):
        starts = np.concatenate([[0], np.cumsum(axis_edges)[:-1]])
        counts.append(int(np.sum(starts < extent)))
    return counts


def random_boxes(case: Case, shape: tuple[int, ...], count: int) -> list[dict[str, str]]:
    rng = random.Random(f"{case.name}-boxes")
    boxes = []
    for _ in range(count):
        box = {}
        for dim, extent in zip(case.dims, shape):
            start = rng.randrange(extent)
            box[dim] = f"{start}:{rng.randrange(start + 1, extent + 1)}"
        boxes.append(box)
    return boxes


def isel_args(box: dict[str, str]) -> list[str]:
    return [arg for dim, spec in box.items() for arg in ("--isel", f"{dim}={spec}")]


def expected_box(expected: np.ndarray, case: Case, box: dict[str, str]) -> np.ndarray:
    index = []
    for dim in case.dims:
        spec = box.get(dim, ":")
        if ":" in spec:
            start, stop = spec.split(":")
            index.append(slice(int(start) if start else None, int(stop) if stop else None))
        else:  # one index keeps the dimension with length 1
            at = int(spec)
            index.append(slice(at, at + 1 if at != -1 else None))
    return expected[tuple(index)]


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_rectilinear_array(case: Case, repo: Repo, floe: Floe, tmp_path: Path) -> None:
    array = repo.group[case.name]
    expected = np.asarray(array[...])
    shape = case.resize or case.shape
    assert expected.shape == shape

    out = tmp_path / "whole.npy"
    res = run_floe(floe, "read", repo.url, case.name, "--out", str(out))
    assert res.returncode == EXIT_OK, res.describe()
    assert_same_array(expected, np.load(out), f"{case.name} (whole)")
    summary = res.json()
    counts = overlapping_chunks(case.edges, shape)
    grid = math.prod(counts)
    stored = {index for index in repo.stored.get("/" + case.name, set())
              if all(i < n for i, n in zip(index, counts))}
    assert len(stored) < grid, f"{case.name}: the fixture was to leave chunks unwritten"
    assert summary["chunks"] == grid, summary
    assert summary["missing_chunks"] == grid - len(stored), (summary, sorted(stored))

    for box in case.boxes + random_boxes(case, shape, 4):
        out = tmp_path / "box.npy"
        res = run_floe(floe, "read", repo.url, case.name, *isel_args(box), "--out", str(out))
        assert res.returncode == EXIT_OK, res.describe()
        assert_same_array(expected_box(expected, case, box), np.load(out), f"{case.name} --isel {box}")


def test_info_shows_the_edges(repo: Repo, floe: Floe) -> None:
    res = run_floe(floe, "info", repo.url, json_out=True)
    assert res.returncode == EXIT_OK, res.describe()
    document = res.json()
    variables = document["data_vars"]
    time = document["coords"]["time"]  # a dimension coordinate
    assert time["chunk_grid"] == "rectilinear"
    assert time["chunk_edges"] == [[31, 28, 31, 30]]
    assert variables["cube"]["chunk_edges"] == [[3, 3, 4], [3, 3], [4, 4]]
    assert variables["cube"]["chunks"] == [4, 3, 4]  # the largest edge per axis
    assert variables["shrunk_partial"]["chunk_edges"] == [[4, 4, 4], [2, 3]]
    assert variables["shrunk_whole"]["chunk_edges"] == [[4, 4], [2, 3]]  # the edge past the end dropped
    text = run_floe(floe, "info", repo.url, json_out=False)
    assert text.returncode == EXIT_OK, text.describe()
    lines = {line.split()[0]: line for line in text.stdout.decode().splitlines() if line.startswith("    ")}
    assert "chunks=(3,3,4 | 3 | 4)" in lines["cube"], lines["cube"]
    assert "chunks=(1x10,10x9)" in lines["runs"], lines["runs"]
    assert "chunks=(2,5 | 4,1,4)" in lines["transposed"], lines["transposed"]


def test_rectilinear_sharding_is_refused(repo: Repo, floe: Floe, tmp_path: Path) -> None:
    expected = np.arange(12, dtype="int32")
    assert np.array_equal(repo.group["unsupported/sharded"][...], expected)  # zarr-python reads it
    out = tmp_path / "sharded.npy"
    res = run_floe(floe, "read", repo.url, "unsupported/sharded", "--out", str(out))
    assert res.returncode == EXIT_USER, res.describe()
    err = res.stderr.decode(errors="replace")
    assert "/unsupported/sharded" in err and "sharding_indexed" in err and "rectilinear" in err, err
    assert not out.exists()
