# Expected coordinate selections from xarray's .sel for selection_test.cc: each case is a coordinate (raw
# values and CF attributes), a floe spec, and the indices xarray keeps (the data is arange(n), so the
# selected data are the indices). Longitude boxes across the seam have no xarray spelling; their
# expected indices are the concatenation of the two xarray selections floe promises (selection.h).
# Usage: make_selection_vectors.py OUTPUT.json
import json
import sys
import warnings

import numpy as np
import xarray as xr

warnings.simplefilter("ignore")


def decoded(values, attrs, dtype, dim):
    raw = xr.Dataset({"v": ((dim,), np.arange(len(values)))},
                     coords={dim: ((dim,), np.asarray(values, dtype=dtype), attrs)})
    return xr.decode_cf(raw)["v"]


CASES = []


def case(name, values, spec, selections, attrs=None, dtype="float64", dim="x"):
    """selections: list of dicts of .sel keyword arguments (several: concatenated)."""
    attrs = attrs or {}
    da = decoded(values, attrs, dtype, dim)
    indices = []
    for selection in selections:
        method = selection.pop("method", None)
        picked = da.sel({dim: selection[dim]}, method=method)
        indices += np.atleast_1d(picked.values).astype(int).tolist()
    CASES.append({"name": name, "values": np.asarray(values, dtype=dtype).astype(float).tolist(),
                  "attrs": attrs, "dtype": dtype, "dim": dim, "spec": spec, "expected": indices})


lat_up = np.arange(-90, 90.25, 0.25)
lat_down = lat_up[::-1]
case("ascending box", lat_up, "-10.25:-1", [{"x": slice(-10.25, -1)}], dim="x")
case("descending box", lat_down, "-10.25:-1", [{"x": slice(-1, -10.25)}])
case("descending box reversed", lat_down, "-1:-10.25", [{"x": slice(-1, -10.25)}])
case("ascending open start", lat_up, ":-89", [{"x": slice(None, -89)}])
case("descending open end", lat_down, "89.5:", [{"x": slice(None, 89.5)}])
case("between grid points", lat_up, "10.1:10.6", [{"x": slice(10.1, 10.6)}])
steps = np.arange(4.0)
for point in ["1.5", "0.5", "2.2", "-0.4", "3.4", "2"]:
    case(f"nearest {point}", steps, point, [{"x": float(point), "method": "nearest"}])
    case(f"nearest {point} descending", steps[::-1], point,
         [{"x": float(point), "method": "nearest"}])
tenths = np.arange(0, 1, 0.1, dtype="float32")
case("float32 box", tenths, "0.1:0.3", [{"x": slice(0.1, 0.3)}], dtype="float32")
case("float32 box upper", tenths, "0.3:0.7", [{"x": slice(0.3, 0.7)}], dtype="float32")
case("float32 nearest", tenths, "0.3", [{"x": 0.3, "method": "nearest"}], dtype="float32")

hours = np.arange(1051896 - 48, 1051896 + 24 * 34)  # hours since 1900-01-01 from 2019-12-30
standard = {"units": "hours since 1900-01-01 00:00:00", "calendar": "standard"}
case("time days", hours, "2020-01-01:2020-01-31", [{"time": slice("2020-01-01", "2020-01-31")}],
     standard, "int64", "time")
case("time hours", hours, "2020-01-31T06:2020-01-31T08",
     [{"time": slice("2020-01-31T06", "2020-01-31T08")}], standard, "int64", "time")
case("time minutes", hours, "2020-01-31T06:30:2020-01-31T08:00",
     [{"time": slice("2020-01-31T06:30", "2020-01-31T08:00")}], standard, "int64", "time")
case("time month", hours, "2020-01:2020-01", [{"time": slice("2020-01", "2020-01")}], standard,
     "int64", "time")
case("time open end", hours, "2020-02-02T12:", [{"time": slice("2020-02-02T12", None)}], standard,
     "int64", "time")
case("time nearest", hours, "2020-01-30T06:30", [{"time": "2020-01-30T06:30", "method": "nearest"}],
     standard, "int64", "time")
days = np.arange(0, 800)
for calendar in ["noleap", "all_leap", "360_day", "julian", "proleptic_gregorian", "standard"]:
    attrs = {"units": "days since 2000-01-01", "calendar": calendar}
    case(f"{calendar} February", days, "2000-02-01:2000-02-28",
         [{"time": slice("2000-02-01", "2000-02-28")}], attrs, "int32", "time")
    case(f"{calendar} month", days, "2001-02:2001-03", [{"time": slice("2001-02", "2001-03")}],
         attrs, "int32", "time")
    case(f"{calendar} year", days, "2001:2001", [{"time": slice("2001", "2001")}], attrs, "int32",
         "time")
case("360_day day 30", days, "2000-02-29:2000-02-30", [{"time": slice("2000-02-29", "2000-02-30")}],
     {"units": "days since 2000-01-01", "calendar": "360_day"}, "int32", "time")
switch = {"units": "days since 1582-10-01", "calendar": "standard"}
case("standard calendar switch", np.arange(0, 20), "1582-10-04:1582-10-15",
     [{"time": slice("1582-10-04", "1582-10-15")}], switch, "int32", "time")

lon_360 = np.arange(0, 360, 0.25)
lon_180 = np.arange(-180, 180, 0.25)
east = {"units": "degrees_east"}
case("seam box 0..360", lon_360, "-20:40", [{"lon": slice(340, 360)}, {"lon": slice(0, 40)}], east,
     dim="lon")
case("seam box -180..180", lon_180, "170:-170",
     [{"lon": slice(170, 180)}, {"lon": slice(-180, -170)}], east, dim="lon")
case("seam box -180..180 past 180", lon_180, "170:190",
     [{"lon": slice(170, 180)}, {"lon": slice(-180, -170)}], east, dim="lon")
case("west box against 0..360", lon_360, "-48.75:-41.5", [{"lon": slice(311.25, 318.5)}], east,
     dim="lon")
case("east box against -180..180", lon_180, "311.25:318.5", [{"lon": slice(-48.75, -41.5)}], east,
     dim="lon")
case("descending longitude seam box", lon_360[::-1], "-20:40",
     [{"lon": slice(40, 0)}, {"lon": slice(360, 340)}], east, dim="lon")
case("regional longitude", np.arange(280, 320.5, 0.5), "-70:-60", [{"lon": slice(290, 300)}], east,
     dim="lon")
case("whole circle", lon_180, "0:360", [{"lon": slice(0, 180)}, {"lon": slice(-180, -0.25)}], east,
     dim="lon")
case("longitude point wrapped", lon_360, "-48.75", [{"lon": 311.25, "method": "nearest"}], east,
     dim="lon")

with open(sys.argv[1], "w") as out:
    json.dump(CASES, out)
