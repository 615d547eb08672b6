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


# --------------------------------------------------------------------------------------------------
# 4. Output files, statistics, snapshots and errors
# --------------------------------------------------------------------------------------------------


def norm_attrs(attrs: dict[str, Any], drop: set[str] = frozenset()) -> dict[str, Any]:
    """Attribute values in a comparable form: numpy scalars and one-element arrays as Python values, lists
    as lists (NetCDF has no boolean or nested attributes: JSON's become numbers and lists)."""
    out = {}
    for key, value in attrs.items():
        if key in drop:
            continue
        if isinstance(value, bytes):
            value = value.decode()
        value = np.asarray(value).tolist() if isinstance(value, (np.ndarray, np.generic, list, tuple)) else value
        if isinstance(value, list) and len(value) == 1:
            value = value[0]
        if isinstance(value, bool):
            value = int(value)
        out[key] = value
    return out


HIDDEN_ATTRS = {"_NCProperties", "_Netcdf4Dimid", "_Netcdf4Coordinates", "_nc3_strict", "_IsNetcdf4",
                "_SuperblockVersion", "_FillValue", "_Format"}


def assert_no_output(path: Path) -> None:
    """Nothing under the output name and no temporary (`.<name>.floe-tmp-*`) left beside it."""
    assert not path.exists(), f"{path} was written by a failed read"
    leftovers = [p.name for p in path.parent.iterdir() if p.name.startswith(f".{path.name}")]
    assert not leftovers, f"temporaries left beside {path}: {leftovers}"


def assert_fails(res: Result, status: int, *patterns: str) -> str:
    assert_no_crash(res)
    err = res.stderr.decode(errors="replace")
    assert res.returncode == status, f"expected exit {status}\n{res.describe()}"
    assert res.stdout == b"", f"a failed read printed to stdout\n{res.describe()}"
    for pattern in patterns:
        assert re.search(pattern, err, re.I), f"the message does not match {pattern!r}:\n{err}"
    return err


@pytest.mark.parametrize("decode", [False, True], ids=["raw", "decode-cf"])
def test_netcdf_output_of_virtual_variable(decode: bool, virtualize, floe: Floe, tmp_path: Path) -> None:
    """.nc of a packed variable: dims, the selected coordinates with their attributes, the variable's and
    the group's attributes; xarray decodes it to what it decodes from the repository."""
    import netCDF4

    v = virtualize("nc4")
    session = v.session()
    root = zarr.open_group(session.store, mode="r", zarr_format=3)
    array = root["packed"]
    args = ["--authorize", v.prefix, "--isel", "time=1:4", "--sel", "lat=-30:30", "--sel", "lon=90:200"]
    out = tmp_path / "packed.nc"
    floe_read(floe, v.repo, "packed", *args, *(["--decode-cf"] if decode else []), out=out)

    ds = xr.open_zarr(session.store, consolidated=False, zarr_format=3, chunks=None, decode_times=False)
    expected = ds["packed"].isel(time=slice(1, 4)).sel(lat=slice(-30, 30), lon=slice(90, 200))
    assert expected.size > 0
    with netCDF4.Dataset(out) as nc:
        nc.set_auto_maskandscale(False)
        var = nc["packed"]
        assert var.dimensions == ("time", "lat", "lon")
        assert var.shape == expected.shape
        assert dict(nc.dimensions.items()).keys() >= {"time", "lat", "lon"}
        for dim in ("time", "lat", "lon"):
            assert_same_array(expected[dim].values, nc[dim][...], f"coordinate {dim}")
            assert norm_attrs(nc[dim].__dict__, HIDDEN_ATTRS) == norm_attrs(dict(root[dim].attrs), HIDDEN_ATTRS), dim
        assert norm_attrs(nc.__dict__, HIDDEN_ATTRS) == norm_attrs(dict(root.attrs), HIDDEN_ATTRS), "global attributes"
        attrs = norm_attrs(var.__dict__, {"_FillValue"})
        box = np.ix_(range(1, 4), np.flatnonzero(np.isin(ds["lat"].values, expected["lat"].values)),
                     np.flatnonzero(np.isin(ds["lon"].values, expected["lon"].values)))
        if decode:
            assert var.dtype == np.float64, var.dtype
            assert attrs == norm_attrs(dict(array.attrs), CF_ATTRIBUTES), "decoded attributes"
            assert np.isnan(var._FillValue)
            assert_same_array(xarray_decoded(session, "/packed")[box], var[...], "decoded values")
        else:
            assert var.dtype == np.int16, var.dtype
            assert attrs == norm_attrs(dict(array.attrs), {"_FillValue"}), "raw attributes"
            assert var._FillValue == -32767
            assert_same_array(array[...][box], var[...], "raw values")
    # xarray reads floe's file as it reads the repository (CF decoding of the raw file included).
    with xr.open_dataset(out, decode_times=False) as back:
        assert_same_array(expected.values, back["packed"].values, "xarray on floe's .nc vs xarray on the repository")


def test_netcdf_output_times_decode(coords_repo: CoordsRepo, floe: Floe, tmp_path: Path) -> None:
    """Time coordinates keep units and calendar: xarray decodes floe's .nc to the same dates."""
    for label, spec in [("360_day", "2000-02-29:2000-03-01"), ("noleap", "2000-02-27:2000-03-02"),
                        ("julian", "1900-02-28:1900-03-01")]:
        out = tmp_path / f"{label}.nc"
        floe_read(floe, coords_repo.url, f"/cal_{label}/v", "--sel", f"time={spec}", out=out)
        start, _, stop = _split_dates(spec)
        expected = coords_repo.open(f"cal_{label}", "cftime")["v"].sel(time=slice(start, stop))
        coder = xr.coders.CFDatetimeCoder(use_cftime=True)
        with xr.open_dataset(out, decode_times=coder) as back:
            assert list(back["time"].values) == list(expected["time"].values), label
            assert back["time"].encoding.get("calendar") == RC.CALENDARS[label].get("calendar", label)
            assert_same_array(expected.values, back["v"].values, label)


def test_csv_point_and_box(coords_repo: CoordsRepo, floe: Floe, tmp_path: Path) -> None:
    import csv

    ds = coords_repo.open("asc_0_360", "numpy")
    raw = coords_repo.open("asc_0_360", "raw")
    # A point: one row with the nearest coordinates.
    out = tmp_path / "point.csv"
    floe_read(floe, coords_repo.url, "/asc_0_360/t2m", "--sel", "time=2020-02-01T05", "--sel", "lat=-7.4",
              "--sel", "lon=-60.2", out=out)
    rows = list(csv.reader(out.read_text().splitlines()))
    assert rows[0] == ["time", "lat", "lon", "t2m"], rows[0]
    assert len(rows) == 2, rows
    point = ds["t2m"].sel(time=np.datetime64("2020-02-01T05"), lat=-7.4, lon=299.8, method="nearest")
    time_text, lat, lon, value = rows[1]
    assert np.datetime64(time_text.rstrip("Z").replace(" ", "T")) == point["time"].values, rows[1]
    assert (float(lat), float(lon)) == (float(point["lat"]), float(point["lon"])), rows[1]
    assert np.float32(value) == point.values, f"{value} != {point.values}"
    # A small box across the seam: one row per element in C order, lon running east across it.
    out = tmp_path / "box.csv"
    floe_read(floe, coords_repo.url, "/asc_0_360/t2m", "--isel", "time=3:5", "--sel", "lat=0:5", "--sel",
              "lon=-5:5", out=out)
    rows = list(csv.reader(out.read_text().splitlines()))[1:]
    box = _seam("lon", slice(355, None), slice(None, 5))(raw["t2m"].isel(time=slice(3, 5)).sel(lat=slice(0, 5)))
    assert len(rows) == box.size, (len(rows), box.shape)
    for row, (t, la, lo) in zip(rows, np.ndindex(*box.shape)):
        assert (float(row[1]), float(row[2])) == (float(box["lat"][la]), float(box["lon"][lo])), row
        expected = box.values[t, la, lo]
        assert (np.isnan(expected) and row[3].lower() in ("nan", "")) or np.float32(row[3]) == expected, row


@pytest.mark.parametrize("decode", [False, True], ids=["raw", "decode-cf"])
def test_stats_match_numpy(decode: bool, virtualize, coords_repo: CoordsRepo, floe: Floe) -> None:
    """--stats: min, max, mean over the valid elements, NaN and fill counts, as numpy computes them."""
    v = virtualize("nc4")
    session = v.session()
    cases = [(v.repo, "/packed", ["--authorize", v.prefix, "--isel", "time=0:3", "--sel", "lat=-40:50"],
              lambda: np.asarray(zarr.open_group(session.store, mode="r", zarr_format=3)["packed"][0:3]),
              lambda: xarray_decoded(session, "/packed")[0:3], -32767),
             (coords_repo.url, "/asc_0_360/t2m", ["--isel", "time=2:6", "--sel", "lon=-30:30"],
              lambda: _seam("lon", slice(330, None), slice(None, 30))(
                  coords_repo.open("asc_0_360")["t2m"].isel(time=slice(2, 6))).values, None, None)]
    for url, path, args, raw_values, decoded_values, fill in cases:
        if decode and decoded_values is None:
            continue
        res = floe_read(floe, url, path, *args, "--stats", *(["--decode-cf"] if decode else []))
        stats = res.json()["stats"]
        values = decoded_values() if decode else raw_values()
        if path == "/packed":  # the lat selection, applied to the whole-array values
            lat = xr.open_zarr(session.store, consolidated=False, zarr_format=3, chunks=None)["lat"].values
            values = values[:, (lat >= np.float32(-40)) & (lat <= np.float32(50))]
        what = f"{path} {' '.join(args)}{' --decode-cf' if decode else ''}"
        flat = values.astype("f8").ravel()
        nan = np.isnan(flat)
        is_fill = (flat == fill) if (fill is not None and not decode) else np.zeros_like(nan)
        valid = flat[~nan & ~is_fill]
        assert stats["count"] == flat.size, (what, stats)
        assert stats["nan"] == int(nan.sum()), (what, stats)
        assert stats["valid"] == valid.size, (what, stats)
        if fill is not None and not decode:
            assert stats["fill"] == int(is_fill.sum()) and stats["fill"] > 0, (what, stats)
        assert stats["min"] == valid.min() and stats["max"] == valid.max(), (what, stats, valid.min(), valid.max())
        assert math.isclose(stats["mean"], math.fsum(valid) / valid.size, rel_tol=1e-12), (
            what, stats["mean"], math.fsum(valid) / valid.size)


def test_snapshot_selectors(floe: Floe, tmp_path: Path) -> None:
    """--branch, --tag and --snapshot read the array as that snapshot holds it."""
    repo_path = tmp_path / "history"
    repo = ic.Repository.create(ic.local_filesystem_storage(str(repo_path)))
    session = repo.writable_session("main")
    array = zarr.open_group(session.store, mode="w", zarr_format=3).create_array(
        "a", shape=(6, 5), chunks=(4, 4), dtype="i4", dimension_names=["y", "x"], fill_value=-1)
    array[...] = np.arange(30, dtype="i4").reshape(6, 5)
    first = session.commit("first")
    repo.create_tag("v1", first)
    repo.create_branch("dev", first)
    session = repo.writable_session("main")
    zarr.open_array(session.store, path="a", mode="r+")[2:5, 1:3] = 99
    second = session.commit("second")
    session = repo.writable_session("dev")
    zarr.open_array(session.store, path="a", mode="r+")[0, :] = 7
    session.commit("dev change")
    expected = {
        ("--branch", "main"): second, ("--tag", "v1"): first, ("--snapshot", first): first,
        ("--snapshot", second): second, ("--branch", "dev"): repo.lookup_branch("dev"),
    }
    for (flag, value), snapshot in expected.items():
        out = tmp_path / "s.npy"
        floe_read(floe, repo_path, "a", flag, value, out=out)
        truth = zarr.open_array(repo.readonly_session(snapshot_id=snapshot).store, path="a", mode="r")[...]
        assert_same_array(truth, np.load(out), f"{flag} {value}")


# ---- errors ----


def test_error_unknown_variable_and_dimension(coords_repo: CoordsRepo, floe: Floe, tmp_path: Path) -> None:
    out = tmp_path / "x.npy"
    res = floe_read(floe, coords_repo.url, "/asc_0_360/no_such_var", out=out, check=False)
    assert_fails(res, EXIT_USER, r"no_such_var")
    assert_no_output(out)
    res = floe_read(floe, coords_repo.url, "/asc_0_360/t2m", "--isel", "depth=0:2", out=out, check=False)
    assert_fails(res, EXIT_USER, r"\bdepth\b", r"time.*lat.*lon")
    assert_no_output(out)
    res = floe_read(floe, coords_repo.url, "/asc_0_360/t2m", "--sel", "level=500", out=out, check=False)
    assert_fails(res, EXIT_USER, r"\blevel\b")
    assert_no_output(out)


@pytest.mark.parametrize("args, dim", [
    (["--sel", "lat=95:100"], "lat"),
    (["--sel", "lat=-120"], "lat"),
    (["--sel", "time=1990-01:1990-02"], "time"),
    (["--sel", "lon=1:2"], "lon"),  # between two grid points: keeps nothing
    (["--isel", "lat=72:80"], "lat"),
    (["--isel", "time=-41"], "time"),
], ids=["lat-range", "lat-point", "time-range", "lon-between-points", "isel-beyond", "isel-negative-beyond"])
def test_error_selection_outside(args: list[str], dim: str, coords_repo: CoordsRepo, floe: Floe,
                                 tmp_path: Path) -> None:
    out = tmp_path / "x.nc"
    res = floe_read(floe, coords_repo.url, "/asc_0_360/t2m", *args, out=out, check=False)
    assert_fails(res, EXIT_USER, rf"\b{dim}\b", re.escape(args[1].split("=", 1)[1]))
    assert_no_output(out)


def test_error_unauthorized_container(virtualize, floe: Floe, tmp_path: Path) -> None:
    v = virtualize("nc4")
    out = tmp_path / "temp.npy"
    res = floe_read(floe, v.repo, "temp", out=out, check=False)
    assert_fails(res, EXIT_USER, re.escape(v.prefix), r"--authorize")
    assert_no_output(out)
    # Authorizing another prefix does not help.
    res = floe_read(floe, v.repo, "temp", "--authorize", "file:///nowhere/", out=out, check=False)
    assert_fails(res, EXIT_USER, re.escape(v.prefix))
    assert_no_output(out)


@pytest.mark.parametrize("codec", ["crc32c", "zstd_checksum", "numcodecs_fletcher32"])
def test_error_corrupted_chunk(codec: str, floe: Floe, tmp_path: Path) -> None:
    """A native chunk whose bytes were flipped after the commit: exit 1, the array and chunk index named,
    nothing under the output name."""
    import zarr.codecs.numcodecs as znc
    from zarr.codecs import Crc32cCodec, ZstdCodec

    compressors = {"crc32c": [Crc32cCodec()], "zstd_checksum": [ZstdCodec(level=3, checksum=True)],
                   "numcodecs_fletcher32": [znc.Fletcher32()]}[codec]
    repo_path = tmp_path / "repo"
    config = ic.RepositoryConfig.default()
    config.inline_chunk_threshold_bytes = 0
    repo = ic.Repository.create(ic.local_filesystem_storage(str(repo_path)), config=config)
    session = repo.writable_session("main")
    group = zarr.open_group(session.store, mode="w", zarr_format=3)
    array = group.create_array("g/field", shape=(40, 30), chunks=(16, 16), dtype="f8", compressors=compressors,
                               dimension_names=["y", "x"])
    array[...] = np.random.default_rng(3).standard_normal((40, 30))
    session.commit("native chunks")
    refs = {tuple(r["index"]): r for r in floe.refs(str(repo_path), "/g/field")}
    ref = refs[(1, 1)]
    assert ref["kind"] == "native", ref
    chunk_file = repo_path / "chunks" / ref["chunk_id"]
    data = bytearray(chunk_file.read_bytes())
    middle = ref["offset"] + ref["length"] // 2
    data[middle] ^= 0x5A
    data[middle + 1] ^= 0xFF
    chunk_file.write_bytes(bytes(data))
    out = tmp_path / "field.npy"
    res = floe_read(floe, repo_path, "/g/field", out=out, check=False)
    assert_fails(res, EXIT_USER, r"g/field", r"\(1, ?1\)|\[1, ?1\]|1/1|1\.1")
    assert_no_output(out)
    # A selection that does not touch the chunk still reads.
    floe_read(floe, repo_path, "/g/field", "--isel", "y=0:16", out=out)
    assert_same_array(zarr.open_array(repo.readonly_session(branch="main").store, path="g/field")[0:16],
                      np.load(out), "rows of intact chunks")


EXIT_PRECONDITION = 2  # floe's exit status for a failed precondition (a virtual source that changed)


def modify_file(path: Path) -> None:
    """Flips the first byte and moves the modification time two minutes on (past any checksum's second)."""
    data = bytearray(path.read_bytes())
    data[0] ^= 0xFF
    path.write_bytes(bytes(data))
    later = path.stat().st_mtime + 120
    os.utime(path, (later, later))


def test_error_virtual_source_modified(floe: Floe, tmp_path: Path) -> None:
    """Virtual refs with a last-modified checksum (set by icechunk-python) into a local file that changed
    afterwards: exit 2, the source named, 're-virtualize', nothing written; icechunk-python refuses too,
    and refs without a checksum still read."""
    import datetime

    src_dir = tmp_path / "src"
    src_dir.mkdir()
    source = src_dir / "values.bin"
    values = np.arange(40, dtype="<f8")
    source.write_bytes(values.tobytes())
    prefix = dir_prefix(source)
    config = ic.RepositoryConfig.default()
    config.set_virtual_chunk_container(ic.VirtualChunkContainer(prefix, ic.local_filesystem_store(str(src_dir))))
    repo_path = tmp_path / "repo"
    repo = ic.Repository.create(ic.local_filesystem_storage(str(repo_path)), config=config,
                                authorize_virtual_chunk_access={prefix: LOCAL_ACCESS})
    session = repo.writable_session("main")
    zarr.open_group(session.store, mode="w", zarr_format=3).create_array(
        "v", shape=(40,), chunks=(10,), dtype="f8", compressors=None, dimension_names=["x"])
    mtime = datetime.datetime.fromtimestamp(source.stat().st_mtime, tz=datetime.UTC)
    for i in range(4):  # chunks 0 and 1 carry the file's modification time, 2 and 3 no checksum
        session.store.set_virtual_ref(f"v/c/{i}", f"file://{source}", offset=80 * i, length=80,
                                      checksum=mtime if i < 2 else None)
    session.commit("virtual refs with checksums")
    out = tmp_path / "v.npy"
    floe_read(floe, repo_path, "v", "--authorize", prefix, out=out)
    assert_same_array(values, np.load(out), "before the change")
    out.unlink()

    modify_file(source)
    with pytest.raises(ic.IcechunkError):
        zarr.open_array(repo.readonly_session(branch="main").store, path="v", mode="r")[0:10]
    res = floe_read(floe, repo_path, "v", "--authorize", prefix, out=out, check=False)
    assert_fails(res, EXIT_PRECONDITION, re.escape(str(source)), r"chang|modif", r"re-?virtualiz", r"/v\b")
    assert_no_output(out)
    floe_read(floe, repo_path, "v", "--authorize", prefix, "--isel", "x=20:", out=out)
    assert_same_array(values[20:], np.load(out), "chunks without a checksum")


def test_error_virtualized_local_source_modified(floe: Floe, generated_files: dict[str, VF.Fixture],
                                                 tmp_path: Path) -> None:
    """A file virtualized by floe and modified afterwards: the read must fail saying so."""
    src_dir = tmp_path / "src"
    src_dir.mkdir()
    source = src_dir / "nc4.nc"
    shutil.copyfile(generated_files["nc4"].path, source)
    repo = tmp_path / "repo"
    res = floe.run(["virtualize", str(source), "--repo", str(repo), "--json"], check=False)
    assert res.returncode == EXIT_OK, res.describe()
    prefix = dir_prefix(source)
    out = tmp_path / "temp.npy"
    floe_read(floe, repo, "temp", "--authorize", prefix, out=out)
    out.unlink()
    modify_file(source)
    res = floe_read(floe, repo, "temp", "--authorize", prefix, out=out, check=False)
    assert_fails(res, EXIT_PRECONDITION, re.escape(str(source)), r"chang|modif", r"re-?virtualiz")
    assert_no_output(out)


def test_error_unsupported_codec(floe: Floe, tmp_path: Path) -> None:
    """A codec floe does not implement (zarr-python's numcodecs.lz4 wrapper) is named in the error."""
    import zarr.codecs.numcodecs as znc

    repo_path = tmp_path / "repo"
    repo = ic.Repository.create(ic.local_filesystem_storage(str(repo_path)))
    session = repo.writable_session("main")
    group = zarr.open_group(session.store, mode="w", zarr_format=3)
    group.create_array("a", shape=(10,), chunks=(5,), dtype="i4", compressors=[znc.LZ4()])[...] = np.arange(10)
    session.commit("lz4")
    out = tmp_path / "a.npy"
    res = floe_read(floe, repo_path, "a", out=out, check=False)
    assert_fails(res, EXIT_USER, r"numcodecs\.lz4", r"\ba\b")
    assert_no_output(out)
