# Ground truth for `floe virtualize` (issue 4): values, manifests, concatenation, bad input and S3 sources, checked against libhdf5/netCDF-C through h5py, netCDF4-python and xarray.
"""`floe virtualize` against the libraries that wrote the files.

For every fixture of virtualize_fixtures.py (generated files and real sample files):
  (a) values: every variable read through icechunk-python + xarray (CF-decoded) equals what xarray reads
      from the original with netCDF4-python (NetCDF files), or each Zarr array equals h5py's raw
      `ds[...]` (plain HDF5 files); dims and attributes equal modulo the hidden netCDF/HDF5 ones; a
      variable missing from the repository must be named in the warnings of `--json`, and the fixture's
      `must_warn` variables always;
  (b) manifests: every chunk ref of a chunked dataset equals libhdf5's `H5Dget_chunk_info` (h5py
      `get_chunk_info(i)`, or `chunk_iter` for more than CHUNK_INFO_LIMIT chunks, which the test checks
      against `get_chunk_info` on a sample), contiguous datasets start at `H5Dget_offset`, NetCDF-3
      variables sit where an independent header reader puts them;
  (c) `--concat-dim time` of three files equals xarray's concatenation; a structurally different file
      is refused;
  (d) truncated, random and corrupted files are refused with exit 1, a message naming the file and an
      offset, and nothing committed;
  (e) a file on the S3 test server virtualizes to the same content as the local copy.

No expected value here comes from floe: the truth is always h5py/netCDF4-python/xarray or the file bytes.
"""

from __future__ import annotations

import json
import math
import os
import re
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import h5py
import icechunk as ic
import netCDF4
import numpy as np
import pytest
import xarray as xr
import zarr
import zarr.errors

import virtualize_fixtures as VF
from conftest import (
    S3,
    Floe,
    Result,
    Servers,
    _executable_from_env,
    chunk_kind_name,
    ic_get,
    ic_list,
    ic_open,
    meta_key,
)

VF.register_hdf5plugin()


def register_imagecodecs_for_zarr() -> None:
    """Lets zarr-python decode the imagecodecs codecs floe may name for HDF5 plugin filters (e.g.
    `numcodecs.imagecodecs_lz4h5` for filter 32004): stock zarr-python has no implementation of them."""
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
pytestmark = pytest.mark.filterwarnings("ignore::xarray.SerializationWarning")

EXIT_OK, EXIT_USER, EXIT_CONFLICT, EXIT_IO = 0, 1, 2, 3
SUMMARY_KEYS = {"repo", "branch", "snapshot", "files", "arrays", "virtual_refs", "inline_chunks", "warnings",
                "requests", "seconds"}
# get_chunk_info(i) walks the index from the start on every call (O(n^2) in total): beyond this many chunks
# the test enumerates with chunk_iter (one walk of the same index) and checks a sample with get_chunk_info.
CHUNK_INFO_LIMIT = 1500
# Attributes netCDF-C and the HDF5 dimension-scale API keep for themselves.
HIDDEN_ATTRS = {"_NCProperties", "_Netcdf4Dimid", "_Netcdf4Coordinates", "_nc3_strict", "_IsNetcdf4",
                "_SuperblockVersion", "DIMENSION_LIST", "REFERENCE_LIST", "CLASS", "NAME", "_Format"}
# icechunk 2.3 deprecates None as the credential of a local container in favour of this sentinel.
LOCAL_ACCESS = getattr(getattr(ic, "credentials", None), "LocalFileSystemAccess", None)
PURE_DIMENSION = "This is a netCDF dimension but not a netCDF variable"
NON_COORD_PREFIX = "_nc4_non_coord_"

GENERATED = VF.fixture_names()
EXTERNAL = {fx.name: fx for fx in VF.external_fixtures()}
ALL_FIXTURES = GENERATED + sorted(EXTERNAL)


# --------------------------------------------------------------------------------------------------
# Session state: generated files, floe, one virtualization per fixture
# --------------------------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def generated_dir(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("virtualize-fixtures")


@pytest.fixture(scope="session")
def generated(generated_dir: Path) -> dict[str, VF.Fixture]:
    return VF.generate(generated_dir)


@pytest.fixture(scope="session")
def local_floe() -> Floe:
    """floe for local files only (no S3 servers needed)."""
    return Floe(_executable_from_env("FLOE_BIN"), None)


def fixture_by_name(generated: dict[str, VF.Fixture], name: str) -> VF.Fixture:
    return generated[name] if name in generated else EXTERNAL[name]


@dataclass
class Virtualized:
    fixture: VF.Fixture
    repo: Path
    result: Result
    summary: dict[str, Any]
    prefix: str  # the virtual chunk container floe must have registered

    def warnings_text(self) -> list[str]:
        return [w if isinstance(w, str) else json.dumps(w) for w in self.summary.get("warnings", [])]

    def warned(self, variable: str) -> bool:
        """A warning names `variable` ("/g/v": as "g/v" or "/g/v"; a root variable by its name)."""
        name = variable.strip("/")
        pattern = re.compile(r"(?<![\w./-])/?" + re.escape(name) + r"(?![\w-])")
        return any(pattern.search(w) for w in self.warnings_text())


# floe names a local source by its absolute path as given (".." folded, symlinks kept, like the path the user
# typed), so these follow os.path.abspath, not Path.resolve.
def file_url(path: Path) -> str:
    return "file://" + os.path.abspath(path)


def dir_prefix(path: Path) -> str:
    return "file://" + os.path.dirname(os.path.abspath(path)).rstrip("/") + "/"


def run_virtualize(floe: Floe, sources: list[str], repo: Path | str, *extra: str, url: str | None = None,
                   timeout: float = 300) -> Result:
    return floe.run(["virtualize", *sources, "--repo", str(repo), *extra, "--json"], url=url, check=False,
                    timeout=timeout)


def parse_summary(res: Result, n_files: int) -> dict[str, Any]:
    assert res.returncode == EXIT_OK, f"floe virtualize failed\n{res.describe()}"
    summary = res.json()
    assert isinstance(summary, dict), res.describe()
    missing = SUMMARY_KEYS - set(summary)
    assert not missing, f"--json output lacks {sorted(missing)}: {summary}"
    files = summary["files"]
    assert (files if isinstance(files, int) else len(files)) == n_files, summary
    assert isinstance(summary["warnings"], list), summary
    assert isinstance(summary["virtual_refs"], int) and isinstance(summary["inline_chunks"], int), summary
    return summary


@pytest.fixture(scope="session")
def virtualize(local_floe: Floe, generated: dict[str, VF.Fixture], tmp_path_factory):
    """name -> Virtualized (floe runs once per fixture per session)."""
    cache: dict[str, Virtualized] = {}
    root = tmp_path_factory.mktemp("virtualize-repos")

    def get(name: str) -> Virtualized:
        if name not in cache:
            fx = fixture_by_name(generated, name)
            repo = root / re.sub(r"[^\w.-]", "_", name)
            res = run_virtualize(local_floe, [str(fx.path)], repo)
            summary = parse_summary(res, 1)
            cache[name] = Virtualized(fx, repo, res, summary, dir_prefix(fx.path))
        return cache[name]

    return get


def open_repo(v: Virtualized) -> ic.Repository:
    """The repository through icechunk-python, with floe's container for the sources' directory authorized."""
    plain = ic.Repository.open(ic.local_filesystem_storage(str(v.repo)))
    containers = plain.config.virtual_chunk_containers or {}
    assert v.prefix in containers, (
        f"floe registered containers {sorted(containers)}, expected the sources' directory {v.prefix}")
    return ic.Repository.open(ic.local_filesystem_storage(str(v.repo)),
                              authorize_virtual_chunk_access={v.prefix: LOCAL_ACCESS})


def open_session(v: Virtualized) -> ic.Session:
    repo = open_repo(v)
    tip = repo.lookup_branch("main")
    assert v.summary["snapshot"] == tip, f"--json snapshot {v.summary['snapshot']} is not main's tip {tip}"
    assert v.summary["branch"] == "main", v.summary
    return repo.readonly_session("main")


# --------------------------------------------------------------------------------------------------
# Comparing values and attributes
# --------------------------------------------------------------------------------------------------


def norm_attr(value: Any) -> Any:
    """An attribute value in a comparable form (numpy/bytes/list/JSON shapes unified, NaN as a token)."""
    if isinstance(value, bytes):
        return value.decode("utf-8", errors="replace")
    if isinstance(value, np.ndarray):
        value = value.tolist()
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, (list, tuple)):
        items = [norm_attr(v) for v in value]
        return items[0] if len(items) == 1 else items
    if isinstance(value, bytes):
        return value.decode("utf-8", errors="replace")
    if isinstance(value, float) and math.isnan(value):
        return "NaN"
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, complex):
        return {"r": value.real, "i": value.imag}  # JSON has no complex numbers: floe writes {"r", "i"}
    return value


def h5_incomparable_attrs(obj) -> set[str]:
    """Attributes of an h5py object left out of the comparison: object/region references (no portable
    value; floe writes addresses) and variable-length non-string sequences (h5py 3.16/HDF5 2.0 reads
    big-endian ones byte-swapped: pyfive_attr_datatypes.hdf5 `vlen_uint64` [1, 2] reads as [2**56, 2**57])."""
    out = set()
    for name in obj.attrs:
        dt = obj.attrs.get_id(name).dtype
        vlen = h5py.check_vlen_dtype(dt)
        if h5py.check_ref_dtype(dt) is not None or (vlen is not None and h5py.check_string_dtype(dt) is None):
            out.add(name)
    return out


def visible_attrs(attrs: dict[str, Any], drop: set[str] = frozenset()) -> dict[str, Any]:
    return {k: norm_attr(v) for k, v in attrs.items() if k not in HIDDEN_ATTRS and k not in drop}


def as_text(values: np.ndarray) -> np.ndarray:
    if values.dtype.kind == "S":
        return np.vectorize(lambda b: b.decode("utf-8", errors="replace"), otypes=[object])(values)
    if values.dtype.kind == "O":
        return np.vectorize(lambda b: b.decode("utf-8", errors="replace") if isinstance(b, bytes) else b,
                            otypes=[object])(values)
    return values.astype(object)


def assert_values_equal(expected: np.ndarray, actual: np.ndarray, what: str) -> None:
    expected = np.asarray(expected)
    actual = np.asarray(actual)
    assert expected.shape == actual.shape, f"{what}: shape {actual.shape} != expected {expected.shape}"
    if expected.dtype.kind in "SUO" or actual.dtype.kind in "SUO":
        e, a = as_text(expected), as_text(actual)
        bad = np.argwhere(e != a) if e.shape else ([] if e == a else [()])
        assert len(bad) == 0, f"{what}: {len(bad)} strings differ, first at {tuple(bad[0])}: " \
                              f"{a[tuple(bad[0])]!r} != expected {e[tuple(bad[0])]!r}"
        return
    if expected.dtype == np.float32 and actual.dtype == np.float64:
        # Zarr attributes are JSON: a float32 scale_factor/add_offset comes back as a Python float, so xarray
        # decodes packed data as float64 (as it does for a Zarr store xarray writes itself). Equal to float32
        # rounding (the reference computes in float32).
        close = np.isclose(expected.astype(np.float64), actual, rtol=2 ** -22, atol=0) | \
            (np.isnan(expected) & np.isnan(actual))
        assert np.all(close), f"{what}: {np.count_nonzero(~close)} of {expected.size} packed values differ " \
                              f"beyond float32 rounding"
        return
    assert expected.dtype == actual.dtype, f"{what}: dtype {actual.dtype} != expected {expected.dtype}"
    if expected.dtype.names:
        for name in expected.dtype.names:
            assert_values_equal(expected[name], actual[name], f"{what}.{name}")
        return
    if expected.dtype.kind in "fc":
        same = (expected == actual) | (np.isnan(expected) & np.isnan(actual))
    else:
        same = expected == actual
    if not np.all(same):
        bad = np.argwhere(~np.asarray(same))
        first = tuple(bad[0]) if bad.size else ()
        raise AssertionError(f"{what}: {len(bad)} of {expected.size} values differ, first at {first}: "
                             f"{actual[first]!r} != expected {expected[first]!r}")


def netcdf_groups(path: Path) -> list[str]:
    out = []

    def walk(group, prefix: str) -> None:
        out.append(prefix or "/")
        for name, child in group.groups.items():
            walk(child, f"{prefix}/{name}")

    with netCDF4.Dataset(path) as ds:
        walk(ds, "")
    return out


def compare_netcdf(v: Virtualized, session: ic.Session) -> list[str]:
    """(a) for NetCDF files: group by group, xarray over netCDF4-python vs xarray over icechunk."""
    checked = []
    for group in netcdf_groups(v.fixture.path):
        gname = group.strip("/") or None
        where = f"{v.fixture.name} group {group}"
        # Times xarray cannot decode from the original (e.g. "months since" in a standard calendar) are
        # compared undecoded on both sides.
        decode_times = True
        try:
            with xr.open_dataset(v.fixture.path, engine="netcdf4", group=gname) as expected:
                expected = expected.load()
        except ValueError as e:
            if "decode time" not in str(e):
                raise
            decode_times = False
            with xr.open_dataset(v.fixture.path, engine="netcdf4", group=gname, decode_times=False) as expected:
                expected = expected.load()
        try:
            actual = xr.open_zarr(session.store, group=gname, consolidated=False, zarr_format=3, chunks=None,
                                  decode_times=decode_times)
        except zarr.errors.GroupNotFoundError:
            raise AssertionError(f"{where}: the repository has no such group") from None
        actual = actual.load()
        exp_vars, act_vars = set(expected.variables), set(actual.variables)
        for name in sorted(exp_vars - act_vars):
            path = f"{group.rstrip('/')}/{name}"
            assert v.warned(path), (f"{where}: variable {name} is missing from the repository and no warning "
                                    f"names it (warnings: {v.warnings_text()})")
        extra = act_vars - exp_vars
        assert not extra, f"{where}: the repository has variables the file has not: {sorted(extra)}"
        assert visible_attrs(actual.attrs) == visible_attrs(expected.attrs), (
            f"{where}: group attributes\n floe:     {visible_attrs(actual.attrs)}\n expected: "
            f"{visible_attrs(expected.attrs)}")
        for name in sorted(exp_vars & act_vars):
            e, a = expected[name], actual[name]
            what = f"{where} variable {name}"
            assert a.dims == e.dims, f"{what}: dims {a.dims} != expected {e.dims}"
            assert visible_attrs(a.attrs) == visible_attrs(e.attrs), (
                f"{what}: attributes\n floe:     {visible_attrs(a.attrs)}\n expected: {visible_attrs(e.attrs)}")
            assert_values_equal(e.values, a.values, what)
            checked.append(f"{group.rstrip('/')}/{name}")
        assert dict(actual.sizes) == dict(expected.sizes), f"{where}: sizes {dict(actual.sizes)} != {dict(expected.sizes)}"
    return checked


def h5_datasets(path: Path) -> dict[str, h5py.Dataset]:
    out: dict[str, str] = {}

    def visit(name: str, obj) -> None:
        if isinstance(obj, h5py.Dataset):
            out["/" + name] = obj.name

    with h5py.File(path, "r") as f:
        f.visititems(visit)
    return out


def zarr_path(h5_path: str) -> str:
    parts = h5_path.strip("/").split("/")
    parts[-1] = parts[-1][len(NON_COORD_PREFIX):] if parts[-1].startswith(NON_COORD_PREFIX) else parts[-1]
    return "/".join(parts)


def is_pure_dimension(ds: h5py.Dataset) -> bool:
    name = ds.attrs.get("NAME")
    if isinstance(name, bytes):
        name = name.decode(errors="replace")
    return isinstance(name, str) and name.startswith(PURE_DIMENSION)


def h5_expected(ds: h5py.Dataset) -> Any:
    if ds.shape is None:
        return None  # null dataspace
    if h5py.check_string_dtype(ds.dtype) is not None and ds.dtype.kind == "O":
        return ds.asstr()[()]
    return ds[()]


def compare_hdf5(v: Virtualized, session: ic.Session) -> list[str]:
    """(a) for plain HDF5 files: every dataset's Zarr array equals h5py's raw values; attributes too."""
    root = zarr.open_group(session.store, mode="r", zarr_format=3)
    checked = []
    with h5py.File(v.fixture.path, "r") as f:
        skip = h5_incomparable_attrs(f) | {"_FillValue"}
        assert visible_attrs(dict(root.attrs), skip) == visible_attrs(dict(f.attrs), skip), (
            f"{v.fixture.name}: root attributes\n floe:     {visible_attrs(dict(root.attrs))}\n expected: "
            f"{visible_attrs(dict(f.attrs))}")
        for h5_path in h5_datasets(v.fixture.path):
            ds = f[h5_path]
            what = f"{v.fixture.name} dataset {h5_path}"
            if is_pure_dimension(ds):
                continue  # a netCDF dimension without a variable: no array
            try:
                arr = root[zarr_path(h5_path)]
            except (KeyError, FileNotFoundError):
                assert v.warned(h5_path), (f"{what} is missing from the repository and no warning names it "
                                           f"(warnings: {v.warnings_text()})")
                continue
            assert isinstance(arr, zarr.Array), f"{what}: the repository has a group there"
            expected = h5_expected(ds)
            if expected is None:
                assert arr.size == 0, f"{what}: a null dataspace became an array of shape {arr.shape}"
                checked.append(h5_path)
                continue
            # _FillValue: floe encodes it for xarray, and the fill itself is checked through the values.
            skip = h5_incomparable_attrs(ds) | {"_FillValue"}
            assert visible_attrs(dict(arr.attrs), skip) == visible_attrs(dict(ds.attrs), skip), (
                f"{what}: attributes\n floe:     {visible_attrs(dict(arr.attrs))}\n expected: "
                f"{visible_attrs(dict(ds.attrs))}")
            actual = arr[()] if arr.ndim == 0 else arr[...]
            exp = np.asarray(expected)
            if exp.dtype.kind not in "SUO" and not exp.dtype.names:
                # h5py returns native byte order; floe's array may be big endian on disk (bytes codec).
                actual = np.asarray(actual)
                if actual.dtype.kind == exp.dtype.kind and actual.dtype.itemsize == exp.dtype.itemsize:
                    actual = actual.astype(actual.dtype.newbyteorder("="))
                    exp = exp.astype(exp.dtype.newbyteorder("="))
            assert_values_equal(exp, actual, what)
            checked.append(h5_path)
    return checked


# --------------------------------------------------------------------------------------------------
# (0) the fixtures are what they claim to be (no floe needed)
# --------------------------------------------------------------------------------------------------


def test_fixture_layouts(generated: dict[str, VF.Fixture]) -> None:
    problems = [p for fx in generated.values() for p in VF.check_layouts(fx)]
    problems += [p for fx in generated.values() if fx.kind == "netcdf3" for p in VF.check_nc3_header(fx)]
    problems += [p for fx in EXTERNAL.values() if fx.kind == "netcdf3" for p in VF.check_nc3_header(fx)]
    assert not problems, "fixtures do not have their intended layouts:\n" + "\n".join(problems)
    for fx in generated.values():
        assert fx.path.stat().st_size <= 9 * 1024 * 1024, f"{fx.name} is {fx.path.stat().st_size} bytes"


# --------------------------------------------------------------------------------------------------
# (a) values
# --------------------------------------------------------------------------------------------------


# Product bugs known and recorded in the issue notes; strict, so a fix turns them into failures to remove here.
KNOWN_VALUE_BUGS: dict[str, str] = {}


@pytest.mark.parametrize("name", [
    pytest.param(n, marks=pytest.mark.xfail(strict=True, reason=KNOWN_VALUE_BUGS[n])) if n in KNOWN_VALUE_BUGS else n
    for n in ALL_FIXTURES])
def test_values(name: str, virtualize) -> None:
    v = virtualize(name)
    session = open_session(v)
    for variable in sorted(v.fixture.must_warn):
        assert v.warned(variable), f"{name}: no warning names {variable} (warnings: {v.warnings_text()})"
    if v.fixture.kind == "hdf5":
        checked = compare_hdf5(v, session)
    else:
        checked = compare_netcdf(v, session)
    # Every variable was either compared or is absent and named in a warning (checked above, per variable).
    assert checked or v.summary["warnings"] or not h5_or_nc_has_variables(v.fixture), f"{name}: nothing compared"


def h5_or_nc_has_variables(fx: VF.Fixture) -> bool:
    if fx.kind == "hdf5":
        return bool(h5_datasets(fx.path))
    with netCDF4.Dataset(fx.path) as ds:
        return bool(ds.variables) or bool(ds.groups)


# --------------------------------------------------------------------------------------------------
# (b) manifests
# --------------------------------------------------------------------------------------------------


def zarr_meta(session: ic.Session, path: str) -> dict[str, Any]:
    raw = ic_get(session.store, meta_key(path))
    assert raw is not None, f"no zarr.json at {path}"
    return json.loads(raw)


def chunk_shape(meta: dict[str, Any]) -> list[int]:
    grid = meta["chunk_grid"]
    assert grid["name"] == "regular", f"chunk grid {grid}"
    return list(grid["configuration"]["chunk_shape"])


def cf_bounds(session: ic.Session) -> set[str]:
    """Names of CF bounds variables: what some array's `bounds` attribute names."""
    names = set()
    for key in ic_list(session.store):
        if key.endswith("zarr.json"):
            bounds = json.loads(ic_get(session.store, key)).get("attributes", {}).get("bounds")
            if isinstance(bounds, str):
                names.add(bounds)
    return names


def is_loadable(meta: dict[str, Any], path: str, bounds: set[str]) -> bool:
    """1-D dimension coordinates, scalars and CF bounds variables are stored in the repository (the contract)."""
    shape = meta["shape"]
    if len(shape) == 0 or path.rsplit("/", 1)[-1] in bounds:
        return True
    dims = meta.get("dimension_names") or []
    return len(shape) == 1 and len(dims) == 1 and dims[0] == path.rsplit("/", 1)[-1]


def refs_by_index(floe: Floe, v: Virtualized, path: str) -> dict[tuple[int, ...], dict[str, Any]]:
    key = (str(v.repo), "/" + path.strip("/"))
    cache = v.__dict__.setdefault("_refs", {})
    if key not in cache:
        refs = floe.refs(key[0], key[1])
        out = {tuple(r["index"]): r for r in refs}
        assert len(out) == len(refs), f"duplicate chunk indexes in the refs of {path}"
        cache[key] = out
    return cache[key]


def hdf5_chunk_truth(ds: h5py.Dataset) -> dict[tuple[int, ...], tuple[int, int, int]]:
    """chunk index -> (byte_offset, size, filter_mask) from libhdf5, checked against the raw chunk bytes."""
    dsid = ds.id
    n = dsid.get_num_chunks()
    if n <= CHUNK_INFO_LIMIT:
        infos = [dsid.get_chunk_info(i) for i in range(n)]
    else:
        infos = []
        dsid.chunk_iter(infos.append)
        assert len(infos) == n, f"{ds.name}: chunk_iter gave {len(infos)} chunks, get_num_chunks {n}"
        rng = np.random.default_rng(n)
        sample = sorted({0, n - 1, *rng.choice(n, size=min(n, 60), replace=False).tolist()})
        for i in sample:
            a, b = dsid.get_chunk_info(i), infos[i]
            assert (a.chunk_offset, a.byte_offset, a.size) == (b.chunk_offset, b.byte_offset, b.size), (
                f"{ds.name}: chunk_iter and get_chunk_info({i}) disagree")
    out = {}
    for info in infos:
        index = tuple(o // c for o, c in zip(info.chunk_offset, ds.chunks))
        out[index] = (info.byte_offset, info.size, info.filter_mask)
    return out


def truth_is_consistent(path: Path, ds: h5py.Dataset, truth: dict, limit: int = 400) -> bool:
    """Checks the ground truth itself: the bytes at each byte_offset are the chunk H5Dread_chunk returns for
    the reported coordinates. libhdf5 (1.10.8 and 2.0 alike) misreports the coordinates of extensible-array
    chunks when the unlimited dimension is not the first one; this detects it."""
    items = list(truth.items())
    if len(items) > limit:
        step = len(items) / limit
        items = [items[int(k * step)] for k in range(limit)]
    with open(path, "rb") as fh:
        for index, (offset, size, _mask) in items:
            fh.seek(offset)
            try:
                _, raw = ds.id.read_direct_chunk(tuple(i * c for i, c in zip(index, ds.chunks)))
            except RuntimeError:  # "chunk storage is not allocated" at the reported coordinates
                return False
            if fh.read(size) != bytes(raw):
                return False
    return True


def expected_chunk_bytes(values: np.ndarray, index: tuple[int, ...], chunks: tuple[int, ...], fill) -> bytes:
    """An unfiltered chunk as HDF5 stores it: the full chunk shape in the file's byte order, fill past the edge."""
    block = np.full(chunks, fill if fill is not None else 0, dtype=values.dtype)
    src = tuple(slice(i * c, min((i + 1) * c, n)) for i, c, n in zip(index, chunks, values.shape))
    block[tuple(slice(0, s.stop - s.start) for s in src)] = values[src]
    return block.tobytes()


def check_unfiltered_by_content(v: Virtualized, ds: h5py.Dataset, refs: dict, what: str) -> None:
    """Without a trustworthy chunk index from libhdf5: every ref of an unfiltered dataset must hold exactly
    the bytes of its chunk (computed from h5py's values), and there are as many refs as allocated chunks."""
    assert ds.id.get_create_plist().get_nfilters() == 0, (
        f"{what}: libhdf5's chunk info is inconsistent for a filtered dataset: no ground truth")
    values = ds[...]
    virtual = {i: r for i, r in refs.items() if r["kind"] == "virtual"}
    assert len(virtual) == len(refs), f"{what}: chunks stored in the repository instead of referenced"
    assert len(virtual) == ds.id.get_num_chunks(), (
        f"{what}: {len(virtual)} refs, libhdf5 counts {ds.id.get_num_chunks()} allocated chunks")
    with open(v.fixture.path, "rb") as fh:
        for index, r in sorted(virtual.items()):
            fh.seek(r["offset"])
            got = fh.read(r["length"])
            want = expected_chunk_bytes(values, index, ds.chunks, ds.fillvalue)
            assert got == want, f"{what} {index}: the bytes at ({r['offset']}, {r['length']}) are not that chunk"


def check_hdf5_manifests(floe: Floe, v: Virtualized, session: ic.Session) -> int:
    checked = 0
    bounds = cf_bounds(session)
    url = file_url(v.fixture.path)
    file_size = v.fixture.path.stat().st_size
    with h5py.File(v.fixture.path, "r") as f:
        for h5_path in h5_datasets(v.fixture.path):
            ds = f[h5_path]
            if ds.shape is None or is_pure_dimension(ds) or ds.dtype.kind == "O":
                continue  # null dataspace, netCDF dimension without data, vlen/reference data (not virtualizable)
            path = zarr_path(h5_path)
            if ic_get(session.store, meta_key(path)) is None:
                continue  # not in the repository: test_values requires a warning for it
            meta = zarr_meta(session, path)
            what = f"{v.fixture.name} {h5_path}"
            refs = refs_by_index(floe, v, path)
            kinds = {r["kind"] for r in refs.values()}
            if is_loadable(meta, path, bounds):
                assert "virtual" not in kinds, f"{what}: loadable (1-D coordinate, scalar, bounds) but has virtual refs"
                continue
            layout = ds.id.get_create_plist().get_layout()
            if layout == h5py.h5d.COMPACT:
                continue  # the data is inside the object header: either a ref into it or inline; values test it
            if layout == h5py.h5d.CONTIGUOUS:
                offset = ds.id.get_offset()
                if offset is None:
                    assert not refs, f"{what}: never written (no storage), but floe has refs {list(refs)[:5]}"
                    continue
                size = ds.id.get_storage_size()
                assert refs, f"{what}: contiguous at {offset}, but no refs"
                assert kinds == {"virtual"}, f"{what}: contiguous data must be virtual, refs are {kinds}"
                first = refs[(0,) * len(ds.shape)]
                assert first["offset"] == offset, f"{what}: first ref at {first['offset']}, H5Dget_offset {offset}"
                for index, r in refs.items():
                    assert r["location"] == url, f"{what} {index}: location {r['location']} != {url}"
                    assert offset <= r["offset"] < offset + size and r["offset"] + r["length"] <= file_size, (
                        f"{what} {index}: ref ({r['offset']}, {r['length']}) outside the data at {offset}+{size}")
                if len(refs) == 1:
                    assert first["length"] == size, f"{what}: length {first['length']} != storage size {size}"
                checked += 1
                continue
            assert chunk_shape(meta) == list(ds.chunks), (
                f"{what}: Zarr chunk shape {chunk_shape(meta)} != HDF5 chunk shape {list(ds.chunks)}")
            truth = hdf5_chunk_truth(ds)
            if not truth_is_consistent(v.fixture.path, ds, truth):
                check_unfiltered_by_content(v, ds, refs, what)
                checked += 1
                continue
            masked = {i for i, t in truth.items() if t[2] != 0}
            want = {i: t[:2] for i, t in truth.items() if i not in masked}
            got = {i: (r["offset"], r["length"]) for i, r in refs.items() if r["kind"] == "virtual"}
            not_virtual = {i: r["kind"] for i, r in refs.items() if r["kind"] != "virtual"}
            assert not (set(not_virtual) - masked), (
                f"{what}: chunks stored in the repository instead of referenced: {sorted(not_virtual)[:10]}")
            missing = sorted(set(want) - set(got))
            extra = sorted(set(got) - set(want))
            assert not missing and not extra, (
                f"{what}: chunk indexes differ from libhdf5: missing {missing[:10]} ({len(missing)}), "
                f"extra {extra[:10]} ({len(extra)})")
            wrong = [(i, got[i], want[i]) for i in sorted(want) if got[i] != want[i]]
            assert not wrong, (f"{what}: {len(wrong)} refs differ from H5Dget_chunk_info, first "
                               f"{wrong[0][0]}: floe (offset, length) {wrong[0][1]} != libhdf5 {wrong[0][2]}")
            locations = {refs[i]["location"] for i in got}
            assert locations <= {url}, f"{what}: locations {locations} != {url}"
            checked += 1
    return checked


def check_netcdf3_manifests(floe: Floe, v: Virtualized, session: ic.Session) -> int:
    bounds = cf_bounds(session)
    header = VF.read_nc3_header(v.fixture.path)
    url = file_url(v.fixture.path)
    file_size = v.fixture.path.stat().st_size
    checked = 0
    for var in header.variables.values():
        path = var.name
        what = f"{v.fixture.name} {path}"
        if ic_get(session.store, meta_key(path)) is None:
            continue
        meta = zarr_meta(session, path)
        assert tuple(meta["shape"]) == var.shape, f"{what}: shape {meta['shape']} != header {var.shape}"
        refs = refs_by_index(floe, v, path)
        if is_loadable(meta, path, bounds):
            assert all(r["kind"] != "virtual" for r in refs.values()), f"{what}: loadable but virtual"
            continue
        if 0 in var.shape:
            assert not refs, f"{what}: empty variable with refs"
            continue
        cs = chunk_shape(meta)
        itemsize = var.dtype.itemsize
        grid = [range(-(-n // c)) for n, c in zip(var.shape, cs)]
        expected_indexes = set(np.ndindex(*[len(g) for g in grid])) if grid else {()}
        assert set(refs) == expected_indexes, (
            f"{what}: chunk indexes {sorted(refs)[:10]} != the full grid {sorted(expected_indexes)[:10]}")
        rest_shape = var.shape[1:] if var.is_record else var.shape
        for index, r in refs.items():
            assert r["kind"] == "virtual", f"{what} {index}: {r['kind']}, expected a virtual ref"
            assert r["location"] == url, f"{what} {index}: location {r['location']} != {url}"
            start = [i * c for i, c in zip(index, cs)]
            if var.is_record:
                assert cs[0] == 1 or len([x for x in header.variables.values() if x.is_record]) == 1, (
                    f"{what}: records of several record variables interleave, chunk shape {cs}")
                base = var.begin + start[0] * header.recsize
                flat = int(np.ravel_multi_index(start[1:], rest_shape)) if rest_shape else 0
            else:
                base = var.begin
                flat = int(np.ravel_multi_index(start, rest_shape)) if rest_shape else 0
            want_offset = base + flat * itemsize
            want_length = int(np.prod(cs)) * itemsize
            assert (r["offset"], r["length"]) == (want_offset, want_length), (
                f"{what} {index}: ref (offset, length) ({r['offset']}, {r['length']}) != header "
                f"({want_offset}, {want_length})")
            assert r["offset"] + r["length"] <= file_size, f"{what} {index}: ref ends past the end of the file"
        checked += 1
    return checked


@pytest.mark.parametrize("name", ALL_FIXTURES)
def test_manifests(name: str, virtualize, local_floe: Floe) -> None:
    v = virtualize(name)
    session = open_session(v)
    if v.fixture.kind == "netcdf3":
        checked = check_netcdf3_manifests(local_floe, v, session)
    else:
        checked = check_hdf5_manifests(local_floe, v, session)
    # The summary's counts equal what the repository holds.
    arrays = []
    total_virtual = 0

    def walk(group, prefix=""):
        for key, node in group.members():
            if isinstance(node, zarr.Array):
                arrays.append(f"{prefix}/{key}")
            else:
                walk(node, f"{prefix}/{key}")

    walk(zarr.open_group(session.store, mode="r", zarr_format=3))
    for path in arrays:
        total_virtual += sum(1 for r in refs_by_index(local_floe, v, path).values() if r["kind"] == "virtual")
    assert v.summary["arrays"] == len(arrays), f"--json arrays {v.summary['arrays']} != {len(arrays)} in the repo"
    assert v.summary["virtual_refs"] == total_virtual, (
        f"--json virtual_refs {v.summary['virtual_refs']} != {total_virtual} in the repo")
    assert checked >= 0


# --------------------------------------------------------------------------------------------------
# (c) several files along --concat-dim
# --------------------------------------------------------------------------------------------------


def branch_unchanged_or_absent(repo: Path, before: str | None) -> None:
    """Nothing committed: no repository, an empty one, or main where it was."""
    if not repo.exists() or not any(repo.iterdir()):
        return
    r = ic.Repository.open(ic.local_filesystem_storage(str(repo)))
    tip = r.lookup_branch("main")
    if before is None:
        history = list(r.ancestry(branch="main"))
        assert len(history) == 1, f"a failed run committed to a new repository: {[s.message for s in history]}"
    else:
        assert tip == before, f"a failed run moved main from {before} to {tip}"


def test_concat(local_floe: Floe, generated: dict[str, VF.Fixture], generated_dir: Path, tmp_path: Path) -> None:
    files = VF.multi_files(generated_dir)
    repo = tmp_path / "concat"
    res = run_virtualize(local_floe, [str(p) for p in files], repo, "--concat-dim", "time")
    summary = parse_summary(res, len(files))
    prefix = dir_prefix(files[0])
    v = Virtualized(VF.Fixture("concat", files[0], "netcdf4", "concat"), repo, res, summary, prefix)
    session = open_session(v)
    parts = [xr.open_dataset(p, engine="netcdf4").load() for p in files]
    expected = xr.concat(parts, dim="time", data_vars="minimal", coords="minimal", compat="override",
                         join="override", combine_attrs="override")
    actual = xr.open_zarr(session.store, consolidated=False, zarr_format=3, chunks=None).load()
    assert set(actual.variables) == set(expected.variables), (set(actual.variables), set(expected.variables))
    assert dict(actual.sizes) == dict(expected.sizes), (dict(actual.sizes), dict(expected.sizes))
    assert visible_attrs(actual.attrs) == visible_attrs(expected.attrs)
    for name in expected.variables:
        assert actual[name].dims == expected[name].dims, name
        assert visible_attrs(actual[name].attrs) == visible_attrs(expected[name].attrs), name
        assert_values_equal(expected[name].values, actual[name].values, f"concat {name}")
    # Each file's chunks are referenced where libhdf5 puts them, shifted along time by the files before it.
    refs = refs_by_index(local_floe, v, "temp")
    offset_chunks = 0
    for path in files:
        with h5py.File(path, "r") as f:
            ds = f["temp"]
            truth = hdf5_chunk_truth(ds)
            assert truth_is_consistent(path, ds, truth), f"{path}: libhdf5's chunk info is inconsistent"
            for index, (off, size, _mask) in truth.items():
                shifted = (index[0] + offset_chunks, *index[1:])
                r = refs.get(shifted)
                assert r is not None, f"concat temp: no ref at {shifted} (from {path.name} {index})"
                assert (r["kind"], r["location"], r["offset"], r["length"]) == ("virtual", file_url(path), off, size), (
                    f"concat temp {shifted}: {r} != {path.name} chunk {index} at ({off}, {size})")
            offset_chunks += -(-ds.shape[0] // ds.chunks[0])
    assert len(refs) == sum(len(hdf5_chunk_truth(h5py.File(p, "r")["temp"])) for p in files)


def test_concat_refuses_different_structure(local_floe: Floe, generated: dict[str, VF.Fixture],
                                            generated_dir: Path, tmp_path: Path) -> None:
    files = VF.multi_files(generated_dir) + [generated_dir / VF.MULTI_BAD]
    repo = tmp_path / "concat-bad"
    res = run_virtualize(local_floe, [str(p) for p in files], repo, "--concat-dim", "time")
    assert res.returncode == EXIT_USER, f"a file whose `temp` is float64 (not float32) was accepted\n{res.describe()}"
    err = res.stderr.decode(errors="replace")
    assert "temp" in err, f"the message does not name the differing variable `temp`:\n{err}"
    assert re.search(r"float64|float32|f8|f4|double|type", err), f"the message does not say what differs:\n{err}"
    assert_no_crash(res)
    branch_unchanged_or_absent(repo, None)


# --------------------------------------------------------------------------------------------------
# (d) bad input
# --------------------------------------------------------------------------------------------------


def assert_no_crash(res: Result) -> None:
    err = res.stderr.decode(errors="replace")
    assert res.returncode >= 0, f"floe died of signal {-res.returncode}\n{res.describe()}"
    for marker in ("terminate called", "Segmentation", "Assertion", "AddressSanitizer", "runtime error:",
                   "Aborted", "core dumped", "stack trace", "Traceback"):
        assert marker not in err, f"floe crashed ({marker!r})\n{res.describe()}"


def _truncate(src: Path, dest: Path, fraction: float) -> dict[str, Any]:
    data = src.read_bytes()
    dest.write_bytes(data[: int(len(data) * fraction)])
    return {}


def _corrupt_ohdr(src: Path, dest: Path, dataset: str) -> dict[str, Any]:
    """Overwrites the `OHDR` signature of one dataset's (v2) object header."""
    with h5py.File(src, "r") as f:
        addr = h5py.h5o.get_info(f[dataset].id).addr
    data = bytearray(src.read_bytes())
    assert data[addr:addr + 4] == b"OHDR", f"{src}:{dataset} has no OHDR at {addr}"
    data[addr:addr + 4] = b"OHDX"
    dest.write_bytes(bytes(data))
    return {"offset": addr}


BAD_CASES = {
    "truncated_hdf5": lambda g, d: _truncate(g["h5_latest"].path, d / "truncated.h5", 0.4),
    "truncated_netcdf4": lambda g, d: _truncate(g["nc4"].path, d / "truncated4.nc", 0.5),
    "truncated_netcdf3_data": lambda g, d: _truncate(g["nc3_classic"].path, d / "truncated3.nc", 0.7),
    "truncated_netcdf3_header": lambda g, d: _truncate(g["nc3_64bit_data"].path, d / "truncated3h.nc", 0.05),
    "random_bytes": lambda g, d: (d / "random.nc").write_bytes(np.random.default_rng(1).bytes(8192)) and {},
    "corrupt_ohdr_hdf5": lambda g, d: _corrupt_ohdr(g["h5_latest"].path, d / "corrupt.h5", "/gzip_shuffle"),
    "corrupt_ohdr_netcdf4": lambda g, d: _corrupt_ohdr(g["nc4"].path, d / "corrupt4.nc", "/temp"),
}


@pytest.mark.parametrize("case", sorted(BAD_CASES))
def test_bad_input(case: str, local_floe: Floe, generated: dict[str, VF.Fixture], tmp_path: Path) -> None:
    src_dir = tmp_path / "src"
    src_dir.mkdir()
    info = BAD_CASES[case](generated, src_dir) or {}
    (bad,) = list(src_dir.iterdir())
    # Into no repository: nothing may be created.
    repo = tmp_path / "repo-new"
    res = run_virtualize(local_floe, [str(bad)], repo)
    assert res.returncode == EXIT_USER, f"{case}: expected exit {EXIT_USER}\n{res.describe()}"
    assert_no_crash(res)
    err = res.stderr.decode(errors="replace")
    assert bad.name in err, f"{case}: the message does not name the file {bad.name}:\n{err}"
    rest = err.replace(str(bad), "").replace(bad.name, "")
    assert re.search(r"\b(0x[0-9a-fA-F]+|\d+)\b", rest), f"{case}: the message names no offset:\n{err}"
    if "offset" in info:
        addr = info["offset"]
        assert re.search(rf"\b({addr}|0x0*{addr:x})\b", rest, re.I), (
            f"{case}: the message does not name the corrupted object header at {addr} ({addr:#x}):\n{err}")
    branch_unchanged_or_absent(repo, None)
    # Into a repository with a commit: main stays where it was.
    repo = tmp_path / "repo-existing"
    good = generated["nc3_one_record_var"].path
    parse_summary(run_virtualize(local_floe, [str(good)], repo), 1)
    before = ic.Repository.open(ic.local_filesystem_storage(str(repo))).lookup_branch("main")
    res = run_virtualize(local_floe, [str(bad)], repo)
    assert res.returncode == EXIT_USER, f"{case} into an existing repository\n{res.describe()}"
    assert_no_crash(res)
    branch_unchanged_or_absent(repo, before)


# --------------------------------------------------------------------------------------------------
# (e) a source on S3
# --------------------------------------------------------------------------------------------------


def test_remote_s3(floe: Floe, s3: S3, servers: Servers, virtualize, generated: dict[str, VF.Fixture],
                   tmp_path: Path) -> None:
    local = virtualize("nc4")
    bucket = s3.new_bucket("virtualize")
    key = "sources/nc4.nc"
    s3.put(bucket, key, local.fixture.path.read_bytes())
    url = f"s3://{bucket}/{key}"
    prefix = f"s3://{bucket}/sources/"
    repo = tmp_path / "remote"
    res = run_virtualize(floe, [url], repo, "--container",
                         f"{prefix}=region={servers.region},endpoint={servers.s3_endpoint}", url=url)
    summary = parse_summary(res, 1)
    r = ic_open(str(repo), servers, authorize=[prefix])
    assert prefix in (r.config.virtual_chunk_containers or {}), r.config.virtual_chunk_containers
    assert summary["snapshot"] == r.lookup_branch("main")
    remote_session = r.readonly_session("main")
    local_session = open_session(local)
    for group in netcdf_groups(local.fixture.path):
        gname = group.strip("/") or None
        a = xr.open_zarr(remote_session.store, group=gname, consolidated=False, zarr_format=3, chunks=None).load()
        b = xr.open_zarr(local_session.store, group=gname, consolidated=False, zarr_format=3, chunks=None).load()
        xr.testing.assert_identical(a, b)
    # Same refs, pointing at the object.
    remote_v = Virtualized(local.fixture, repo, res, summary, prefix)
    with h5py.File(local.fixture.path, "r") as f:
        names = [zarr_path(p) for p in h5_datasets(local.fixture.path) if not is_pure_dimension(f[p])]
    for path in names:
        if ic_get(local_session.store, meta_key(path)) is None:
            continue
        mine = refs_by_index(floe, local, path)
        theirs = refs_by_index(floe, remote_v, path)
        assert set(mine) == set(theirs), path
        for index, ref in mine.items():
            other = theirs[index]
            assert other["kind"] == ref["kind"], (path, index)
            if ref["kind"] == "virtual":
                assert (other["location"], other["offset"], other["length"]) == (url, ref["offset"], ref["length"]), (
                    path, index, other, ref)
