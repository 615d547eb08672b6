"""Shared fixtures and helpers of the floe <-> icechunk-python interoperability suite.

The suite checks that floe (the `floe` CLI and the `floe_icechunk_tool` write tool) and the official
icechunk-python library read and write the same Icechunk repositories identically.

Environment (set by ctest, see tests/interop/CMakeLists.txt):
  FLOE_BIN             the floe executable (tests that need it skip when it is unset or missing)
  FLOE_ICECHUNK_TOOL   the floe_icechunk_tool executable (likewise)
  FLOE_TEST_STATE      state dir of tests/servers/start.sh (its `env` file names the servers)
  FLOE_TESTDATA        ../shared/testdata (the official Icechunk compatibility repositories)
  FLOE_INTEROP_REQUIRE_BINARIES=1   a missing FLOE_BIN/FLOE_ICECHUNK_TOOL file fails instead of skipping

Run by hand (servers from tests/servers/start.sh STATE):
  FLOE_TEST_STATE=STATE FLOE_BIN=build/dev/src/floe/cli/floe \
  FLOE_ICECHUNK_TOOL=build/dev/tests/interop/tool/floe_icechunk_tool .venv/bin/python -m pytest -q tests/interop

Skips are only for missing prerequisites; every comparison that runs fails on a mismatch.
"""

from __future__ import annotations

import itertools
import json
import os
import random
import shlex
import shutil
import socket
import subprocess
import tempfile
import time
import urllib.request
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable, Sequence

import icechunk as ic
import numpy as np
import pytest
import zarr
from zarr.core.buffer import default_buffer_prototype
from zarr.core.sync import sync
from zarr.storage import MemoryStore

# The local-filesystem storage warns on every open that it is not safe for concurrent commits.
ic.set_logs_filter("error")

HERE = Path(__file__).resolve().parent
PROJECT_ROOT = HERE.parents[1]

# Exit status of `floe repo get` for a key that has no chunk (the CLI contract).
EXIT_NOT_FOUND = 1  # floe: 1 user error (incl. not found), 2 conflict/precondition, 3 I/O after retries


# --------------------------------------------------------------------------------------------------
# Servers
# --------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Servers:
    """The loopback servers started by tests/servers/start.sh (read from $FLOE_TEST_STATE/env)."""

    state: Path
    s3_endpoint: str
    s3_proxy: str
    access_key: str
    secret_key: str
    region: str

    @property
    def faultproxy_bin(self) -> Path:
        return self.state / "bin" / "faultproxy"


def _read_env_file(path: Path) -> dict[str, str]:
    values: dict[str, str] = {}
    for line in path.read_text().splitlines():
        line = line.strip()
        if not line.startswith("export "):
            continue
        name, _, value = line[len("export ") :].partition("=")
        parts = shlex.split(value)
        values[name] = parts[0] if parts else ""
    return values


def _tcp_open(url: str, timeout: float = 1.0) -> bool:
    hostport = url.split("://", 1)[1].split("/", 1)[0]
    host, _, port = hostport.rpartition(":")
    try:
        with socket.create_connection((host, int(port)), timeout=timeout):
            return True
    except OSError:
        return False


@pytest.fixture(scope="session")
def servers() -> Servers:
    explicit = "FLOE_TEST_STATE" in os.environ
    state = Path(os.environ.get("FLOE_TEST_STATE", "/tmp/floe-test-servers"))
    env_file = state / "env"
    problem = None
    if not env_file.is_file():
        problem = f"{env_file} does not exist (start the servers with tests/servers/start.sh {state})"
    else:
        env = _read_env_file(env_file)
        found = Servers(
            state=state,
            s3_endpoint=env["FLOE_TEST_S3_ENDPOINT"],
            s3_proxy=env["FLOE_TEST_S3_PROXY"],
            access_key=env["FLOE_TEST_S3_ACCESS_KEY"],
            secret_key=env["FLOE_TEST_S3_SECRET_KEY"],
            region=env.get("FLOE_TEST_S3_REGION", "us-east-1"),
        )
        if not _tcp_open(found.s3_endpoint):
            problem = f"the S3 server {found.s3_endpoint} from {env_file} does not answer"
        else:
            return found
    # Under ctest FLOE_TEST_STATE is always set and the `servers` fixture started them: a missing
    # server is then a failure, not a reason to skip.
    if explicit:
        pytest.fail(problem)
    pytest.skip(problem)


# --------------------------------------------------------------------------------------------------
# S3 buckets and objects (s3fs; versitygw needs a bucket to exist before anything is written to it)
# --------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ObjectInfo:
    etag: str  # as S3 returns it, with quotes
    last_modified: int  # seconds since the epoch
    size: int


class S3:
    def __init__(self, servers: Servers):
        import s3fs  # imported lazily: only tests with servers need it

        self.servers = servers
        # No region in client_kwargs: s3fs would send it as a LocationConstraint on CreateBucket and
        # versitygw refuses "us-east-1" there (AWS semantics: us-east-1 has no constraint).
        self.fs = s3fs.S3FileSystem(
            key=servers.access_key,
            secret=servers.secret_key,
            endpoint_url=servers.s3_endpoint,
            skip_instance_cache=True,
            use_listings_cache=False,
        )
        self._counter = itertools.count()

    def make_bucket(self, name: str, exist_ok: bool = False) -> str:
        try:
            self.fs.mkdir(name)
        except FileExistsError:
            if not exist_ok:
                raise
        return name

    def new_bucket(self, hint: str = "t") -> str:
        hint = "".join(c for c in hint.lower() if c.isalnum() or c == "-")[:20].strip("-") or "t"
        name = f"fi-{hint}-{os.getpid()}-{next(self._counter)}-{uuid.uuid4().hex[:6]}"
        return self.make_bucket(name[:63])

    def put(self, bucket: str, key: str, data: bytes) -> ObjectInfo:
        self.fs.pipe_file(f"{bucket}/{key}", data)
        return self.info(bucket, key)

    def info(self, bucket: str, key: str) -> ObjectInfo:
        self.fs.invalidate_cache()
        raw = self.fs.info(f"{bucket}/{key}")
        return ObjectInfo(etag=raw["ETag"], last_modified=int(raw["LastModified"].timestamp()), size=raw["size"])

    def get(self, bucket: str, key: str) -> bytes:
        return self.fs.cat_file(f"{bucket}/{key}")


@pytest.fixture(scope="session")
def s3(servers: Servers) -> S3:
    return S3(servers)


@pytest.fixture
def bucket(s3: S3, request) -> str:
    """A fresh, empty bucket for one test."""
    return s3.new_bucket(request.node.name)


# --------------------------------------------------------------------------------------------------
# Repository URLs and icechunk-python access
# --------------------------------------------------------------------------------------------------


def split_s3_url(url: str) -> tuple[str, str]:
    assert url.startswith("s3://"), url
    bucket, _, prefix = url[len("s3://") :].partition("/")
    return bucket, prefix.strip("/")


def ic_storage(url: str, servers: Servers | None) -> ic.Storage:
    if url.startswith("s3://"):
        assert servers is not None
        bucket_name, prefix = split_s3_url(url)
        return ic.s3_storage(
            bucket=bucket_name,
            prefix=prefix,
            region=servers.region,
            endpoint_url=servers.s3_endpoint,
            allow_http=True,
            access_key_id=servers.access_key,
            secret_access_key=servers.secret_key,
            force_path_style=True,
        )
    path = url[len("file://") :] if url.startswith("file://") else url
    return ic.local_filesystem_storage(path)


def ic_credentials(servers: Servers | None, prefixes: Iterable[str]) -> dict:
    prefixes = list(prefixes)
    if not prefixes:
        return {}
    assert servers is not None
    return ic.containers_credentials(
        {
            p: ic.s3_credentials(access_key_id=servers.access_key, secret_access_key=servers.secret_key)
            for p in prefixes
        }
    )


def ic_s3_container(prefix: str, endpoint: str, region: str = "us-east-1") -> ic.VirtualChunkContainer:
    return ic.VirtualChunkContainer(
        prefix,
        ic.s3_store(region=region, endpoint_url=endpoint, allow_http=True, s3_compatible=True, force_path_style=True),
    )


def ic_open(url: str, servers: Servers | None, authorize: Iterable[str] = ()) -> ic.Repository:
    return ic.Repository.open(
        ic_storage(url, servers), authorize_virtual_chunk_access=ic_credentials(servers, authorize) or None
    )


def ic_create(url: str, servers: Servers | None, config: ic.RepositoryConfig | None = None,
              authorize: Iterable[str] = ()) -> ic.Repository:
    return ic.Repository.create(
        ic_storage(url, servers), config=config,
        authorize_virtual_chunk_access=ic_credentials(servers, authorize) or None,
    )


def ic_get(store: ic.IcechunkStore, key: str) -> bytes | None:
    """Raw bytes of a Zarr key through icechunk's store (None when absent)."""
    buf = sync(store.get(key, prototype=default_buffer_prototype()))
    return None if buf is None else buf.to_bytes()


def ic_list(store: ic.IcechunkStore) -> list[str]:
    async def collect() -> list[str]:
        return [k async for k in store.list()]

    return sorted(sync(collect()))


def ic_set(store: ic.IcechunkStore, key: str, data: bytes) -> None:
    sync(store.set(key, default_buffer_prototype().buffer.from_bytes(data)))


def ic_delete(store: ic.IcechunkStore, key: str) -> None:
    sync(store.delete(key))


def ic_delete_dir(store: ic.IcechunkStore, prefix: str) -> None:
    sync(store.delete_dir(prefix))


def selector_kwargs(sel: tuple[str, str]) -> dict[str, str]:
    kind, value = sel
    return {"branch": {"branch": value}, "tag": {"tag": value}, "snapshot": {"snapshot_id": value}}[kind]


def ic_ancestry(repo: ic.Repository, sel: tuple[str, str]) -> list[ic.SnapshotInfo]:
    return list(repo.ancestry(**selector_kwargs(sel)))


def ic_refs(repo: ic.Repository) -> tuple[dict[str, str], dict[str, str]]:
    branches = {b: repo.lookup_branch(b) for b in repo.list_branches()}
    tags = {t: repo.lookup_tag(t) for t in repo.list_tags()}
    return branches, tags


def diff_to_dict(diff: ic.Diff) -> dict[str, Any]:
    """icechunk-python's Diff in the shape of `floe --json repo diff` (sorted, empty chunk lists dropped)."""
    out: dict[str, Any] = {
        name: sorted(getattr(diff, name))
        for name in ("new_groups", "new_arrays", "deleted_groups", "deleted_arrays", "updated_groups", "updated_arrays")
    }
    out["updated_chunks"] = {
        path: sorted([list(c) for c in coords]) for path, coords in sorted(diff.updated_chunks.items()) if coords
    }
    return out


def ic_diff(repo: ic.Repository, from_id: str, to_id: str) -> dict[str, Any]:
    diff = repo.diff(from_snapshot_id=from_id, to_snapshot_id=to_id)
    assert list(diff.moved_nodes) == [], "moves are outside floe's diff contract"
    return diff_to_dict(diff)


def chunk_key(path: str, index: Sequence[int]) -> str:
    """Zarr v3 default chunk key (separator '/') of `index` in the array at absolute `path`."""
    base = path.strip("/")
    tail = "c" + "".join(f"/{i}" for i in index)
    return f"{base}/{tail}" if base else tail


def meta_key(path: str) -> str:
    base = path.strip("/")
    return f"{base}/zarr.json" if base else "zarr.json"


def parse_chunk_key(key: str) -> tuple[str, tuple[int, ...]] | None:
    """'g/a/c/0/1' -> ('/g/a', (0, 1)); None for metadata keys."""
    parts = key.split("/")
    if parts[-1] == "zarr.json":
        return None
    idx = -1
    # The array path is everything before the last 'c' whose tail is all integers.
    for i in range(len(parts) - 1, -1, -1):
        if parts[i] == "c" and all(p.isdigit() for p in parts[i + 1 :]):
            idx = i
            break
    assert idx >= 0, key
    return "/" + "/".join(parts[:idx]), tuple(int(p) for p in parts[idx + 1 :])


# --------------------------------------------------------------------------------------------------
# Running floe and the write tool
# --------------------------------------------------------------------------------------------------


def _executable_from_env(var: str) -> str:
    value = os.environ.get(var)
    if not value:
        pytest.skip(f"{var} is not set (the floe binaries are built by cmake; ctest sets it)")
    if not (os.path.isfile(value) and os.access(value, os.X_OK)):
        # Under ctest the variable points at a target that must exist: that is a failure, not a skip.
        if os.environ.get("FLOE_INTEROP_REQUIRE_BINARIES") == "1":
            pytest.fail(f"{var}={value} is not an executable file")
        pytest.skip(f"{var}={value} is not an executable file (not built yet)")
    return value


class CommandFailed(AssertionError):
    pass


@dataclass
class Result:
    args: list[str]
    returncode: int
    stdout: bytes
    stderr: bytes

    def describe(self) -> str:
        return (
            f"command: {shlex.join(self.args)}\nexit status: {self.returncode}\n"
            f"stdout: {self.stdout[:2000]!r}\nstderr: {self.stderr.decode(errors='replace')[:4000]}"
        )

    def json(self) -> Any:
        try:
            return json.loads(self.stdout)
        except ValueError as e:
            raise CommandFailed(f"stdout is not JSON ({e})\n{self.describe()}") from None

    def json_lines(self) -> list[Any]:
        out = []
        for line in self.stdout.decode().splitlines():
            if line.strip():
                try:
                    out.append(json.loads(line))
                except ValueError as e:
                    raise CommandFailed(f"a stdout line is not JSON ({e}): {line!r}\n{self.describe()}") from None
        return out


def _s3_env(servers: Servers | None) -> dict[str, str]:
    env = dict(os.environ)
    for var in ("AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_S3", "AWS_PROFILE", "AWS_SESSION_TOKEN"):
        env.pop(var, None)
    if servers is not None:
        env.update(
            AWS_ACCESS_KEY_ID=servers.access_key,
            AWS_SECRET_ACCESS_KEY=servers.secret_key,
            AWS_REGION=servers.region,
            AWS_DEFAULT_REGION=servers.region,
        )
    return env


def sel_args(sel: tuple[str, str] | None) -> list[str]:
    if sel is None:
        return []
    kind, value = sel
    return [f"--{kind}", value]


class Floe:
    """The floe CLI: `floe [--json] [--endpoint URL] SUBCOMMAND ...`."""

    def __init__(self, exe: str, servers: Servers | None):
        self.exe = exe
        self.servers = servers

    def global_args(self, url: str | None, json_out: bool, endpoint: str | None = None) -> list[str]:
        args = ["--json"] if json_out else []
        if endpoint is None and url is not None and url.startswith("s3://") and self.servers is not None:
            endpoint = self.servers.s3_endpoint
        if endpoint is not None:
            args += ["--endpoint", endpoint]
        return args

    def run(self, sub: list[str], url: str | None = None, json_out: bool = False, check: bool = True,
            timeout: float = 120, endpoint: str | None = None) -> Result:
        args = [self.exe, *self.global_args(url, json_out, endpoint), *sub]
        proc = subprocess.run(args, capture_output=True, timeout=timeout, env=_s3_env(self.servers))
        res = Result(args, proc.returncode, proc.stdout, proc.stderr)
        if check and res.returncode != 0:
            raise CommandFailed(res.describe())
        return res

    # Read commands of the contract.
    def branches(self, url: str) -> dict[str, str]:
        return self.run(["repo", "branches", url], url, json_out=True).json()

    def tags(self, url: str) -> dict[str, str]:
        return self.run(["repo", "tags", url], url, json_out=True).json()

    def info(self, url: str) -> dict[str, Any]:
        return self.run(["repo", "info", url], url, json_out=True).json()

    def log(self, url: str, sel: tuple[str, str] | None = None) -> list[dict[str, Any]]:
        return self.run(["repo", "log", url, *sel_args(sel)], url, json_out=True).json()

    def diff(self, url: str, from_ref: str, to_ref: str) -> dict[str, Any]:
        return self.run(["repo", "diff", url, from_ref, to_ref], url, json_out=True).json()

    def ls(self, url: str, sel: tuple[str, str] | None = None) -> list[dict[str, Any]]:
        return self.run(["ls", url, *sel_args(sel)], url, json_out=True).json()

    def refs(self, url: str, array_path: str, sel: tuple[str, str] | None = None) -> list[dict[str, Any]]:
        return self.run(["repo", "refs", url, array_path, *sel_args(sel)], url, json_out=True).json_lines()

    def get(self, url: str, key: str, sel: tuple[str, str] | None = None, authorize: Iterable[str] = (),
            check: bool = True) -> Result:
        sub = ["repo", "get", url, key, *sel_args(sel)]
        for prefix in authorize:
            sub += ["--authorize", prefix]
        return self.run(sub, url, json_out=False, check=check)


class Tool:
    """The test write tool: `floe_icechunk_tool [globals] apply URL PLAN.json`."""

    def __init__(self, exe: str, servers: Servers | None, tmp: Path):
        self.exe = exe
        self.servers = servers
        self.tmp = tmp
        self._n = itertools.count()

    def command(self, url: str, plan: dict[str, Any], endpoint: str | None = None) -> list[str]:
        plan_file = self.tmp / f"plan-{next(self._n)}.json"
        plan_file.write_text(json.dumps(plan, indent=1))
        globals_ = []
        if endpoint is None and url.startswith("s3://") and self.servers is not None:
            endpoint = self.servers.s3_endpoint
        if endpoint is not None:
            globals_ += ["--endpoint", endpoint]
        return [self.exe, *globals_, "apply", url, str(plan_file)]

    def apply(self, url: str, plan: dict[str, Any], check: bool = True, endpoint: str | None = None,
              timeout: float = 300) -> tuple[Result, list[dict[str, Any]]]:
        args = self.command(url, plan, endpoint)
        proc = subprocess.run(args, capture_output=True, timeout=timeout, env=_s3_env(self.servers))
        res = Result(args, proc.returncode, proc.stdout, proc.stderr)
        lines = res.json_lines()
        if check:
            if res.returncode != 0 or any("error" in line for line in lines):
                raise CommandFailed(res.describe())
            assert len(lines) == len(plan["operations"]), res.describe()
            for op, line in zip(plan["operations"], lines):
                assert line.get("op") == op["op"], res.describe()
                if op["op"] == "commit":
                    assert isinstance(line.get("snapshot"), str) and len(line["snapshot"]) == 20, res.describe()
        return res, lines

    def start(self, url: str, plan: dict[str, Any], endpoint: str | None = None) -> subprocess.Popen:
        """Runs `apply` in the background (stdout/stderr piped); finish with `finish`."""
        args = self.command(url, plan, endpoint)
        proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=_s3_env(self.servers))
        proc.args_list = args  # type: ignore[attr-defined]
        return proc

    @staticmethod
    def finish(proc: subprocess.Popen, timeout: float = 300) -> tuple[Result, list[dict[str, Any]]]:
        try:
            out, err = proc.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            out, err = proc.communicate()
            raise CommandFailed(f"write tool did not finish within {timeout}s\nstderr: {err.decode(errors='replace')}")
        res = Result(proc.args_list, proc.returncode, out, err)  # type: ignore[attr-defined]
        return res, res.json_lines()


@pytest.fixture(scope="session")
def floe_exe() -> str:
    return _executable_from_env("FLOE_BIN")


@pytest.fixture(scope="session")
def tool_exe() -> str:
    return _executable_from_env("FLOE_ICECHUNK_TOOL")


@pytest.fixture
def floe(floe_exe: str, servers: Servers) -> Floe:
    return Floe(floe_exe, servers)


@pytest.fixture
def tool(tool_exe: str, servers: Servers, tmp_path: Path) -> Tool:
    return Tool(tool_exe, servers, tmp_path)


@pytest.fixture(scope="session")
def testdata() -> Path:
    root = Path(os.environ.get("FLOE_TESTDATA", PROJECT_ROOT.parent / "shared" / "testdata"))
    if not (root / "icechunk").is_dir():
        pytest.skip(f"{root}/icechunk is absent (FLOE_TESTDATA)")
    return root


# --------------------------------------------------------------------------------------------------
# The fault proxy (tests/tools/faultproxy): extra listeners and latency rules
# --------------------------------------------------------------------------------------------------


def faultproxy_binary(servers: Servers, tmp: Path) -> Path:
    if servers.faultproxy_bin.is_file():
        return servers.faultproxy_bin
    go = shutil.which("go") or "/usr/local/go/bin/go"
    out = tmp / "faultproxy"
    subprocess.run([go, "build", "-buildvcs=false", "-o", str(out), "."],
                   cwd=PROJECT_ROOT / "tests" / "tools" / "faultproxy", check=True, capture_output=True)
    return out


def _port_free(host: str, port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind((host, port))
            return True
        except OSError:
            return False


def stop_process(proc: subprocess.Popen) -> None:
    """Terminates a helper server, killing it if it does not exit within 10 s."""
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


class FaultProxyProcess:
    """A faultproxy this suite starts itself (stopped by pid, never by name)."""

    def __init__(self, binary: Path, listen: str, upstream: str, log: Path, wait_free_seconds: float = 60):
        host, _, port = listen.rpartition(":")
        deadline = time.monotonic() + wait_free_seconds
        while not _port_free(host, int(port)):
            if time.monotonic() > deadline:
                raise RuntimeError(f"{listen} stayed in use for {wait_free_seconds}s (another interop run?)")
            time.sleep(0.5)
        self.log = log
        self.url = f"http://{listen}"
        self.proc = subprocess.Popen(
            [str(binary), "-listen", listen, "-upstream", upstream],
            stdin=subprocess.DEVNULL, stdout=open(log, "wb"), stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + 20
        while True:
            if self.proc.poll() is not None:
                raise RuntimeError(f"faultproxy on {listen} exited: {log.read_text(errors='replace')}")
            try:
                urllib.request.urlopen(f"{self.url}/__faultproxy/stats", timeout=1).read()
                break
            except OSError:
                if time.monotonic() > deadline:
                    self.stop()
                    raise RuntimeError(f"faultproxy on {listen} did not answer")
                time.sleep(0.05)

    def stop(self) -> None:
        stop_process(self.proc)


class FaultProxyControl:
    """The control API of a running faultproxy (POST /__faultproxy/rules, GET stats)."""

    def __init__(self, base_url: str):
        self.base = base_url.rstrip("/")

    def _call(self, method: str, path: str, body: dict | None = None) -> Any:
        data = None if body is None else json.dumps(body).encode()
        req = urllib.request.Request(f"{self.base}/__faultproxy/{path}", data=data, method=method)
        if data is not None:
            req.add_header("Content-Type", "application/json")
        with urllib.request.urlopen(req, timeout=5) as resp:
            return json.loads(resp.read())

    def add_rule(self, match: str, action: str, count: int, method: str = "", latency_ms: int = 0) -> Any:
        spec: dict[str, Any] = {"match": match, "action": action, "count": count}
        if method:
            spec["method"] = method
        if latency_ms:
            spec["latency_ms"] = latency_ms
        return self._call("POST", "rules", spec)

    def clear(self) -> None:
        self._call("DELETE", "rules")

    def rules(self) -> list[dict]:
        return self._call("GET", "rules")

    def stats(self) -> dict:
        return self._call("GET", "stats")

    def reset_stats(self) -> None:
        self._call("POST", "stats/reset")


def versitygw_binary() -> str:
    if os.environ.get("VERSITYGW"):
        return os.environ["VERSITYGW"]
    go = shutil.which("go") or "/usr/local/go/bin/go"
    gopath = subprocess.run([go, "env", "GOPATH"], capture_output=True, text=True, check=True).stdout.strip()
    return str(Path(gopath) / "bin" / "versitygw")


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class SerializedS3Server:
    """A versitygw of this suite's own with `--concurrency 1`, for concurrent-writer tests.

    versitygw 1.7.0 does not make a conditional PUT atomic: several concurrent `If-Match` PUTs on the
    same ETag can all succeed (measured here: 34 of 90 rounds of 8 concurrent PUTs had more than one
    winner), which loses commits even between two icechunk-python writers (4 of 320 commits). With
    `--concurrency 1` the gateway runs one action at a time and no round had two winners (0 of 90), so
    a lost commit seen against this server is the writers' fault. Same credentials as the main server.
    """

    def __init__(self, servers: Servers, root: Path):
        binary = versitygw_binary()
        if not os.path.isfile(binary):
            pytest.fail(f"versitygw not found at {binary} (scripts/install-deps.sh installs it)")
        (root / "data").mkdir(parents=True)
        args = [binary, "--port", "", "--keep-alive", "--quiet", "posix", "--concurrency", "1"]
        probe = root / ".xattr-probe"
        probe.write_bytes(b"")
        try:
            os.setxattr(probe, "user.floe_probe", b"1")
        except OSError:
            (root / "sidecar").mkdir()
            args += ["--sidecar", str(root / "sidecar")]
        args.append(str(root / "data"))
        env = dict(os.environ, ROOT_ACCESS_KEY=servers.access_key, ROOT_SECRET_KEY=servers.secret_key)
        self.log = root / "versitygw.log"
        for _ in range(5):  # a port picked free can be taken before versitygw binds it: retry
            port = _free_port()
            args[2] = f"127.0.0.1:{port}"
            self.proc = subprocess.Popen(args, stdin=subprocess.DEVNULL, stdout=open(self.log, "wb"),
                                         stderr=subprocess.STDOUT, env=env)
            self.endpoint = f"http://127.0.0.1:{port}"
            deadline = time.monotonic() + 20
            while self.proc.poll() is None and time.monotonic() < deadline:
                if _tcp_open(self.endpoint, timeout=0.2):
                    self.servers = Servers(state=servers.state, s3_endpoint=self.endpoint, s3_proxy=servers.s3_proxy,
                                           access_key=servers.access_key, secret_key=servers.secret_key,
                                           region=servers.region)
                    return
                time.sleep(0.05)
            self.stop()
        raise RuntimeError(f"the serialized versitygw did not start: {self.log.read_text(errors='replace')}")

    def stop(self) -> None:
        stop_process(self.proc)


@pytest.fixture(scope="session")
def serialized_s3(servers: Servers, tmp_path_factory) -> Servers:
    """`Servers` whose S3 endpoint is a SerializedS3Server (started once, stopped at the end)."""
    server = SerializedS3Server(servers, tmp_path_factory.mktemp("serialized-versitygw"))
    try:
        yield server.servers
    finally:
        server.stop()


@pytest.fixture
def s3_fault_proxy(servers: Servers):
    """The S3 fault proxy of start.sh, with no rules before and after the test."""
    ctl = FaultProxyControl(servers.s3_proxy)
    ctl.clear()
    ctl.reset_stats()
    yield ctl
    ctl.clear()


# --------------------------------------------------------------------------------------------------
# Zarr metadata and chunk encoding (bytes codec only, little endian: the test computes chunk bytes)
# --------------------------------------------------------------------------------------------------


def zarr_array_meta(shape, chunks, dtype, fill_value, dimension_names=None, attributes=None,
                    compressed: bool = False) -> dict[str, Any]:
    """The zarr.json zarr-python itself writes for such an array (parsed)."""
    store = MemoryStore()
    zarr.create_array(
        store, name="a", shape=shape, chunks=chunks, dtype=dtype, fill_value=fill_value,
        dimension_names=dimension_names, attributes=attributes or {}, filters=None,
        compressors="auto" if compressed else None,
        serializer=zarr.codecs.BytesCodec(endian="little"),
    )
    return json.loads(store._store_dict["a/zarr.json"].to_bytes())


def zarr_group_meta(attributes=None) -> dict[str, Any]:
    store = MemoryStore()
    zarr.create_group(store, attributes=attributes or {})
    return json.loads(store._store_dict["zarr.json"].to_bytes())


def encode_chunk(values: np.ndarray, index: Sequence[int], chunks: Sequence[int], fill_value) -> bytes:
    """The bytes-codec (little endian, C order) encoding of chunk `index` of the full array `values`."""
    dtype = values.dtype.newbyteorder("<")
    block = np.full(tuple(chunks), fill_value, dtype=dtype)
    src = tuple(slice(i * c, min((i + 1) * c, n)) for i, c, n in zip(index, chunks, values.shape))
    dst = tuple(slice(0, s.stop - s.start) for s in src)
    block[dst] = values[src]
    return block.tobytes()


def chunk_grid(shape: Sequence[int], chunks: Sequence[int]) -> list[tuple[int, ...]]:
    return list(itertools.product(*[range(-(-n // c)) for n, c in zip(shape, chunks)]))


# --------------------------------------------------------------------------------------------------
# Comparing what floe and icechunk-python see
# --------------------------------------------------------------------------------------------------


def _assert_sorted(seq: list, what: str) -> None:
    assert seq == sorted(seq), f"{what} is not sorted: {seq}"


def floe_diff_normalized(floe_out: dict[str, Any]) -> dict[str, Any]:
    """Checks the contract's shape of `floe --json repo diff` and returns it without empty chunk lists."""
    names = ("new_groups", "new_arrays", "deleted_groups", "deleted_arrays", "updated_groups", "updated_arrays")
    out: dict[str, Any] = {}
    for name in names:
        assert name in floe_out, f"floe diff lacks {name!r}: {floe_out}"
        _assert_sorted(floe_out[name], f"floe diff {name}")
        out[name] = list(floe_out[name])
    assert "updated_chunks" in floe_out, f"floe diff lacks 'updated_chunks': {floe_out}"
    chunks = {}
    for path, coords in floe_out["updated_chunks"].items():
        coords = [list(c) for c in coords]
        _assert_sorted(coords, f"floe diff updated_chunks[{path}]")
        if coords:
            chunks[path] = coords
    out["updated_chunks"] = dict(sorted(chunks.items()))
    return out


def assert_same_diff(floe: Floe, url: str, repo: ic.Repository, from_id: str, to_id: str,
                     expected: dict[str, Any] | None = None) -> dict[str, Any]:
    py = ic_diff(repo, from_id, to_id)
    fl = floe_diff_normalized(floe.diff(url, from_id, to_id))
    assert fl == py, f"diff {from_id}..{to_id}: floe {fl} != icechunk-python {py}"
    if expected is not None:
        assert py == normalize_expected_diff(expected), f"diff {from_id}..{to_id}: {py} != expected {expected}"
    return py


def normalize_expected_diff(expected: dict[str, Any]) -> dict[str, Any]:
    out = {name: sorted(expected.get(name, [])) for name in
           ("new_groups", "new_arrays", "deleted_groups", "deleted_arrays", "updated_groups", "updated_arrays")}
    out["updated_chunks"] = {p: sorted(list(c) for c in cs)
                             for p, cs in sorted(expected.get("updated_chunks", {}).items()) if cs}
    return out


def _parse_time(text: str):
    from datetime import datetime

    return datetime.fromisoformat(text)


def assert_same_log(floe: Floe, url: str, repo: ic.Repository, sel: tuple[str, str]) -> list[dict[str, Any]]:
    """`floe repo log` equals icechunk-python's ancestry: ids, parents, messages, metadata, times."""
    py = ic_ancestry(repo, sel)
    fl = floe.log(url, sel)
    assert isinstance(fl, list), fl
    assert [e["id"] for e in fl] == [s.id for s in py], f"ancestry ids of {sel}"
    for f, p in zip(fl, py):
        assert f["parent"] == p.parent_id, f"parent of {p.id}"
        assert f["message"] == p.message, f"message of {p.id}"
        assert f["metadata"] == p.metadata, f"metadata of {p.id}: floe {f['metadata']} != {p.metadata}"
        t = _parse_time(f["flushed_at"])
        assert t.utcoffset() is not None and t.utcoffset().total_seconds() == 0, f["flushed_at"]
        assert t == p.written_at, f"flushed_at of {p.id}: floe {f['flushed_at']} != {p.written_at.isoformat()}"
        assert "." in f["flushed_at"] and len(f["flushed_at"].split(".")[1].rstrip("Z").split("+")[0]) == 6, (
            f"flushed_at {f['flushed_at']!r} is not RFC 3339 with microseconds")
    return fl


def assert_same_refs(floe: Floe, url: str, repo: ic.Repository) -> tuple[dict[str, str], dict[str, str]]:
    branches, tags = ic_refs(repo)
    assert floe.branches(url) == branches
    assert floe.tags(url) == tags
    return branches, tags


@dataclass
class SnapshotView:
    """What one snapshot holds, as compared: nodes and the chunk refs floe reports."""

    nodes: dict[str, dict[str, Any]]  # path -> floe ls entry
    refs: dict[str, list[dict[str, Any]]] = field(default_factory=dict)  # array path -> floe refs lines
    chunks_checked: int = 0
    refused: list[str] = field(default_factory=list)  # virtual chunks both refused (object modified)


def _sample(items: list, limit: int, seed: str) -> list:
    if len(items) <= limit:
        return list(items)
    rng = random.Random(seed)
    head, tail = items[: limit // 4], items[-(limit // 4):]
    inner = list(range(limit // 4, len(items) - limit // 4))
    middle = sorted(rng.sample(inner, limit - 2 * (limit // 4)))
    return head + [items[i] for i in middle] + tail


def assert_same_snapshot(floe: Floe, url: str, repo: ic.Repository, snapshot_id: str, *,
                         sel: tuple[str, str] | None = None, authorize: Iterable[str] = (),
                         max_chunk_gets_per_array: int = 64, local_root: Path | None = None) -> SnapshotView:
    """Everything of one snapshot is the same through floe and icechunk-python.

    Nodes (`floe ls` vs the keys icechunk lists), each zarr.json (raw bytes through `floe repo get` and
    parsed through `floe ls`), each array's chunk refs (`floe repo refs` vs icechunk's chunk keys and
    chunk types) and chunk bytes (`floe repo get` vs icechunk's store; all of them up to
    `max_chunk_gets_per_array` per array, a deterministic sample beyond).
    """
    authorize = list(authorize)
    sel = sel or ("snapshot", snapshot_id)
    session = repo.readonly_session(snapshot_id=snapshot_id)
    store = session.store
    keys = ic_list(store)
    py_meta: dict[str, bytes] = {}
    py_chunks: dict[str, set[tuple[int, ...]]] = {}
    for key in keys:
        parsed = parse_chunk_key(key)
        if parsed is None:
            path = "/" + key[: -len("zarr.json")].rstrip("/")
            py_meta[path] = ic_get(store, key)
        else:
            py_chunks.setdefault(parsed[0], set()).add(parsed[1])

    listing = floe.ls(url, sel)
    paths = [e["path"] for e in listing]
    _assert_sorted(paths, "floe ls paths")
    assert paths == sorted(py_meta), f"nodes of {snapshot_id}: floe {paths} != icechunk {sorted(py_meta)}"
    view = SnapshotView(nodes={e["path"]: e for e in listing})
    for entry in listing:
        path = entry["path"]
        meta = json.loads(py_meta[path])
        assert entry["kind"] == meta["node_type"], f"kind of {path}"
        assert entry["zarr_json"] == meta, f"zarr.json of {path} (floe ls)"
        raw = floe.get(url, meta_key(path), sel).stdout
        assert raw == py_meta[path], f"raw zarr.json of {path}: floe {raw!r} != icechunk {py_meta[path]!r}"
        if entry["kind"] == "array":
            assert entry["shape"] == meta["shape"], f"shape of {path}"

    for path, entry in view.nodes.items():
        if entry["kind"] != "array":
            assert path not in py_chunks, f"icechunk lists chunks under group {path}"
            continue
        refs = floe.refs(url, path, sel)
        view.refs[path] = refs
        indices = [tuple(r["index"]) for r in refs]
        assert indices == sorted(indices), f"floe refs of {path} are not in index order"
        assert len(set(indices)) == len(indices), f"duplicate refs in {path}"
        expected = sorted(py_chunks.get(path, set()))
        assert indices == expected, f"chunk indices of {path}: floe {indices[:20]}... != icechunk {expected[:20]}..."
        kinds = {r["kind"] for r in refs}
        assert kinds <= {"inline", "native", "virtual"}, kinds
        for r in refs:
            py_kind = chunk_kind_name(session.chunk_type(path, list(r["index"])))
            assert py_kind == r["kind"], f"kind of {path} {r['index']}: floe {r['kind']} != icechunk {py_kind}"
            _check_ref_shape(r)
            if r["kind"] == "native" and local_root is not None:
                chunk_file = local_root / "chunks" / r["chunk_id"]
                assert chunk_file.is_file(), f"native chunk {chunk_file} missing"
                assert chunk_file.stat().st_size >= r["offset"] + r["length"]
        for r in _sample(refs, max_chunk_gets_per_array, f"{snapshot_id}{path}"):
            key = chunk_key(path, r["index"])
            try:
                py_bytes = ic_get(store, key)
            except ic.IcechunkError as e:
                # A virtual chunk whose object changed: icechunk refuses it, so must floe.
                assert r["kind"] == "virtual" and e.kind == "virtual-chunk-modified", e
                res = floe.get(url, key, sel, authorize=authorize, check=False)
                assert res.returncode not in (0, EXIT_NOT_FOUND) and res.stdout == b"", (
                    f"icechunk refuses {key} (object modified), floe does not\n{res.describe()}")
                view.refused.append(key)
                continue
            res = floe.get(url, key, sel, authorize=authorize, check=False)
            assert res.returncode == 0, f"floe repo get {key}\n{res.describe()}"
            assert res.stdout == py_bytes, f"bytes of {key} ({r['kind']}): floe {len(res.stdout)} B != icechunk"
            assert r["length"] == len(py_bytes), f"length of {key} in floe refs"
            view.chunks_checked += 1
    return view


def chunk_kind_name(kind: ic.ChunkType) -> str:
    """'inline' | 'native' | 'virtual' | 'uninitialized' (the Rust enum has no .name and is unhashable)."""
    return str(kind).rpartition(".")[2]


def _check_ref_shape(r: dict[str, Any]) -> None:
    kind = r["kind"]
    assert isinstance(r["index"], list) and all(isinstance(i, int) for i in r["index"]), r
    assert isinstance(r["length"], int) and r["length"] > 0, r
    if kind == "native":
        assert isinstance(r["chunk_id"], str) and len(r["chunk_id"]) == 20, r
        assert isinstance(r["offset"], int), r
    elif kind == "virtual":
        assert isinstance(r["location"], str) and "://" in r["location"], r
        assert isinstance(r["offset"], int), r
        assert "checksum_etag" in r and "checksum_last_modified" in r, r


def assert_missing_chunk(floe: Floe, url: str, store: ic.IcechunkStore, key: str,
                         sel: tuple[str, str] | None = None) -> None:
    """A key without a chunk: icechunk has nothing, floe exits 3 with empty stdout."""
    assert ic_get(store, key) is None, f"icechunk has a chunk at {key}"
    res = floe.get(url, key, sel, check=False)
    assert res.returncode == EXIT_NOT_FOUND, f"missing chunk {key}\n{res.describe()}"
    assert res.stdout == b"", res.describe()


def floe_zarr_store(floe: Floe, url: str, sel: tuple[str, str], authorize: Iterable[str] = (),
                    paths: Iterable[str] | None = None, max_chunks_per_array: int | None = None) -> MemoryStore:
    """A Zarr store filled only with bytes floe returned: every zarr.json and every chunk of `paths`
    (all arrays by default; only the first `max_chunks_per_array` refs of each when given), so that
    zarr-python/xarray decode values that came through floe."""
    listing = floe.ls(url, sel)
    proto = default_buffer_prototype()
    content: dict[str, Any] = {}
    wanted = None if paths is None else set(paths)
    for entry in listing:
        path = entry["path"]
        content[meta_key(path)] = proto.buffer.from_bytes(floe.get(url, meta_key(path), sel).stdout)
        if entry["kind"] != "array" or (wanted is not None and path not in wanted):
            continue
        refs = floe.refs(url, path, sel)
        for r in refs if max_chunks_per_array is None else refs[:max_chunks_per_array]:
            key = chunk_key(path, r["index"])
            content[key] = proto.buffer.from_bytes(floe.get(url, key, sel, authorize=authorize).stdout)
    return MemoryStore(content, read_only=True)


def config_container_prefixes(config: Any) -> set[str]:
    """url_prefixes of the virtual chunk containers in `floe repo info`'s config (map or list form)."""
    vcc = (config or {}).get("virtual_chunk_containers") or {}
    if isinstance(vcc, dict):
        return {v.get("url_prefix", k) if isinstance(v, dict) else k for k, v in vcc.items()}
    return {c["url_prefix"] for c in vcc}


def copy_fixture(testdata: Path, name: str, dest_root: Path) -> Path:
    src = testdata / "icechunk" / name
    if not src.is_dir():
        pytest.skip(f"fixture {src} is absent")
    dest = dest_root / name
    shutil.copytree(src, dest)
    return dest
