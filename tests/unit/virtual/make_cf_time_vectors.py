# Expected CF time conversions from cftime (the reference implementation) for cf_time_test.cc.
# Usage: make_cf_time_vectors.py OUTPUT.json
import json
import sys
import warnings

import cftime

warnings.simplefilter("ignore")  # CFWarning about year-zero conventions

CALENDARS = ["standard", "gregorian", "proleptic_gregorian", "noleap", "365_day", "all_leap",
             "366_day", "360_day", "julian"]
# Year zero does not exist in these (cftime's has_year_zero defaults).
NO_YEAR_ZERO = {"standard", "gregorian", "julian"}

UNITS = [
    "days since 1900-01-01",
    "hours since 1979-01-01 00:00:00",
    "seconds since 1970-01-01T00:00:00Z",
    "minutes since 2000-01-01 12:30",
    "days since 0001-01-01",
    "days since 1582-10-15",
    "days since 1582-10-04 12:00:00",
    "hours since 1500-03-01 06:00:00 +06:00",
    "milliseconds since 1850-01-01 00:00:00.5",
    "microseconds since 2000-01-01",
    "days since 2000-02-29",
    "days since 2000-02-30",
    "months since 2000-01-01",
    "common_years since 2000-01-01",
    "days since 1-1-1 0:0:0",
    "days since 2000-01-01 00:00:00 -0130",
    "seconds since 1582-10-10",
    "days since 0000-01-01",
    "Days Since 1850-1-1 UTC",
    "hours since 9999-12-31 23:00:00",
]

DATES = [
    (2020, 1, 31, 6, 0, 0, 0),
    (2020, 2, 29, 0, 0, 0, 0),
    (2019, 2, 29, 0, 0, 0, 0),
    (2000, 2, 30, 12, 0, 0, 0),
    (1900, 2, 29, 0, 0, 0, 0),
    (1582, 10, 4, 23, 59, 59, 0),
    (1582, 10, 10, 0, 0, 0, 0),
    (1582, 10, 15, 0, 0, 0, 0),
    (1500, 2, 29, 0, 0, 0, 0),
    (1000, 6, 15, 12, 34, 56, 789000),
    (1, 1, 1, 0, 0, 0, 0),
    (1, 12, 31, 0, 0, 0, 0),
    (0, 1, 1, 0, 0, 0, 0),
    (-1, 12, 31, 0, 0, 0, 0),
    (-4713, 1, 1, 12, 0, 0, 0),
    (1970, 1, 1, 0, 0, 0, 1),
    (1979, 1, 1, 0, 0, 0, 0),
    (2100, 3, 1, 0, 0, 0, 0),
    (9999, 12, 31, 23, 59, 59, 0),
    (9999, 12, 30, 0, 0, 0, 0),
]

VALUES = [0, 1, -1, 0.5, -0.5, 1e-6, 36524.25, -730000.75, 150000, 1234567.891, 2.5e9, -2.5e9,
          1e15, 0.1, 1.0000001, 59.999999]


def fields(d):
    return [d.year, d.month, d.day, d.hour, d.minute, d.second, d.microsecond]


def main():
    cases = []
    for units in UNITS:
        for calendar in CALENDARS:
            case = {"units": units, "calendar": calendar}
            try:
                reference = cftime.num2date(0, units, calendar)
                if calendar in NO_YEAR_ZERO and "0000-" in units:
                    raise ValueError("year zero")
            except Exception as error:  # noqa: BLE001 - any refusal is an expected error
                case["ok"] = False
                case["error"] = str(error)
                cases.append(case)
                continue
            case["ok"] = True
            case["reference"] = fields(reference)
            encoded = []
            for date in DATES:
                entry = {"date": list(date)}
                try:
                    value = cftime.datetime(*date, calendar=calendar,
                                            has_year_zero=calendar not in NO_YEAR_ZERO)
                    number = cftime.date2num(value, units, calendar)
                    entry["value"] = float(number)
                    entry["decoded"] = fields(cftime.num2date(float(number), units, calendar))
                except Exception as error:  # noqa: BLE001
                    entry["error"] = str(error)
                encoded.append(entry)
            case["encode"] = encoded
            decoded = []
            for number in VALUES:
                try:
                    date = cftime.num2date(number, units, calendar)
                    if abs(date.year) > 100000:
                        continue
                    decoded.append({"value": number, "date": fields(date),
                                    "iso": date.isoformat()})
                except Exception:  # noqa: BLE001 - out of cftime's range: not compared
                    continue
            case["decode"] = decoded
            cases.append(case)
    with open(sys.argv[1], "w") as out:
        json.dump(cases, out)


if __name__ == "__main__":
    main()
