"""floe and icechunk-python commit to the same branch of one S3 repository at the same time.

Deterministic cases first, made with the S3 fault proxy: floe's first object PUT is held back for a
few seconds (latency rule), icechunk-python commits directly to versitygw meanwhile, and floe finds
the branch moved when it updates `repo`: it must rebase over a commit that touched other chunks and
fail with "conflict" over one that touched the same chunk. And the reverse: an icechunk-python
session that started before a floe commit rebases over it with `ConflictDetector` (which reads floe's
transaction log) or fails on the chunk floe also wrote.

Then free-running loops (bounded rounds and time): floe's tool commits one chunk per commit while a
Python loop commits too. Every commit reported as successful must be in the branch's ancestry, each
commit's snapshot must hold the values that commit wrote, and icechunk-python must still read all
arrays. The loops run against a versitygw of their own started with `--concurrency 1`: the shared
test server's conditional PUT is not atomic under concurrency and loses commits even between two
icechunk-python writers (see conftest.SerializedS3Server).
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import icechunk as ic
import numpy as np
import pytest
import zarr
from numpy.testing import assert_array_equal

import plans as P
from conftest import (
    S3,
    FaultProxyControl,
    Servers,
    Tool,
    ic_create,
    ic_get,
    ic_open,
)

N = 64  # elements (= chunks) per array
ROUNDS = 20  # commits per writer in the free-running loops
LOOP_SECONDS = 180  # bound of each free-running loop
HOLD_MS = 3000  # how long the proxy holds floe's first PUT in the deterministic cases


def value_bytes(v: int) -> bytes:
    return np.array([v], dtype="<i4").tobytes()


@dataclass
class Shared:
    url: str
    repo: ic.Repository
    bucket: str
    init: str


def make_shared(servers: Servers, bucket: str) -> Shared:
    url = f"s3://{bucket}/repo"
    repo = ic_create(url, servers)
    session = repo.writable_session("main")
    for name in ["floe_arr", "py_arr", "shared"]:
        zarr.create_array(session.store, name=name, shape=(N,), chunks=(1,), dtype="int32", fill_value=-1,
                          compressors=None, filters=None, serializer=zarr.codecs.BytesCodec(endian="little"))
    init = session.commit("three arrays")
    return Shared(url, repo, bucket, init)


@pytest.fixture
def shared(servers: Servers, bucket: str) -> Shared:
    """A repository on the main test server (behind the S3 fault proxy for floe)."""
    return make_shared(servers, bucket)


@dataclass
class Serial:
    shared: Shared
    servers: Servers
    tool: Tool


@pytest.fixture
def serial(serialized_s3: Servers, tool_exe: str, tmp_path, request) -> Serial:
    """A repository on the serialized versitygw (see conftest.SerializedS3Server) and a tool for it."""
    bucket = S3(serialized_s3).new_bucket(request.node.name)
    return Serial(make_shared(serialized_s3, bucket), serialized_s3, Tool(tool_exe, serialized_s3, tmp_path))


def floe_commit(path: str, index: int, value: int, message: str) -> dict:
    return P.commit(message, [P.chunk(path, (index,), value_bytes(value))], rebase=True)


def python_commit(repo: ic.Repository, path: str, index: int, value: int, message: str,
                  solver: ic.ConflictSolver | None = None) -> str:
    session = repo.writable_session("main")
    zarr.open_array(session.store, path=path, mode="a")[index] = value
    return session.commit(message, rebase_with=solver or ic.ConflictDetector(), rebase_tries=100)


def value_at(repo: ic.Repository, snapshot_id: str, path: str, index: int) -> int | None:
    data = ic_get(repo.readonly_session(snapshot_id=snapshot_id).store, f"{path}/c/{index}")
    return None if data is None else int(np.frombuffer(data, dtype="<i4")[0])


def wait_for_put(proxy: FaultProxyControl, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while proxy.stats().get("by_method", {}).get("PUT", 0) < 1:
        if time.monotonic() > deadline:
            raise AssertionError(f"floe made no PUT through the proxy within {timeout}s")
        time.sleep(0.02)


def hold_first_put(proxy: FaultProxyControl, shared: Shared) -> None:
    proxy.add_rule(match=f"/{shared.bucket}/repo/", action="latency", latency_ms=HOLD_MS, count=1, method="PUT")


# --------------------------------------------------------------------------------------------------
# Deterministic: floe's commit is held back while icechunk-python commits
# --------------------------------------------------------------------------------------------------


def python_commits_while_floe_is_held(shared: Shared, tool: Tool, servers: Servers,
                                      s3_fault_proxy: FaultProxyControl, floe_path: str, py_path: str):
    """floe commits 1000 at index 0 of floe_path; its first PUT is held while Python commits 2000 at py_path."""
    hold_first_put(s3_fault_proxy, shared)
    name = floe_path.lstrip("/")
    plan = {"create": False, "operations": [floe_commit(floe_path, 0, 1000, f"floe: {name}[0]")]}
    proc = tool.start(shared.url, plan, endpoint=servers.s3_proxy)
    try:
        wait_for_put(s3_fault_proxy)
        py_id = python_commit(shared.repo, py_path, 0, 2000, f"python: {py_path.lstrip('/')}[0]")
    finally:
        res, lines = Tool.finish(proc)
    return res, lines, py_id


def test_floe_rebases_over_a_python_commit(shared: Shared, tool: Tool, servers: Servers,
                                           s3_fault_proxy: FaultProxyControl):
    res, lines, py_id = python_commits_while_floe_is_held(shared, tool, servers, s3_fault_proxy, "/floe_arr", "/py_arr")
    assert res.returncode == 0 and "snapshot" in lines[0], res.describe()
    floe_id = lines[0]["snapshot"]
    repo = ic_open(shared.url, servers)
    history = list(repo.ancestry(branch="main"))
    assert [s.id for s in history[:3]] == [floe_id, py_id, shared.init], "floe did not rebase onto python's commit"
    assert value_at(repo, floe_id, "floe_arr", 0) == 1000
    assert value_at(repo, floe_id, "py_arr", 0) == 2000  # python's change survives the rebase
    assert value_at(repo, py_id, "floe_arr", 0) is None


def test_floe_conflicts_with_a_python_commit_on_the_same_chunk(shared: Shared, tool: Tool, servers: Servers,
                                                               s3_fault_proxy: FaultProxyControl):
    res, lines, py_id = python_commits_while_floe_is_held(shared, tool, servers, s3_fault_proxy, "/shared", "/shared")
    assert res.returncode != 0, res.describe()
    assert lines and lines[0].get("op") == "commit" and lines[0].get("error") == "conflict", res.describe()
    assert "/shared" in lines[0].get("message", ""), f"the conflict message should name the array: {lines[0]}"
    repo = ic_open(shared.url, servers)
    assert repo.lookup_branch("main") == py_id
    assert value_at(repo, py_id, "shared", 0) == 2000


def test_python_rebases_over_a_floe_commit(shared: Shared, tool: Tool, servers: Servers):
    """icechunk-python's ConflictDetector reads floe's transaction log."""
    repo = shared.repo
    other = repo.writable_session("main")
    zarr.open_array(other.store, path="py_arr", mode="a")[1] = 2001
    same = repo.writable_session("main")
    zarr.open_array(same.store, path="shared", mode="a")[1] = 2001
    unsolved = repo.writable_session("main")
    zarr.open_array(unsolved.store, path="py_arr", mode="a")[2] = 2002

    _, lines = tool.apply(shared.url, {"create": False, "operations": [
        P.commit("floe: floe_arr[1] and shared[1]",
                 [P.chunk("/floe_arr", (1,), value_bytes(1001)), P.chunk("/shared", (1,), value_bytes(1001))])]})
    floe_id = lines[0]["snapshot"]

    with pytest.raises(ic.ConflictError):
        unsolved.commit("python without a solver")  # the branch moved: no rebase without a solver
    py_id = other.commit("python: py_arr[1]", rebase_with=ic.ConflictDetector())
    with pytest.raises(ic.RebaseFailedError) as excinfo:
        same.commit("python: shared[1]", rebase_with=ic.ConflictDetector())
    conflicts = excinfo.value.conflicts
    assert any(c.path == "/shared" and [1] in [list(x) for x in (c.conflicted_chunks or [])]
               for c in conflicts), conflicts

    history = [s.id for s in repo.ancestry(branch="main")]
    assert history[:3] == [py_id, floe_id, shared.init]
    assert value_at(repo, py_id, "floe_arr", 1) == 1001
    assert value_at(repo, py_id, "shared", 1) == 1001
    assert value_at(repo, py_id, "py_arr", 1) == 2001


# --------------------------------------------------------------------------------------------------
# Free-running: both writers at the same time
# --------------------------------------------------------------------------------------------------


@dataclass
class LoopResult:
    floe: dict[str, int]  # snapshot id -> value written
    floe_conflicts: int
    python: dict[str, int]
    python_conflicts: int
    failures: list[str]  # the messages of every failed commit, both writers

    def __repr__(self) -> str:
        return (f"LoopResult(floe: {len(self.floe)} ok, {self.floe_conflicts} conflicts; python: {len(self.python)} ok,"
                f" {self.python_conflicts} conflicts; failures: {self.failures})")


def run_both(shared: Shared, tool: Tool, floe_path: str, py_path: str, index_of) -> LoopResult:
    """floe's tool and a Python loop commit ROUNDS times each, concurrently."""
    plan = {"create": False, "continue_on_error": True, "operations": [
        floe_commit(floe_path, index_of(i), 10_000 + i, f"floe round {i}") for i in range(ROUNDS)]}
    proc = tool.start(shared.url, plan)
    python: dict[str, int] = {}
    python_conflicts = 0
    failures: list[str] = []
    deadline = time.monotonic() + LOOP_SECONDS
    try:
        for i in range(ROUNDS):
            if time.monotonic() > deadline:
                break
            try:
                snap = python_commit(shared.repo, py_path, index_of(i), 20_000 + i, f"python round {i}")
                python[snap] = 20_000 + i
            except ic.ConflictError as e:  # RebaseFailedError included
                python_conflicts += 1
                failures.append(f"python round {i}: {str(e).splitlines()[0]}")
    finally:
        res, lines = Tool.finish(proc, timeout=LOOP_SECONDS)
    assert len(lines) == ROUNDS, res.describe()
    floe: dict[str, int] = {}
    floe_conflicts = 0
    for i, line in enumerate(lines):
        assert line.get("op") == "commit", line
        if "snapshot" in line:
            floe[line["snapshot"]] = 10_000 + i
        else:
            assert line.get("error") == "conflict", f"floe commit {i} failed other than by conflict: {line}"
            floe_conflicts += 1
            failures.append(f"floe round {i}: {line.get('message')}")
    if floe_conflicts == 0:  # with continue_on_error the exit status after failures is not specified
        assert res.returncode == 0, res.describe()
    return LoopResult(floe, floe_conflicts, python, python_conflicts, failures)


def check_history(shared: Shared, servers: Servers, result: LoopResult) -> list[str]:
    repo = ic_open(shared.url, servers)
    history = [s.id for s in repo.ancestry(branch="main")]
    assert len(history) == len(set(history))
    missing = sorted((set(result.floe) | set(result.python)) - set(history))
    assert not missing, "commits reported as successful are not in main's ancestry (lost updates): " + ", ".join(
        f"{snap} ({'floe' if snap in result.floe else 'python'} value {result.floe.get(snap, result.python.get(snap))})"
        for snap in missing)
    assert history[-2:] == [shared.init, "1CECHNKREP0F1RSTCMT0"]
    assert len(history) == len(result.floe) + len(result.python) + 2, "unexpected commits in main's ancestry"
    return history


def test_concurrent_commits_to_different_arrays_all_succeed(serial: Serial):
    shared, servers = serial.shared, serial.servers
    result = run_both(shared, serial.tool, "/floe_arr", "/py_arr", lambda i: i)
    assert result.floe_conflicts == 0 and result.python_conflicts == 0, result
    assert len(result.floe) == ROUNDS and len(result.python) == ROUNDS
    history = check_history(shared, servers, result)
    repo = ic_open(shared.url, servers)
    root = zarr.open_group(repo.readonly_session(branch="main").store, mode="r")
    expected_floe = np.full(N, -1, dtype="int32")
    expected_floe[:ROUNDS] = 10_000 + np.arange(ROUNDS)
    expected_py = np.full(N, -1, dtype="int32")
    expected_py[:ROUNDS] = 20_000 + np.arange(ROUNDS)
    assert_array_equal(root["floe_arr"][:], expected_floe)
    assert_array_equal(root["py_arr"][:], expected_py)
    assert_array_equal(root["shared"][:], np.full(N, -1))
    # Every commit holds its own write and everything committed before it.
    for snap in history[:-2]:
        who, value = ("floe_arr", result.floe[snap]) if snap in result.floe else ("py_arr", result.python[snap])
        assert value_at(repo, snap, who, value % 10_000) == value


def test_concurrent_commits_to_the_same_chunk_conflict(serial: Serial):
    shared, servers = serial.shared, serial.servers
    result = run_both(shared, serial.tool, "/shared", "/shared", lambda i: 0)
    print(result)
    assert result.floe_conflicts + result.python_conflicts > 0, f"no conflict in {ROUNDS}+{ROUNDS} commits"
    history = check_history(shared, servers, result)
    repo = ic_open(shared.url, servers)
    # Each successful commit's snapshot holds exactly the value that commit wrote (no lost update).
    for snap in history[:-2]:
        expected = result.floe.get(snap, result.python.get(snap))
        assert value_at(repo, snap, "shared", 0) == expected, snap
    root = zarr.open_group(repo.readonly_session(branch="main").store, mode="r")
    tip_value = result.floe.get(history[0], result.python.get(history[0]))
    assert root["shared"][0] == tip_value
    assert_array_equal(root["floe_arr"][:], np.full(N, -1))
