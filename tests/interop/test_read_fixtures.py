"""floe and icechunk-python read the official compatibility repositories identically.

The repositories are icechunk's own read-compatibility fixtures (`icechunk-python/tests/data/` of
earth-mover/icechunk, copied to $FLOE_TESTDATA/icechunk/). Every test copies its fixture to a temporary
directory first: nothing under ../shared/testdata is ever opened for writing.

Two kinds of checks:
* differential: for every branch, tag and snapshot, floe's refs, ancestry, node tree, zarr.json bytes,
  chunk refs, chunk bytes and diffs equal what icechunk-python 2.3 reports;
* the exact expectations of the official `icechunk-python/tests/test_can_read_old.py` (functions
  `do_icechunk_can_read_old_repo`, `do_icechunk_can_read_old_repo_with_manifest_splitting`,
  `do_read_expired_repo`, and the writers `write_a_test_repo` / `write_a_split_repo` for the values
  written), as literals, checked through icechunk-python and through floe.

The virtual chunk. `test-repo-*` reference `s3://testbucket/can_read_old/chunk-1` through a virtual
chunk container `s3://testbucket/` (v1/migrated: named "s3", prefix "s3://testbucket") whose store is
`s3_compatible` at `http://localhost:4200` (region us-east-1, path style, http allowed). The official
test puts into that bucket, at that key, the bytes of the materialized chunk `group1/big_chunks/c/0/1`
(`write_chunks_to_minio`) and then expects `big_chunks` to be all 42.0. We do the same on our versitygw:
bucket `testbucket` on the test server, and for the duration of this module a faultproxy of ours listens
on 127.0.0.1:4200 and forwards to versitygw (it keeps the Host header, so SigV4 signatures made for
localhost:4200 still verify). Credentials are the test server's; the container is authorized by prefix.

The checksum. The writer calls `set_virtual_ref(..., checksum=datetime(9999, 12, 31, tzinfo=UTC))`.
The manifest field `checksum_last_modified` is a uint32 of seconds, so what was stored is
253402214400 mod 2**32 = 4294111232 (2106-02-07T06:00:32Z), in both test-repo-v1 and test-repo-v2
(decoded with flatc from the manifests). That is after any upload time we can produce, so a correct
reader sends If-Unmodified-Since with a 2106 date and the read succeeds: both readers must return the
bytes (the official test expects 42.0 too). The refusal side of checksums (ObjectModified) is exercised
in test_floe_writes.py with an ETag that no longer matches.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import icechunk as ic
import numpy as np
import pytest
import zarr
from numpy.testing import assert_array_equal
from zarr.core.sync import sync

from conftest import (
    FaultProxyProcess,
    Floe,
    S3,
    Servers,
    assert_missing_chunk,
    assert_same_diff,
    assert_same_log,
    assert_same_refs,
    assert_same_snapshot,
    config_container_prefixes,
    copy_fixture,
    faultproxy_binary,
    floe_diff_normalized,
    floe_zarr_store,
    ic_ancestry,
    ic_diff,
    ic_get,
    ic_open,
    ic_refs,
    normalize_expected_diff,
)

TEST_REPOS = ["test-repo-v1", "test-repo-v2", "test-repo-v2-migrated"]
SPLIT_REPOS = ["split-repo-v1", "split-repo-v2", "split-repo-v2-migrated"]
# name -> tracks_tx_logs (the argument the official test passes to do_read_expired_repo)
EXPIRED_REPOS = {
    "expire-repo-v1-by-1.1.21": False,
    "expire-repo-v1-by-2.0.5": False,
    "expire-repo-v1-by-working-copy": False,
    "expire-repo-v2-by-2.0.5": False,
    "expire-repo-v2-by-working-copy": True,
}
ALL_FIXTURES = TEST_REPOS + SPLIT_REPOS + list(EXPIRED_REPOS)

VIRTUAL_BUCKET = "testbucket"
VIRTUAL_KEY = "can_read_old/chunk-1"
VIRTUAL_PREFIX = "s3://testbucket/"
MINIO_LISTEN = "127.0.0.1:4200"  # the fixtures' container endpoint is http://localhost:4200
# 253402214400 (9999-12-31T00:00:00Z) truncated to the uint32 field: see the module docstring.
FIXTURE_LAST_MODIFIED_CHECKSUM = 4294111232

# ---- literals from test_can_read_old.py (earth-mover/icechunk, icechunk-python/tests/) ----------
# do_icechunk_can_read_old_repo:
EXPECTED_MAIN_HISTORY = ["set virtual chunk", "fill data", "empty structure", "Repository initialized"]
EXPECTED_BRANCH_HISTORY = ["some more structure", "delete a chunk"] + EXPECTED_MAIN_HISTORY
EXPECTED_TAG_HISTORY = {"it also works!": EXPECTED_BRANCH_HISTORY, "it works!": EXPECTED_BRANCH_HISTORY[1:]}
EXPECTED_BRANCHES = {"main", "my-branch"}  # write_a_test_repo: main + create_branch("my-branch")
EXPECTED_TAGS = {"it works!", "it also works!"}  # "deleted" was created and deleted
DELETED_TAG = "deleted"
# The list_dir assertions on my-branch, as the node tree they imply:
EXPECTED_MY_BRANCH_NODES = [
    "/",
    "/group1",
    "/group1/big_chunks",
    "/group1/small_chunks",
    "/group2",
    "/group2/group3",
    "/group2/group3/group4",
    "/group2/group3/group4/group5",
    "/group2/group3/group4/group5/inner",
]
EXPECTED_LIST_DIR = {
    "": ["group1", "group2", "zarr.json"],
    "group1": ["big_chunks", "small_chunks", "zarr.json"],
    "group2": ["group3", "zarr.json"],
    "group2/group3": ["group4", "zarr.json"],
    "group2/group3/group4": ["group5", "zarr.json"],
    "group2/group3/group4/group5": ["inner", "zarr.json"],
    "group2/group3/group4/group5/inner": ["c", "zarr.json"],
}
EXPECTED_SMALL_CHUNKS = [84, 84, 84, 84, 8]  # "we deleted the last chunk (of size 1), and the fill value is 8"
EXPECTED_BIG_CHUNKS_VALUE = 42.0
# The diff from parents[-2] ("empty structure") to main:
EXPECTED_FILL_DIFF = {
    "updated_chunks": {
        "/group1/big_chunks": [[i, j] for i in range(2) for j in range(2)],
        "/group1/small_chunks": [[i] for i in range(5)],
    }
}
# write_a_test_repo: attributes and array definitions.
NICE_GROUP_ATTRS = {"this": "is a nice group", "icechunk": 1, "size": 42.0}
NICE_ARRAY_ATTRS = {"this": "is a nice array", "icechunk": 1, "size": 42.0}
EXPECTED_ARRAYS = {
    "/group1/big_chunks": {"shape": [10, 10], "chunks": [5, 5], "dtype": "float32", "fill_value": "NaN"},
    "/group1/small_chunks": {"shape": [5], "chunks": [1], "dtype": "int8", "fill_value": 8},
    "/group2/group3/group4/group5/inner": {"shape": [10, 10], "chunks": [5, 5], "dtype": "float32",
                                           "fill_value": "NaN"},
}

# do_icechunk_can_read_old_repo_with_manifest_splitting: main's ancestry oldest first.
EXPECTED_SPLIT_HISTORY = [
    ("empty structure", 0),  # (message, number of manifest files) for ancestry[1..4]
    ("write data", 9),
    ("write data again", 9),
    ("write data again with more splits", 17),
]
# write_a_split_repo: the values each commit wrote (split is 10x10 float32 in 3x3 chunks with
# dimension_names (None, "longitude"); small_chunks is 5 int8 in chunks of 1, fill 8).
EXPECTED_SPLIT_VALUES = {
    "empty structure": (np.nan, 8),
    "write data": (120.0, 0),
    "write data again": (12.0, 1),
    "write data again with more splits": (14.0, 3),
}

# do_read_expired_repo (post-expiration fixtures):
EXPIRED_MAIN_HISTORY = ["write j", "Repository initialized"]
EXPIRED_FEATURE_HISTORY = ["feature post-t2", "Repository initialized"]
EXPIRED_PROTECT_B_HISTORY = ["write b", "Repository initialized"]


def updated_splitting_config() -> ic.ManifestSplittingConfig:
    # UPDATED_SPLITTING_CONFIG of test_can_read_old.py
    return ic.ManifestSplittingConfig.from_dict(
        {
            ic.ManifestSplitCondition.name_matches("split_*"): {
                ic.ManifestSplitDimCondition.Axis(0): 1,
                ic.ManifestSplitDimCondition.DimensionName("longitude"): 1,
                ic.ManifestSplitDimCondition.Any(): 3,
            }
        }
    )


# --------------------------------------------------------------------------------------------------
# Fixtures
# --------------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def can_read_old_chunk(servers: Servers, s3: S3, testdata: Path, tmp_path_factory) -> bytes:
    """Serves s3://testbucket/can_read_old/chunk-1 at localhost:4200 as the official test does."""
    tmp = tmp_path_factory.mktemp("can-read-old")
    repo_path = copy_fixture(testdata, "test-repo-v2", tmp)
    repo = ic_open(str(repo_path), servers)
    chunk = ic_get(repo.readonly_session(branch="main").store, "group1/big_chunks/c/0/1")
    assert chunk, "test-repo-v2 has no group1/big_chunks/c/0/1"
    s3.make_bucket(VIRTUAL_BUCKET, exist_ok=True)
    s3.put(VIRTUAL_BUCKET, VIRTUAL_KEY, chunk)
    proxy = FaultProxyProcess(faultproxy_binary(servers, tmp), MINIO_LISTEN, servers.s3_endpoint,
                              tmp / "faultproxy-4200.log")
    try:
        yield chunk
    finally:
        proxy.stop()


@pytest.fixture
def fixture_url(request, testdata: Path, tmp_path: Path) -> str:
    return str(copy_fixture(testdata, request.param, tmp_path))


def authorize_for(name: str) -> list[str]:
    return [VIRTUAL_PREFIX] if name in TEST_REPOS else []


def open_fixture(name: str, url: str, servers: Servers) -> ic.Repository:
    return ic_open(url, servers, authorize=authorize_for(name))


def all_selectors(repo: ic.Repository) -> list[tuple[str, str]]:
    branches, tags = ic_refs(repo)
    return [("branch", b) for b in sorted(branches)] + [("tag", t) for t in sorted(tags)]


def all_snapshots(repo: ic.Repository) -> list[str]:
    seen: dict[str, None] = {}
    for sel in all_selectors(repo):
        for snap in ic_ancestry(repo, sel):
            seen.setdefault(snap.id, None)
    return list(seen)


def py_list_dir(store: ic.IcechunkStore, prefix: str) -> list[str]:
    async def collect() -> list[str]:
        return [p async for p in store.list_dir(prefix)]

    return sorted(sync(collect()))


# --------------------------------------------------------------------------------------------------
# Differential: floe == icechunk-python on every fixture
# --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("fixture_url", ALL_FIXTURES, indirect=True)
def test_refs_and_info(request, fixture_url: str, floe: Floe, servers: Servers):
    name = request.node.callspec.params["fixture_url"]
    repo = open_fixture(name, fixture_url, servers)
    branches, tags = assert_same_refs(floe, fixture_url, repo)
    info = floe.info(fixture_url)
    spec = 1 if repo.spec_version == ic.SpecVersion.v1 else 2
    assert info["spec_version"] == spec
    assert info["branches"] == branches
    assert info["tags"] == tags
    if spec == 2:
        py_info = repo.inspect_repo_info()
        assert sorted(info["deleted_tags"]) == sorted(py_info["deleted_tags"])
        assert info["snapshots"] == len(py_info["snapshots"])
        assert repo.get_status().availability == ic.RepoAvailability.online
        assert info["status"] == "online"
    else:
        # Spec 1 keeps deleted tags as tombstones refs/tag.NAME/ref.json.deleted.
        root = Path(fixture_url)
        tombstones = sorted(p.parent.name[len("tag."):] for p in (root / "refs").glob("tag.*/ref.json.deleted"))
        assert sorted(info["deleted_tags"]) == tombstones
    config = info.get("config") or {}
    if "inline_chunk_threshold_bytes" in config and config["inline_chunk_threshold_bytes"] is not None:
        assert config["inline_chunk_threshold_bytes"] == repo.config.inline_chunk_threshold_bytes
    if spec == 2 and name == "test-repo-v2":
        assert config.get("inline_chunk_threshold_bytes") == 12
        assert VIRTUAL_PREFIX in config_container_prefixes(config)


@pytest.mark.parametrize("fixture_url", ALL_FIXTURES, indirect=True)
def test_ancestry(request, fixture_url: str, floe: Floe, servers: Servers):
    name = request.node.callspec.params["fixture_url"]
    repo = open_fixture(name, fixture_url, servers)
    for sel in all_selectors(repo):
        assert_same_log(floe, fixture_url, repo, sel)
    # No selector means main; --snapshot gives the ancestry from any snapshot.
    assert floe.log(fixture_url) == floe.log(fixture_url, ("branch", "main"))
    for snap in all_snapshots(repo):
        assert_same_log(floe, fixture_url, repo, ("snapshot", snap))


@pytest.mark.parametrize("fixture_url", ALL_FIXTURES, indirect=True)
def test_every_snapshot_content(request, fixture_url: str, floe: Floe, servers: Servers):
    name = request.node.callspec.params["fixture_url"]
    if name in TEST_REPOS:
        request.getfixturevalue("can_read_old_chunk")
    repo = open_fixture(name, fixture_url, servers)
    checked = 0
    for snap in all_snapshots(repo):
        view = assert_same_snapshot(floe, fixture_url, repo, snap, authorize=authorize_for(name),
                                    local_root=Path(fixture_url))
        checked += view.chunks_checked
    assert checked > 0
    # Branch and tag selectors select the same trees as the snapshot ids they point to.
    for sel in all_selectors(repo):
        tip = ic_ancestry(repo, sel)[0].id
        assert floe.ls(fixture_url, sel) == floe.ls(fixture_url, ("snapshot", tip)), sel


@pytest.mark.parametrize("fixture_url", ALL_FIXTURES, indirect=True)
def test_diffs(request, fixture_url: str, floe: Floe, servers: Servers):
    name = request.node.callspec.params["fixture_url"]
    repo = open_fixture(name, fixture_url, servers)
    for sel in all_selectors(repo):
        history = ic_ancestry(repo, sel)
        for child, parent in zip(history, history[1:]):
            assert_same_diff(floe, fixture_url, repo, parent.id, child.id)
        assert_same_diff(floe, fixture_url, repo, history[-1].id, history[0].id)


# --------------------------------------------------------------------------------------------------
# The official expectations (test_can_read_old.py), through icechunk-python and through floe
# --------------------------------------------------------------------------------------------------


def check_attrs_and_arrays(nodes: dict[str, dict[str, Any]]) -> None:
    """write_a_test_repo's attributes and array definitions, on parsed zarr.json documents."""
    for path in ["/group1", "/group2", "/group2/group3", "/group2/group3/group4", "/group2/group3/group4/group5"]:
        assert nodes[path]["node_type"] == "group"
        assert nodes[path]["attributes"] == NICE_GROUP_ATTRS, path
    for path, spec in EXPECTED_ARRAYS.items():
        meta = nodes[path]
        assert meta["node_type"] == "array"
        assert meta["shape"] == spec["shape"], path
        assert meta["chunk_grid"]["configuration"]["chunk_shape"] == spec["chunks"], path
        assert meta["data_type"] == spec["dtype"], path
        assert meta["fill_value"] == spec["fill_value"], path
        assert meta["attributes"] == NICE_ARRAY_ATTRS, path


@pytest.mark.parametrize("fixture_url", TEST_REPOS, indirect=True)
def test_can_read_old_expectations_python(request, fixture_url: str, servers: Servers, can_read_old_chunk: bytes):
    """do_icechunk_can_read_old_repo, through icechunk-python against our servers."""
    repo = ic_open(fixture_url, servers, authorize=[VIRTUAL_PREFIX])
    assert set(repo.list_branches()) == EXPECTED_BRANCHES
    assert set(repo.list_tags()) == EXPECTED_TAGS
    main_snapshot = repo.lookup_branch("main")
    assert [p.message for p in repo.ancestry(snapshot_id=main_snapshot)] == EXPECTED_MAIN_HISTORY
    assert [p.message for p in repo.ancestry(branch="my-branch")] == EXPECTED_BRANCH_HISTORY
    for tag, history in EXPECTED_TAG_HISTORY.items():
        assert [p.message for p in repo.ancestry(tag=tag)] == history
    with pytest.raises(ic.IcechunkError, match="ref not found"):
        repo.readonly_session(tag=DELETED_TAG)

    store = repo.readonly_session(branch="my-branch").store
    for prefix, entries in EXPECTED_LIST_DIR.items():
        assert py_list_dir(store, prefix) == entries, prefix
    root = zarr.open_group(store=store, mode="r")
    assert_array_equal(root["group2/group3/group4/group5/inner"][:], float("nan"))
    assert_array_equal(root["group1/small_chunks"][:], EXPECTED_SMALL_CHUNKS)
    # The virtual chunk c/0/0 holds the bytes of c/0/1 (served by the module fixture).
    assert ic_get(store, "group1/big_chunks/c/0/0") == can_read_old_chunk
    assert_array_equal(root["group1/big_chunks"][:], EXPECTED_BIG_CHUNKS_VALUE)
    nodes = {"/" + k[: -len("/zarr.json")]: json.loads(ic_get(store, k))
             for k in [f"{p.strip('/')}/zarr.json" for p in EXPECTED_MY_BRANCH_NODES[1:]]}
    check_attrs_and_arrays(nodes)

    parents = list(repo.ancestry(branch="main"))
    diff = repo.diff(to_branch="main", from_snapshot_id=parents[-2].id)
    assert diff.new_groups == set() and diff.new_arrays == set()
    assert set(diff.updated_chunks) == set(EXPECTED_FILL_DIFF["updated_chunks"])
    for path, coords in EXPECTED_FILL_DIFF["updated_chunks"].items():
        assert sorted(diff.updated_chunks[path]) == sorted(coords)
    assert diff.deleted_groups == set() and diff.deleted_arrays == set()
    assert diff.updated_groups == set() and diff.updated_arrays == set()

    session = repo.readonly_session(branch="main")
    assert session.chunk_type("/group1/big_chunks", [0, 0]) == ic.ChunkType.virtual
    assert all(session.chunk_type("/group1/small_chunks", [i]) == ic.ChunkType.inline for i in range(5))


@pytest.mark.parametrize("fixture_url", TEST_REPOS, indirect=True)
def test_can_read_old_expectations_floe(request, fixture_url: str, floe: Floe, servers: Servers,
                                        can_read_old_chunk: bytes):
    """do_icechunk_can_read_old_repo, through floe."""
    url = fixture_url
    assert set(floe.branches(url)) == EXPECTED_BRANCHES
    assert set(floe.tags(url)) == EXPECTED_TAGS
    assert [e["message"] for e in floe.log(url, ("branch", "main"))] == EXPECTED_MAIN_HISTORY
    assert [e["message"] for e in floe.log(url, ("branch", "my-branch"))] == EXPECTED_BRANCH_HISTORY
    for tag, history in EXPECTED_TAG_HISTORY.items():
        assert [e["message"] for e in floe.log(url, ("tag", tag))] == history
    # The deleted tag is not a ref any more ("ref not found" in icechunk-python).
    res = floe.run(["repo", "log", url, "--tag", DELETED_TAG], url, json_out=True, check=False)
    assert res.returncode != 0, res.describe()
    assert DELETED_TAG in floe.info(url)["deleted_tags"]

    sel = ("branch", "my-branch")
    listing = floe.ls(url, sel)
    assert [e["path"] for e in listing] == EXPECTED_MY_BRANCH_NODES
    check_attrs_and_arrays({e["path"]: e["zarr_json"] for e in listing})
    assert floe.refs(url, "/group2/group3/group4/group5/inner", sel) == []
    ic_store = ic_open(url, servers).readonly_session(branch="my-branch").store
    assert_missing_chunk(floe, url, ic_store, "group2/group3/group4/group5/inner/c/0/0", sel)
    assert_missing_chunk(floe, url, ic_store, "group1/small_chunks/c/4", sel)  # "delete a chunk"

    # The refs of big_chunks on main: c/0/0 virtual (the fixture's checksum), the rest native.
    refs = {tuple(r["index"]): r for r in floe.refs(url, "/group1/big_chunks", ("branch", "main"))}
    assert sorted(refs) == [(0, 0), (0, 1), (1, 0), (1, 1)]
    virtual = refs[(0, 0)]
    assert virtual["kind"] == "virtual"
    assert virtual["location"] == "s3://testbucket/can_read_old/chunk-1"
    assert virtual["offset"] == 0 and virtual["length"] == len(can_read_old_chunk)
    assert virtual["checksum_etag"] is None
    assert virtual["checksum_last_modified"] == FIXTURE_LAST_MODIFIED_CHECKSUM
    assert {refs[i]["kind"] for i in [(0, 1), (1, 0), (1, 1)]} == {"native"}
    assert {r["kind"] for r in floe.refs(url, "/group1/small_chunks", ("branch", "main"))} == {"inline"}

    # Values decoded by zarr from bytes that came through floe only.
    store = floe_zarr_store(floe, url, sel, authorize=[VIRTUAL_PREFIX])
    root = zarr.open_group(store=store, mode="r")
    assert_array_equal(root["group2/group3/group4/group5/inner"][:], float("nan"))
    assert_array_equal(root["group1/small_chunks"][:], EXPECTED_SMALL_CHUNKS)
    assert_array_equal(root["group1/big_chunks"][:], EXPECTED_BIG_CHUNKS_VALUE)
    got = floe.get(url, "group1/big_chunks/c/0/0", ("branch", "main"), authorize=[VIRTUAL_PREFIX]).stdout
    assert got == can_read_old_chunk

    # Without authorizing the container, the virtual chunk is refused (icechunk-python: InvalidInputError).
    res = floe.get(url, "group1/big_chunks/c/0/0", ("branch", "main"), check=False)
    assert res.returncode != 0 and res.stdout == b"", res.describe()
    assert "authoriz" in res.stderr.decode(errors="replace").lower(), res.describe()

    # The diff from parents[-2] to main, by snapshot id and by branch name.
    parents = floe.log(url, ("branch", "main"))
    expected = normalize_expected_diff(EXPECTED_FILL_DIFF)
    assert floe_diff_normalized(floe.diff(url, parents[-2]["id"], "branch:main")) == expected
    assert floe_diff_normalized(floe.diff(url, parents[-2]["id"], parents[0]["id"])) == expected
    tag_tip = floe.tags(url)["it works!"]
    assert floe.diff(url, parents[0]["id"], "tag:it works!") == floe.diff(url, parents[0]["id"], tag_tip)


@pytest.mark.parametrize("fixture_url", SPLIT_REPOS, indirect=True)
def test_split_expectations_python(fixture_url: str, servers: Servers):
    """do_icechunk_can_read_old_repo_with_manifest_splitting, plus the values write_a_split_repo wrote."""
    repo = ic_open(fixture_url, servers)
    ancestry = list(repo.ancestry(branch="main"))[::-1]
    assert ancestry[0].message == "Repository initialized"
    for snap, (message, n_manifests) in zip(ancestry[1:], EXPECTED_SPLIT_HISTORY, strict=True):
        assert snap.message == message
        assert len(repo.list_manifest_files(snap.id)) == n_manifests
        root = zarr.open_group(repo.readonly_session(snapshot_id=snap.id).store, mode="r")
        split_value, small_value = EXPECTED_SPLIT_VALUES[message]
        assert_array_equal(root["group1/split"][:], np.full((10, 10), split_value, dtype="float32"))
        assert_array_equal(root["group1/small_chunks"][:], np.full(5, small_value, dtype="int8"))
    assert repo.config.manifest
    assert repo.config.manifest.splitting == updated_splitting_config()


@pytest.mark.parametrize("fixture_url", SPLIT_REPOS, indirect=True)
def test_split_expectations_floe(fixture_url: str, floe: Floe):
    history = floe.log(fixture_url, ("branch", "main"))[::-1]
    assert [e["message"] for e in history] == ["Repository initialized"] + [m for m, _ in EXPECTED_SPLIT_HISTORY]
    for entry in history[1:]:
        sel = ("snapshot", entry["id"])
        listing = {e["path"]: e for e in floe.ls(fixture_url, sel)}
        split = listing["/group1/split"]["zarr_json"]
        assert split["shape"] == [10, 10]
        assert split["chunk_grid"]["configuration"]["chunk_shape"] == [3, 3]
        assert split["dimension_names"] == [None, "longitude"]
        assert split["attributes"] == NICE_ARRAY_ATTRS
        assert listing["/group1"]["zarr_json"]["attributes"] == NICE_GROUP_ATTRS
        n_refs = len(floe.refs(fixture_url, "/group1/split", sel))
        assert n_refs == (0 if entry["message"] == "empty structure" else 16)  # 4x4 chunks, split manifests
        root = zarr.open_group(floe_zarr_store(floe, fixture_url, sel), mode="r")
        split_value, small_value = EXPECTED_SPLIT_VALUES[entry["message"]]
        assert_array_equal(root["group1/split"][:], np.full((10, 10), split_value, dtype="float32"))
        assert_array_equal(root["group1/small_chunks"][:], np.full(5, small_value, dtype="int8"))


@pytest.mark.parametrize("fixture_url", list(EXPIRED_REPOS), indirect=True)
def test_expired_expectations_python(request, fixture_url: str, servers: Servers):
    """do_read_expired_repo through icechunk-python."""
    tracks_tx_logs = EXPIRED_REPOS[request.node.callspec.params["fixture_url"]]
    repo = ic_open(fixture_url, servers)
    branches = repo.list_branches()
    assert {"main", "feature"} <= branches and not {"doomed1", "doomed2"} & branches
    assert "protect-b" in repo.list_tags()
    assert [s.message for s in repo.ancestry(branch="main")] == EXPIRED_MAIN_HISTORY
    assert [s.message for s in repo.ancestry(branch="feature")] == EXPIRED_FEATURE_HISTORY
    assert [s.message for s in repo.ancestry(tag="protect-b")] == EXPIRED_PROTECT_B_HISTORY
    root = zarr.open_group(store=repo.readonly_session(branch="main").store, mode="r")
    check_expired_values(root)
    main_tip = repo.lookup_branch("main")
    root_snap = list(repo.ancestry(branch="main"))[-1].id
    check_expired_diff(ic_diff(repo, root_snap, main_tip), tracks_tx_logs)
    n_tx = sum(1 for _ in (Path(fixture_url) / "transactions").iterdir())
    n_snap = sum(1 for _ in (Path(fixture_url) / "snapshots").iterdir())
    assert (n_tx > n_snap) if tracks_tx_logs else (n_tx <= n_snap)


@pytest.mark.parametrize("fixture_url", list(EXPIRED_REPOS), indirect=True)
def test_expired_expectations_floe(request, fixture_url: str, floe: Floe):
    tracks_tx_logs = EXPIRED_REPOS[request.node.callspec.params["fixture_url"]]
    branches = floe.branches(fixture_url)
    assert {"main", "feature"} <= set(branches) and not {"doomed1", "doomed2"} & set(branches)
    assert "protect-b" in floe.tags(fixture_url)
    assert [e["message"] for e in floe.log(fixture_url, ("branch", "main"))] == EXPIRED_MAIN_HISTORY
    assert [e["message"] for e in floe.log(fixture_url, ("branch", "feature"))] == EXPIRED_FEATURE_HISTORY
    assert [e["message"] for e in floe.log(fixture_url, ("tag", "protect-b"))] == EXPIRED_PROTECT_B_HISTORY
    root = zarr.open_group(floe_zarr_store(floe, fixture_url, ("branch", "main")), mode="r")
    check_expired_values(root)
    history = floe.log(fixture_url, ("branch", "main"))
    check_expired_diff(floe_diff_normalized(floe.diff(fixture_url, history[-1]["id"], history[0]["id"])),
                       tracks_tx_logs)


def check_expired_values(root: zarr.Group) -> None:
    # "j churned row 0 to 99; a..i churned rows 1..8 to their index; 9..11 stay 0."
    data = root["group1/data"]
    assert data[0, 0] == 99
    assert data[5, 0] == 5
    assert data[8, 0] == 8
    assert data[11, 0] == 0
    assert_array_equal(root["group1/small"][:], 0)


def check_expired_diff(diff: dict[str, Any], tracks_tx_logs: bool) -> None:
    if tracks_tx_logs:
        # The complete diff sees the array creation and every churned chunk (pruned_ancestor_tx_logs).
        assert {"/group1/data", "/group1/small"} <= set(diff["new_arrays"])
        assert set(diff["updated_chunks"]) == {"/group1/data", "/group1/small"}
        assert len(diff["updated_chunks"]["/group1/data"]) == 12
        assert len(diff["updated_chunks"]["/group1/small"]) == 4
    else:
        # Only the boundary commit's own delta (degraded, no crash).
        assert diff["new_arrays"] == []
