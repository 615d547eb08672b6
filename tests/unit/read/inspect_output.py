# Reads a file an output sink wrote (.npy with numpy, .nc with netCDF4-python and xarray) and describes it as
# JSON for output_test.cc: dtypes, shapes, raw value bytes as hex, attributes with their types, chunking.
import json
import sys

import numpy as np


def value_json(value):
    """An attribute or fill value with its numpy type: {"type": "<i8", "value": [...]} or a str."""
    if isinstance(value, str):
        return value
    array = np.asarray(value)
    if array.dtype.kind in "SUO":
        return {"type": "str", "value": [str(v) for v in array.ravel()]}
    values = []
    for v in array.ravel().tolist():
        if isinstance(v, float) and v != v:
            v = "NaN"
        values.append(v)
    return {"type": array.dtype.str, "value": values}


def inspect_npy(path):
    with open(path, "rb") as f:
        magic = f.read(8)
    array = np.load(path, allow_pickle=False)
    with open(path, "rb") as f:
        version = np.lib.format.read_magic(f)
        if version == (1, 0):
            np.lib.format.read_array_header_1_0(f)
        else:
            np.lib.format.read_array_header_2_0(f)
        data_offset = f.tell()
    return {
        "magic_ok": magic[:6] == b"\x93NUMPY",
        "version": list(version),
        "data_offset": data_offset,
        "descr": np.lib.format.dtype_to_descr(array.dtype),
        "shape": list(array.shape),
        "fortran_order": bool(np.isfortran(array)) if array.ndim > 1 else False,
        "hex": np.ascontiguousarray(array).tobytes().hex(),
    }


def inspect_netcdf(path):
    import netCDF4
    import xarray

    out = {"dimensions": {}, "variables": {}, "global": {}}
    with netCDF4.Dataset(path) as ds:
        out["data_model"] = ds.data_model
        for name, dim in ds.dimensions.items():
            out["dimensions"][name] = len(dim)
        for name in ds.ncattrs():
            out["global"][name] = value_json(ds.getncattr(name))
        for name, var in ds.variables.items():
            var.set_auto_maskandscale(False)
            var.set_auto_chartostring(False)
            data = var[...]
            entry = {
                "dtype": "str" if var.dtype is str else np.dtype(var.dtype).str,
                "dims": list(var.dimensions),
                "shape": list(var.shape),
                "chunking": var.chunking(),
                "filters": var.filters(),
                "attrs": {a: value_json(var.getncattr(a)) for a in var.ncattrs()},
            }
            if var.dtype is str:
                entry["strings"] = [str(s) for s in np.asarray(data).ravel()]
            else:
                entry["hex"] = np.ascontiguousarray(np.asarray(data)).tobytes().hex()
            out["variables"][name] = entry
    with xarray.open_dataset(path) as ds:
        out["xarray"] = {name: ds[name].dtype.str for name in ds.variables}
        out["xarray_coords"] = sorted(str(c) for c in ds.coords)
    return out


def numpy_stats(path, fill_hex):
    """What floe's statistics should say about a .npy: NaN/NaT and fill elements apart, exact mean (fsum)."""
    import math

    a = np.load(path).ravel()
    nan = np.zeros(a.shape, bool)
    if a.dtype.kind == "f":
        nan = np.isnan(a)
    elif a.dtype.kind in "Mm":
        nan = np.isnat(a)
    fill = np.zeros(a.shape, bool)
    if fill_hex != "none":
        fill_value = np.frombuffer(bytes.fromhex(fill_hex), dtype=a.dtype)[0]
        fill = (a == fill_value) & ~nan
    valid = a[~nan & ~fill]
    if a.dtype.kind in "Mm":
        valid = valid.view("<i8")
    if a.dtype.kind == "b":
        valid = valid.astype(np.uint8)
    out = {"count": int(a.size), "nan": int(nan.sum()), "fill": int(fill.sum()), "valid": int(valid.size)}
    if valid.size:
        out["min"] = valid.min().item()
        out["max"] = valid.max().item()
        out["mean"] = math.fsum(valid.astype(np.float64).tolist()) / valid.size
    return out


def main():
    # inspect_output.py OUTPUT.json FILE...            describe each file, {path: description}
    # inspect_output.py OUTPUT.json --stats FILE FILL  numpy's statistics of a .npy (FILL: hex bytes or none)
    output = sys.argv[1]
    if sys.argv[2] == "--stats":
        result = numpy_stats(sys.argv[3], sys.argv[4])
    else:
        result = {}
        for path in sys.argv[2:]:
            result[path] = inspect_npy(path) if path.endswith(".npy") else inspect_netcdf(path)
    with open(output, "w") as f:
        json.dump(result, f)


if __name__ == "__main__":
    main()
