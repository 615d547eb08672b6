#!/usr/bin/env bash
# Starts floe's real loopback test servers (versitygw S3, nginx HTTP, two faultproxy instances) under one state dir and writes $STATE/env.
set -euo pipefail
#
# Usage: tests/servers/start.sh [STATE_DIR]      (default ${FLOE_TEST_STATE:-/tmp/floe-test-servers})
# Then:  . "$STATE/env"   ...   tests/servers/stop.sh [STATE_DIR]
#
# Ports (all 127.0.0.1): versitygw 17070, faultproxy->versitygw 17071, nginx 18080, faultproxy->nginx 18081.
# They can be moved (e.g. to run two suites side by side, each with its own state dir) with
# FLOE_TEST_S3_PORT, FLOE_TEST_S3_PROXY_PORT, FLOE_TEST_HTTP_PORT, FLOE_TEST_HTTP_PROXY_PORT.
#
# versitygw notes (v1.7.0, from `versitygw --help`, `versitygw posix --help` and its source):
#  * Only the root account (ROOT_ACCESS_KEY/ROOT_SECRET_KEY) exists; no --iam-dir is needed for it.
#  * There is no STS: nothing in --help issues or validates session tokens. A header-signed
#    x-amz-security-token is treated as just another signed header (its value is never checked);
#    a presigned URL carrying X-Amz-Security-Token is refused ("not supported").
#  * Anonymous (unsigned) requests are served only for buckets made public with PutBucketPolicy
#    (Principal "*") or a public ACL; nothing extra is needed on the command line for that.
#    --disable-acl would make it ignore ACL headers, so it is not used.
#  * --keep-alive is off by default (the server closes every connection after one response);
#    it is turned on here because real S3 keeps connections open and the client's pool must be exercised.
#  * --quiet silences per-request logging on stdout (benchmarks would fill the log otherwise).
#  * The posix backend stores metadata (ETag, content type, ...) in user xattrs; on a file system
#    without them it needs --sidecar DIR. That is detected below by really setting an xattr
#    (FLOE_TEST_VGW_SIDECAR=1 forces the sidecar).
#  * Region defaults to us-east-1 (--region); ListObjectsV2 clamps max-keys to 1000;
#    multipart parts other than the last must be >= 5 MiB (EntityTooSmall otherwise).

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
STATE="${1:-${FLOE_TEST_STATE:-/tmp/floe-test-servers}}"
STATE="$(realpath -m -- "$STATE")"
case "$STATE" in
  /|/tmp|/root|/home|/work|"$HOME"|"$repo"|"$repo"/*) echo "start.sh: refusing to use $STATE as the state dir" >&2; exit 1 ;;
esac

S3_PORT=${FLOE_TEST_S3_PORT:-17070}; S3_PROXY_PORT=${FLOE_TEST_S3_PROXY_PORT:-17071}
HTTP_PORT=${FLOE_TEST_HTTP_PORT:-18080}; HTTP_PROXY_PORT=${FLOE_TEST_HTTP_PROXY_PORT:-18081}
ACCESS_KEY=floe-test-ak; SECRET_KEY=floe-test-sk
WAIT_SECONDS=20

GO="${GO:-$(command -v go || echo /usr/local/go/bin/go)}"
NGINX="${NGINX:-/usr/sbin/nginx}"

# A previous run in this state dir may still be alive: stop it first.
if [ -f "$STATE/pids" ]; then
  "$here/stop.sh" "$STATE"
fi

for port in $S3_PORT $S3_PROXY_PORT $HTTP_PORT $HTTP_PROXY_PORT; do
  if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
    echo "start.sh: 127.0.0.1:$port is already in use (servers from another state dir? run stop.sh on it)" >&2
    exit 1
  fi
done

[ -x "$GO" ] || { echo "start.sh: go not found (looked for $GO)" >&2; exit 1; }
VERSITYGW="${VERSITYGW:-$("$GO" env GOPATH)/bin/versitygw}"
[ -x "$VERSITYGW" ] || { echo "start.sh: $VERSITYGW missing; run scripts/install-deps.sh" >&2; exit 1; }
[ -x "$NGINX" ] || { echo "start.sh: $NGINX missing; run scripts/install-deps.sh (nginx-light)" >&2; exit 1; }

rm -rf -- "$STATE"
mkdir -p "$STATE"/{bin,logs,s3root} "$STATE"/nginx/{logs,data,tmp}
: > "$STATE/pids"

# On failure: show the log of what did not come up, stop whatever was started, exit non-zero.
die() { # message [logfile...]
  local f
  echo "start.sh: $1" >&2
  for f in "${@:2}"; do
    if [ -s "$f" ]; then
      echo "---- last lines of $f ----" >&2
      tail -n 30 "$f" >&2
    fi
  done
  "$here/stop.sh" "$STATE" >&2 || true
  exit 1
}

# record NAME PID BINARY: one line per process; stop.sh checks BINARY against /proc/PID/cmdline.
record() { echo "$1 $2 $3" >> "$STATE/pids"; }

# wait_http NAME PID URL LOG...: bounded wait until URL gives any HTTP answer while PID stays alive.
wait_http() {
  local name=$1 pid=$2 url=$3 deadline=$((SECONDS + WAIT_SECONDS))
  shift 3
  while [ $SECONDS -lt $deadline ]; do
    kill -0 "$pid" 2>/dev/null || die "$name (pid $pid) exited during startup" "$@"
    if curl -s -o /dev/null --max-time 1 "$url"; then return 0; fi
    sleep 0.1
  done
  die "$name did not answer on $url within ${WAIT_SECONDS}s" "$@"
}

# 1. faultproxy binary (go's build cache makes this fast after the first time).
(cd "$repo/tests/tools/faultproxy" && "$GO" build -buildvcs=false -o "$STATE/bin/faultproxy" .) \
  > "$STATE/logs/build-faultproxy.log" 2>&1 || die "building faultproxy failed" "$STATE/logs/build-faultproxy.log"

# 2. versitygw, posix backend; --sidecar only when user xattrs do not work here.
sidecar=()
probe="$STATE/.xattr-probe"
: > "$probe"
if [ "${FLOE_TEST_VGW_SIDECAR:-0}" = 1 ] ||
   ! python3 -c 'import os, sys; os.setxattr(sys.argv[1], "user.floe_probe", b"1")' "$probe" 2>/dev/null; then
  mkdir -p "$STATE/s3sidecar"
  sidecar=(--sidecar "$STATE/s3sidecar")
fi
rm -f -- "$probe"
log="$STATE/logs/versitygw.log"
ROOT_ACCESS_KEY="$ACCESS_KEY" ROOT_SECRET_KEY="$SECRET_KEY" \
  "$VERSITYGW" --port "127.0.0.1:$S3_PORT" --keep-alive --quiet \
  posix "${sidecar[@]}" "$STATE/s3root" < /dev/null > "$log" 2>&1 &
vgw_pid=$!
record versitygw "$vgw_pid" "$VERSITYGW"
wait_http versitygw "$vgw_pid" "http://127.0.0.1:$S3_PORT/" "$log"

# 3. nginx with its own prefix (recipe in /work/shared/docs/test-servers.md).
ngx="$STATE/nginx"
ngx_user=""
if [ "$(id -u)" = 0 ]; then
  # Workers default to nobody; fall back to root when nobody cannot read the data dir.
  chmod 755 "$STATE" "$ngx" "$ngx/data"
  if ! command -v su > /dev/null || ! su -s /bin/sh nobody -c "test -r '$ngx/data' && test -x '$ngx/data'" 2>/dev/null; then
    ngx_user="user root root;"
  fi
fi
cat > "$ngx/nginx.conf" <<CONF
# Generated by tests/servers/start.sh; run: nginx -p $ngx -c $ngx/nginx.conf
$ngx_user
worker_processes 1;
daemon off;
pid logs/nginx.pid;
error_log logs/error.log warn;
events { worker_connections 1024; }
http {
    access_log logs/access.log;
    client_body_temp_path tmp/body; proxy_temp_path tmp/proxy; fastcgi_temp_path tmp/fastcgi;
    uwsgi_temp_path tmp/uwsgi; scgi_temp_path tmp/scgi;
    types { application/octet-stream nc grib grib2 h5 fits; }
    default_type application/octet-stream;
    sendfile on;
    server {
        listen 127.0.0.1:$HTTP_PORT;
        root data;
        max_ranges 16;
        etag on;
        location /private/ { return 403; }
    }
}
CONF
"$NGINX" -p "$ngx" -e logs/error.log -c "$ngx/nginx.conf" < /dev/null > "$STATE/logs/nginx.out" 2>&1 &
ngx_pid=$!
record nginx "$ngx_pid" "$NGINX"
wait_http nginx "$ngx_pid" "http://127.0.0.1:$HTTP_PORT/" "$STATE/logs/nginx.out" "$ngx/logs/error.log"

# 4. fault proxies in front of each server.
start_proxy() { # NAME LISTEN_PORT UPSTREAM_PORT
  local log="$STATE/logs/$1.log"
  "$STATE/bin/faultproxy" -listen "127.0.0.1:$2" -upstream "http://127.0.0.1:$3" < /dev/null > "$log" 2>&1 &
  local pid=$!
  record "$1" "$pid" "$STATE/bin/faultproxy"
  wait_http "$1" "$pid" "http://127.0.0.1:$2/__faultproxy/stats" "$log"
}
start_proxy faultproxy-s3 "$S3_PROXY_PORT" "$S3_PORT"
start_proxy faultproxy-http "$HTTP_PROXY_PORT" "$HTTP_PORT"

# 5. The environment for tests.
{
  printf 'export FLOE_TEST_S3_ENDPOINT=%q\n' "http://127.0.0.1:$S3_PORT"
  printf 'export FLOE_TEST_S3_PROXY=%q\n' "http://127.0.0.1:$S3_PROXY_PORT"
  printf 'export FLOE_TEST_S3_ACCESS_KEY=%q\n' "$ACCESS_KEY"
  printf 'export FLOE_TEST_S3_SECRET_KEY=%q\n' "$SECRET_KEY"
  printf 'export FLOE_TEST_S3_REGION=%q\n' "us-east-1"
  printf 'export FLOE_TEST_HTTP_ENDPOINT=%q\n' "http://127.0.0.1:$HTTP_PORT"
  printf 'export FLOE_TEST_HTTP_PROXY=%q\n' "http://127.0.0.1:$HTTP_PROXY_PORT"
  printf 'export FLOE_TEST_HTTP_ROOT=%q\n' "$ngx/data"
  printf 'export FLOE_TEST_STATE=%q\n' "$STATE"
} > "$STATE/env"

echo "start.sh: servers up (versitygw${sidecar:+ with sidecar}, nginx, 2 faultproxies); env in $STATE/env"
