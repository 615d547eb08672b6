"""Oracle for the sidecar-index tests: gribberish's parse of a NOAA .idx / ECMWF .index as JSON.

Usage: gribberish_index.py INDEX_FILE [GRIB_FILE_SIZE]  -> one JSON array on stdout, one object per entry.
"""
import json
import sys

import gribberish


def main() -> None:
    with open(sys.argv[1], encoding="utf-8") as handle:
        text = handle.read()
    file_size = int(sys.argv[2]) if len(sys.argv) > 2 else None
    entries = []
    for entry in gribberish.parse_grib_index(text, file_size=file_size):
        entries.append({
            "message": entry.message_number,
            "submessage": entry.submessage,
            "offset": entry.offset,
            "length": entry.length,
            "reference_time": int(entry.reference_date.timestamp()),
            "var": entry.var,
            "level": entry.level,
            "forecast_time": entry.forecast_time,
            "extra": list(entry.extra),
            "keys": dict(entry.keys),
        })
    json.dump(entries, sys.stdout)


if __name__ == "__main__":
    main()
