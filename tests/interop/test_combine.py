# Issue 7 end to end: many NetCDF-4 files combined by `floe virtualize` (concat, nested, stack, merge), read back by xarray + icechunk-python and by `floe read`, against netCDF4-python's values.
"""Files written by netCDF4-python are combined into one repository; the values read back equal the files'.

Each test writes a few small NetCDF-4 files, runs `floe virtualize` on them and compares what icechunk-python +
xarray (and `floe read`) return with the data netCDF4-python reads from the files directly:
  - monthly files of different lengths along time: compressed whole-month chunks (a rectilinear chunk grid,
    read with zarr's rectilinear flag), uncompressed contiguous data (single steps: a regular grid any reader
    reads), compressed partial chunks in the middle (refused, naming the file);
  - time in different units per file (one encoding in the repository, the same dates), a noleap calendar;
  - a nested grid of ensemble cells (member x polygon), stacking along a new dimension, merging u10 and v10 files;
  - validation: mismatched packing is refused naming both files.
Environment: FLOE_BIN (ctest sets it).
"""

from __future__ import annotations

import json
import subprocess
import time
from pathlib import Path

import icechunk as ic
import netCDF4
import numpy as np
import pytest
import xarray as xr
import zarr

from conftest import _executable_from_env

LOCAL_ACCESS = getattr(getattr(ic, "credentials", None), "LocalFileSystemAccess", None)


@pytest.fixture(scope="module")
def floe_bin() -> str:
    return _executable_from_env("FLOE_BIN")


def run(floe_bin: str, args: list[str], check: bool = True) -> subprocess.CompletedProcess:
    proc = subprocess.run([floe_bin, *args], capture_output=True, timeout=120)
    if check and proc.returncode != 0:
        raise AssertionError(f"floe {' '.join(args)} failed ({proc.returncode}):\n{proc.stderr.decode()}")
    return proc


def virtualize(floe_bin: str, sources: list[Path], repo: Path, *extra: str) -> dict:
    proc = run(floe_bin, ["--json", "virtualize", *map(str, sources), "--repo", str(repo), *extra])
    return json.loads(proc.stdout)


def open_dataset(repo: Path, directory: Path) -> xr.Dataset:
    storage = ic.local_filesystem_storage(str(repo))
    prefix = f"file://{directory}/"
    repository = ic.Repository.open(storage, authorize_virtual_chunk_access={prefix: LOCAL_ACCESS})
    session = repository.readonly_session("main")
    with zarr.config.set({"array.rectilinear_chunks": True}):
        return xr.open_zarr(session.store, consolidated=False, chunks=None).load()


def floe_read(floe_bin: str, repo: Path, variable: str, directory: Path, out: Path) -> np.ndarray:
    run(floe_bin, ["read", str(repo), variable, "--out", str(out), "--authorize", f"file://{directory}/"])
    return np.load(out)


def write_month(path: Path, days: int, first_day: int, *, chunk: int | None, zlib: bool, units: str | None = None,
                calendar: str = "standard", seed: int = 0, variable: str = "tas", scale: float | None = None) -> np.ndarray:
    rng = np.random.default_rng(seed)
    data = rng.normal(280, 5, (days, 3, 4)).astype("f4")
    with netCDF4.Dataset(path, "w", format="NETCDF4") as nc:
        nc.createDimension("time", None if chunk is not None else days)  # contiguous data needs a fixed length
        nc.createDimension("lat", 3)
        nc.createDimension("lon", 4)
        time = nc.createVariable("time", "f8", ("time",))
        time.units = units or "days since 2000-01-01"
        time.calendar = calendar
        time[:] = np.arange(days) + (first_day if units is None else 0)
        nc.createVariable("lat", "f4", ("lat",))[:] = [10, 20, 30]
        nc.createVariable("lon", "f4", ("lon",))[:] = [0, 90, 180, 270]
        kwargs = {"zlib": zlib}
        if chunk is not None:
            kwargs["chunksizes"] = (chunk, 3, 4)
        else:
            kwargs["contiguous"] = True
        var = nc.createVariable(variable, "f4", ("time", "lat", "lon"), **kwargs)
        if scale is not None:
            var.scale_factor = scale
        var.set_auto_maskandscale(False)
        var[:] = data
    return data


MONTHS = [(31, 0), (28, 31), (31, 59)]


def test_monthly_compressed_whole_month_chunks_make_a_rectilinear_grid(floe_bin, tmp_path):
    files, expected = [], []
    for i, (days, first) in enumerate(MONTHS):
        path = tmp_path / f"tas_2001{i + 1:02d}.nc"
        expected.append(write_month(path, days, first, chunk=days, zlib=True, seed=i))
        files.append(path)
    summary = virtualize(floe_bin, files, tmp_path / "repo", "--concat-dim", "time")
    assert summary["virtual_refs"] == 3
    assert any("rectilinear" in w for w in summary["warnings"]), summary["warnings"]
    meta = json.loads(run(floe_bin, ["--json", "info", str(tmp_path / "repo"), "tas"]).stdout)
    ds = open_dataset(tmp_path / "repo", tmp_path)
    np.testing.assert_array_equal(ds["tas"].values, np.concatenate(expected))
    np.testing.assert_array_equal(ds["time"].values, np.array(
        np.datetime64("2000-01-01") + np.arange(90).astype("timedelta64[D]"), dtype="datetime64[ns]"))
    np.testing.assert_array_equal(floe_read(floe_bin, tmp_path / "repo", "tas", tmp_path, tmp_path / "tas.npy"),
                                  np.concatenate(expected))
    assert meta, "floe info answers for the rectilinear array"
    # icechunk-python + zarr-python can rewrite the array's metadata (it refuses some spellings of a grid).
    repository = ic.Repository.open(ic.local_filesystem_storage(str(tmp_path / "repo")),
                                    authorize_virtual_chunk_access={f"file://{tmp_path}/": LOCAL_ACCESS})
    session = repository.writable_session("main")
    with zarr.config.set({"array.rectilinear_chunks": True}):
        array = zarr.open_array(session.store, path="tas")
        array.attrs["history"] = "touched by zarr-python"
        session.commit("attrs")
    ds = open_dataset(tmp_path / "repo", tmp_path)
    assert ds["tas"].attrs["history"] == "touched by zarr-python"
    np.testing.assert_array_equal(ds["tas"].values, np.concatenate(expected))


def test_monthly_contiguous_files_are_referenced_one_step_at_a_time(floe_bin, tmp_path):
    files, expected = [], []
    for i, (days, first) in enumerate(MONTHS):
        path = tmp_path / f"tas_2001{i + 1:02d}.nc"
        expected.append(write_month(path, days, first, chunk=None, zlib=False, seed=10 + i))
        files.append(path)
    summary = virtualize(floe_bin, files, tmp_path / "repo", "--concat-dim", "time")
    assert summary["virtual_refs"] == 90, summary
    # A regular grid: no rectilinear flag needed to read it.
    repository = ic.Repository.open(ic.local_filesystem_storage(str(tmp_path / "repo")),
                                    authorize_virtual_chunk_access={f"file://{tmp_path}/": LOCAL_ACCESS})
    ds = xr.open_zarr(repository.readonly_session("main").store, consolidated=False, chunks=None)
    np.testing.assert_array_equal(ds["tas"].values, np.concatenate(expected))
    np.testing.assert_array_equal(floe_read(floe_bin, tmp_path / "repo", "tas", tmp_path, tmp_path / "tas.npy"),
                                  np.concatenate(expected))
    # The same files as a rectilinear grid: partial chunks referenced by their rows only.
    summary = virtualize(floe_bin, files, tmp_path / "rect", "--concat-dim", "time", "--chunk-grid", "rectilinear")
    assert summary["virtual_refs"] == 3, summary
    ds = open_dataset(tmp_path / "rect", tmp_path)
    np.testing.assert_array_equal(ds["tas"].values, np.concatenate(expected))


def test_compressed_partial_chunks_in_the_middle_are_refused(floe_bin, tmp_path):
    files = []
    for i, (days, first) in enumerate(MONTHS):
        path = tmp_path / f"tas_2001{i + 1:02d}.nc"
        write_month(path, days, first, chunk=10, zlib=True, seed=i)
        files.append(path)
    proc = run(floe_bin, ["virtualize", *map(str, files), "--repo", str(tmp_path / "repo"), "--concat-dim", "time"],
               check=False)
    assert proc.returncode != 0
    message = proc.stderr.decode()
    assert "tas_200101.nc has 31 along time in chunks of 10" in message, message
    assert "Rechunk" in message, message
    assert not (tmp_path / "repo").exists(), "nothing is written when the files cannot be combined"


def test_time_in_different_units_per_file_is_one_encoding(floe_bin, tmp_path):
    files, expected = [], []
    starts = ["2001-01-01", "2001-02-01", "2001-03-01"]
    for i, ((days, _), start) in enumerate(zip(MONTHS, starts)):
        path = tmp_path / f"tas_{i}.nc"
        units = f"hours since {start}" if i == 1 else f"days since {start}"
        write_month(path, days, 0, chunk=days, zlib=True, units=units, seed=i)
        if i == 1:  # hours: rewrite the values in hours
            with netCDF4.Dataset(path, "a") as nc:
                nc["time"][:] = np.arange(days) * 24.0
        files.append(path)
        with netCDF4.Dataset(path) as nc:
            expected.extend(netCDF4.num2date(nc["time"][:], nc["time"].units, nc["time"].calendar,
                                             only_use_cftime_datetimes=False, only_use_python_datetimes=True))
    virtualize(floe_bin, files, tmp_path / "repo", "--concat-dim", "time")
    ds = open_dataset(tmp_path / "repo", tmp_path)
    np.testing.assert_array_equal(ds["time"].values, np.array(expected, dtype="datetime64[ns]"))
    assert len(set(np.diff(ds["time"].values))) == 1


def test_noleap_calendar_is_kept(floe_bin, tmp_path):
    files = []
    for i, start in enumerate(["2001-02-01", "2001-03-01"]):
        path = tmp_path / f"tas_{i}.nc"
        write_month(path, 28 if i == 0 else 31, 0, chunk=None, zlib=False, units=f"days since {start}",
                    calendar="noleap", seed=i)
        files.append(path)
    virtualize(floe_bin, files, tmp_path / "repo", "--concat-dim", "time")
    ds = open_dataset(tmp_path / "repo", tmp_path)
    assert ds["time"].encoding.get("calendar", ds["time"].attrs.get("calendar")) == "noleap"
    dates = [d.strftime("%Y-%m-%d") for d in ds["time"].values]
    assert dates[27:29] == ["2001-02-28", "2001-03-01"], dates[25:31]


def write_cell(path: Path, member: int, polygon: int, seed: int) -> np.ndarray:
    data = np.random.default_rng(seed).normal(0, 1, (1, 1, 4, 3)).astype("f4")
    with netCDF4.Dataset(path, "w", format="NETCDF4") as nc:
        for name, size in (("member", 1), ("polygon", 1), ("time", 4), ("x", 3)):
            nc.createDimension(name, size)
        nc.createVariable("member", "i4", ("member",))[:] = [member]
        nc.createVariable("polygon", "i4", ("polygon",))[:] = [polygon]
        t = nc.createVariable("time", "f8", ("time",))
        t.units = "days since 2000-01-01"
        t[:] = np.arange(4) * 30
        nc.createVariable("x", "f4", ("x",))[:] = [0.5, 1.5, 2.5]
        nc.createVariable("alk", "f4", ("member", "polygon", "time", "x"), zlib=True, chunksizes=(1, 1, 4, 3))[:] = data
        nc.createVariable("run_version", "i4", ())[:] = 3
    return data


def test_nested_grid_of_ensemble_cells(floe_bin, tmp_path):
    expected = np.zeros((2, 3, 4, 3), "f4")
    files = []
    for m, member in enumerate([5, 7]):
        for p, polygon in enumerate([100, 200, 300]):
            path = tmp_path / f"cell_{polygon}_{member}.nc"  # sorted by name: polygon first, not the grid order
            expected[m, p] = write_cell(path, member, polygon, seed=m * 10 + p)[0, 0]
            files.append(path)
    summary = virtualize(floe_bin, sorted(files), tmp_path / "repo", "--nested", "member,polygon")
    assert summary["virtual_refs"] == 6
    ds = open_dataset(tmp_path / "repo", tmp_path)
    assert ds["alk"].dims == ("member", "polygon", "time", "x")
    np.testing.assert_array_equal(ds["member"].values, [5, 7])
    np.testing.assert_array_equal(ds["polygon"].values, [100, 200, 300])
    np.testing.assert_array_equal(ds["alk"].values, expected)
    assert int(ds["run_version"].values) == 3 and ds["run_version"].dims == ()
    np.testing.assert_array_equal(floe_read(floe_bin, tmp_path / "repo", "alk", tmp_path, tmp_path / "alk.npy"),
                                  expected)
    # A missing cell is named.
    proc = run(floe_bin, ["virtualize", *map(str, sorted(files)[:-1]), "--repo", str(tmp_path / "r2"),
                          "--nested", "member,polygon"], check=False)
    assert proc.returncode != 0 and "no file for member=7, polygon=300" in proc.stderr.decode(), proc.stderr


def test_stack_along_a_new_dimension(floe_bin, tmp_path):
    files, expected = [], []
    for i in range(3):
        path = tmp_path / f"run_{i}.nc"
        expected.append(write_month(path, 5, 0, chunk=5, zlib=True, seed=20 + i))
        files.append(path)
    virtualize(floe_bin, files, tmp_path / "repo", "--stack-dim", "member=10,20,30")
    ds = open_dataset(tmp_path / "repo", tmp_path)
    assert ds["tas"].dims == ("member", "time", "lat", "lon")
    np.testing.assert_array_equal(ds["member"].values, [10, 20, 30])
    np.testing.assert_array_equal(ds["tas"].values, np.stack(expected))
    assert ds["time"].dims == ("time",)


def test_merge_u10_and_v10_files(floe_bin, tmp_path):
    files, expected = [], {"u10": [], "v10": []}
    for variable in ("u10", "v10"):
        for i, (days, first) in enumerate(MONTHS[:2]):
            path = tmp_path / f"{variable}_{i}.nc"
            expected[variable].append(write_month(path, days, first, chunk=days, zlib=True, seed=i,
                                                  variable=variable))
            files.append(path)
    virtualize(floe_bin, files, tmp_path / "repo", "--concat-dim", "time")
    ds = open_dataset(tmp_path / "repo", tmp_path)
    for variable in ("u10", "v10"):
        np.testing.assert_array_equal(ds[variable].values, np.concatenate(expected[variable]))


def test_mismatched_packing_is_refused(floe_bin, tmp_path):
    a, b = tmp_path / "a.nc", tmp_path / "b.nc"
    write_month(a, 3, 0, chunk=3, zlib=True, scale=0.01)
    write_month(b, 3, 3, chunk=3, zlib=True, scale=0.02)
    proc = run(floe_bin, ["virtualize", str(a), str(b), "--repo", str(tmp_path / "repo"), "--concat-dim", "time"],
               check=False)
    message = proc.stderr.decode()
    assert proc.returncode != 0
    assert f"file://{a} and file://{b} differ in variable /tas: attribute scale_factor 0.01 vs 0.02" in message, message


def batch_files_of(repo: Path) -> list[list[str]]:
    """The files each commit on main recorded as its batch, oldest first."""
    repository = ic.Repository.open(ic.local_filesystem_storage(str(repo)))
    batches = [snapshot.metadata.get("floe_batch_files") for snapshot in repository.ancestry(branch="main")]
    return [batch for batch in reversed(batches) if batch]


def test_batch_files_resume_after_a_killed_run(floe_bin, tmp_path):
    data = tmp_path / "data"
    data.mkdir()
    expected = [write_month(data / f"m{i:03d}.nc", 3, 3 * i, chunk=3, zlib=True, seed=i) for i in range(40)]
    repo = tmp_path / "repo"
    args = [floe_bin, "--quiet", "virtualize", f"{data}/m*.nc", "--repo", str(repo), "--concat-dim", "time",
            "--batch-files", "1"]
    # Killed (SIGKILL, no chance to clean up) once a few batches are committed: mid-batch, mid-write or mid-commit.
    proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and proc.poll() is None:
        snapshots = repo / "snapshots"
        if snapshots.is_dir() and len(list(snapshots.iterdir())) >= 4:
            break
        time.sleep(0.002)
    proc.kill()
    proc.communicate(timeout=30)
    assert proc.returncode == -9, f"the run ended by itself ({proc.returncode}) before it could be killed"
    committed_before = batch_files_of(repo)
    assert 0 < len(committed_before) < 40, len(committed_before)
    # The rerun continues after the last commit, skipping what is committed.
    rerun = subprocess.run([*args[:2], "--json", *args[2:]], capture_output=True, timeout=120)
    assert rerun.returncode == 0, rerun.stderr.decode()
    summary = json.loads(rerun.stdout)
    skipped = sum(len(batch) for batch in committed_before)
    assert summary["skipped_files"] == skipped and summary["files"] == 40 - skipped, summary
    # Nothing lost, nothing twice: every file in exactly one commit, in order, and the data whole.
    batches = batch_files_of(repo)
    recorded = [name for batch in batches for name in batch]
    assert recorded == [f"file://{data}/m{i:03d}.nc" for i in range(40)], recorded
    ds = open_dataset(repo, data)
    np.testing.assert_array_equal(ds["tas"].values, np.concatenate(expected))
    np.testing.assert_array_equal(ds["time"].values[[0, -1]],
                                  np.array(["2000-01-01", "2000-04-29"], dtype="datetime64[ns]"))
    # A third run has nothing to do.
    again = subprocess.run([*args[:2], "--json", *args[2:]], capture_output=True, timeout=120)
    assert again.returncode == 0 and json.loads(again.stdout)["files"] == 0, again.stderr.decode()


def test_batch_files_of_a_nested_grid_commit_whole_slabs(floe_bin, tmp_path):
    expected = np.zeros((4, 3, 4, 3), "f4")  # the files' order of dimensions: member, polygon, time, x
    for p, polygon in enumerate([100, 200, 300]):
        for m, member in enumerate([1, 2, 3, 4]):
            expected[m, p] = write_cell(tmp_path / f"cell_{polygon}_{member}.nc", member, polygon, seed=p * 4 + m)[0, 0]
    run(floe_bin, ["virtualize", f"{tmp_path}/cell_*.nc", "--repo", str(tmp_path / "repo"), "--nested",
                   "polygon,member", "--batch-files", "3"])
    batches = batch_files_of(tmp_path / "repo")
    assert [len(batch) for batch in batches] == [4, 4, 4], batches  # 3 files extended to the polygon's 4
    ds = open_dataset(tmp_path / "repo", tmp_path)
    assert ds["alk"].dims == ("member", "polygon", "time", "x")
    np.testing.assert_array_equal(ds["alk"].values, expected)


def test_time_bounds_follow_the_harmonized_time(floe_bin, tmp_path):
    files, expected_bounds = [], []
    for i, (start, days) in enumerate([("2001-01-01", 31), ("2001-02-01", 28)]):
        path = tmp_path / f"tas_{i}.nc"
        hours = i == 1
        write_month(path, days, 0, chunk=days, zlib=True, units=f"{'hours' if hours else 'days'} since {start}",
                    seed=i)
        with netCDF4.Dataset(path, "a") as nc:
            nc.createDimension("nv", 2)
            nc["time"].bounds = "time_bnds"
            step = 24.0 if hours else 1.0
            nc["time"][:] = np.arange(days) * step
            bounds = nc.createVariable("time_bnds", "f8", ("time", "nv"))
            bounds[:] = np.stack([np.arange(days), np.arange(days) + 1], axis=1) * step
            expected_bounds.append(netCDF4.num2date(bounds[:], nc["time"].units, "standard",
                                                    only_use_cftime_datetimes=False, only_use_python_datetimes=True))
        files.append(path)
    virtualize(floe_bin, files, tmp_path / "repo", "--concat-dim", "time")
    ds = open_dataset(tmp_path / "repo", tmp_path)
    np.testing.assert_array_equal(ds["time_bnds"].values,
                                  np.concatenate(expected_bounds).astype("datetime64[ns]"))


def test_append_a_month_to_a_netcdf_cube(floe_bin, tmp_path):
    expected = [write_month(tmp_path / f"tas_{i}.nc", 10, 10 * i, chunk=10, zlib=True, seed=i) for i in range(3)]
    repo = tmp_path / "repo"
    virtualize(floe_bin, [tmp_path / "tas_0.nc", tmp_path / "tas_1.nc"], repo, "--concat-dim", "time")
    summary = virtualize(floe_bin, [tmp_path / "tas_2.nc"], repo, "--append-dim", "time")
    assert summary["appended"]["committed_length"] == 20 and summary["appended"]["appended_length"] == 10, summary
    ds = open_dataset(repo, tmp_path)
    np.testing.assert_array_equal(ds["tas"].values, np.concatenate(expected))
    assert len(ds["time"]) == 30
    # The same month again is refused and changes nothing.
    again = run(floe_bin, ["virtualize", str(tmp_path / "tas_2.nc"), "--repo", str(repo), "--append-dim", "time"],
                check=False)
    assert again.returncode == 2 and "already in the repository" in again.stderr.decode(), again.stderr
    assert len(open_dataset(repo, tmp_path)["time"]) == 30
