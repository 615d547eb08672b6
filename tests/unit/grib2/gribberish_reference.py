"""Reads GRIB messages as Zarr chunks through xarray + gribberish's zarr codec (the GRIB tests' Python
oracle for the "gribberish" codec name).

Usage: gribberish_reference.py MANIFEST.json

The manifest lists cases {"message": path, "shape": [ny, nx], "configuration": {...}, "store": dir}.
For each, a Zarr v3 group is written at `store` with one array "field" (float32, NaN fill, one chunk
of the field's shape, codec gribberish with the configuration), the message becomes its only chunk,
and xarray.open_zarr reads it back; the values are written to `store`/expected.f32 (little-endian).
"""

import json
import os
import sys

import numpy as np
import xarray as xr
import zarr
from gribberish.zarr.codec import GribberishCodec


def main() -> None:
    with open(sys.argv[1]) as f:
        manifest = json.load(f)
    for case in manifest["cases"]:
        store = case["store"]
        group = zarr.open_group(store, mode="w", zarr_format=3)
        shape = tuple(case["shape"])
        group.create_array(
            "field",
            shape=shape,
            chunks=shape,
            dtype="float32",
            fill_value=float("nan"),
            serializer=GribberishCodec(**case["configuration"]),
            compressors=None,
            dimension_names=("y", "x"),
        )
        chunk_dir = os.path.join(store, "field", "c", "0")
        os.makedirs(chunk_dir, exist_ok=True)
        with open(case["message"], "rb") as source, open(os.path.join(chunk_dir, "0"), "wb") as chunk:
            chunk.write(source.read())
        values = xr.open_zarr(store, consolidated=False)["field"].values
        np.ascontiguousarray(values, dtype="<f4").tofile(os.path.join(store, "expected.f32"))


if __name__ == "__main__":
    main()
