# Expected CF decoding from xarray: each case writes a Zarr v3 array with zarr-python (raw values and CF
# attributes), opens it with xr.open_zarr, and records the zarr.json the C++ test plans from, the raw
# bytes, and xarray's decoded dtype and values. Variables with time units are decoded by xarray's two CF
# coders (CFMaskCoder, CFScaleOffsetCoder with decode_times=True) on the variable the Zarr backend
# returns, i.e. the values just before they become datetime64 — what floe produces. The Zarr fill_value
# as a mask goes through ZarrStore.open_group, because xr.open_zarr (2026.9) drops that argument.
# Usage: make_cf_decode_vectors.py OUTPUT.json
import base64
import json
import os
import struct
import sys
import tempfile
import warnings

import numpy as np
import xarray as xr
import zarr
from xarray.backends.zarr import ZarrStore
from xarray.coding.variables import CFMaskCoder, CFScaleOffsetCoder

warnings.simplefilter("ignore")


def b64_double(value):
    return base64.standard_b64encode(struct.pack("<d", value)).decode()


CASES = [
    ("int16 packed temperature", "int16", [0, 1, -1, 32767, -32767, -32768, 1234],
     {"scale_factor": 0.01, "add_offset": 273.15, "_FillValue": -32767, "missing_value": -32768}),
    ("int16 scale only", "int16", [0, 1, -1, 3, -32768], {"scale_factor": 0.5}),
    ("int16 offset only", "int16", [0, 1, -1, 3], {"add_offset": 10.5}),
    ("int16 integer scale", "int16", [0, 1, -1, 3], {"scale_factor": 2}),
    ("int16 integer scale and offset", "int16", [0, 1, -1, 3], {"scale_factor": 2, "add_offset": 1}),
    ("int16 float scale integer offset", "int16", [0, 1, -1], {"scale_factor": 0.25, "add_offset": 3}),
    ("int8 unsigned fill", "int8", [0, 1, -1, 127, -128, -2], {"_Unsigned": "true", "_FillValue": -1}),
    ("int8 unsigned missing_value not converted", "int8", [0, 1, -1, -2],
     {"_Unsigned": "true", "missing_value": -1}),
    ("int8 unsigned only", "int8", [0, 1, -1, -128], {"_Unsigned": "true"}),
    ("uint8 signed only", "uint8", [0, 1, 255, 128], {"_Unsigned": "false"}),
    ("int8 unsigned packed", "int8", [0, 1, -1, -2, 100],
     {"_Unsigned": "true", "_FillValue": -1, "scale_factor": 0.1}),
    ("int8 unsigned as a JSON bool is ignored", "int8", [0, 1, -1], {"_Unsigned": True, "_FillValue": -1}),
    ("float32 fill 9.96921e36", "float32", [0.0, 1.5, float(np.float32(9.96921e36)), -2.0],
     {"_FillValue": b64_double(float(np.float32(9.96921e36)))}),
    ("float32 NaN fill", "float32", [0.0, 1.5, float("nan")], {"_FillValue": b64_double(float("nan"))}),
    ("float32 NaN fill packed stays float32", "float32", [0.0, 1.5, 3.0, float("nan")],
     {"_FillValue": b64_double(float("nan")), "scale_factor": 0.1}),
    ("float32 NaN fill packed time-like", "float32", [0.0, 1.5, 3.0],
     {"_FillValue": b64_double(float("nan")), "scale_factor": 0.1, "units": "days since 2000-01-01"}),
    ("float32 missing_value list", "float32", [0.0, 1.0, 2.0, 3.0], {"missing_value": [1.0, 2.0]}),
    ("float32 fill compared in float32", "float32", [0.1, 0.2, 0.3], {"_FillValue": b64_double(0.1)}),
    ("float16 fill float16 cannot hold", "float16", [0.1, 1.0], {"_FillValue": b64_double(0.1)}),
    ("int16 fractional missing_value", "int16", [1, 2], {"missing_value": 1.5}),
    ("float64 packed", "float64", [0.0, 1.0, -3.5, 1e300], {"scale_factor": 2.5, "add_offset": -1.0}),
    ("float64 masked", "float64", [0.0, -999.0, 5.0, -888.0],
     {"_FillValue": b64_double(-999.0), "missing_value": -888.0}),
    ("int32 fill", "int32", [0, -2147483647, 2147483647, 5], {"_FillValue": -2147483647}),
    ("uint16 fill", "uint16", [0, 65535, 1, 65534], {"_FillValue": 65535}),
    ("int64 missing_value", "int64", [0, 5, 2**53 + 1, -(2**62)], {"missing_value": 5}),
    ("uint32 scale", "uint32", [0, 1, 4294967295, 123456], {"scale_factor": 0.001}),
    ("uint64 scale", "uint64", [0, 2**64 - 1, 2**53 + 1], {"scale_factor": 1.5, "add_offset": 0.5}),
    ("float16 fill stays float16", "float16", [0.0, 1.0, -1.0, 65504.0], {"_FillValue": b64_double(1.0)}),
    ("float16 packed", "float16", [0.0, 1.0, -1.0, 0.0001], {"scale_factor": 3.0}),
    ("int16 time fill", "int16", [0, 1, -1, 365], {"_FillValue": -1, "units": "days since 2000-01-01"}),
    ("int16 many fills", "int16", [0, -1, -2, -3, -4, 5, -5],
     {"missing_value": [-1, -2, -3], "_FillValue": -4}),
    ("int16 fill only", "int16", [0, -9999, 7], {"_FillValue": -9999}),
    ("valid range is not applied", "int16", [0, 500, -500], {"scale_factor": 1.5, "valid_min": -10,
                                                             "valid_max": 10}),
    ("negative zero kept", "float32", [-0.0, 0.0, 1.0], {"_FillValue": b64_double(1.0)}),
    ("negative zero with offset", "float64", [-0.0, 0.0], {"add_offset": 0.0}),
    ("zarr fill_value as mask", "int16", [0, -9999, 7], {}, -9999, True),
    ("zarr fill_value ignored by default", "int16", [0, -9999, 7], {}, -9999, False),
]


def main():
    out = []
    root = tempfile.mkdtemp(prefix="floe_cf_decode_")
    for index, case in enumerate(CASES):
        name, dtype, values, attrs = case[:4]
        zarr_fill = case[4] if len(case) > 4 else 0
        as_mask = case[5] if len(case) > 5 else False
        store = os.path.join(root, f"case{index}.zarr")
        group = zarr.open_group(store, mode="w", zarr_format=3)
        raw = np.array(values, dtype=object).astype(dtype)
        array = group.create_array("v", shape=raw.shape, dtype=dtype, fill_value=zarr_fill,
                                   dimension_names=["x"])
        array[:] = raw
        array.attrs.update(attrs)
        with open(os.path.join(store, "v", "zarr.json")) as metadata_file:
            metadata = json.load(metadata_file)
        zarr_store = ZarrStore.open_group(store, mode="r", consolidated=False,
                                          use_zarr_fill_value_as_mask=as_mask)
        if "since" in str(attrs.get("units", "")):
            variable = zarr_store.get_variables()["v"]
            for coder in (CFMaskCoder(decode_times=True), CFScaleOffsetCoder(decode_times=True)):
                variable = coder.decode(variable, name="v")
            result = np.asarray(variable.values)
        else:
            result = xr.open_dataset(zarr_store)["v"].values
        out.append({
            "name": name,
            "data_type": metadata["data_type"],
            "fill_value": metadata["fill_value"],
            "attributes": metadata.get("attributes", {}),
            "use_zarr_fill_value_as_mask": as_mask,
            "raw": base64.standard_b64encode(raw.astype(raw.dtype.newbyteorder("<")).tobytes()).decode(),
            "expected_type": result.dtype.name,
            "expected": base64.standard_b64encode(
                result.astype(result.dtype.newbyteorder("<")).tobytes()).decode(),
        })
    with open(sys.argv[1], "w") as output:
        json.dump(out, output)


if __name__ == "__main__":
    main()
