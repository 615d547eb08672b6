#!/usr/bin/env bash
# Smoke-checks the running test servers (versitygw, nginx, both faultproxies) with curl; prints one line per check, exits 1 on any failure.
set -euo pipefail
#
# Usage: tests/servers/smoke.sh [STATE_DIR]   (after start.sh; reads STATE_DIR/env)
# Creates one bucket floe-smoke-<pid>-<random> and leaves it (start.sh wipes the state dir).
# Proxy rules it adds match only that bucket and expire after one use, so a test suite may share the servers.
# curl 7.88 --aws-sigv4 notes: it does not add x-amz-content-sha256 (versitygw requires it), it does not sort
# query parameters (write them pre-sorted), and "?uploads" must be written "?uploads=".

STATE="${1:-${FLOE_TEST_STATE:-/tmp/floe-test-servers}}"
# shellcheck disable=SC1091
. "$STATE/env"

tmp="$(mktemp -d)"
trap 'rm -rf -- "$tmp"' EXIT
fails=0
ok() { printf 'ok    %-58s %s\n' "$1" "$2"; }
bad() { printf 'FAIL  %-58s %s\n' "$1" "$2"; fails=$((fails + 1)); }
# check DESC EXPECTED ACTUAL
check() { if [ "$2" = "$3" ]; then ok "$1" "$3"; else bad "$1" "expected $2, got $3"; fi; }
# fact DESC ACTUAL: behaviour worth knowing, not a pass/fail condition
fact() { printf 'fact  %-58s %s\n' "$1" "$2"; }

EMPTY_SHA=e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855
SIGN=(--aws-sigv4 "aws:amz:${FLOE_TEST_S3_REGION:-us-east-1}:s3" --user "$FLOE_TEST_S3_ACCESS_KEY:$FLOE_TEST_S3_SECRET_KEY")
CURL=(curl -s --max-time 20)

# req URL [curl args]: status code on stdout; body in $tmp/body, headers in $tmp/hdr.
req() { local url=$1; shift; "${CURL[@]}" -o "$tmp/body" -D "$tmp/hdr" -w '%{http_code}' "$@" "$url" || true; }
# s3 METHOD PATH [curl args]: signed request; payload hash $HASH (default: that of an empty body).
s3() { local m=$1 p=$2; shift 2; req "$FLOE_TEST_S3_ENDPOINT$p" -X "$m" "${SIGN[@]}" -H "x-amz-content-sha256: ${HASH:-$EMPTY_SHA}" "$@"; }
# s3put PATH DATA [curl args]: signed PUT of DATA with its payload hash.
s3put() {
  local p=$1 d=$2; shift 2
  req "$FLOE_TEST_S3_ENDPOINT$p" -X PUT "${SIGN[@]}" \
    -H "x-amz-content-sha256: $(printf '%s' "$d" | sha256sum | cut -d' ' -f1)" --data-binary "$d" "$@"
}
header() { grep -i "^$1:" "$tmp/hdr" | head -n1 | cut -d' ' -f2- | tr -d '\r'; }
etag_of() { s3 HEAD "$1" -I > /dev/null; header ETag | tr -d '"'; }
code() { grep -o '<Code>[^<]*' "$tmp/body" | sed 's/<Code>//' || true; }
body() { cat "$tmp/body"; }

b="floe-smoke-$$-$RANDOM"
echo "== versitygw $FLOE_TEST_S3_ENDPOINT (bucket $b)"
check "CreateBucket" 200 "$(s3 PUT "/$b")"
check "PUT If-None-Match: * (new key)" 200 "$(s3put "/$b/ref" v1 -H 'If-None-Match: *')"
check "PUT If-None-Match: * (existing key) -> 412" 412 "$(s3put "/$b/ref" v1 -H 'If-None-Match: *')"
e1="$(etag_of "/$b/ref")"
check "PUT If-Match: wrong ETag -> 412" 412 "$(s3put "/$b/ref" v2 -H 'If-Match: "0123456789abcdef0123456789abcdef"')"
check "PUT If-Match: \"current\" (quoted) -> 200" 200 "$(s3put "/$b/ref" v2 -H "If-Match: \"$e1\"")"
e2="$(etag_of "/$b/ref")"
check "PUT If-Match: current (unquoted) -> 200" 200 "$(s3put "/$b/ref" v3 -H "If-Match: $e2")"
check "PUT If-Match: stale (unquoted) -> 412" 412 "$(s3put "/$b/ref" v4 -H "If-Match: $e2")"
check "PUT If-Match: \"stale\" (quoted) -> 412" 412 "$(s3put "/$b/ref" v4 -H "If-Match: \"$e2\"")"
fact "PUT If-Match on a missing key" "$(s3put "/$b/nokey" v1 -H "If-Match: \"$e2\"") $(code)"
fact "PUT If-Match: * on an existing key" "$(s3put "/$b/ref" v5 -H 'If-Match: *') $(code)"
fact "PUT If-None-Match: \"etag\" (not *)" "$(s3put "/$b/ref" v5 -H "If-None-Match: \"$e2\"") $(code)"

s3put "/$b/r" abcdef > /dev/null
check "GET Range bytes=1-3 -> 206" "206 bytes 1-3/6 bcd" "$(s3 GET "/$b/r" -H 'Range: bytes=1-3') $(header Content-Range) $(body)"
check "GET Range bytes=-2 -> 206" "206 bytes 4-5/6 ef" "$(s3 GET "/$b/r" -H 'Range: bytes=-2') $(header Content-Range) $(body)"
check "GET Range bytes=4-100 -> 206 clamped" "206 bytes 4-5/6" "$(s3 GET "/$b/r" -H 'Range: bytes=4-100') $(header Content-Range)"
check "GET Range bytes=100-200 -> 416" "416 InvalidRange" "$(s3 GET "/$b/r" -H 'Range: bytes=100-200') $(code)"
fact "GET Range bytes=0-1,3-4 (multi-range)" "$(s3 GET "/$b/r" -H 'Range: bytes=0-1,3-4') body=$(body)"
er="$(etag_of "/$b/r")"
check "GET If-None-Match: \"etag\" -> 304" 304 "$(s3 GET "/$b/r" -H "If-None-Match: \"$er\"")"
check "GET Range + If-Match: wrong -> 412" 412 "$(s3 GET "/$b/r" -H 'If-Match: "nope"' -H 'Range: bytes=0-1')"
check "GET with wrong secret -> 403" "403 SignatureDoesNotMatch" \
  "$(req "$FLOE_TEST_S3_ENDPOINT/$b/r" --aws-sigv4 "aws:amz:us-east-1:s3" --user "$FLOE_TEST_S3_ACCESS_KEY:wrong" -H "x-amz-content-sha256: $EMPTY_SHA") $(code)"
check "PUT with wrong payload hash -> 400" "400 XAmzContentSHA256Mismatch" "$(s3 PUT "/$b/bad" --data-binary hello) $(code)"
check "PUT UNSIGNED-PAYLOAD -> 200" 200 "$(HASH=UNSIGNED-PAYLOAD s3 PUT "/$b/unsigned" --data-binary hello)"
check "GET without x-amz-content-sha256 -> 400" 400 "$(req "$FLOE_TEST_S3_ENDPOINT/$b/r" "${SIGN[@]}")"
fact "GET with a signed x-amz-security-token header" "$(s3 GET "/$b/r" -H 'x-amz-security-token: not-a-real-token') $(code)"

check "anonymous GET (private bucket) -> 403" "403 AccessDenied" "$(req "$FLOE_TEST_S3_ENDPOINT/$b/r") $(code)"
policy="{\"Version\":\"2012-10-17\",\"Statement\":[{\"Effect\":\"Allow\",\"Principal\":\"*\",\"Action\":[\"s3:GetObject\",\"s3:ListBucket\"],\"Resource\":[\"arn:aws:s3:::$b\",\"arn:aws:s3:::$b/*\"]}]}"
check "PutBucketPolicy (public read) -> 204" 204 "$(s3put "/$b?policy=" "$policy")"
check "anonymous GET after policy -> 200" "200 abcdef" "$(req "$FLOE_TEST_S3_ENDPOINT/$b/r") $(body)"
check "anonymous ranged GET after policy -> 206" "206 bc" "$(req "$FLOE_TEST_S3_ENDPOINT/$b/r" -H 'Range: bytes=1-2') $(body)"
check "anonymous ListObjectsV2 after policy -> 200" 200 "$(req "$FLOE_TEST_S3_ENDPOINT/$b?list-type=2")"
check "anonymous PUT after read policy -> 403" 403 "$(req "$FLOE_TEST_S3_ENDPOINT/$b/anon" -X PUT --data-binary x)"
fact "PutBucketAcl public-read (default ownership)" "$(s3 PUT "/$b?acl=" -H 'x-amz-acl: public-read') $(code)"

for i in 1 2 3 4 5; do s3put "/$b/dir/k$i" x > /dev/null; done
s3 GET "/$b?list-type=2&max-keys=2&prefix=dir%2F" > /dev/null
page1="$(grep -o '<Key>[^<]*\|<IsTruncated>[^<]*' "$tmp/body" | sed 's/<[^>]*>//' | tr '\n' ' ')"
token="$(grep -o '<NextContinuationToken>[^<]*' "$tmp/body" | sed 's/<[^>]*>//')"
check "ListObjectsV2 max-keys=2 page 1" "true dir/k1 dir/k2 " "$page1"
token_q="$(python3 -c 'import sys, urllib.parse; print(urllib.parse.quote(sys.argv[1], safe="-_.~"))' "$token")"
s3 GET "/$b?continuation-token=$token_q&list-type=2&max-keys=2&prefix=dir%2F" > /dev/null
check "ListObjectsV2 page 2 via continuation-token" "true dir/k3 dir/k4 " \
  "$(grep -o '<Key>[^<]*\|<IsTruncated>[^<]*' "$tmp/body" | sed 's/<[^>]*>//' | tr '\n' ' ')"
s3 GET "/$b?list-type=2&max-keys=5000" > /dev/null
check "ListObjectsV2 max-keys=5000 is clamped" "1000" "$(grep -o '<MaxKeys>[^<]*' "$tmp/body" | sed 's/<[^>]*>//')"
s3 GET "/$b?delimiter=%2F&list-type=2" > /dev/null
check "ListObjectsV2 delimiter=/ -> CommonPrefixes" "dir/" "$(grep -o '<Prefix>[^<]*' "$tmp/body" | sed 's/<[^>]*>//' | grep . || true)"

# multipart KEY FILE1 FILE2 [complete-args]: prints the CompleteMultipartUpload status and S3 error code.
head -c 5242880 /dev/urandom > "$tmp/p1"
head -c 1000 /dev/urandom > "$tmp/p2"
multipart() {
  local key=$1 f1=$2 f2=$3 up e1 e2 xml; shift 3
  s3 POST "/$b/$key?uploads=" > /dev/null
  up="$(grep -o '<UploadId>[^<]*' "$tmp/body" | sed 's/<[^>]*>//')"
  HASH=UNSIGNED-PAYLOAD s3 PUT "/$b/$key?partNumber=1&uploadId=$up" --data-binary "@$f1" > /dev/null
  e1="$(header ETag)"
  HASH=UNSIGNED-PAYLOAD s3 PUT "/$b/$key?partNumber=2&uploadId=$up" --data-binary "@$f2" > /dev/null
  e2="$(header ETag)"
  xml="<CompleteMultipartUpload><Part><PartNumber>1</PartNumber><ETag>$e1</ETag></Part><Part><PartNumber>2</PartNumber><ETag>$e2</ETag></Part></CompleteMultipartUpload>"
  echo "$(HASH=UNSIGNED-PAYLOAD s3 POST "/$b/$key?uploadId=$up" --data-binary "$xml" "$@") $(code)"
}
check "multipart 1000 B + 1000 B -> EntityTooSmall" "400 EntityTooSmall" "$(multipart small "$tmp/p2" "$tmp/p2")"
check "multipart 5 MiB + 1000 B -> 200" "200 " "$(multipart big "$tmp/p1" "$tmp/p2")"
check "multipart object: size and ETag suffix" "5243880 -2" "$(s3 HEAD "/$b/big" -I > /dev/null; header Content-Length) $(header ETag | tr -d '"' | grep -o -- '-2$')"
s3 GET "/$b/big" -H 'Range: bytes=5242870-5242889' > /dev/null
check "range across the part boundary" same "$(cmp -s "$tmp/body" <(cat "$tmp/p1" "$tmp/p2" | tail -c +5242871 | head -c 20) && echo same || echo differs)"
check "CompleteMultipartUpload If-None-Match: * onto existing -> 412" "412 PreconditionFailed" "$(multipart big "$tmp/p1" "$tmp/p2" -H 'If-None-Match: *')"
check "CompleteMultipartUpload If-Match: wrong -> 412" "412 PreconditionFailed" "$(multipart big "$tmp/p1" "$tmp/p2" -H 'If-Match: "0123456789abcdef0123456789abcdef-2"')"

echo "== faultproxy -> versitygw $FLOE_TEST_S3_PROXY"
P="$FLOE_TEST_S3_PROXY"
check "signed ranged GET through the proxy (Host kept)" "206 bcd" \
  "$(req "$P/$b/r" "${SIGN[@]}" -H "x-amz-content-sha256: $EMPTY_SHA" -H 'Range: bytes=1-3') $(body)"
check "signed ListObjectsV2 with encoded query through the proxy" 200 \
  "$(req "$P/$b?list-type=2&prefix=dir%2Fk" "${SIGN[@]}" -H "x-amz-content-sha256: $EMPTY_SHA")"
check "add 503 rule" 201 "$(req "$P/__faultproxy/rules" -X POST -d "{\"match\":\"/$b/r\",\"action\":\"503\",\"count\":1}")"
check "injected 503 SlowDown" "503 SlowDown" "$(req "$P/$b/r" "${SIGN[@]}" -H "x-amz-content-sha256: $EMPTY_SHA") $(code)"
check "rule expired after count" 200 "$(req "$P/$b/r" "${SIGN[@]}" -H "x-amz-content-sha256: $EMPTY_SHA")"
req "$P/__faultproxy/rules" -X POST -d "{\"match\":\"/$b/big\",\"action\":\"truncate\",\"count\":1}" > /dev/null
rc=0; "${CURL[@]}" -o /dev/null "${SIGN[@]}" -H "x-amz-content-sha256: $EMPTY_SHA" "$P/$b/big" || rc=$?
check "truncated body is a curl error (18 partial / 56 recv)" yes "$( [ $rc = 18 ] || [ $rc = 56 ] && echo yes || echo "no (rc $rc)")"
req "$P/__faultproxy/rules" -X POST -d "{\"match\":\"/$b/r\",\"action\":\"reset\",\"count\":1}" > /dev/null
rc=0; "${CURL[@]}" -o /dev/null "${SIGN[@]}" -H "x-amz-content-sha256: $EMPTY_SHA" "$P/$b/r" || rc=$?
check "reset is a curl error (56 recv / 52 empty reply)" yes "$( [ $rc = 56 ] || [ $rc = 52 ] && echo yes || echo "no (rc $rc)")"
check "stats endpoint" 200 "$(req "$P/__faultproxy/stats")"
fact "proxy stats" "$(body)"

for H in "$FLOE_TEST_HTTP_ENDPOINT" "$FLOE_TEST_HTTP_PROXY"; do
  echo "== nginx $H"
  d="smoke-$$"
  mkdir -p "$FLOE_TEST_HTTP_ROOT/$d" "$FLOE_TEST_HTTP_ROOT/private"
  head -c 133436 /dev/urandom > "$FLOE_TEST_HTTP_ROOT/$d/f.nc"
  echo secret > "$FLOE_TEST_HTTP_ROOT/private/x"
  req "$H/$d/f.nc" -I > /dev/null
  check "HEAD: Accept-Ranges and ETag" "bytes yes" "$(header Accept-Ranges) $(header ETag | grep -q '^"' && echo yes)"
  check "Range bytes=0-3 -> 206" "206 bytes 0-3/133436" "$(req "$H/$d/f.nc" -H 'Range: bytes=0-3') $(header Content-Range)"
  check "range bytes match the file" same "$(cmp -s "$tmp/body" <(head -c 4 "$FLOE_TEST_HTTP_ROOT/$d/f.nc") && echo same || echo differs)"
  check "Range bytes=-16 -> 206" "206 bytes 133420-133435/133436" "$(req "$H/$d/f.nc" -H 'Range: bytes=-16') $(header Content-Range)"
  check "Range past the end -> 416" 416 "$(req "$H/$d/f.nc" -H 'Range: bytes=999999-')"
  check "two ranges -> multipart/byteranges" "206 multipart/byteranges" "$(req "$H/$d/f.nc" -H 'Range: bytes=0-3,100-103') $(header Content-Type | cut -d';' -f1)"
  check "/private/ -> 403" 403 "$(req "$H/private/x")"
  check "missing -> 404" 404 "$(req "$H/$d/nope")"
  rm -rf -- "${FLOE_TEST_HTTP_ROOT:?}/$d"
done

if [ $fails -gt 0 ]; then
  echo "smoke.sh: $fails check(s) failed" >&2
  exit 1
fi
echo "smoke.sh: all checks passed"
