#!/usr/bin/env bash
# Writes the seed corpora of the GRIB fuzz targets (fuzz/corpus/grib_*) with ecCodes' grib_filter
# (libeccodes-tools) from its samples: 12 x 8 fields (PNG 24 x 16) in every packing, with a bitmap, in scanning
# modes 0, 64 and 80; GRIB1 on lat/lon and Gaussian grids; and, spliced here, a multi-field message
# whose second field reuses the bitmap (indicator 254) and a complex-packed field with missing-value
# management 1. Usage: fuzz/make_grib_seeds.sh
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
corpus="$here/corpus"
samples="$(codes_info -s)"
work="$(mktemp -d)"
trap 'rm -rf -- "$work"' EXIT

ni=12
nj=8
values() {  # ni x nj values; every 11th is the missing value 9999 when $1 is 1
  awk -v missing="$1" -v n=$((ni * nj)) 'BEGIN { for (i = 0; i < n; i++) {
    v = 250 + 10 * sin(0.4 * i) + 0.1 * i; if (missing && i % 11 == 3) v = 9999;
    printf("%s%.3f", (i ? "," : ""), v) } }'
}

# seed TARGET NAME SAMPLE PACKING BITS SCANNING BITMAP [extra grib_filter statements]
seed() {
  local target="$1" name="$2" sample="$3" packing="$4" bits="$5" scanning="$6" bitmap="$7" extra="${8:-}"
  mkdir -p "$corpus/$target"
  {
    echo "set Ni = $ni; set Nj = $nj;"
    [ "$scanning" != 0 ] && echo "set scanningMode = $scanning;"
    [ "$bitmap" = 1 ] && echo "set bitmapPresent = 1; set missingValue = 9999;"
    echo "set bitsPerValue = $bits;"
    echo "set values = { $(values "$bitmap") };"
    [ -n "$packing" ] && echo "set packingType = \"$packing\";"
    echo "$extra"
    echo "write \"$corpus/$target/$name\";"
  } > "$work/rules"
  grib_filter "$work/rules" "$samples/$sample.tmpl"
}

seed grib_simple simple12_bitmap regular_ll_sfc_grib2 grid_simple 12 64 1
seed grib_simple simple7_alternating regular_ll_sfc_grib2 grid_simple 7 80 0
seed grib_simple simple32 regular_ll_sfc_grib2 grid_simple 32 0 0
seed grib_complex complex_bitmap regular_ll_sfc_grib2 grid_complex 12 0 1
seed grib_complex spatial_differencing regular_ll_sfc_grib2 grid_complex_spatial_differencing 16 64 0
seed grib_ieee ieee32_bitmap regular_ll_sfc_grib2 grid_ieee 32 0 1
seed grib_ieee ieee64 regular_ll_sfc_grib2 grid_ieee 32 64 0 "set precision = 2; set values = { $(values 0) };"
seed grib_jpeg2000 jpeg_bitmap regular_ll_sfc_grib2 grid_jpeg 12 0 1
seed grib_jpeg2000 jpeg16 regular_ll_sfc_grib2 grid_jpeg 16 64 0
ni=24 nj=16  # ecCodes' PNG encoder aborts on smaller fields
seed grib_png png12_bitmap regular_ll_sfc_grib2 grid_png 12 0 1
seed grib_png png8 regular_ll_sfc_grib2 grid_png 8 64 0
ni=12 nj=8
seed grib_ccsds ccsds12_bitmap regular_ll_sfc_grib2 grid_ccsds 12 64 1
seed grib_ccsds ccsds24 regular_ll_sfc_grib2 grid_ccsds 24 0 0
seed grib1 latlon16_bitmap regular_ll_sfc_grib1 "" 16 64 1
seed grib1 latlon8 regular_ll_sfc_grib1 "" 8 0 0
seed grib_message header regular_ll_sfc_grib2 grid_complex_spatial_differencing 12 64 1 \
  "set productDefinitionTemplateNumber = 11;"
seed grib_message polar polar_stereographic_sfc_grib2 grid_simple 10 64 0

# Spliced by hand: a two-field message (sections 4-7 repeated; the second bitmap is indicator
# 254) and complex packing with missing-value management 1, which ecCodes never writes.
python3 - "$corpus" <<'EOF'
import os, struct, sys
corpus = sys.argv[1]

def sections(message):
    at, out = 16, []
    while message[at:at + 4] != b"7777":
        length = struct.unpack(">I", message[at:at + 4])[0]
        out.append(message[at:at + length])
        at += length
    return out

def join(parts, header):
    body = b"".join(parts)
    total = 16 + len(body) + 4
    return header[:8] + struct.pack(">Q", total) + body + b"7777"

first = open(os.path.join(corpus, "grib_complex", "complex_bitmap"), "rb").read()
second = open(os.path.join(corpus, "grib_ccsds", "ccsds12_bitmap"), "rb").read()
a, b = sections(first), sections(second)
# first: 1 3 4 5 6 7; second field: 4 5 6(254) 7
reuse = struct.pack(">IBB", 6, 6, 254)
multi = join(a + [b[2], b[3], reuse, b[5]], first)
for target in ("grib_message", "grib_complex"):
    with open(os.path.join(corpus, target, "multi_field_254"), "wb") as out:
        out.write(multi)

plain = open(os.path.join(corpus, "grib_complex", "spatial_differencing"), "rb").read()
parts = sections(plain)
representation = bytearray(parts[3])
representation[22] = 1  # octet 23: missing value management 1 (all-ones values are missing)
with open(os.path.join(corpus, "grib_complex", "missing_management_1"), "wb") as out:
    out.write(join(parts[:3] + [bytes(representation)] + parts[4:], plain))
EOF
ls -l "$corpus"/grib*/
