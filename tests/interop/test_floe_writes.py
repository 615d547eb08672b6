"""floe writes a repository (with floe_icechunk_tool), icechunk-python reads it, and back.

The same plan is written by floe's tool to a repository on local disk and to one on S3 (both with
virtual chunks in an object on the S3 test server), and by icechunk-python to a "twin" repository.
A small model of the plan (tree of zarr.json documents and chunk bytes per commit) gives the
expected content; icechunk-python must find exactly that in floe's repository, with the same
history, refs and diffs as in the twin. Then floe's own reads of its repository must equal
icechunk-python's, and finally icechunk-python commits on top and floe reads that commit back.

Chunks use the zarr `bytes` codec only (little endian), so expected bytes are built with numpy.
The inline threshold is 40 bytes: int16 2x3 (12 B), float64 x2 (16 B), uint8 5x5 (25 B) chunks are
inline, float32 3x4 (48 B) chunks are native; virtual chunks point into one uploaded object.
"""

from __future__ import annotations

import copy
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import icechunk as ic
import numpy as np
import pytest
import xarray as xr
import zarr
from numpy.testing import assert_array_equal

import plans as P
from conftest import (
    EXIT_NOT_FOUND,
    S3,
    Floe,
    ObjectInfo,
    Servers,
    Tool,
    assert_missing_chunk,
    assert_same_diff,
    assert_same_log,
    assert_same_refs,
    assert_same_snapshot,
    chunk_grid,
    chunk_key,
    config_container_prefixes,
    encode_chunk,
    floe_zarr_store,
    ic_ancestry,
    ic_diff,
    ic_get,
    ic_list,
    ic_open,
    normalize_expected_diff,
    parse_chunk_key,
    zarr_array_meta,
    zarr_group_meta,
)

INLINE_THRESHOLD = 40
INITIAL_SNAPSHOT_ID = "1CECHNKREP0F1RSTCMT0"
WRONG_ETAG = '"0123456789abcdef0123456789abcdef"'
SOURCE_KEY = "virtual/source.bin"


# --------------------------------------------------------------------------------------------------
# The data written
# --------------------------------------------------------------------------------------------------

ROOT_ATTRS_1 = {"title": "floe interop", "version": 3, "nested": {"list": [1, 2.5, "x", None], "flag": True}}
ROOT_ATTRS_2 = {"title": "floe interop", "version": 4}
G_ATTRS = {"description": "nested group", "unicode": "h\u00e9llo \u2713"}

TEMPERATURE_1 = (np.arange(48, dtype="float32").reshape(6, 8) * 0.5 + 250).astype("float32")
COUNTS_1 = (np.arange(24, dtype="int16").reshape(4, 6) * 7 - 50).astype("int16")
F64_1 = np.array([0.1, -2.5, 1e300, np.pi, -0.0], dtype="float64")
PIXELS_1 = (np.arange(100) * 3 % 256).astype("uint8").reshape(10, 10)
OLD_1 = np.array([7, 8], dtype="int16")
EXTRA_2 = np.array([1, 2, 3], dtype="uint8")


@dataclass(frozen=True)
class Arr:
    shape: tuple
    chunks: tuple
    dtype: str
    fill: Any
    dims: list | None = None
    attrs: dict = field(default_factory=dict)

    def meta(self) -> dict:
        return zarr_array_meta(self.shape, self.chunks, self.dtype, self.fill, self.dims, self.attrs)


ARRAYS = {
    "/g/temperature": Arr((6, 8), (3, 4), "float32", float("nan"), ["y", "x"], {"units": "K"}),
    "/g/counts": Arr((4, 6), (2, 3), "int16", -1, ["a", "b"]),
    "/g/h/f64": Arr((5,), (2,), "float64", 0.5, ["t"], {"scale": 2.5}),
    "/pixels": Arr((10, 10), (5, 5), "uint8", 0, ["row", "col"]),
    "/old": Arr((2,), (2,), "int16", 0),
    "/stale": Arr((5,), (5,), "uint8", 0),
    "/g/h/extra": Arr((3,), (3,), "uint8", 255, ["k"]),
}


def enc(path: str, values: np.ndarray, index) -> bytes:
    a = ARRAYS[path]
    return encode_chunk(values, index, a.chunks, a.fill)


def block_values(path: str, index, fn) -> np.ndarray:
    """A full array of zeros except chunk `index`, which gets fn(shape of that chunk region)."""
    a = ARRAYS[path]
    out = np.zeros(a.shape, dtype=a.dtype)
    sl = tuple(slice(i * c, min((i + 1) * c, n)) for i, c, n in zip(index, a.chunks, a.shape))
    out[sl] = fn(tuple(s.stop - s.start for s in sl)).astype(a.dtype)
    return out


@dataclass
class Source:
    """The object virtual chunks point into, and where each virtual chunk lives in it."""

    data: bytes
    offsets: dict[tuple[str, tuple], tuple[int, int]]  # (path, index) -> (offset, length)


def build_source() -> Source:
    data = bytearray(b"FLOE-INTEROP-SRC")
    offsets = {}
    for index in chunk_grid((10, 10), (5, 5)):
        payload = enc("/pixels", PIXELS_1, index)
        offsets[("/pixels", index)] = (len(data), len(payload))
        data += payload
    data += b"pad"
    payload = enc("/g/temperature", TEMPERATURE_1, (1, 1))
    offsets[("/g/temperature", (1, 1))] = (len(data), len(payload))
    data += payload
    return Source(bytes(data), offsets)


def checksum_time(info: ObjectInfo) -> int:
    """A last-modified checksum the upload satisfies. The stored field has whole seconds and readers
    send it as If-Unmodified-Since; versitygw compares that with the file's sub-second mtime (AWS S3
    compares whole seconds), so the HEAD's own Last-Modified second would be refused: one more second."""
    return info.last_modified + 1


def build_plan(prefix: str, endpoint: str, source: Source, info: ObjectInfo) -> dict[str, Any]:
    location = f"{prefix}{SOURCE_KEY}"

    def vref(path, index, **checksum):
        off, length = source.offsets[(path, index)]
        return P.virtual(path, index, location, off, length, **checksum)

    t1 = [P.chunk("/g/temperature", i, enc("/g/temperature", TEMPERATURE_1, i)) for i in [(0, 0), (0, 1), (1, 0)]]
    c1 = [P.chunk("/g/counts", i, enc("/g/counts", COUNTS_1, i)) for i in [(0, 0), (0, 1), (1, 0)]]
    f1 = [P.chunk("/g/h/f64", (i,), enc("/g/h/f64", F64_1, (i,))) for i in range(3)]
    commit1 = P.commit(
        "initial structure and data",
        [P.group("/", zarr_group_meta(ROOT_ATTRS_1)),
         P.group("/g", zarr_group_meta(G_ATTRS)),
         P.group("/g/h", zarr_group_meta()),
         *[P.array(p, ARRAYS[p].meta()) for p in ["/g/temperature", "/g/counts", "/g/h/f64", "/pixels", "/old",
                                                  "/stale"]],
         *t1,
         vref("/g/temperature", (1, 1)),
         *c1, *f1,
         vref("/pixels", (0, 0), etag=info.etag),
         vref("/pixels", (0, 1), last_modified=checksum_time(info)),
         vref("/pixels", (1, 0)),
         vref("/pixels", (1, 1), etag=info.etag.strip('"')),
         P.chunk("/old", (0,), enc("/old", OLD_1, (0,))),
         P.virtual("/stale", (0,), location, 0, 5, etag=WRONG_ETAG)],
        metadata={"author": "floe", "n": 1, "nested": {"ok": True}},
    )
    commit2 = P.commit(
        "update temperature, delete old, add extra",
        [P.chunk("/g/temperature", (0, 0), enc("/g/temperature", block_values(
            "/g/temperature", (0, 0), lambda s: -1.25 * np.arange(np.prod(s)).reshape(s)), (0, 0))),
         P.delete_chunk("/g/counts", (0, 0)),
         P.group("/", zarr_group_meta(ROOT_ATTRS_2)),
         P.delete_node("/old"),
         P.array("/g/h/extra", ARRAYS["/g/h/extra"].meta()),
         P.chunk("/g/h/extra", (0,), enc("/g/h/extra", EXTRA_2, (0,)))],
        metadata={"author": "floe", "n": 2},
    )
    commit3 = P.commit(
        "dev: overwrite a pixels chunk",
        [P.chunk("/pixels", (0, 0), enc("/pixels", 255 - PIXELS_1, (0, 0)))],
        branch="dev",
    )
    commit4 = P.commit(
        "to be amended",
        [P.chunk("/g/temperature", (1, 0), enc("/g/temperature", block_values(
            "/g/temperature", (1, 0), lambda s: 1000 + np.arange(np.prod(s)).reshape(s)), (1, 0)))],
    )
    commit5 = P.commit(
        "amended: temperature and counts",
        [P.chunk("/g/temperature", (1, 0), enc("/g/temperature", block_values(
            "/g/temperature", (1, 0), lambda s: 2000 + np.arange(np.prod(s)).reshape(s)), (1, 0))),
         P.chunk("/g/counts", (1, 1), enc("/g/counts", block_values(
             "/g/counts", (1, 1), lambda s: 100 * (1 + np.arange(np.prod(s))).reshape(s)), (1, 1)))],
        metadata={"amended": True},
        amend=True,
    )
    return {
        "create": True,
        "config": {"inline_chunk_threshold_bytes": INLINE_THRESHOLD,
                   "virtual_chunk_containers": [P.s3_container(prefix, endpoint)]},
        "authorize": [prefix],
        "operations": [
            commit1,
            commit2,
            {"op": "branch_create", "name": "dev", "snapshot": "@last"},
            commit3,
            {"op": "tag_create", "name": "v1", "snapshot": "@last"},
            commit4,
            commit5,
            {"op": "branch_create", "name": "scratch", "snapshot": "branch:main"},
            {"op": "branch_delete", "name": "scratch"},
            {"op": "tag_create", "name": "tmp-tag", "snapshot": "@last"},
            {"op": "tag_delete", "name": "tmp-tag"},
            {"op": "branch_create", "name": "reset-me", "snapshot": "branch:dev"},
            {"op": "branch_reset", "name": "reset-me", "snapshot": "branch:main"},
        ],
    }


# Commit names in plan order, and the expected shape of history.
COMMITS = ["c1", "c2", "c3", "c4", "c5"]
EXPECTED_BRANCHES = {"main": "c5", "dev": "c3", "reset-me": "c5"}
EXPECTED_TAGS = {"v1": "c3"}
EXPECTED_DELETED_TAGS = ["tmp-tag"]
EXPECTED_HISTORY = {  # newest first, without the initial snapshot
    ("branch", "main"): ["c5", "c2", "c1"],
    ("branch", "dev"): ["c3", "c2", "c1"],
    ("branch", "reset-me"): ["c5", "c2", "c1"],
    ("tag", "v1"): ["c3", "c2", "c1"],
}
EXPECTED_MESSAGES = {
    "c1": "initial structure and data",
    "c2": "update temperature, delete old, add extra",
    "c3": "dev: overwrite a pixels chunk",
    "c4": "to be amended",
    "c5": "amended: temperature and counts",
}
EXPECTED_METADATA = {
    "c1": {"author": "floe", "n": 1, "nested": {"ok": True}},
    "c2": {"author": "floe", "n": 2},
    "c3": {},
    "c4": {},
    "c5": {"amended": True},
}
EXPECTED_DIFFS = {  # (from, to) -> diff; "root" is the initial snapshot
    ("root", "c1"): {
        "new_groups": ["/", "/g", "/g/h"],
        "new_arrays": ["/g/counts", "/g/h/f64", "/g/temperature", "/old", "/pixels", "/stale"],
        "updated_chunks": {
            "/g/temperature": [[0, 0], [0, 1], [1, 0], [1, 1]],
            "/g/counts": [[0, 0], [0, 1], [1, 0]],
            "/g/h/f64": [[0], [1], [2]],
            "/pixels": [[0, 0], [0, 1], [1, 0], [1, 1]],
            "/old": [[0]],
            "/stale": [[0]],
        },
    },
    ("c1", "c2"): {
        "new_arrays": ["/g/h/extra"],
        "deleted_arrays": ["/old"],
        "updated_groups": ["/"],
        "updated_chunks": {"/g/temperature": [[0, 0]], "/g/counts": [[0, 0]], "/g/h/extra": [[0]]},
    },
    ("c2", "c3"): {"updated_chunks": {"/pixels": [[0, 0]]}},
    # The amended commit replaces c4: its diff from c2 holds c4's and c5's changes (merged tx logs).
    ("c2", "c5"): {"updated_chunks": {"/g/temperature": [[1, 0]], "/g/counts": [[1, 1]]}},
    ("c2", "c4"): {"updated_chunks": {"/g/temperature": [[1, 0]]}},
}


# --------------------------------------------------------------------------------------------------
# A model of the plan: the tree each commit must produce
# --------------------------------------------------------------------------------------------------


@dataclass
class Tree:
    meta: dict[str, dict] = field(default_factory=dict)
    chunks: dict[str, dict[tuple, bytes]] = field(default_factory=dict)

    def apply(self, change: dict, source: bytes) -> None:
        kind, path = change["kind"], change["path"]
        if kind in ("group", "array"):
            self.meta[path] = change["zarr_json"]
            if kind == "array":
                self.chunks.setdefault(path, {})
        elif kind == "delete_node":
            doomed = [p for p in self.meta if p == path or p.startswith(path.rstrip("/") + "/")]
            for p in doomed:
                self.meta.pop(p)
                self.chunks.pop(p, None)
        elif kind == "chunk":
            self.chunks[path][tuple(change["index"])] = bytes.fromhex(change["data_hex"])
        elif kind == "virtual":
            self.chunks[path][tuple(change["index"])] = source[change["offset"]: change["offset"] + change["length"]]
        elif kind == "delete_chunk":
            self.chunks[path].pop(tuple(change["index"]), None)


def model_commits(plan: dict, source: bytes) -> list[Tree]:
    """The tree after each commit op of the plan."""
    branch_tree: dict[str, Tree] = {"main": Tree()}
    out = []
    for op in plan["operations"]:
        if op["op"] == "commit":
            tree = copy.deepcopy(branch_tree[op["branch"]])
            for change in op["changes"]:
                tree.apply(change, source)
            branch_tree[op["branch"]] = tree
            out.append(tree)
        elif op["op"] in ("branch_create", "branch_reset"):
            ref = op["snapshot"]
            src = out[-1] if ref == "@last" else branch_tree[ref.split(":", 1)[1]]
            branch_tree[op["name"]] = copy.deepcopy(src)
    return out


# --------------------------------------------------------------------------------------------------
# Fixtures: the floe-written repositories (local and S3) and the icechunk-python twin
# --------------------------------------------------------------------------------------------------


@dataclass
class Written:
    url: str
    prefix: str  # the virtual chunk container (authorized)
    plan: dict
    lines: list[dict]
    ids: dict[str, str]  # "c1".. "c5", "root"
    trees: dict[str, Tree]
    source: Source
    info: ObjectInfo
    local_root: Path | None

    def name_of(self, snapshot_id: str) -> str:
        return {v: k for k, v in self.ids.items()}[snapshot_id]


def _prepare(s3: S3, servers: Servers, hint: str) -> tuple[str, str, Source, ObjectInfo]:
    bucket_name = s3.new_bucket(hint)
    source = build_source()
    info = s3.put(bucket_name, SOURCE_KEY, source.data)
    return bucket_name, f"s3://{bucket_name}/", source, info


@pytest.fixture(scope="module", params=["local", "s3"])
def written(request, servers: Servers, s3: S3, tool_exe: str, tmp_path_factory) -> Written:
    tmp = tmp_path_factory.mktemp(f"floe-writes-{request.param}")
    bucket_name, prefix, source, info = _prepare(s3, servers, f"fw-{request.param}")
    url = str(tmp / "repo") if request.param == "local" else f"s3://{bucket_name}/repo"
    plan = build_plan(prefix, servers.s3_endpoint, source, info)
    _, lines = Tool(tool_exe, servers, tmp).apply(url, plan)
    ids = dict(zip(COMMITS, P.commit_ids(plan, lines)))
    ids["root"] = INITIAL_SNAPSHOT_ID
    trees = dict(zip(COMMITS, model_commits(plan, source.data)))
    return Written(url, prefix, plan, lines, ids, trees, source, info,
                   Path(url) if request.param == "local" else None)


@pytest.fixture(scope="module")
def twin(servers: Servers, s3: S3, tmp_path_factory) -> Written:
    """The same plan written by icechunk-python (the reference for history and diffs)."""
    tmp = tmp_path_factory.mktemp("twin")
    bucket_name, prefix, source, info = _prepare(s3, servers, "twin")
    url = str(tmp / "repo")
    plan = build_plan(prefix, servers.s3_endpoint, source, info)
    lines = P.apply_plan_python(url, plan, servers)
    assert all("error" not in line for line in lines), lines
    ids = dict(zip(COMMITS, P.commit_ids(plan, lines)))
    ids["root"] = INITIAL_SNAPSHOT_ID
    return Written(url, prefix, plan, lines, ids, dict(zip(COMMITS, model_commits(plan, source.data))),
                   source, info, Path(url))


def py_repo(w: Written, servers: Servers) -> ic.Repository:
    return ic_open(w.url, servers, authorize=[w.prefix])


# --------------------------------------------------------------------------------------------------
# icechunk-python reads what floe wrote
# --------------------------------------------------------------------------------------------------


def check_tree_with_python(repo: ic.Repository, snapshot_id: str, tree: Tree) -> None:
    """icechunk-python finds exactly the model's tree: nodes, zarr.json, chunk keys, bytes, values."""
    store = repo.readonly_session(snapshot_id=snapshot_id).store
    keys = ic_list(store)
    meta_paths = sorted("/" + k[: -len("zarr.json")].rstrip("/") for k in keys if k.endswith("zarr.json"))
    assert meta_paths == sorted(tree.meta), snapshot_id
    for path, meta in tree.meta.items():
        key = "zarr.json" if path == "/" else f"{path.strip('/')}/zarr.json"
        assert json.loads(ic_get(store, key)) == meta, path
    listed: dict[str, set] = {}
    for k in keys:
        parsed = parse_chunk_key(k)
        if parsed:
            listed.setdefault(parsed[0], set()).add(parsed[1])
    assert {p: sorted(v) for p, v in listed.items()} == {p: sorted(c) for p, c in tree.chunks.items() if c}
    for path, chunks in tree.chunks.items():
        for index, data in chunks.items():
            if path == "/stale":
                continue  # its checksum no longer matches: see test_stale_virtual_chunk_is_refused
            assert ic_get(store, chunk_key(path, index)) == data, (path, index)
        if path == "/stale":
            continue
        values = zarr.open_array(store, path=path.strip("/"), mode="r")[:]
        assert_array_equal(values, P.decode_array(tree.meta[path], chunks), err_msg=path)


def test_twin_matches_the_model(twin: Written, servers: Servers):
    """The reference itself: icechunk-python executing the plan gives the model's trees and diffs."""
    repo = py_repo(twin, servers)
    for name in COMMITS:
        check_tree_with_python(repo, twin.ids[name], twin.trees[name])
    for (a, b), expected in EXPECTED_DIFFS.items():
        assert ic_diff(repo, twin.ids[a], twin.ids[b]) == normalize_expected_diff(expected), (a, b)
    assert {b: repo.lookup_branch(b) for b in repo.list_branches()} == {
        b: twin.ids[c] for b, c in EXPECTED_BRANCHES.items()}
    assert repo.inspect_repo_info()["deleted_tags"] == EXPECTED_DELETED_TAGS
    with pytest.raises(ic.IcechunkError):
        repo.create_tag("tmp-tag", twin.ids["c1"])  # deleted tags cannot come back


def test_tool_reports_each_operation(written: Written):
    ops = written.plan["operations"]
    assert [line["op"] for line in written.lines] == [op["op"] for op in ops]
    ids = [written.ids[c] for c in COMMITS]
    assert len(set(ids)) == len(ids)
    assert INITIAL_SNAPSHOT_ID not in ids


def test_python_reads_every_commit(written: Written, servers: Servers):
    repo = py_repo(written, servers)
    for name in COMMITS:
        check_tree_with_python(repo, written.ids[name], written.trees[name])


def test_python_sees_values_written(written: Written, servers: Servers):
    """The numpy values written, read back by zarr and xarray through icechunk-python."""
    repo = py_repo(written, servers)
    store = repo.readonly_session(branch="main").store
    root = zarr.open_group(store, mode="r")
    assert dict(root.attrs) == ROOT_ATTRS_2
    assert dict(root["g"].attrs) == G_ATTRS
    temperature = TEMPERATURE_1.copy()
    temperature[0:3, 0:4] = (-1.25 * np.arange(12)).reshape(3, 4)
    temperature[3:6, 0:4] = (2000 + np.arange(12)).reshape(3, 4)
    assert_array_equal(root["g/temperature"][:], temperature)
    counts = COUNTS_1.copy()
    counts[0:2, 0:3] = -1  # deleted chunk -> fill value
    counts[2:4, 3:6] = (100 * (1 + np.arange(6))).reshape(2, 3)
    assert_array_equal(root["g/counts"][:], counts)
    assert_array_equal(root["g/h/f64"][:], F64_1)
    assert_array_equal(root["pixels"][:], PIXELS_1)
    assert_array_equal(root["g/h/extra"][:], EXTRA_2)
    assert "old" not in root
    assert root["g/temperature"].metadata.dimension_names == ("y", "x")
    assert dict(root["g/temperature"].attrs) == {"units": "K"}
    dev = zarr.open_group(repo.readonly_session(branch="dev").store, mode="r")
    expected_pixels = PIXELS_1.copy()
    expected_pixels[0:5, 0:5] = 255 - PIXELS_1[0:5, 0:5]
    assert_array_equal(dev["pixels"][:], expected_pixels)

    ds = xr.open_zarr(store, group="g", consolidated=False, mask_and_scale=False)
    assert ds["temperature"].dims == ("y", "x")
    assert ds["counts"].dims == ("a", "b")
    assert_array_equal(ds["temperature"].values, temperature)
    assert_array_equal(ds["counts"].values, counts)
    assert ds["temperature"].attrs["units"] == "K"


def test_python_sees_refs_history_and_chunk_kinds(written: Written, twin: Written, servers: Servers):
    repo = py_repo(written, servers)
    ids = written.ids
    assert {b: repo.lookup_branch(b) for b in repo.list_branches()} == {
        b: ids[c] for b, c in EXPECTED_BRANCHES.items()}
    assert {t: repo.lookup_tag(t) for t in repo.list_tags()} == {t: ids[c] for t, c in EXPECTED_TAGS.items()}
    assert repo.inspect_repo_info()["deleted_tags"] == EXPECTED_DELETED_TAGS
    assert repo.config.inline_chunk_threshold_bytes == INLINE_THRESHOLD
    assert written.prefix in (repo.config.virtual_chunk_containers or {})
    for sel, names in EXPECTED_HISTORY.items():
        history = ic_ancestry(repo, sel)
        assert [s.id for s in history] == [ids[n] for n in names] + [INITIAL_SNAPSHOT_ID], sel
        for snap in history[:-1]:
            name = written.name_of(snap.id)
            assert snap.message == EXPECTED_MESSAGES[name]
            # floe may add its own keys, named like icechunk's "__icechunk"; the plan's keys are exact.
            user = {k: v for k, v in snap.metadata.items() if not k.startswith("__")}
            assert user == EXPECTED_METADATA[name], name
        assert history[-1].parent_id is None
        assert [s.parent_id for s in history[:-1]] == [s.id for s in history[1:]]
        assert [s.message for s in history] == [s.message for s in ic_ancestry(py_repo(twin, servers), sel)]
    # The amended commit's parent is the parent of the commit it replaced, which stays readable.
    c4 = repo.lookup_snapshot(ids["c4"])
    assert c4.message == EXPECTED_MESSAGES["c4"] and c4.parent_id == ids["c2"]
    # Chunk kinds by size: <= 40 bytes inline, larger native; virtual as written.
    session = repo.readonly_session(snapshot_id=ids["c1"])
    kinds = {
        ("/g/temperature", (0, 0)): ic.ChunkType.native,
        ("/g/temperature", (1, 1)): ic.ChunkType.virtual,
        ("/g/counts", (0, 0)): ic.ChunkType.inline,
        ("/g/h/f64", (2,)): ic.ChunkType.inline,
        ("/pixels", (0, 0)): ic.ChunkType.virtual,
        ("/pixels", (1, 1)): ic.ChunkType.virtual,
        ("/old", (0,)): ic.ChunkType.inline,
        ("/g/counts", (1, 1)): ic.ChunkType.uninitialized,
    }
    for (path, index), kind in kinds.items():
        assert session.chunk_type(path, list(index)) == kind, (path, index)
    assert repo.readonly_session(snapshot_id=ids["c3"]).chunk_type("/pixels", [0, 0]) == ic.ChunkType.inline


def test_python_diffs_match_the_twin(written: Written, twin: Written, servers: Servers):
    repo, twin_repo = py_repo(written, servers), py_repo(twin, servers)
    for (a, b), expected in EXPECTED_DIFFS.items():
        got = ic_diff(repo, written.ids[a], written.ids[b])
        ref = ic_diff(twin_repo, twin.ids[a], twin.ids[b])
        assert got == ref, f"diff {a}..{b}: floe-written {got} != icechunk-written {ref}"
        assert got == normalize_expected_diff(expected), f"diff {a}..{b}"


def test_stale_virtual_chunk_is_refused(written: Written, floe: Floe, servers: Servers):
    """A virtual ref whose ETag no longer matches: both readers refuse (ObjectModified / precondition)."""
    store = py_repo(written, servers).readonly_session(branch="main").store
    with pytest.raises(ic.IcechunkError) as excinfo:
        ic_get(store, "stale/c/0")
    # icechunk 2.3: StorageError kind "virtual-chunk-modified", "the checksum of the object owning the
    # virtual chunk has changed".
    assert excinfo.value.kind == "virtual-chunk-modified", excinfo.value
    res = floe.get(written.url, "stale/c/0", ("branch", "main"), authorize=[written.prefix], check=False)
    assert res.returncode not in (0, EXIT_NOT_FOUND) and res.stdout == b"", res.describe()
    err = res.stderr.decode(errors="replace").lower()
    assert any(word in err for word in ("modified", "changed", "precondition", "412")), res.describe()


# --------------------------------------------------------------------------------------------------
# floe reads its own repository exactly as icechunk-python does
# --------------------------------------------------------------------------------------------------


def test_floe_reads_refs_info_and_logs(written: Written, floe: Floe, servers: Servers):
    repo = py_repo(written, servers)
    assert_same_refs(floe, written.url, repo)
    info = floe.info(written.url)
    assert info["spec_version"] == 2
    assert info["deleted_tags"] == EXPECTED_DELETED_TAGS
    assert info["snapshots"] == len(repo.inspect_repo_info()["snapshots"])
    assert info["status"] == "online"
    assert info["config"]["inline_chunk_threshold_bytes"] == INLINE_THRESHOLD
    assert written.prefix in config_container_prefixes(info["config"])
    for sel in EXPECTED_HISTORY:
        assert_same_log(floe, written.url, repo, sel)
    assert_same_log(floe, written.url, repo, ("snapshot", written.ids["c4"]))


def test_floe_reads_every_commit_like_python(written: Written, floe: Floe, servers: Servers):
    repo = py_repo(written, servers)
    for name in COMMITS:
        view = assert_same_snapshot(floe, written.url, repo, written.ids[name], authorize=[written.prefix],
                                    local_root=written.local_root)
        assert view.chunks_checked > 0
    # Branch and tag selectors.
    for sel in EXPECTED_HISTORY:
        tip = written.ids[EXPECTED_HISTORY[sel][0]]
        assert floe.ls(written.url, sel) == floe.ls(written.url, ("snapshot", tip))
    # A chunk that was never written, and one that was deleted: exit 3, nothing on stdout.
    store = repo.readonly_session(snapshot_id=written.ids["c1"]).store
    assert_missing_chunk(floe, written.url, store, "g/counts/c/1/1", ("snapshot", written.ids["c1"]))
    store = repo.readonly_session(branch="main").store
    assert_missing_chunk(floe, written.url, store, "g/counts/c/0/0", ("branch", "main"))


def test_floe_refs_show_what_was_written(written: Written, floe: Floe):
    sel = ("snapshot", written.ids["c1"])
    refs = {tuple(r["index"]): r for r in floe.refs(written.url, "/pixels", sel)}
    location = f"{written.prefix}{SOURCE_KEY}"
    for index, r in refs.items():
        off, length = written.source.offsets[("/pixels", index)]
        assert (r["kind"], r["location"], r["offset"], r["length"]) == ("virtual", location, off, length), index
    assert refs[(0, 0)]["checksum_etag"].strip('"') == written.info.etag.strip('"')
    assert refs[(0, 0)]["checksum_last_modified"] is None
    assert refs[(0, 1)]["checksum_last_modified"] == checksum_time(written.info)
    assert refs[(0, 1)]["checksum_etag"] is None
    assert refs[(1, 0)]["checksum_etag"] is None and refs[(1, 0)]["checksum_last_modified"] is None
    temperature = {tuple(r["index"]): r["kind"] for r in floe.refs(written.url, "/g/temperature", sel)}
    assert temperature == {(0, 0): "native", (0, 1): "native", (1, 0): "native", (1, 1): "virtual"}
    counts = {tuple(r["index"]): r["kind"] for r in floe.refs(written.url, "/g/counts", sel)}
    assert counts == {(0, 0): "inline", (0, 1): "inline", (1, 0): "inline"}


def test_floe_diffs_like_python(written: Written, floe: Floe, servers: Servers):
    repo = py_repo(written, servers)
    for (a, b), expected in EXPECTED_DIFFS.items():
        assert_same_diff(floe, written.url, repo, written.ids[a], written.ids[b], expected)
    # Branch and tag names as diff ends.
    by_name = floe.diff(written.url, written.ids["c1"], "branch:main")
    assert by_name == floe.diff(written.url, written.ids["c1"], written.ids["c5"])
    assert floe.diff(written.url, "tag:v1", "tag:v1") == floe.diff(written.url, written.ids["c3"], written.ids["c3"])


def test_values_through_floe(written: Written, floe: Floe):
    store = floe_zarr_store(floe, written.url, ("branch", "main"), authorize=[written.prefix],
                            paths=["/g/temperature", "/g/counts", "/g/h/f64", "/pixels", "/g/h/extra"])
    tree = written.trees["c5"]
    for path in ["/g/temperature", "/g/counts", "/g/h/f64", "/pixels", "/g/h/extra"]:
        assert_array_equal(zarr.open_array(store, path=path.strip("/"), mode="r")[:],
                           P.decode_array(tree.meta[path], tree.chunks[path]), err_msg=path)


# --------------------------------------------------------------------------------------------------
# icechunk-python commits on top; floe reads it back (last in this module: it changes the repository)
# --------------------------------------------------------------------------------------------------


def test_python_commits_on_top_and_floe_reads_it(written: Written, floe: Floe, servers: Servers):
    repo = py_repo(written, servers)
    session = repo.writable_session("main")
    root = zarr.open_group(session.store, mode="a")
    root["g/temperature"][0:3, 4:8] = np.full((3, 4), 42.5, dtype="float32")
    added = root["g"].create_array("added", shape=(3,), chunks=(3,), dtype="float64", fill_value=0.0,
                                   dimension_names=["z"], attributes={"from": "python"})
    added[:] = [1.5, 2.5, 3.5]
    new_id = session.commit("python on top", metadata={"by": "icechunk-python"})

    url = written.url
    assert floe.branches(url)["main"] == new_id
    log = assert_same_log(floe, url, repo, ("branch", "main"))
    assert log[0]["message"] == "python on top" and log[0]["parent"] == written.ids["c5"]
    assert log[0]["metadata"] == {"by": "icechunk-python"}
    assert_same_snapshot(floe, url, repo, new_id, sel=("branch", "main"), authorize=[written.prefix])
    assert_same_diff(floe, url, repo, written.ids["c5"], new_id, {
        "new_arrays": ["/g/added"],
        "updated_chunks": {"/g/temperature": [[0, 1]], "/g/added": [[0]]},
    })
    store = floe_zarr_store(floe, url, ("branch", "main"), authorize=[written.prefix],
                            paths=["/g/added", "/g/temperature"])
    assert_array_equal(zarr.open_array(store, path="g/added", mode="r")[:], [1.5, 2.5, 3.5])
    assert_array_equal(zarr.open_array(store, path="g/temperature", mode="r")[0:3, 4:8], np.full((3, 4), 42.5))


# --------------------------------------------------------------------------------------------------
# floe's repository commands (init, branch, tag) seen by icechunk-python
# --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("where", ["local", "s3"])
def test_floe_repo_init_and_ref_commands(where: str, floe: Floe, servers: Servers, s3: S3, tmp_path: Path):
    bucket_name, prefix, source, info = _prepare(s3, servers, f"init-{where}")
    url = str(tmp_path / "repo") if where == "local" else f"s3://{bucket_name}/repo"
    floe.run(["repo", "init", url, "--inline-threshold", "100",
              "--container", f"{prefix}=region={servers.region},endpoint={servers.s3_endpoint}"], url)
    repo = ic_open(url, servers, authorize=[prefix])
    assert repo.config.inline_chunk_threshold_bytes == 100
    container = (repo.config.virtual_chunk_containers or {})[prefix]
    assert container.url_prefix == prefix
    assert repo.list_branches() == {"main"}
    history = list(repo.ancestry(branch="main"))
    assert [s.id for s in history] == [INITIAL_SNAPSHOT_ID]
    assert history[0].message == "Repository initialized"

    # icechunk-python commits into the floe-created repository, with a virtual chunk in its container.
    session = repo.writable_session("main")
    arr = zarr.create_array(session.store, name="px", shape=(10, 10), chunks=(5, 5), dtype="uint8", fill_value=0,
                            compressors=None, filters=None)
    off, length = source.offsets[("/pixels", (0, 0))]
    session.store.set_virtual_ref("px/c/0/0", f"{prefix}{SOURCE_KEY}", offset=off, length=length)
    arr[5:10, 5:10] = 9
    first = session.commit("python in a floe repo")
    assert_array_equal(zarr.open_array(repo.readonly_session(snapshot_id=first).store, path="px", mode="r")[0:5, 0:5],
                       PIXELS_1[0:5, 0:5])

    floe.run(["repo", "branch", "create", url, "dev", INITIAL_SNAPSHOT_ID], url)
    floe.run(["repo", "tag", "create", url, "t1", first], url)
    floe.run(["repo", "tag", "create", url, "t2", INITIAL_SNAPSHOT_ID], url)
    repo = ic_open(url, servers, authorize=[prefix])
    assert repo.lookup_branch("dev") == INITIAL_SNAPSHOT_ID
    assert {t: repo.lookup_tag(t) for t in repo.list_tags()} == {"t1": first, "t2": INITIAL_SNAPSHOT_ID}
    floe.run(["repo", "branch", "reset", url, "dev", first], url)
    floe.run(["repo", "tag", "delete", url, "t2"], url)
    repo = ic_open(url, servers, authorize=[prefix])
    assert repo.lookup_branch("dev") == first
    assert repo.list_tags() == {"t1"}
    assert repo.inspect_repo_info()["deleted_tags"] == ["t2"]
    # icechunk-python commits on the branch floe reset, floe deletes another, both see the same refs.
    session = repo.writable_session("dev")
    zarr.open_array(session.store, path="px", mode="a")[0, 9] = 1
    second = session.commit("python on dev")
    floe.run(["repo", "branch", "create", url, "gone", second], url)
    floe.run(["repo", "branch", "delete", url, "gone"], url)
    repo = ic_open(url, servers, authorize=[prefix])
    assert repo.list_branches() == {"main", "dev"}
    assert_same_refs(floe, url, repo)
    assert_same_log(floe, url, repo, ("branch", "dev"))
    assert_same_snapshot(floe, url, repo, second, sel=("branch", "dev"), authorize=[prefix])
    # A deleted tag cannot be created again (as in icechunk).
    res = floe.run(["repo", "tag", "create", url, "t2", first], url, check=False)
    assert res.returncode != 0, res.describe()
    with pytest.raises(ic.IcechunkError):
        repo.create_tag("t2", first)
