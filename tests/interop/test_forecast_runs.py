# Issue 6 end to end: synthetic GEFS and ECMWF ENS runs (ecCodes-written GRIB2 + sidecars) on the S3 test server as repositories, values against ecCodes, a second run appended along init_time, stale sidecars.
"""Forecast runs on S3 become repositories that read back ecCodes' values.

For each layout (GEFS: 31 members x 81 lead times, one file per member and lead time with a wgrib2 `.idx`;
ECMWF ENS: 51 members x 85 steps, all members in one file per step with a `.index`), the fixture tool
(`floe_grib_forecast_fixtures`, tests/interop/tool) writes a run with ecCodes and a manifest of every
message. The run is uploaded to the S3 test server and `floe virtualize --format grib2 --layout ...` turns it
into an S3 repository. Then:
  1. every chunk reference of every array is the manifest's message (location, offset, length) at the cell
     (init_time, step, member[, level]) the manifest says, and nothing else is referenced;
  2. dims and coordinates: init_time, step (GEFS 0..240 h by 3, ENS 0..144 by 3 then 150..360 by 6),
     member (0 = control .. 30 / 50), valid_time = init_time + step, latitude/longitude as ecCodes'
     geoiterator gives them, level coordinates;
  3. a seeded sample of ~30 chunks read through `floe read`, and those of arrays with gribberish's codec
     through icechunk-python + xr.open_zarr + gribberish's zarr codec, equals ecCodes' values (the tool's
     oracle mode: codes_get_double_array laid out north-up), NaN where ecCodes reports missing, to float32
     rounding. The codec is gribberish's for 5.0, 5.2 and 5.42 messages and floe.grib for the 5.3 ecCodes
     2.28 writes (spatial differencing order 0, on which gribberish 1.9 panics); floe.grib has no Python
     implementation yet, so a stand-in that refuses to decode is registered to let xarray open groups
     holding such arrays;
  4. a second run (next init time) is appended with `--append-dim init_time --tag RUN`: one new snapshot
     on main whose parent is the first run's, the tag points at it, init_time holds both runs, the first
     run's values and references are unchanged (also read at the old snapshot), the second run's sample
     equals ecCodes;
  5. stale sidecars (offsets shifted, a member relabelled) give a warning naming the file and leave the
     message out; no chunk is ever assigned a message other than its own.

Environment: FLOE_BIN, FLOE_GRIB_FIXTURES (the fixture tool), FLOE_TEST_STATE (tests/servers/start.sh).
FLOE_FORECAST_GRID overrides the grid of the runs (default global:5, tool syntax) and
FLOE_FORECAST_TIMINGS names a JSON file the timings (generation, upload, virtualize, append) are written to.
ctest runs it as interop_forecast_runs; by hand (servers from tests/servers/start.sh STATE):
  FLOE_TEST_STATE=STATE FLOE_BIN=build/dev/src/floe/cli/floe \
  FLOE_GRIB_FIXTURES=build/dev/tests/interop/tool/floe_grib_forecast_fixtures \
  .venv/bin/python -m pytest -q tests/interop/test_forecast_runs.py
"""

from __future__ import annotations

import json
import os
import random
import subprocess
import time
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import icechunk as ic
import numpy as np
import pytest
import xarray as xr

from conftest import (
    S3,
    Floe,
    Result,
    Servers,
    _executable_from_env,
    ic_open,
)

# gribberish's zarr codec ("gribberish") must be registered before zarr-python opens the arrays.
from gribberish.zarr.codec import GribberishCodec  # noqa: F401
from zarr.abc.codec import ArrayBytesCodec
from zarr.core.common import parse_named_configuration
from zarr.registry import register_codec

pytestmark = [pytest.mark.filterwarnings("ignore::xarray.SerializationWarning")]

GRID = os.environ.get("FLOE_FORECAST_GRID", "global:5")
SAMPLE_SIZE = 30
HOUR = 3600
# Packings written under gribberish's codec name (ecCodes' 5.3 has spatial differencing order 0: floe.grib).
GRIBBERISH_PACKINGS = {"grid_simple", "grid_complex", "grid_ccsds"}


@dataclass(frozen=True)
class FloeGribStandIn(ArrayBytesCodec):
    """floe's "floe.grib" codec name, so that zarr-python can open groups holding such arrays; it has no
    Python implementation yet (docs/architecture.md, note for the Python-package work): decoding raises."""

    field: int = 0

    @classmethod
    def from_dict(cls, data):
        _, configuration = parse_named_configuration(data, "floe.grib", require_configuration=False)
        return cls(**(configuration or {}))

    def to_dict(self):
        return {"name": "floe.grib", "configuration": {"field": self.field}}

    def compute_encoded_size(self, input_byte_length, chunk_spec):
        raise NotImplementedError

    async def _decode_single(self, chunk_data, chunk_spec):
        raise NotImplementedError("floe.grib has no Python implementation (read such arrays with floe read)")


register_codec("floe.grib", FloeGribStandIn)


# --------------------------------------------------------------------------------------------------
# Layouts
# --------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Layout:
    name: str  # the fixture tool's model and floe's --layout
    inits: tuple[str, str]  # run 1, run 2 (the next run of the model)
    members: int
    steps_hours: tuple[int, ...]
    # manifest (param, level_type) -> (group, array)
    arrays: dict[tuple[str, str], tuple[str, str]]
    global_west: float  # where the tool's global grids start

    def run_prefix(self, init: str) -> str:
        day, hour = init[:8], init[8:]
        if self.name == "gefs":
            return f"gefs.{day}/{hour}/atmos/pgrb2ap5/"
        return f"{day}/{hour}z/ifs/0p25/enfo/"

    def source_glob(self, bucket: str, init: str) -> str:
        pattern = "ge*" if self.name == "gefs" else "*-enfo-ef.grib2"
        return f"s3://{bucket}/{self.run_prefix(init)}{pattern}"

    def tag(self, init: str) -> str:
        return f"{self.name}-{init}"


GEFS = Layout(
    name="gefs",
    inits=("2026040100", "2026040106"),
    members=31,
    steps_hours=tuple(range(0, 241, 3)),
    arrays={
        ("HGT", "mb"): ("mb", "HGT"),
        ("TMP", "m above ground"): ("m_above_ground", "TMP"),
        ("UGRD", "m above ground"): ("m_above_ground", "UGRD"),
        ("APCP", "surface"): ("surface", "APCP"),
        ("SOILW", "m below ground"): ("m_below_ground", "SOILW"),
    },
    global_west=0.0,
)
ECMWF_ENS = Layout(
    name="ecmwf-ens",
    inits=("2026040100", "2026040112"),
    members=51,
    steps_hours=tuple(list(range(0, 145, 3)) + list(range(150, 361, 6))),
    arrays={("2t", "sfc"): ("sfc", "2t"), ("tp", "sfc"): ("sfc", "tp"), ("t", "pl"): ("pl", "t")},
    global_west=-180.0,
)
LAYOUTS = {layout.name: layout for layout in (GEFS, ECMWF_ENS)}


def epoch_seconds(init: str) -> int:
    from datetime import datetime, timezone

    return int(datetime.strptime(init, "%Y%m%d%H").replace(tzinfo=timezone.utc).timestamp())


# --------------------------------------------------------------------------------------------------
# The fixture tool
# --------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Message:
    """One manifest line: a GRIB message the tool wrote."""

    path: str  # relative to the run's root directory
    offset: int
    length: int
    param: str
    level_type: str
    level: float | None
    member: int
    step_hours: int
    init: str
    packing: str


@dataclass
class GeneratedRun:
    layout: Layout
    init: str
    root: Path
    messages: list[Message]
    seconds: float

    def files(self) -> list[Path]:
        base = self.root / self.layout.run_prefix(self.init)
        return sorted(p for p in base.iterdir() if p.is_file())


class FixtureTool:
    def __init__(self, exe: str):
        self.exe = exe

    def generate(self, layout: Layout, init: str, root: Path) -> GeneratedRun:
        started = time.monotonic()
        manifest = root / f"manifest-{layout.name}-{init}.jsonl"
        proc = subprocess.run(
            [self.exe, layout.name, "--out", str(root), "--init", init, "--members", str(layout.members),
             "--steps", str(len(layout.steps_hours)), "--grid", GRID, "--manifest", str(manifest)],
            capture_output=True, timeout=300)
        assert proc.returncode == 0, f"fixture tool failed: {proc.stderr.decode(errors='replace')}"
        seconds = time.monotonic() - started
        messages = [Message(**{k: v for k, v in json.loads(line).items() if k != "model"})
                    for line in manifest.read_text().splitlines() if line.strip()]
        return GeneratedRun(layout, init, root, messages, seconds)

    def oracle(self, messages: list[tuple[Path, int]], work: Path) -> tuple[np.ndarray, list[dict[str, Any]]]:
        """ecCodes' values of the messages, north-up, (n, Nj, Ni) float64 with NaN for missing points."""
        work.mkdir(parents=True, exist_ok=True)
        listing = work / "oracle-list.txt"
        listing.write_text("".join(f"{path} {offset}\n" for path, offset in messages))
        out, keys = work / "oracle.npy", work / "oracle-keys.jsonl"
        proc = subprocess.run([self.exe, "oracle", "--out", str(out), "--keys", str(keys), "--list", str(listing)],
                              capture_output=True, timeout=300)
        assert proc.returncode == 0, f"oracle failed: {proc.stderr.decode(errors='replace')}"
        return np.load(out), [json.loads(line) for line in keys.read_text().splitlines()]

    def coordinates(self, path: Path, offset: int, work: Path) -> np.ndarray:
        """ecCodes' latitudes and longitudes of a message, north-up: (2, Nj, Ni)."""
        work.mkdir(parents=True, exist_ok=True)
        out, latlon = work / "values.npy", work / "latlon.npy"
        proc = subprocess.run([self.exe, "oracle", "--out", str(out), "--coordinates", str(latlon),
                               f"{path}:{offset}"], capture_output=True, timeout=60)
        assert proc.returncode == 0, f"oracle failed: {proc.stderr.decode(errors='replace')}"
        return np.load(latlon)


@pytest.fixture(scope="session")
def fixture_tool() -> FixtureTool:
    return FixtureTool(_executable_from_env("FLOE_GRIB_FIXTURES"))


@pytest.fixture(scope="session")
def floe(servers: Servers) -> Floe:
    return Floe(_executable_from_env("FLOE_BIN"), servers)


@pytest.fixture(scope="session")
def timings() -> dict[str, float]:
    values: dict[str, float] = {}
    yield values
    target = os.environ.get("FLOE_FORECAST_TIMINGS")
    if target:
        Path(target).write_text(json.dumps(values, indent=1, sort_keys=True) + "\n")


# --------------------------------------------------------------------------------------------------
# S3 and floe
# --------------------------------------------------------------------------------------------------


def upload_run(s3: S3, run: GeneratedRun, bucket: str, prefix: str = "") -> float:
    """Puts the run's files (GRIB and sidecars) under s3://bucket/prefix + their relative paths."""
    started = time.monotonic()
    local = [str(p) for p in run.files()]
    remote = [f"{bucket}/{prefix}{Path(p).relative_to(run.root)}" for p in local]
    s3.fs.put(local, remote)
    s3.fs.invalidate_cache()
    return time.monotonic() - started


def virtualize(floe: Floe, sources: list[str], repo: str, *extra: str, check: bool = True) -> tuple[Result, dict]:
    # --region: the default container (the sources' bucket) records only the endpoint and region given on
    # the command line, and icechunk-python signs with "region-was-not-set" without one.
    res = floe.run(["--region", floe.servers.region, "virtualize", *sources, "--repo", repo, "--format", "grib2",
                    *extra, "--json"], url=repo, check=False, timeout=300)
    if check:
        assert res.returncode == 0, f"floe virtualize failed\n{res.describe()}"
    summary = res.json() if res.returncode == 0 else {}
    return res, summary


def containers_of(repo: ic.Repository) -> list[str]:
    return sorted((repo.config.virtual_chunk_containers or {}).keys())


def open_repo(url: str, servers: Servers) -> ic.Repository:
    plain = ic_open(url, servers)
    return ic_open(url, servers, authorize=containers_of(plain))


def floe_refs(floe: Floe, url: str, path: str, snapshot: str) -> dict[tuple[int, ...], tuple[str, int, int]]:
    lines = floe.run(["repo", "refs", url, path, "--snapshot", snapshot], url, json_out=True).json_lines()
    refs = {}
    for r in lines:
        assert r["kind"] == "virtual", f"{path} {r['index']}: a {r['kind']} chunk, expected a virtual GRIB message"
        refs[tuple(r["index"])] = (r["location"], r["offset"], r["length"])
    return refs


def float32_equal(actual: np.ndarray, expected: np.ndarray, what: str) -> None:
    """actual (float32) is ecCodes' double values rounded to float32, NaN exactly where ecCodes is missing."""
    expected32 = expected.astype(np.float32)
    assert actual.shape == expected32.shape, f"{what}: shape {actual.shape} != {expected32.shape}"
    nan_a, nan_e = np.isnan(actual), np.isnan(expected32)
    assert np.array_equal(nan_a, nan_e), (
        f"{what}: NaN at {int(nan_a.sum())} points, ecCodes reports {int(nan_e.sum())} missing")
    a, e = actual[~nan_a].astype(np.float64), expected32[~nan_e].astype(np.float64)
    # float32 rounding: one unit in the last place of float32 (ecCodes computes in double).
    tolerance = np.spacing(np.abs(e).astype(np.float32)).astype(np.float64)
    bad = np.abs(a - e) > tolerance
    assert not bad.any(), (
        f"{what}: {int(bad.sum())} of {a.size} values differ from ecCodes beyond float32 rounding, "
        f"first {a[bad][:5]} != {e[bad][:5]}")


# --------------------------------------------------------------------------------------------------
# A layout's repository: run 1, then run 2 appended
# --------------------------------------------------------------------------------------------------


@dataclass
class Forecast:
    layout: Layout
    bucket: str
    url: str
    work: Path
    runs: list[GeneratedRun] = field(default_factory=list)
    snapshots: list[str] = field(default_factory=list)  # main's tip after each run
    summaries: list[dict[str, Any]] = field(default_factory=list)
    levels: dict[str, list[float]] = field(default_factory=dict)  # group -> level coordinate
    append_failure: str | None = None  # why run 2 could not be appended (the later tests fail with it)

    def gribberish_array(self, message: Message) -> bool:
        """Whether the message's array has gribberish's codec: all its messages are packed as gribberish decodes."""
        packings = {m.packing for r in self.runs for m in r.messages
                    if (m.param, m.level_type) == (message.param, message.level_type)}
        return packings <= GRIBBERISH_PACKINGS

    def location(self, message: Message) -> str:
        return f"s3://{self.bucket}/{message.path}"

    def local_path(self, message: Message) -> Path:
        run = next(r for r in self.runs if r.init == message.init)
        return run.root / message.path

    def chunk(self, message: Message, inits: list[str]) -> tuple[str, tuple[int, ...]]:
        """The array path and chunk index the manifest's message belongs at."""
        group, array = self.layout.arrays[(message.param, message.level_type)]
        index = [inits.index(message.init), self.layout.steps_hours.index(message.step_hours), message.member]
        if group in self.levels:
            index.append(self.levels[group].index(message.level))
        return f"/{group}/{array}", tuple(index + [0, 0])


def make_forecast(layout: Layout, s3: S3, floe: Floe, fixture_tool: FixtureTool, servers: Servers,
                  tmp_path_factory, timings: dict[str, float]) -> Forecast:
    work = tmp_path_factory.mktemp(f"forecast-{layout.name}")
    bucket = s3.new_bucket(layout.name)
    fc = Forecast(layout, bucket, f"s3://{bucket}/repos/{layout.name}", work)
    run = fixture_tool.generate(layout, layout.inits[0], work / "run1")
    fc.runs.append(run)
    timings[f"{layout.name}.run1.generate_s"] = run.seconds
    timings[f"{layout.name}.run1.files"] = len(run.files())
    timings[f"{layout.name}.run1.bytes"] = sum(p.stat().st_size for p in run.files())
    timings[f"{layout.name}.run1.upload_s"] = upload_run(s3, run, bucket)
    started = time.monotonic()
    res, summary = virtualize(floe, [layout.source_glob(bucket, run.init)], fc.url, "--layout", layout.name)
    timings[f"{layout.name}.run1.virtualize_s"] = time.monotonic() - started
    timings[f"{layout.name}.run1.virtualize_reported_s"] = summary.get("seconds", -1)
    fc.summaries.append(summary)
    fc.snapshots.append(summary["snapshot"])
    session = open_repo(fc.url, servers).readonly_session(snapshot_id=fc.snapshots[0])
    for group in {g for g, _ in layout.arrays.values()}:
        ds = xr.open_zarr(session.store, group=group, consolidated=False, zarr_format=3, chunks=None)
        if "level" in ds.coords:
            fc.levels[group] = [float(v) for v in ds["level"].values]
    return fc


@pytest.fixture(scope="module", params=sorted(LAYOUTS))
def forecast(request, s3: S3, floe: Floe, fixture_tool: FixtureTool, servers: Servers, tmp_path_factory,
             timings) -> Forecast:
    return make_forecast(LAYOUTS[request.param], s3, floe, fixture_tool, servers, tmp_path_factory, timings)


def append_run(fc: Forecast, s3: S3, floe: Floe, fixture_tool: FixtureTool, timings: dict[str, float]) -> None:
    """Run 2: generated, uploaded and appended along init_time with a tag (once per forecast)."""
    if fc.append_failure is not None:
        pytest.fail(f"run 2 was not appended: {fc.append_failure}")
    if len(fc.runs) == 2:
        return
    layout = fc.layout
    try:
        run = fixture_tool.generate(layout, layout.inits[1], fc.work / "run2")
        timings[f"{layout.name}.run2.generate_s"] = run.seconds
        timings[f"{layout.name}.run2.upload_s"] = upload_run(s3, run, fc.bucket)
        started = time.monotonic()
        res, summary = virtualize(floe, [layout.source_glob(fc.bucket, run.init)], fc.url, "--layout",
                                  layout.name, "--append-dim", "init_time", "--tag", layout.tag(run.init))
        timings[f"{layout.name}.run2.append_s"] = time.monotonic() - started
    except (AssertionError, subprocess.TimeoutExpired) as e:
        fc.append_failure = str(e)
        raise
    fc.runs.append(run)
    fc.summaries.append(summary)
    fc.snapshots.append(summary["snapshot"])


def sample_messages(messages: list[Message], seed: str, size: int = SAMPLE_SIZE) -> list[Message]:
    """A seeded sample covering every array, the first and last step and member, and random cells."""
    rng = random.Random(seed)
    by_array: dict[tuple[str, str], list[Message]] = defaultdict(list)
    for m in messages:
        by_array[(m.param, m.level_type)].append(m)
    chosen: dict[tuple[str, int], Message] = {}
    for group in by_array.values():
        for m in (group[0], group[-1], max(group, key=lambda x: (x.step_hours, x.member)),
                  min(group, key=lambda x: (x.step_hours, x.member))):
            chosen[(m.path, m.offset)] = m
    while len(chosen) < size:
        m = rng.choice(messages)
        chosen[(m.path, m.offset)] = m
    return sorted(chosen.values(), key=lambda m: (m.path, m.offset))


def oracle_for(fc: Forecast, fixture_tool: FixtureTool, sample: list[Message], name: str) -> np.ndarray:
    values, keys = fixture_tool.oracle([(fc.local_path(m), m.offset) for m in sample], fc.work / name)
    for m, k in zip(sample, keys):
        # The oracle decoded the message the manifest describes.
        assert k["offset"] == m.offset and k["length"] == m.length, (m, k)
        assert k["dataDate"] == m.init[:8] and int(k["dataTime"]) == int(m.init[8:]) * 100, (m, k)
        assert int(k["perturbationNumber"]) == m.member, (m, k)
        expected_step = f"0-{m.step_hours}" if m.param in ("APCP", "tp") and m.step_hours else str(m.step_hours)
        assert k["stepRange"] == expected_step, (m, k)
    return values


def read_with_xarray(fc: Forecast, servers: Servers, snapshot: str, sample: list[Message],
                     inits: list[str]) -> list[np.ndarray | None]:
    """The sample's chunks through xarray + gribberish (None for arrays under floe.grib)."""
    session = open_repo(fc.url, servers).readonly_session(snapshot_id=snapshot)
    datasets: dict[str, xr.Dataset] = {}
    out: list[np.ndarray | None] = []
    for m in sample:
        if not fc.gribberish_array(m):
            out.append(None)
            continue
        path, index = fc.chunk(m, inits)
        group, array = path.strip("/").split("/")
        if group not in datasets:
            datasets[group] = xr.open_zarr(session.store, group=group, consolidated=False, zarr_format=3, chunks=None)
        da = datasets[group][array]
        selection = dict(zip(da.dims, index))
        for dim in da.dims[-2:]:
            selection.pop(dim)
        values = da.isel(selection).values
        assert values.dtype == np.float32, f"{path}: {values.dtype}"
        out.append(values)
    return out


def read_with_floe(fc: Forecast, floe: Floe, snapshot: str, sample: list[Message], inits: list[str],
                   work: Path) -> list[np.ndarray]:
    """The sample's chunks, one `floe read --isel` each."""
    work.mkdir(parents=True, exist_ok=True)
    dims_of = {e["path"]: e["zarr_json"]["dimension_names"]
               for e in floe.ls(fc.url, ("snapshot", snapshot)) if e["kind"] == "array"}
    out = []
    for n, m in enumerate(sample):
        path, index = fc.chunk(m, inits)
        dims = dims_of[path]
        target = work / f"chunk-{n}.npy"
        args = ["read", fc.url, path, "--snapshot", snapshot, "--out", str(target),
                "--authorize", f"s3://{fc.bucket}/"]
        for dim, i in zip(dims[:-2], index[:-2]):
            args += ["--isel", f"{dim}={i}"]
        floe.run(args, fc.url)
        values = np.load(target)
        assert values.dtype == np.float32, f"floe read {path}: {values.dtype}"
        out.append(values.reshape(values.shape[-2:]))
    return out


# --------------------------------------------------------------------------------------------------
# Run 1
# --------------------------------------------------------------------------------------------------


def test_run_virtualizes_without_warnings(forecast: Forecast, timings) -> None:
    layout, run = forecast.layout, forecast.runs[0]
    files = len(run.files()) // 2  # GRIB files, each with a sidecar
    expected_files = layout.members * len(layout.steps_hours) if layout.name == "gefs" else len(layout.steps_hours)
    assert files == expected_files
    summary = forecast.summaries[0]
    assert summary["files"] == expected_files, summary
    assert summary["warnings"] == [], summary["warnings"][:10]
    assert summary["virtual_refs"] == len(run.messages), (summary["virtual_refs"], len(run.messages))
    print(f"{layout.name} run 1: {files} files, {len(run.messages)} messages, "
          f"{timings[f'{layout.name}.run1.bytes'] / 1e6:.1f} MB; generate {run.seconds:.1f} s, "
          f"upload {timings[f'{layout.name}.run1.upload_s']:.1f} s, "
          f"virtualize {timings[f'{layout.name}.run1.virtualize_s']:.1f} s")


def test_every_reference_is_its_message(forecast: Forecast, floe: Floe) -> None:
    """Each array's chunk references are exactly the manifest's messages at their cells."""
    inits = [forecast.runs[0].init]
    expected: dict[str, dict[tuple[int, ...], tuple[str, int, int]]] = defaultdict(dict)
    for m in forecast.runs[0].messages:
        path, index = forecast.chunk(m, inits)
        assert index not in expected[path], f"two manifest messages for {path} {index}"
        expected[path][index] = (forecast.location(m), m.offset, m.length)
    for path, cells in sorted(expected.items()):
        refs = floe_refs(floe, forecast.url, path, forecast.snapshots[0])
        missing = sorted(set(cells) - set(refs))
        extra = sorted(set(refs) - set(cells))
        assert not missing and not extra, f"{path}: {len(missing)} cells without a reference (first {missing[:3]}), " \
                                          f"{len(extra)} unexpected (first {extra[:3]})"
        wrong = [(i, refs[i], cells[i]) for i in cells if refs[i] != cells[i]]
        assert not wrong, f"{path}: {len(wrong)} references are not their message, first {wrong[:3]}"


def test_dims_and_coordinates(forecast: Forecast, servers: Servers, fixture_tool: FixtureTool) -> None:
    layout, run = forecast.layout, forecast.runs[0]
    session = open_repo(forecast.url, servers).readonly_session(snapshot_id=forecast.snapshots[0])
    raw = xr.open_zarr(session.store, consolidated=False, zarr_format=3, chunks=None, decode_times=False,
                       decode_timedelta=False)
    init = epoch_seconds(run.init)
    steps = np.array(layout.steps_hours, dtype=np.int64) * HOUR
    assert raw["init_time"].values.tolist() == [init]
    assert raw["step"].values.tolist() == steps.tolist()
    assert raw["member"].values.tolist() == list(range(layout.members))
    assert raw["valid_time"].dims == ("init_time", "step")
    assert raw["valid_time"].values.tolist() == [(init + steps).tolist()]
    decoded = xr.open_zarr(session.store, consolidated=False, zarr_format=3, chunks=None)
    assert decoded["init_time"].values.astype("datetime64[s]").astype(np.int64).tolist() == [init]
    assert decoded["valid_time"].values.astype("datetime64[s]").astype(np.int64).tolist() == [(init + steps).tolist()]

    # latitude/longitude as ecCodes' geoiterator gives them (north-up), longitudes compared modulo 360.
    first = run.messages[0]
    lats, lons = geo_coordinates(fixture_tool, forecast.local_path(first), first.offset, forecast.work)
    assert raw["latitude"].dims == ("latitude",) and raw["longitude"].dims == ("longitude",)
    np.testing.assert_allclose(raw["latitude"].values, lats, atol=1e-6)
    lon_floe = raw["longitude"].values
    assert np.allclose((lon_floe - lons + 180.0) % 360.0 - 180.0, 0.0, atol=1e-6), (lon_floe[:4], lons[:4])
    assert lon_floe[0] == pytest.approx(layout.global_west), (
        f"longitude starts at {lon_floe[0]}, the grid's first point is {layout.global_west}")

    # Data arrays: dims, shapes, float32 + NaN fill, codec.
    ny, nx = len(lats), len(lons)
    for (param, level_type), (group, array) in layout.arrays.items():
        ds = xr.open_zarr(session.store, group=group, consolidated=False, zarr_format=3, chunks=None)
        da = ds[array]
        has_level = group in forecast.levels
        dims = ("init_time", "step", "member") + (("level",) if has_level else ()) + ("latitude", "longitude")
        assert da.dims == dims, f"/{group}/{array}: {da.dims}"
        shape = (1, len(steps), layout.members) + ((len(forecast.levels[group]),) if has_level else ()) + (ny, nx)
        assert da.shape == shape, f"/{group}/{array}: {da.shape}"
        assert da.dtype == np.float32
        assert da.encoding["chunks"] == (1,) * (len(dims) - 2) + (ny, nx)
        serializer = da.encoding.get("serializer")
        packings = {m.packing for m in run.messages if (m.param, m.level_type) == (param, level_type)}
        expected_codec = GribberishCodec if packings <= GRIBBERISH_PACKINGS else FloeGribStandIn
        assert type(serializer) is expected_codec, f"/{group}/{array} ({packings}): serializer {serializer!r}"
        if expected_codec is GribberishCodec:
            assert serializer.north_up and not serializer.adjust_longitude_range, serializer
        levels = sorted({m.level for m in run.messages if m.level_type == level_type and m.level is not None
                         and layout.arrays[(m.param, m.level_type)][0] == group})
        if has_level:
            assert forecast.levels[group] == levels, (group, forecast.levels[group], levels)
        else:
            assert not levels, (group, levels)


def geo_coordinates(fixture_tool: FixtureTool, path: Path, offset: int, work: Path) -> tuple[np.ndarray, np.ndarray]:
    """The grid's 1-D latitudes and longitudes from ecCodes' geoiterator, north-up."""
    both = fixture_tool.coordinates(path, offset, work / "geo")
    return both[0][:, 0], both[1][0, :]


def test_sample_matches_eccodes(forecast: Forecast, servers: Servers, floe: Floe, fixture_tool: FixtureTool) -> None:
    """~30 chunks through xarray + gribberish and through `floe read` equal ecCodes' values."""
    run = forecast.runs[0]
    inits = [run.init]
    sample = sample_messages(run.messages, f"{forecast.layout.name}-run1")
    expected = oracle_for(forecast, fixture_tool, sample, "oracle-run1")
    snapshot = forecast.snapshots[0]
    through_xarray = read_with_xarray(forecast, servers, snapshot, sample, inits)
    through_floe = read_with_floe(forecast, floe, snapshot, sample, inits, forecast.work / "floe-run1")
    for m, e, x, f in zip(sample, expected, through_xarray, through_floe):
        what = (f"{m.path} @ {m.offset} ({m.param} {m.level_type} {m.level} member {m.member} "
                f"step {m.step_hours} h, {m.packing})")
        if x is not None:
            float32_equal(x, e, f"xarray + gribberish: {what}")
        float32_equal(f, e, f"floe read: {what}")
    assert sum(x is not None for x in through_xarray) >= 8, "too few sampled chunks under gribberish's codec"


def test_floe_read_all_members_of_a_step(forecast: Forecast, floe: Floe, fixture_tool: FixtureTool) -> None:
    """One `floe read` of a whole member axis (many chunks, several source files for GEFS)."""
    layout, run = forecast.layout, forecast.runs[0]
    param, level_type = next(iter(layout.arrays))
    step = layout.steps_hours[len(layout.steps_hours) // 2]
    messages = sorted((m for m in run.messages if (m.param, m.level_type) == (param, level_type)
                       and m.step_hours == step), key=lambda m: (m.member, m.level or 0))
    level = messages[0].level
    messages = [m for m in messages if m.level == level]
    assert [m.member for m in messages] == list(range(layout.members))
    path, index = forecast.chunk(messages[0], [run.init])
    ls = {e["path"]: e for e in floe.ls(forecast.url, ("snapshot", forecast.snapshots[0]))}
    dims = ls[path]["zarr_json"]["dimension_names"]
    target = forecast.work / "all-members.npy"
    args = ["read", forecast.url, path, "--snapshot", forecast.snapshots[0], "--out", str(target),
            "--authorize", f"s3://{forecast.bucket}/", "--isel", f"{dims[0]}=0", "--isel", f"{dims[1]}={index[1]}"]
    if len(dims) == 6:
        args += ["--isel", f"level={index[3]}"]
    floe.run(args, forecast.url)
    values = np.load(target)
    expected = fixture_tool.oracle([(forecast.local_path(m), m.offset) for m in messages], forecast.work / "all")[0]
    values = values.reshape((layout.members,) + values.shape[-2:])
    for member in range(layout.members):
        float32_equal(values[member], expected[member], f"{path} step {step} h member {member}")


# --------------------------------------------------------------------------------------------------
# Run 2 appended along init_time
# --------------------------------------------------------------------------------------------------


def test_second_run_appends_as_a_tagged_commit(forecast: Forecast, s3: S3, floe: Floe, fixture_tool: FixtureTool,
                                               servers: Servers, timings) -> None:
    append_run(forecast, s3, floe, fixture_tool, timings)
    layout = forecast.layout
    summary = forecast.summaries[1]
    assert summary["warnings"] == [], summary["warnings"][:10]
    repo = open_repo(forecast.url, servers)
    first, second = forecast.snapshots
    assert repo.lookup_branch("main") == second
    ancestry = [s.id for s in repo.ancestry(branch="main")]
    assert ancestry[:2] == [second, first], ancestry[:3]
    assert repo.lookup_tag(layout.tag(layout.inits[1])) == second
    raw = xr.open_zarr(repo.readonly_session(snapshot_id=second).store, consolidated=False, zarr_format=3,
                       chunks=None, decode_times=False, decode_timedelta=False)
    inits = [epoch_seconds(i) for i in layout.inits]
    steps = np.array(layout.steps_hours, dtype=np.int64) * HOUR
    assert raw["init_time"].values.tolist() == inits
    assert raw["step"].values.tolist() == steps.tolist()
    assert raw["member"].values.tolist() == list(range(layout.members))
    assert raw["valid_time"].values.tolist() == [(i + steps).tolist() for i in inits]
    print(f"{layout.name} run 2 appended in {timings[f'{layout.name}.run2.append_s']:.1f} s")


def test_appended_references_and_first_run_unchanged(forecast: Forecast, s3: S3, floe: Floe,
                                                     fixture_tool: FixtureTool, servers: Servers, timings) -> None:
    append_run(forecast, s3, floe, fixture_tool, timings)
    inits = [r.init for r in forecast.runs]
    first, second = forecast.snapshots
    expected: dict[str, dict[tuple[int, ...], tuple[str, int, int]]] = defaultdict(dict)
    for run in forecast.runs:
        for m in run.messages:
            path, index = forecast.chunk(m, inits)
            expected[path][index] = (forecast.location(m), m.offset, m.length)
    for path, cells in sorted(expected.items()):
        refs = floe_refs(floe, forecast.url, path, second)
        assert set(refs) == set(cells), f"{path}: cells {len(refs)} != {len(cells)}"
        wrong = [(i, refs[i], cells[i]) for i in cells if refs[i] != cells[i]]
        assert not wrong, f"{path}: {len(wrong)} references are not their message, first {wrong[:3]}"
        # The first snapshot still holds exactly run 1.
        old = floe_refs(floe, forecast.url, path, first)
        assert old == {i: c for i, c in cells.items() if i[0] == 0}, f"{path}: the first snapshot changed"
    # icechunk-python's diff: only cells of the new init_time changed.
    diff = open_repo(forecast.url, servers).diff(from_snapshot_id=first, to_snapshot_id=second)
    for path, indices in diff.updated_chunks.items():
        if path.rsplit("/", 1)[-1] in ("init_time", "valid_time"):
            continue
        touched = sorted({tuple(i)[0] for i in indices})
        assert touched == [1], f"{path}: the append touched init_time indices {touched}"
    assert not diff.deleted_arrays and not diff.deleted_groups and not diff.new_groups, diff


def test_appended_values_match_eccodes(forecast: Forecast, s3: S3, floe: Floe, fixture_tool: FixtureTool,
                                       servers: Servers, timings) -> None:
    append_run(forecast, s3, floe, fixture_tool, timings)
    inits = [r.init for r in forecast.runs]
    first, second = forecast.snapshots
    for n, run in enumerate(forecast.runs):
        sample = sample_messages(run.messages, f"{forecast.layout.name}-append-{n}", size=SAMPLE_SIZE // 2)
        expected = oracle_for(forecast, fixture_tool, sample, f"oracle-append-{n}")
        through_xarray = read_with_xarray(forecast, servers, second, sample, inits)
        through_floe = read_with_floe(forecast, floe, second, sample, inits, forecast.work / f"floe-append-{n}")
        for m, e, x, f in zip(sample, expected, through_xarray, through_floe):
            what = f"run {n + 1} {m.path} @ {m.offset} ({m.param} member {m.member} step {m.step_hours} h)"
            if x is not None:
                float32_equal(x, e, f"xarray + gribberish after the append: {what}")
            float32_equal(f, e, f"floe read after the append: {what}")
        if n == 0:
            # The first run read at its own snapshot and at the tag's: same values.
            old = read_with_xarray(forecast, servers, first, sample, inits[:1])
            for m, e, x in zip(sample, expected, old):
                if x is not None:
                    float32_equal(x, e, f"first snapshot: {m.path} @ {m.offset}")


# --------------------------------------------------------------------------------------------------
# Stale sidecars
# --------------------------------------------------------------------------------------------------


def shifted_idx(text: str, shift: int) -> str:
    """A wgrib2 inventory whose offsets (all but the first message's) are `shift` bytes off."""
    lines = []
    for n, line in enumerate(text.splitlines()):
        parts = line.split(":")
        if n > 0:
            parts[1] = str(int(parts[1]) + shift)
        lines.append(":".join(parts))
    return "\n".join(lines) + "\n"


def test_stale_sidecars_leave_messages_out(s3: S3, floe: Floe, servers: Servers, fixture_tool: FixtureTool,
                                           tmp_path: Path) -> None:
    """Shifted offsets (GEFS .idx and ECMWF .index) and a relabelled member: warnings naming the file, the
    messages left out, and every reference that remains is its own message."""
    gefs = fixture_tool.generate(
        Layout(GEFS.name, GEFS.inits, 3, (0, 3), GEFS.arrays, GEFS.global_west), GEFS.inits[0], tmp_path / "gefs")
    ens = fixture_tool.generate(
        Layout(ECMWF_ENS.name, ECMWF_ENS.inits, 3, (0, 3), ECMWF_ENS.arrays, ECMWF_ENS.global_west),
        ECMWF_ENS.inits[0], tmp_path / "ens")
    bucket = s3.new_bucket("stale")
    upload_run(s3, gefs, bucket)
    upload_run(s3, ens, bucket)
    gefs_prefix = GEFS.run_prefix(gefs.init)
    # gep01 f003: offsets shifted by 5 bytes; gep02 f003: its .idx says member 1 (a sidecar of another file
    # with the same message sizes would look like this).
    shifted_file = f"{gefs_prefix}gep01.t00z.pgrb2a.0p50.f003"
    relabelled_file = f"{gefs_prefix}gep02.t00z.pgrb2a.0p50.f003"
    s3.put(bucket, shifted_file + ".idx", shifted_idx((gefs.root / (shifted_file + ".idx")).read_text(), 5).encode())
    relabelled = (gefs.root / (relabelled_file + ".idx")).read_text().replace("ENS=+2", "ENS=+1")
    s3.put(bucket, relabelled_file + ".idx", relabelled.encode())
    # ENS step 3: every range after the first starts 11 bytes late (and ends where it did: a range past the
    # end of the file is an error for the whole index, by design).
    ens_file = f"{ECMWF_ENS.run_prefix(ens.init)}{ens.init}0000-3h-enfo-ef.grib2"
    index_key = ens_file[: -len(".grib2")] + ".index"
    lines = []
    for n, line in enumerate((ens.root / index_key).read_text().splitlines()):
        entry = json.loads(line)
        if n > 0:
            entry["_offset"] += 11
            entry["_length"] -= 11
        lines.append(json.dumps(entry))
    s3.put(bucket, index_key, ("\n".join(lines) + "\n").encode())

    # stale file -> offsets of its messages that stay (their sidecar range is still right): in the .idx the
    # first message's length comes from the next (shifted) offset, in the .index it is given.
    for layout, run, stale in ((GEFS, gefs, {shifted_file: set(), relabelled_file: set()}),
                               (ECMWF_ENS, ens, {ens_file: {0}})):
        url = f"s3://{bucket}/repos/{layout.name}"
        res, summary = virtualize(floe, [layout.source_glob(bucket, run.init)], url, "--layout", layout.name)
        warnings = summary["warnings"]
        assert warnings, f"{layout.name}: no warning for the stale sidecars\n{res.describe()}"
        for key in stale:
            named = [w for w in warnings if key in w]
            assert named, f"{layout.name}: no warning names {key}: {warnings}"
        for w in warnings:
            assert any(key in w for key in stale), f"{layout.name}: a warning about a good file: {w}"
        # Every remaining reference is its manifest message at its cell; the stale files' messages are out.
        fc = Forecast(layout, bucket, url, tmp_path, runs=[run], snapshots=[summary["snapshot"]])
        session = open_repo(url, servers).readonly_session(snapshot_id=summary["snapshot"])
        for group in {g for g, _ in layout.arrays.values()}:
            ds = xr.open_zarr(session.store, group=group, consolidated=False, zarr_format=3, chunks=None)
            if "level" in ds.coords:
                fc.levels[group] = [float(v) for v in ds["level"].values]
        expected: dict[str, dict[tuple[int, ...], tuple[str, int, int]]] = defaultdict(dict)
        left_out = 0
        for m in run.messages:
            if m.path in stale and m.offset not in stale[m.path]:
                left_out += 1
                continue
            path, index = fc.chunk(m, [run.init])
            expected[path][index] = (fc.location(m), m.offset, m.length)
        for path in sorted({f"/{g}/{a}" for g, a in layout.arrays.values()}):
            refs = floe_refs(floe, url, path, summary["snapshot"])
            wrong = {i: r for i, r in refs.items() if expected[path].get(i) != r}
            assert not wrong, f"{layout.name} {path}: mis-assigned references {list(wrong.items())[:3]}"
            assert set(refs) == set(expected[path]), (
                f"{layout.name} {path}: missing {sorted(set(expected[path]) - set(refs))[:5]}")
        assert summary["virtual_refs"] == len(run.messages) - left_out
