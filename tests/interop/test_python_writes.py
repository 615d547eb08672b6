"""icechunk-python writes repositories (local disk and S3), floe reads everything identically.

The repository has every chunk kind: inline (small chunks, below the default 512-byte threshold),
native (8 KiB zstd-compressed random float64 chunks), virtual (2,500 refs set with
`store.set_virtual_refs` into five objects on the S3 server, so icechunk compresses the locations with a
zstd dictionary: floe must decode them), an xarray Dataset written with `icechunk.xarray.to_icechunk`,
branches (one deleted, one reset), tags (one deleted), several commits and an amended commit.
floe must report the same refs, history, tree, zarr.json bytes, chunk refs and bytes, and diffs.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import icechunk as ic
import icechunk.xarray as icx
import numpy as np
import pytest
import xarray as xr
import zarr
from numpy.testing import assert_array_equal

from conftest import (
    S3,
    Floe,
    Servers,
    assert_missing_chunk,
    assert_same_diff,
    assert_same_log,
    assert_same_refs,
    assert_same_snapshot,
    config_container_prefixes,
    floe_zarr_store,
    ic_create,
    ic_delete,
    ic_open,
    ic_s3_container,
)

N_VIRTUAL = 2500  # > 1000 virtual refs in one manifest: icechunk dictionary-compresses their locations
VIRTUAL_ELEMS = 4  # uint16 elements per virtual chunk (8 bytes)
N_PARTS = 5
VIRTUAL_VALUES = np.arange(N_VIRTUAL * VIRTUAL_ELEMS, dtype="<u2")


def virtual_layout(i: int) -> tuple[int, int, int]:
    """Chunk i of /virt lives in part-(i % 5).bin at offset (i // 5) * 8, 8 bytes long."""
    return i % N_PARTS, (i // N_PARTS) * 2 * VIRTUAL_ELEMS, 2 * VIRTUAL_ELEMS


def part_objects() -> dict[int, bytes]:
    parts = {k: bytearray() for k in range(N_PARTS)}
    for i in range(N_VIRTUAL):
        part, offset, length = virtual_layout(i)
        assert len(parts[part]) == offset
        parts[part] += VIRTUAL_VALUES[i * VIRTUAL_ELEMS: (i + 1) * VIRTUAL_ELEMS].tobytes()
    return {k: bytes(v) for k, v in parts.items()}


def make_dataset() -> xr.Dataset:
    rng = np.random.default_rng(7)
    return xr.Dataset(
        {
            "temperature": (("time", "lat", "lon"), rng.normal(280, 5, (4, 5, 6)).astype("float32"),
                            {"units": "K", "long_name": "air temperature"}),
            "flag": (("time",), np.array([1, 0, 1, 1], dtype="int8")),
        },
        coords={
            "time": np.arange(4, dtype="int64"),
            "lat": np.linspace(-10, 10, 5),
            "lon": np.linspace(0, 50, 6),
        },
        attrs={"title": "python interop", "history": "written by icechunk-python"},
    )


@dataclass
class PyWritten:
    url: str
    prefix: str
    ids: dict[str, str]
    specs: list[ic.VirtualChunkSpec]
    part_etags: dict[int, str]
    dataset: xr.Dataset
    big: dict[str, np.ndarray] = field(default_factory=dict)  # commit name -> /big values
    local_root: Path | None = None


def write_repository(url: str, servers: Servers, s3: S3, hint: str) -> PyWritten:
    bucket = s3.new_bucket(hint)
    prefix = f"s3://{bucket}/"
    etags = {}
    last_modified = 0
    for k, data in part_objects().items():
        info = s3.put(bucket, f"virtual/part-{k}.bin", data)
        etags[k] = info.etag
        last_modified = max(last_modified, info.last_modified)
    config = ic.RepositoryConfig.default()
    config.set_virtual_chunk_container(ic_s3_container(prefix, servers.s3_endpoint, servers.region))
    repo = ic_create(url, servers, config=config, authorize=[prefix])
    ids: dict[str, str] = {}
    rng = np.random.default_rng(11)
    big: dict[str, np.ndarray] = {}

    # c1: an xarray Dataset, a native-chunk array, an inline-chunk array, group attributes.
    session = repo.writable_session("main")
    ds = make_dataset()
    icx.to_icechunk(ds, session, group="ds", encoding={"temperature": {"chunks": (2, 5, 3)}})
    root = zarr.open_group(session.store, mode="a")
    root.attrs.update({"project": "floe", "levels": [1, 2, 3]})
    big["c1"] = rng.random((64, 64))
    root.create_array("big", shape=(64, 64), chunks=(32, 32), dtype="float64", fill_value=0.0)[:] = big["c1"]
    tiny = root.create_array("tiny", shape=(4,), chunks=(2,), dtype="int8", fill_value=-1,
                             dimension_names=["i"], attributes={"note": "inline"})
    tiny[:] = [1, 2, 3, 4]
    ids["c1"] = session.commit("dataset, big and tiny", metadata={"step": 1, "tool": "icechunk-python"})

    # c2: 2,500 virtual refs (ETag checksums on every 3rd, last-modified on every 7th).
    session = repo.writable_session("main")
    zarr.create_array(session.store, name="virt", shape=(N_VIRTUAL * VIRTUAL_ELEMS,), chunks=(VIRTUAL_ELEMS,),
                      dtype="uint16", fill_value=0, compressors=None, filters=None,
                      serializer=zarr.codecs.BytesCodec(endian="little"), dimension_names=["x"])
    specs = []
    for i in range(N_VIRTUAL):
        part, offset, length = virtual_layout(i)
        kwargs: dict[str, Any] = {}
        if i % 3 == 0:
            kwargs["etag_checksum"] = etags[part]
        elif i % 7 == 0:
            # whole seconds; +1: versitygw compares If-Unmodified-Since with sub-second mtimes
            kwargs["last_updated_at_checksum"] = datetime.fromtimestamp(last_modified + 1, UTC)
        specs.append(ic.VirtualChunkSpec(index=[i], location=f"{prefix}virtual/part-{part}.bin", offset=offset,
                                         length=length, **kwargs))
    assert session.store.set_virtual_refs("/virt", specs) is None
    ids["c2"] = session.commit("2500 virtual refs")
    compressed = sum(repo.inspect_manifest(m.id)["compression"].get("num_compressed_refs", 0)
                     for m in repo.list_manifest_files(ids["c2"]))
    assert compressed >= N_VIRTUAL, "icechunk did not dictionary-compress the virtual chunk locations"

    # Refs: a tag, a deleted tag, a deleted branch, a branch that gets reset.
    repo.create_branch("dev", ids["c2"])
    repo.create_tag("v1", ids["c2"])
    repo.create_tag("gone", ids["c1"])
    repo.delete_tag("gone")
    repo.create_branch("to-delete", ids["c1"])
    repo.delete_branch("to-delete")

    # c3 on dev: overwrite a native chunk, replace a virtual chunk with an inline one, delete another.
    session = repo.writable_session("dev")
    root = zarr.open_group(session.store, mode="a")
    root["big"][0:32, 0:32] = 1.0
    root["virt"][0:4] = [9, 9, 9, 9]
    ic_delete(session.store, "virt/c/5")
    big["c3"] = big["c1"].copy()
    big["c3"][0:32, 0:32] = 1.0
    ids["c3"] = session.commit("dev: native, inline and deleted chunks")

    # c4 on reset-me, which is then reset back to c1.
    repo.create_branch("reset-me", ids["c2"])
    session = repo.writable_session("reset-me")
    zarr.open_array(session.store, path="tiny", mode="a")[0] = 100
    ids["c4"] = session.commit("will be reset away")
    repo.reset_branch("reset-me", ids["c1"])

    # c5 on main, amended into c6 (with a group attribute update).
    session = repo.writable_session("main")
    zarr.open_array(session.store, path="tiny", mode="a")[0:2] = [10, 20]
    ids["c5"] = session.commit("to be amended")
    session = repo.writable_session("main")
    zarr.open_array(session.store, path="tiny", mode="a")[2:4] = [30, 40]
    zarr.open_group(session.store, path="ds", mode="a").attrs["amended"] = True
    ids["c6"] = session.amend("amended", metadata={"amended": True})
    return PyWritten(url, prefix, ids, specs, etags, ds, big, Path(url) if not url.startswith("s3://") else None)


@pytest.fixture(scope="module", params=["local", "s3"])
def pw(request, servers: Servers, s3: S3, tmp_path_factory) -> PyWritten:
    tmp = tmp_path_factory.mktemp(f"python-writes-{request.param}")
    if request.param == "local":
        url = str(tmp / "repo")
    else:
        url = f"s3://{s3.new_bucket('pw-repo')}/some/prefix"
    return write_repository(url, servers, s3, f"pw-{request.param}")


EXPECTED_BRANCHES = {"main": "c6", "dev": "c3", "reset-me": "c1"}
EXPECTED_TAGS = {"v1": "c2"}
SELECTORS = [("branch", "main"), ("branch", "dev"), ("branch", "reset-me"), ("tag", "v1")]


def repo_of(pw: PyWritten, servers: Servers) -> ic.Repository:
    return ic_open(pw.url, servers, authorize=[pw.prefix])


def test_refs_info_and_history(pw: PyWritten, floe: Floe, servers: Servers):
    repo = repo_of(pw, servers)
    branches, tags = assert_same_refs(floe, pw.url, repo)
    assert branches == {b: pw.ids[c] for b, c in EXPECTED_BRANCHES.items()}
    assert tags == {t: pw.ids[c] for t, c in EXPECTED_TAGS.items()}
    info = floe.info(pw.url)
    assert info["spec_version"] == 2
    assert info["branches"] == branches and info["tags"] == tags
    assert info["deleted_tags"] == ["gone"] == repo.inspect_repo_info()["deleted_tags"]
    assert info["snapshots"] == len(repo.inspect_repo_info()["snapshots"])
    assert info["status"] == "online"
    assert pw.prefix in config_container_prefixes(info["config"])
    for sel in SELECTORS:
        assert_same_log(floe, pw.url, repo, sel)
    log = floe.log(pw.url, ("branch", "main"))
    assert [e["message"] for e in log] == ["amended", "2500 virtual refs", "dataset, big and tiny",
                                           "Repository initialized"]
    assert log[0]["metadata"] == {"amended": True}
    assert log[2]["metadata"] == {"step": 1, "tool": "icechunk-python"}
    # Off-history snapshots (amended away, reset away) still have a log.
    assert_same_log(floe, pw.url, repo, ("snapshot", pw.ids["c5"]))
    assert_same_log(floe, pw.url, repo, ("snapshot", pw.ids["c4"]))


def test_every_commit_reads_the_same(pw: PyWritten, floe: Floe, servers: Servers):
    repo = repo_of(pw, servers)
    for name in ["c1", "c2", "c3", "c4", "c5", "c6"]:
        assert_same_snapshot(floe, pw.url, repo, pw.ids[name], authorize=[pw.prefix], local_root=pw.local_root,
                             max_chunk_gets_per_array=40)
    for sel in SELECTORS:
        tip = list(repo.ancestry(**{"branch": {"branch": sel[1]}, "tag": {"tag": sel[1]}}[sel[0]]))[0].id
        assert floe.ls(pw.url, sel) == floe.ls(pw.url, ("snapshot", tip))
    store = repo.readonly_session(branch="dev").store
    assert_missing_chunk(floe, pw.url, store, "virt/c/5", ("branch", "dev"))


def test_chunk_kinds(pw: PyWritten, floe: Floe):
    def kinds(path: str, name: str) -> dict[tuple, str]:
        return {tuple(r["index"]): r["kind"] for r in floe.refs(pw.url, path, ("snapshot", pw.ids[name]))}

    # 8 KiB of random float64 per chunk: native; after c3, chunk (0, 0) is constant and zstd makes it
    # smaller than 512 bytes: inline.
    assert kinds("/big", "c1") == {(0, 0): "native", (0, 1): "native", (1, 0): "native", (1, 1): "native"}
    assert kinds("/big", "c3") == {(0, 0): "inline", (0, 1): "native", (1, 0): "native", (1, 1): "native"}
    assert set(kinds("/tiny", "c1").values()) == {"inline"}
    assert set(kinds("/ds/time", "c1").values()) == {"inline"}
    assert set(kinds("/virt", "c2").values()) == {"virtual"}
    virt_dev = kinds("/virt", "c3")
    assert virt_dev.pop((0,)) == "inline"  # chunk 0 was overwritten with 8 bytes
    assert set(virt_dev.values()) == {"virtual"}


def test_dictionary_compressed_virtual_refs(pw: PyWritten, floe: Floe):
    """All 2,500 refs as written: locations (dictionary-compressed on disk), offsets, lengths, checksums."""
    refs = floe.refs(pw.url, "/virt", ("snapshot", pw.ids["c2"]))
    assert len(refs) == N_VIRTUAL
    for r, spec in zip(refs, pw.specs, strict=True):
        assert r["index"] == list(spec.index)
        assert r["kind"] == "virtual", r
        assert r["location"] == spec.location, r
        assert (r["offset"], r["length"]) == (spec.offset, spec.length), r
        assert r["checksum_etag"] == spec.etag_checksum, r
        expected_lm = None if spec.last_updated_at_checksum is None else int(spec.last_updated_at_checksum.timestamp())
        assert r["checksum_last_modified"] == expected_lm, r
    # On dev: chunk 0 inline, chunk 5 gone, the others still virtual.
    dev = {tuple(r["index"]): r for r in floe.refs(pw.url, "/virt", ("branch", "dev"))}
    assert dev[(0,)]["kind"] == "inline" and (5,) not in dev and len(dev) == N_VIRTUAL - 1
    assert dev[(4,)]["location"] == pw.specs[4].location


def test_diffs(pw: PyWritten, floe: Floe, servers: Servers):
    repo = repo_of(pw, servers)
    ids = pw.ids
    root = list(repo.ancestry(branch="main"))[-1].id
    pairs = [(root, ids["c1"]), (ids["c1"], ids["c2"]), (ids["c2"], ids["c3"]), (ids["c2"], ids["c5"]),
             (ids["c2"], ids["c6"]), (ids["c1"], ids["c6"]), (ids["c2"], ids["c4"]), (root, ids["c3"])]
    for a, b in pairs:
        assert_same_diff(floe, pw.url, repo, a, b)
    assert_same_diff(floe, pw.url, repo, ids["c2"], ids["c6"], {
        "updated_groups": ["/ds"],
        "updated_chunks": {"/tiny": [[0], [1]]},
    })
    assert_same_diff(floe, pw.url, repo, ids["c2"], ids["c3"], {
        "updated_chunks": {"/big": [[0, 0]], "/virt": [[0], [5]]},
    })


def test_values_through_floe(pw: PyWritten, floe: Floe):
    sel = ("branch", "main")
    store = floe_zarr_store(floe, pw.url, sel, authorize=[pw.prefix], max_chunks_per_array=50)
    root = zarr.open_group(store, mode="r")
    assert root.attrs["project"] == "floe" and root.attrs["levels"] == [1, 2, 3]
    assert_array_equal(root["big"][:], pw.big["c1"])
    assert_array_equal(root["tiny"][:], [10, 20, 30, 40])
    n = 50 * VIRTUAL_ELEMS
    assert_array_equal(root["virt"][:n], VIRTUAL_VALUES[:n])
    ds = xr.open_zarr(store, group="ds", consolidated=False)
    xr.testing.assert_equal(ds, pw.dataset)
    assert ds.attrs["title"] == "python interop" and ds.attrs["amended"] is True
    assert ds["temperature"].attrs["units"] == "K"
    dev = zarr.open_group(floe_zarr_store(floe, pw.url, ("branch", "dev"), authorize=[pw.prefix],
                                          paths=["/big", "/virt"], max_chunks_per_array=10), mode="r")
    assert_array_equal(dev["big"][:], pw.big["c3"])
    # The first 10 refs on dev are chunks 0-4 and 6-10: chunk 0 is now 9s, chunk 5 was deleted (fill 0).
    expected_virt = VIRTUAL_VALUES[: 10 * VIRTUAL_ELEMS].copy()
    expected_virt[0:4] = 9
    expected_virt[20:24] = 0
    assert_array_equal(dev["virt"][: 10 * VIRTUAL_ELEMS], expected_virt)


def test_python_reads_its_own_virtual_chunks(pw: PyWritten, servers: Servers):
    """Sanity of the fixture itself: the virtual refs resolve through icechunk-python."""
    repo = repo_of(pw, servers)
    virt = zarr.open_array(repo.readonly_session(snapshot_id=pw.ids["c2"]).store, path="virt", mode="r")
    assert_array_equal(virt[:], VIRTUAL_VALUES)
