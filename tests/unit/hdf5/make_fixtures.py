# Writes the HDF5 / netCDF-4 fixtures of the hdf5 unit tests into a directory, and `expect.py`-style JSON
# expectations (what h5py sees) next to each file.
import json
import os
import sys

import h5py
import netCDF4
import numpy as np


def describe(path):
    """Paths, kinds, shapes, dtypes and attribute names as h5py reports them."""
    out = {}
    with h5py.File(path, "r") as f:
        def visit(name, obj):
            entry = {"attrs": sorted(obj.attrs.keys()), "addr": h5py.h5o.get_info(obj.id).addr}
            if isinstance(obj, h5py.Group):
                entry["kind"] = "group"
            elif isinstance(obj, h5py.Dataset):
                entry["kind"] = "dataset"
                entry["shape"] = list(obj.shape) if obj.shape is not None else None
                entry["dtype"] = obj.dtype.str
                entry["dtype_kind"] = obj.dtype.kind
            else:
                entry["kind"] = "datatype"
            out["/" + name] = entry
        out["/"] = {"kind": "group", "attrs": sorted(f.attrs.keys()), "addr": h5py.h5o.get_info(f.id).addr}
        # visititems follows hard links once per object; soft/external links are not visited.
        f.visititems(visit)
    return out


def netcdf_file(path, many=12, groups=True):
    ds = netCDF4.Dataset(path, "w", format="NETCDF4")
    ds.title = "fixture"
    ds.history = "x" * 300
    ds.setncattr_string("vlen_title", "a variable-length string")
    ds.int_list = np.array([1, 2, 3], dtype="i4")
    ds.createDimension("time", None)
    ds.createDimension("lat", 4)
    ds.createDimension("lon", 5)
    ds.createDimension("nchar", 6)
    t = ds.createVariable("time", "f8", ("time",))
    t.units = "days since 2000-01-01"
    lat = ds.createVariable("lat", "f4", ("lat",))
    lat[:] = np.arange(4)
    lon = ds.createVariable("lon", "f4", ("lon",), contiguous=True)
    lon[:] = np.arange(5)
    for i in range(many):
        v = ds.createVariable(f"v{i:03d}", "f4", ("time", "lat", "lon"), zlib=True, shuffle=True,
                              fill_value=np.float32(-999.0), chunksizes=(1, 2, 5))
        for k in range(9):
            v.setncattr(f"attr{k}", f"value {k}")
        v.setncattr("scale_factor", np.float64(0.5))
        v[0:2] = np.random.default_rng(i).random((2, 4, 5)).astype("f4")
    t[0:2] = [0.0, 1.0]
    be = ds.createVariable("big_endian", ">i4", ("lat",), endian="big")
    be[:] = np.arange(4)
    c = ds.createVariable("chars", "S1", ("lat", "nchar"))
    c[:] = netCDF4.stringtochar(np.array(["abc", "defg", "h", "ijklmn"], dtype="S6"))
    s = ds.createVariable("scalar", "i8")
    s.assignValue(7)
    u = ds.createVariable("ubyte", "u1", ("lon",))
    u[:] = np.arange(5)
    if groups:
        g = ds.createGroup("sub")
        g.createDimension("x", 3)
        gv = g.createVariable("gx", "i2", ("x", "lat"))
        gv[:] = np.ones((3, 4))
        g.note = "in a group"
        gg = g.createGroup("deeper")
        gg.createVariable("dv", "f8", ("x",))
    ds.close()


def h5py_file(path, libver, userblock=0, **kwargs):
    with h5py.File(path, "w", libver=libver, userblock_size=userblock, **kwargs) as f:
        f.attrs["str_attr"] = "hello"                       # vlen string (global heap)
        f.attrs["fixed_attr"] = np.bytes_("fixed")          # fixed-length string
        f.attrs["float_attr"] = np.float32(1.5)
        f.attrs["nan_attr"] = np.float64("nan")
        f.attrs["int_array"] = np.arange(4, dtype="<i2")
        f.attrs["bool_attr"] = np.bool_(True)
        f.attrs["str_list"] = ["a", "bc", "def"]
        f.create_dataset("contiguous", data=np.arange(12, dtype=">f8").reshape(3, 4))
        f.create_dataset("chunked", data=np.arange(100, dtype="i4").reshape(10, 10), chunks=(3, 4),
                         compression="gzip", shuffle=True, fillvalue=-1)
        dcpl = h5py.h5p.create(h5py.h5p.DATASET_CREATE)
        dcpl.set_layout(h5py.h5d.COMPACT)
        space = h5py.h5s.create_simple((6,))
        h5py.h5d.create(f.id, b"compact", h5py.h5t.NATIVE_UINT16, space, dcpl=dcpl).write(
            h5py.h5s.ALL, h5py.h5s.ALL, np.arange(6, dtype="u2"))
        f.create_dataset("bools", data=np.array([True, False, True]))
        f.create_dataset("fixed_strings", data=np.array([b"ab", b"cde"], dtype="S3"))
        f.create_dataset("vlen_strings", data=["x", "yy"], dtype=h5py.string_dtype())
        f.create_dataset("compound", data=np.zeros(3, dtype=[("a", "i4"), ("b", "f8")]))
        f.create_dataset("empty", shape=(0, 3), dtype="f4", maxshape=(None, 3), chunks=(4, 3))
        f.create_dataset("scalar", data=np.float64(3.25))
        f.create_dataset("null", data=h5py.Empty("f4"))
        f.create_dataset("unallocated", shape=(5,), dtype="i8")
        g = f.create_group("group")
        g.attrs["many"] = np.arange(3)
        for i in range(20):
            g.create_dataset(f"d{i:02d}", data=np.full(2, i, dtype="i1"))
        x = f.create_dataset("x", data=np.arange(3, dtype="f4"))
        x.make_scale("x")
        y = f.create_dataset("y", data=np.arange(2, dtype="f4"))
        y.make_scale("y")
        m = f.create_dataset("with_scales", data=np.zeros((2, 3), dtype="f4"))
        m.dims[0].attach_scale(y)
        m.dims[1].attach_scale(x)
        f["soft"] = h5py.SoftLink("/group")
        f["hard_again"] = f["x"]
        f["named_type"] = np.dtype("<i8")
        f.create_dataset("uses_named_type", data=np.arange(3, dtype="<i8"), dtype=f["named_type"])
        many = f.create_group("many_attrs")
        for i in range(40):
            many.attrs[f"a{i:02d}"] = np.arange(i + 1, dtype="f8")
        if libver == "latest":
            many.attrs["big"] = np.arange(20000, dtype="f8")  # 160 KB: a huge object in dense storage


def masked_file(path):
    """Chunks written with filters skipped (per-chunk filter mask)."""
    with h5py.File(path, "w") as f:
        d = f.create_dataset("all_skipped", shape=(8,), chunks=(4,), dtype="<i4", compression="gzip",
                             shuffle=True, fletcher32=True)
        d[0:4] = np.arange(4)
        d.id.write_direct_chunk((4,), np.arange(4, 8, dtype="<i4").tobytes(), filter_mask=0b111)
        e = f.create_dataset("partly_skipped", shape=(8,), chunks=(4,), dtype="<i4", compression="gzip",
                             shuffle=True)
        e[0:4] = np.arange(4)
        import zlib
        e.id.write_direct_chunk((4,), zlib.compress(np.arange(4, dtype="<i4").tobytes()), filter_mask=0b1)


def linked_scales_file(path):
    """A netCDF-4 file whose dimension scales are reached by more links (h5py adds second hard links and soft
    links, one from a child group); netCDF-C names each dimension by the last link to its scale. Writes the
    dimensions netCDF4-python reports for every variable to PATH.dims.json."""
    ds = netCDF4.Dataset(path, "w", format="NETCDF4")
    ds.createDimension("t", None)
    ds.createDimension("x", 3)
    ds.createDimension("y", 2)
    t = ds.createVariable("t", "f8", ("t",))
    t[0:2] = [0, 1]
    x = ds.createVariable("x", "f4", ("x",))
    x[:] = [1, 2, 3]
    y = ds.createVariable("y", "f4", ("y",))
    y[:] = [5, 6]
    v = ds.createVariable("v", "f4", ("t", "x", "y"))
    v[0:2] = np.ones((2, 3, 2))
    g = ds.createGroup("sub")
    w = g.createVariable("w", "i2", ("x",))
    w[:] = [4, 5, 6]
    ds.close()
    with h5py.File(path, "r+") as f:
        f["x_hard"] = f["x"]
        f["x_soft"] = h5py.SoftLink("/x")      # the last link to x: the dimension is x_soft
        f["y_soft"] = h5py.SoftLink("y")       # relative soft link
        f["y_hard"] = f["y"]                   # the last link to y: y_hard
        f["sub/t_in_group"] = f["t"]           # a link in a child group renames t everywhere
    dims = {}
    with netCDF4.Dataset(path) as d:
        def walk(group, prefix):
            for name, variable in group.variables.items():
                dims[prefix + name] = list(variable.dimensions)
            for name, child in group.groups.items():
                walk(child, prefix + name + "/")
        walk(d, "/")
    with open(path + ".dims.json", "w") as f:
        json.dump(dims, f, indent=1)


def paged_netcdf_file(path):
    """A netCDF-4 file after `h5repack -S PAGE -G 262144`, shaped like the benchmark's paged POP file: most
    metadata in the first page, a little in a page near the end, the coordinates' values in the second page."""
    import subprocess
    source = path + ".source.nc"
    ds = netCDF4.Dataset(source, "w", format="NETCDF4")
    ds.createDimension("time", None)
    ds.createDimension("lat", 40)
    ds.createDimension("lon", 60)
    for name, n in (("lat", 40), ("lon", 60)):
        v = ds.createVariable(name, "f4", (name,))
        v[:] = np.arange(n, dtype="f4")
        v.units = "degrees"
    t = ds.createVariable("time", "f8", ("time",))
    t.units = "days since 2000-01-01"
    rng = np.random.default_rng(7)
    for i in range(12):
        v = ds.createVariable(f"v{i:02d}", "f4", ("time", "lat", "lon"), zlib=True, chunksizes=(1, 40, 60))
        for k in range(6):
            v.setncattr(f"attr{k}", f"value {k} of variable {i}")
        v[0:20] = rng.random((20, 40, 60)).astype("f4")
    t[0:20] = np.arange(20.0)
    ds.close()
    subprocess.run(["h5repack", "-S", "PAGE", "-G", "262144", source, path], check=True)
    os.remove(source)


def fill_value_file(path, libver):
    """h5py datasets with an HDF5 fill value and no _FillValue attribute (some chunks never written), and one
    with the default fill. Writes what netCDF4-python reports for each to PATH.fill.json: the fill value of
    unwritten data (get_fill_value) and whether a _FillValue attribute exists (it does not: netCDF4-python and
    xarray then mask nothing)."""
    with h5py.File(path, "w", libver=libver) as f:
        d = f.create_dataset("chunked", shape=(6,), chunks=(2,), dtype="<i4", fillvalue=-1)
        d[0:2] = [5, 6]
        f.create_dataset("contiguous", data=np.array([1.5, -7.0, 3.0], dtype="<f4"), fillvalue=np.float32(-7.0))
        f.create_dataset("unwritten", shape=(4,), chunks=(2,), dtype="<f8", fillvalue=2.5)
        f.create_dataset("default_fill", shape=(4,), chunks=(2,), dtype="<i2")
    expected = {}
    with netCDF4.Dataset(path) as d:
        for name, variable in d.variables.items():
            fill = variable.get_fill_value()
            expected[name] = {"fill": None if fill is None else fill.item(),
                              "has_fill_attribute": "_FillValue" in variable.ncattrs()}
    with open(path + ".fill.json", "w") as f:
        json.dump(expected, f, indent=1)


def main():
    if sys.argv[1] == "--describe":  # --describe OUT_DIR FILE...: expectations of existing files
        os.makedirs(sys.argv[2], exist_ok=True)
        for path in sys.argv[3:]:
            try:
                description = describe(path)
            except Exception as error:  # h5py cannot read it either: no expectation
                description = {"error": str(error)}
            with open(os.path.join(sys.argv[2], os.path.basename(path) + ".json"), "w") as f:
                json.dump(description, f, indent=1)
        return
    out = sys.argv[1]
    os.makedirs(out, exist_ok=True)
    files = {
        "nc4_basic.nc": lambda p: netcdf_file(p),
        "nc4_many_vars.nc": lambda p: netcdf_file(p, many=150, groups=False),
        "h5_earliest.h5": lambda p: h5py_file(p, "earliest"),
        "h5_latest.h5": lambda p: h5py_file(p, "latest"),
        "h5_userblock.h5": lambda p: h5py_file(p, "earliest", userblock=1024),
        "h5_paged.h5": lambda p: h5py_file(p, "latest", fs_strategy="page", fs_page_size=65536),
        "h5_masked.h5": masked_file,
        "nc4_linked_scales.nc": linked_scales_file,
        "nc4_paged.nc": paged_netcdf_file,
        "h5_fill_earliest.h5": lambda p: fill_value_file(p, "earliest"),
        "h5_fill_latest.h5": lambda p: fill_value_file(p, "latest"),
    }
    for name, make in files.items():
        path = os.path.join(out, name)
        make(path)
    for name in files:
        with open(os.path.join(out, name + ".json"), "w") as f:
            json.dump(describe(os.path.join(out, name)), f, indent=1)


if __name__ == "__main__":
    main()
