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
import virtualize_fixtures as VF
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
KNOWN_ZARR_BUGS: dict[str, str] = {}


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


# --------------------------------------------------------------------------------------------------
# 2. Arrays virtualized from NetCDF/HDF5 files
# --------------------------------------------------------------------------------------------------

# libncarg-data is 57 small NetCDF files of a handful of writers: every NCARG_SAMPLE_EVERY-th keeps the run short.
NCARG_SAMPLE_EVERY = 5
EXTERNAL = {fx.name: fx for fx in VF.external_fixtures()}
VIRTUAL_FIXTURES = (VF.fixture_names() + sorted(n for n in EXTERNAL if n.startswith("testdata/"))
                    + sorted(n for n in EXTERNAL if n.startswith("ncarg/"))[::NCARG_SAMPLE_EVERY])
# Attributes that make --decode-cf change values (cf_decode.h).
CF_ATTRIBUTES = {"scale_factor", "add_offset", "_FillValue", "missing_value", "_Unsigned"}
NON_COORD_PREFIX = "_nc4_non_coord_"
PURE_DIMENSION = "This is a netCDF dimension but not a netCDF variable"
# icechunk 2.3 deprecates None as the credential of a local container in favour of this sentinel.
LOCAL_ACCESS = getattr(getattr(ic, "credentials", None), "LocalFileSystemAccess", None)


def register_imagecodecs_for_zarr() -> None:
    """Lets zarr-python open arrays with the imagecodecs codec names floe writes for HDF5 plugin filters
    (`numcodecs.imagecodecs_lz4h5` for filter 32004), as test_virtualize.py does."""
    try:
        import imagecodecs.numcodecs
        from zarr.codecs.numcodecs._codecs import _NumcodecsBytesBytesCodec
        from zarr.registry import register_codec
    except ImportError:
        return
    imagecodecs.numcodecs.register_codecs(verbose=False)
    for name in ("lz4h5", "bitshuffle", "lzf", "bz2", "szip", "zfp"):
        cls = type(f"Imagecodecs_{name}", (_NumcodecsBytesBytesCodec,), {}, codec_name=f"imagecodecs_{name}")
        register_codec(f"numcodecs.imagecodecs_{name}", cls)


register_imagecodecs_for_zarr()


@dataclass
class Virtualized:
    fixture: VF.Fixture
    repo: Path
    prefix: str  # the container floe registers for the source's directory ("file:///dir/")
    warnings: list[str]

    def session(self) -> ic.Session:
        repo = ic.Repository.open(ic.local_filesystem_storage(str(self.repo)),
                                  authorize_virtual_chunk_access={self.prefix: LOCAL_ACCESS})
        return repo.readonly_session(branch="main")


def dir_prefix(path: Path) -> str:
    return "file://" + os.path.dirname(os.path.abspath(path)).rstrip("/") + "/"


@pytest.fixture(scope="module")
def generated_files(tmp_path_factory) -> dict[str, VF.Fixture]:
    VF.register_hdf5plugin()
    return VF.generate(tmp_path_factory.mktemp("read-virtual-sources"))


@pytest.fixture(scope="module")
def virtualize(floe: Floe, generated_files: dict[str, VF.Fixture], tmp_path_factory):
    """fixture name -> Virtualized (floe virtualize runs once per fixture per module)."""
    cache: dict[str, Virtualized] = {}
    root = tmp_path_factory.mktemp("read-virtual-repos")

    def get(name: str) -> Virtualized:
        if name not in cache:
            fx = generated_files[name] if name in generated_files else EXTERNAL[name]
            repo = root / re.sub(r"[^\w.-]", "_", name)
            res = floe.run(["virtualize", str(fx.path), "--repo", str(repo), "--json"], check=False, timeout=300)
            assert res.returncode == EXIT_OK, f"floe virtualize {fx.path}\n{res.describe()}"
            cache[name] = Virtualized(fx, repo, dir_prefix(fx.path), [str(w) for w in res.json()["warnings"]])
        return cache[name]

    return get


def zarr_arrays(group: zarr.Group, prefix: str = "") -> dict[str, zarr.Array]:
    """Every array under `group`, by absolute path."""
    out: dict[str, zarr.Array] = {}
    for key, node in group.members():
        path = f"{prefix}/{key}"
        if isinstance(node, zarr.Array):
            out[path] = node
        else:
            out.update(zarr_arrays(node, path))
    return out


class SourceTruth:
    """Raw values of a source file: netCDF4-python with auto mask/scale and char-to-string off for
    NetCDF files, h5py for HDF5 files and for the objects of a NetCDF-4 file netCDF-C does not show."""

    def __init__(self, fx: VF.Fixture):
        import h5py
        import netCDF4

        self.fx = fx
        self.nc = None
        self.h5 = None
        if fx.kind in ("netcdf3", "netcdf4"):
            self.nc = netCDF4.Dataset(fx.path)
            self.nc.set_auto_maskandscale(False)
            self.nc.set_auto_chartostring(False)
        if fx.kind != "netcdf3":
            self.h5 = h5py.File(fx.path, "r")
            self.h5_paths: dict[str, str] = {}

            def visit(name: str, obj) -> None:
                if isinstance(obj, h5py.Dataset) and not self._pure_dimension(obj):
                    parts = name.split("/")
                    if parts[-1].startswith(NON_COORD_PREFIX):
                        parts[-1] = parts[-1][len(NON_COORD_PREFIX):]
                    self.h5_paths["/" + "/".join(parts)] = "/" + name

            self.h5.visititems(visit)

    @staticmethod
    def _pure_dimension(ds) -> bool:
        name = ds.attrs.get("NAME")
        if isinstance(name, bytes):
            name = name.decode(errors="replace")
        return isinstance(name, str) and name.startswith(PURE_DIMENSION)

    def values(self, path: str) -> tuple[str, Any] | None:
        """(library, raw values) of the variable at zarr `path`; None when no library shows it."""
        if self.nc is not None:
            group = self.nc
            parts = path.strip("/").split("/")
            for part in parts[:-1]:
                group = group.groups.get(part) if group is not None else None
            variable = None if group is None else group.variables.get(parts[-1])
            if variable is not None:
                return "netCDF4", np.asarray(variable[...])
        if self.h5 is not None and path in self.h5_paths:
            ds = self.h5[self.h5_paths[path]]
            if ds.shape is None:
                return "h5py", np.zeros((0,), dtype=ds.dtype)
            return "h5py", np.asarray(ds[()])
        return None

    def close(self) -> None:
        if self.nc is not None:
            self.nc.close()
        if self.h5 is not None:
            self.h5.close()


def xarray_decoded(session: ic.Session, path: str) -> np.ndarray:
    """What xr.open_zarr decodes for the array at `path` just before times become dates: the Zarr backend's
    variable (its _FillValue decoded) through CFMaskCoder and CFScaleOffsetCoder as decode_cf_variable runs
    them with open_zarr's defaults (decode_times=True, so integer times are masked to NaT)."""
    from xarray.backends.zarr import ZarrStore
    from xarray.coding.times import CFTimedeltaCoder
    from xarray.coding.variables import CFMaskCoder, CFScaleOffsetCoder

    group, _, name = path.strip("/").rpartition("/")
    store = ZarrStore.open_group(session.store, group=group or None, mode="r", consolidated=False, zarr_format=3)
    variable = store.open_store_variable(name)
    for coder in (CFMaskCoder(decode_times=True, decode_timedelta=CFTimedeltaCoder()),
                  CFScaleOffsetCoder(decode_times=True, decode_timedelta=CFTimedeltaCoder())):
        variable = coder.decode(variable, name=name)
    return np.asarray(variable.values)


def is_variable_length(dtype: np.dtype) -> bool:
    return dtype.kind in "OT"


@pytest.mark.parametrize("name", VIRTUAL_FIXTURES)
def test_virtualized_arrays(name: str, virtualize, floe: Floe, tmp_path: Path) -> None:
    v = virtualize(name)
    session = v.session()
    arrays = zarr_arrays(zarr.open_group(session.store, mode="r", zarr_format=3))
    truth = SourceTruth(v.fixture)
    problems: list[str] = []
    compared = decoded = 0
    try:
        for path, array in sorted(arrays.items()):
            what = f"{name} {path}"
            out = tmp_path / (re.sub(r"\W", "_", path) + ".npy")
            res = floe_read(floe, v.repo, path, "--authorize", v.prefix, out=out, check=False)
            assert_no_crash(res)
            if is_variable_length(array.dtype):
                # Variable-length strings have no fixed element size: floe read refuses them by name.
                if res.returncode != EXIT_USER or path.strip("/") not in res.stderr.decode(errors="replace"):
                    problems.append(f"{what}: a variable-length string array must be refused with exit 1 "
                                    f"naming it\n{res.describe()}")
                assert not out.exists()
                continue
            if res.returncode != EXIT_OK:
                problems.append(f"{what}: floe read failed\n{res.describe()}")
                continue
            source = truth.values(path)
            if source is None:
                problems.append(f"{what}: neither netCDF4 nor h5py shows this variable")
                continue
            library, expected = source
            try:
                assert_same_array(expected, np.load(out), f"{what} raw vs {library}")
                compared += 1
            except AssertionError as e:
                problems.append(str(e))
            if not (CF_ATTRIBUTES & set(array.attrs)) or array.dtype.kind not in "biuf":
                continue
            res = floe_read(floe, v.repo, path, "--authorize", v.prefix, "--decode-cf", out=out, check=False)
            if res.returncode != EXIT_OK:
                problems.append(f"{what}: floe read --decode-cf failed\n{res.describe()}")
                continue
            try:
                assert_same_array(xarray_decoded(session, path), np.load(out), f"{what} --decode-cf vs xarray")
                decoded += 1
            except AssertionError as e:
                problems.append(str(e))
    finally:
        truth.close()
    assert not problems, f"{len(problems)} problems:\n" + "\n".join(problems)
    assert compared > 0 or not arrays, f"{name}: nothing compared"


# --------------------------------------------------------------------------------------------------
# 3. Coordinate selections against xarray's .sel
# --------------------------------------------------------------------------------------------------


@dataclass
class CoordsRepo:
    url: str
    session: ic.Session

    def open(self, group: str, times: str = "raw") -> xr.Dataset:
        """The group through xarray: times undecoded ("raw"), as cftime dates ("cftime") or numpy ("numpy")."""
        decode: Any = {"raw": False, "numpy": True,
                       "cftime": xr.coders.CFDatetimeCoder(use_cftime=True)}[times]
        return xr.open_zarr(self.session.store, group=group, consolidated=False, zarr_format=3, chunks=None,
                            decode_times=decode)


@pytest.fixture(scope="module")
def coords_repo(tmp_path_factory) -> CoordsRepo:
    """The datasets of read_cases.grid_datasets() and calendar_datasets(), one group each, written by xarray."""
    root = tmp_path_factory.mktemp("read-coords") / "repo"
    repo = ic.Repository.create(ic.local_filesystem_storage(str(root)))
    session = repo.writable_session("main")
    for name, ds in RC.grid_datasets().items():
        ds.to_zarr(session.store, group=name, zarr_format=3, consolidated=False, mode="w")
    for label, ds in RC.calendar_datasets().items():
        ds.to_zarr(session.store, group=f"cal_{label}", zarr_format=3, consolidated=False, mode="w")
    session.commit("xarray datasets for coordinate selections")
    return CoordsRepo(str(root), repo.readonly_session(branch="main"))


@dataclass
class SelCase:
    id: str
    group: str
    variable: str
    args: list[str]  # --sel/--isel arguments
    expect: Any  # DataArray (with pos_<dim> coordinates) -> the selected DataArray, dims kept
    times: str = "raw"


def _seam(dim: str, west: slice, east: slice):
    return lambda da: xr.concat([da.sel({dim: west}), da.sel({dim: east})], dim=dim)


def _cftime(calendar: str, *fields: int):
    import cftime

    return cftime.datetime(*fields, calendar=calendar)


def _grid_cases() -> list[SelCase]:
    asc, desc, fine = "asc_0_360", "desc_pm180", "f32_fine"
    cases = [
        # Ascending latitude, longitude stored 0..357.5.
        SelCase("asc-lat", asc, "t2m", ["--sel", "lat=-10.25:-1"], lambda da: da.sel(lat=slice(-10.25, -1))),
        SelCase("asc-lat-reversed-bounds", asc, "t2m", ["--sel", "lat=-1:-10.25"],
                lambda da: da.sel(lat=slice(-10.25, -1))),
        SelCase("asc-lon-pm180-request", asc, "t2m", ["--sel", "lon=-48.75:-41.5"],
                lambda da: da.sel(lon=slice(311.25, 318.5))),
        SelCase("asc-lon-plain", asc, "t2m", ["--sel", "lon=100.1:120"], lambda da: da.sel(lon=slice(100.1, 120))),
        SelCase("asc-seam-pm180", asc, "t2m", ["--sel", "lon=-20:40", "--sel", "lat=30:60"],
                lambda da: _seam("lon", slice(340, None), slice(None, 40))(da.sel(lat=slice(30, 60)))),
        SelCase("asc-seam-360-wrapping", asc, "t2m", ["--sel", "lon=350:10"],
                _seam("lon", slice(350, None), slice(None, 10))),
        SelCase("asc-point", asc, "t2m", ["--sel", "lat=12.3", "--sel", "lon=-100.2"],
                lambda da: da.sel(lat=[12.3], lon=[259.8], method="nearest")),
        SelCase("asc-point-tie", asc, "t2m", ["--sel", "lat=0", "--sel", "lon=1.25"],
                lambda da: da.sel(lat=[0.0], lon=[1.25], method="nearest")),
        SelCase("asc-time-lat-lon", asc, "t2m",
                ["--sel", "time=2020-02-01:2020-02-03", "--sel", "lat=-20:-5", "--sel", "lon=300:330"],
                lambda da: da.sel(time=slice("2020-02-01", "2020-02-03"), lat=slice(-20, -5),
                                  lon=slice(300, 330)), times="numpy"),
        SelCase("asc-time-point", asc, "t2m", ["--sel", "time=2020-02-02T04", "--isel", "lat=0:3"],
                lambda da: da.sel(time=[np.datetime64("2020-02-02T04")], method="nearest").isel(lat=slice(0, 3)),
                times="numpy"),
        SelCase("asc-isel-negative", asc, "t2m", ["--isel", "time=-5:", "--isel", "lat=3:7", "--isel", "lon=-1"],
                lambda da: da.isel(time=slice(-5, None), lat=slice(3, 7), lon=[-1])),
        SelCase("asc-isel-sel-mixed", asc, "t2m", ["--isel", "time=2:-30", "--sel", "lon=-2.5:2.5"],
                lambda da: _seam("lon", slice(357.5, None), slice(None, 2.5))(da.isel(time=slice(2, -30)))),
        # Descending latitude, longitude stored -180..177.5.
        SelCase("desc-lat", desc, "t2m", ["--sel", "lat=-10.25:-1"], lambda da: da.sel(lat=slice(-1, -10.25))),
        SelCase("desc-lat-descending-bounds", desc, "t2m", ["--sel", "lat=10:-10"],
                lambda da: da.sel(lat=slice(10, -10))),
        SelCase("desc-lon-360-request", desc, "t2m", ["--sel", "lon=190:200"],
                lambda da: da.sel(lon=slice(-170, -160))),
        SelCase("desc-seam-pm180", desc, "t2m", ["--sel", "lon=170:-170", "--sel", "lat=5:-5"],
                lambda da: _seam("lon", slice(170, None), slice(None, -170))(da.sel(lat=slice(5, -5)))),
        SelCase("desc-seam-360", desc, "t2m", ["--sel", "lon=160:200"],
                _seam("lon", slice(160, None), slice(None, -160))),
        SelCase("desc-point", desc, "t2m", ["--sel", "lat=-33.3", "--sel", "lon=200.1"],
                lambda da: da.sel(lat=[-33.3], lon=[-159.9], method="nearest")),
        SelCase("desc-point-tie", desc, "t2m", ["--sel", "lat=0", "--sel", "lon=-1.25"],
                lambda da: da.sel(lat=[0.0], lon=[-1.25], method="nearest")),
        SelCase("desc-isel-negative", desc, "t2m", ["--isel", "lat=-4:-1", "--isel", "lon=-3:", "--isel", "time=7"],
                lambda da: da.isel(lat=slice(-4, -1), lon=slice(-3, None), time=[7])),
        # float32 latitude (bounds compared in float32, as numpy does) and a longitude with a gap at the seam.
        SelCase("f32-lat", fine, "t2m", ["--sel", "lat=-0.3:0.3"], lambda da: da.sel(lat=slice(-0.3, 0.3))),
        SelCase("f32-lat-point", fine, "t2m", ["--sel", "lat=0.1", "--isel", "time=0"],
                lambda da: da.sel(lat=[0.1], method="nearest").isel(time=[0])),
        SelCase("f32-seam", fine, "t2m", ["--sel", "lon=-2:3", "--isel", "time=1:3"],
                lambda da: _seam("lon", slice(358, None), slice(None, 3))(da.isel(time=slice(1, 3)))),
        SelCase("f32-lon-plain", fine, "t2m", ["--sel", "lon=356.05:356.45"],
                lambda da: da.sel(lon=slice(356.05, 356.45))),
    ]
    return cases


# calendar label -> (date-string ranges, nearest points as (spec, cftime fields))
CALENDAR_SELECTIONS: dict[str, tuple[list[str], list[tuple[str, tuple[int, ...]]]]] = {
    "standard": (["2000-02-28:2000-03-01", "2000-02:2000-02", "2000-01-31T12:2000-02-01T06", "2000-04:"],
                 [("2000-02-29T04", (2000, 2, 29, 4))]),
    "gregorian_1582": (["1582-10:1582-10", "1582-10-01:1582-10-20", ":1582-09-05"],
                       [("1582-10-15", (1582, 10, 15)), ("1582-10-04T13", (1582, 10, 4, 13))]),
    "proleptic_gregorian": (["2000-02-29:2000-02-29", "2000-02:2000-03-01T12", "1999-12-15T13:1999-12-17"],
                            [("2000-02-29T01", (2000, 2, 29, 1))]),
    "noleap": (["2000-02-28:2000-03-01", "2000-02:2000-02", "2001-01:2001"], [("2000-03-01T05", (2000, 3, 1, 5))]),
    "365_day": (["1900-02-27:1900-03-01", "1900-03:1900-03"], [("1900-02-28T20", (1900, 2, 28, 20))]),
    "all_leap": (["2001-02-29:2001-02-29", "2001-02:2001-03-01", "2002-02-29:2002-03"],
                 [("2001-02-29T12", (2001, 2, 29, 12))]),
    "366_day": (["2001-02-28:2001-02-29", "2001-03-01T06:2001-03-02"], [("2001-02-29T11", (2001, 2, 29, 11))]),
    "360_day": (["2000-02-30:2000-02-30", "2000-02-29:2000-03-01", "2001-02:2001-02"],
                [("2000-02-30T07", (2000, 2, 30, 7))]),
    "julian": (["1900-02-29:1900-02-29", "1900-02-28:1900-03-01"], [("1900-02-29T18", (1900, 2, 29, 18))]),
}


def _calendar_cases() -> list[SelCase]:
    cases = []
    for label, (ranges, points) in CALENDAR_SELECTIONS.items():
        calendar = RC.CALENDARS[label].get("calendar", label)
        group = f"cal_{label}"
        for spec in ranges:
            start, _, stop = spec.partition(":") if spec.count(":") == 1 else _split_dates(spec)
            window = slice(start or None, stop or None)
            cases.append(SelCase(f"{label}-{spec}", group, "v", ["--sel", f"time={spec}"],
                                 lambda da, w=window: da.sel(time=w), times="cftime"))
            if calendar in ("standard", "proleptic_gregorian") and not label.endswith("1582"):
                cases.append(SelCase(f"{label}-{spec}-numpy", group, "v", ["--sel", f"time={spec}"],
                                     lambda da, w=window: da.sel(time=w), times="numpy"))
        for spec, fields in points:
            cases.append(SelCase(f"{label}-point-{spec}", group, "v", ["--sel", f"time={spec}", "--isel", "x=1:"],
                                 lambda da, c=calendar, f=fields: da.sel(time=[_cftime(c, *f)], method="nearest")
                                 .isel(x=slice(1, None)), times="cftime"))
    return cases


def _split_dates(spec: str) -> tuple[str, str, str]:
    """'2000-01-31T12:2000-02-01T06' -> ('2000-01-31T12', ':', '2000-02-01T06'): the colon between two dates."""
    for i, ch in enumerate(spec):
        if ch == ":" and re.fullmatch(r"-?\d{4}(-\d\d(-\d\d(T\d\d(:\d\d(:\d\d)?)?)?)?)?", spec[:i]) and \
                re.fullmatch(r"(-?\d{4}(-\d\d(-\d\d(T\d\d(:\d\d(:\d\d)?)?)?)?)?)?", spec[i + 1:]):
            return spec[:i], ":", spec[i + 1:]
    raise AssertionError(spec)


SEL_CASES = _grid_cases() + _calendar_cases()


def expected_selection(repo: CoordsRepo, case: SelCase) -> tuple[xr.DataArray, dict[str, np.ndarray]]:
    """xarray's selection and, per dimension, the raw (undecoded) coordinate values it kept."""
    raw = repo.open(case.group, "raw")
    ds = repo.open(case.group, case.times)
    da = ds[case.variable]
    da = da.assign_coords({f"pos_{d}": (d, np.arange(da.sizes[d])) for d in da.dims})
    selected = case.expect(da)
    coords = {d: raw[d].values[selected[f"pos_{d}"].values] for d in da.dims if d in raw.variables}
    return selected, coords


@pytest.mark.parametrize("case", SEL_CASES, ids=lambda c: c.id)
def test_selection_matches_xarray(case: SelCase, coords_repo: CoordsRepo, floe: Floe, tmp_path: Path) -> None:
    import netCDF4

    expected, coords = expected_selection(coords_repo, case)
    assert expected.size > 0, f"{case.id}: xarray selects nothing (the case is wrong)"
    out = tmp_path / "sel.nc"
    summary = floe_read(floe, coords_repo.url, f"/{case.group}/{case.variable}", *case.args, out=out).json()
    assert summary["shape"] == list(expected.shape), (
        f"{case.id}: floe selected shape {summary['shape']}, xarray {list(expected.shape)}")
    with netCDF4.Dataset(out) as nc:
        nc.set_auto_maskandscale(False)
        variable = nc[case.variable]
        assert variable.dimensions == expected.dims, f"{case.id}: dims {variable.dimensions} != {expected.dims}"
        assert_same_array(expected.values, variable[...], f"{case.id} values")
        for dim, values in coords.items():
            assert dim in nc.variables, f"{case.id}: the output has no coordinate variable {dim}"
            assert_same_array(values, nc[dim][...], f"{case.id} coordinate {dim}")
