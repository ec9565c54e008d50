#!/usr/bin/env bats
# `ocspstaple fetch` at fleet scale: cacheable GET requests, kept-alive connections, concurrency
# bounded per responder, one deadline per responder, and a real HTTP cache (squid) in front of
# the responder. The responders are tests/helpers/http_stub.py on 127.0.0.1, logging what they
# receive (one JSON line per connection and per request).

load helpers/common
load helpers/responder

setup() {
    CONF="$BATS_TEST_TMPDIR/ocspstaple.conf"
    OUT="$BATS_TEST_TMPDIR/ocsp"
    STUBLOG="$BATS_TEST_TMPDIR/requests.jsonl"
    mkdir -p "$OUT"
}

teardown() {
    stop_hosts
    if [ -n "${SQUID_DIR:-}" ]; then rm -rf "$SQUID_DIR"; fi
}

# entries N CERT URL [OUTDIR] - N staples entries for CERT (a chain file of $FX) asking URL,
# responses OUTDIR/CERT.I.der (default $OUT).
entries() {
    local n=$1 cert=$2 url=$3 dir=${4:-$OUT} i
    for i in $(seq 1 "$n"); do
        printf '{ certificate = "%s"; response = "%s/%s.%d.der"; responder = "%s"; },\n' \
            "$FX/$cert" "$dir" "$cert" "$i" "$url"
    done
}

# conf SETTINGS ENTRIES... - the configuration: top-level SETTINGS, then the entries.
conf() {
    local settings=$1
    shift
    {
        echo "$settings"
        echo "staples = ("
        printf '%s\n' "$@" | sed '$ s/,$//'
        echo ");"
    } | write_conf "$CONF"
}

# requests FIELD [EVENT] - one line per logged request (or EVENT), its FIELD.
requests() {
    python3 -c '
import json, sys
for line in open(sys.argv[1]):
    e = json.loads(line)
    if e["event"] == sys.argv[3]:
        print(e.get(sys.argv[2]))' "$STUBLOG" "$1" "${2:-request}"
}

# millis - the time in milliseconds.
millis() {
    echo $(($(date +%s%N) / 1000000))
}

@test "requests are GET: the URL-encoded request decodes to the right CertID; no '?', Host, User-Agent" {
    STUB_ARGS="--log $STUBLOG" start_responder index.txt
    conf "" "$(entries 1 rsa-chain.pem "$RESPONDER_URL")" "$(entries 1 ec-chain.pem "$RESPONDER_URL")"
    run ocspstaple_cmd fetch -c "$CONF"
    assert_success
    run requests method
    assert_output "$(printf 'GET\nGET')"
    run requests path
    refute_output --partial "?"
    run requests host
    assert_output "$(printf '127.0.0.1\n127.0.0.1')"
    local version
    version=$(ocspstaple_cmd --version | awk '{ print $2 }')
    run requests user_agent
    assert_output "$(printf 'ocspstaple/%s\nocspstaple/%s' "$version" "$version")"
    # Each path is the base64 of a DER OCSP request for one of the two certificates.
    local serials=" " p
    for p in $(requests path); do
        python3 -c 'import base64, sys, urllib.parse
sys.stdout.buffer.write(base64.b64decode(urllib.parse.unquote(sys.argv[1].lstrip("/"))))' \
            "$p" > "$BATS_TEST_TMPDIR/req.der"
        serials+=$(openssl ocsp -reqin "$BATS_TEST_TMPDIR/req.der" -req_text |
            awk '/Serial Number:/ { print $3 }')" "
    done
    local rsa ec
    rsa=$(openssl x509 -in "$FX/rsa.pem" -noout -serial | cut -d= -f2)
    ec=$(openssl x509 -in "$FX/ec.pem" -noout -serial | cut -d= -f2)
    echo "serials asked: $serials; rsa $rsa, ec $ec"
    [[ "${serials^^}" == *" ${rsa^^} "* ]]
    [[ "${serials^^}" == *" ${ec^^} "* ]]
}

@test "the responder URL's own path and query are kept: path/REQUEST?query" {
    STUB_ARGS="--log $STUBLOG" start_responder index.txt
    conf "" "$(entries 1 rsa-chain.pem "${RESPONDER_URL}ocsp/ca1?tenant=a")"
    run ocspstaple_cmd fetch -c "$CONF"
    assert_success
    run requests path
    assert_output --regexp '^/ocsp/ca1/[A-Za-z0-9%]+\?tenant=a$'
}

@test "connections are kept alive: 12 requests over at most fetch_per_responder connections" {
    STUB_ARGS="--log $STUBLOG" start_responder index.txt
    conf "fetch_per_responder = 2; fetch_concurrency = 8;" "$(entries 12 rsa-chain.pem "$RESPONDER_URL")"
    run ocspstaple_cmd fetch -c "$CONF"
    assert_success
    run bash -c "ls '$OUT' | wc -l"
    assert_output 12
    [ "$(requests method | wc -l)" -eq 12 ]
    local conns
    conns=$(requests conn accept | wc -l)
    echo "connections: $conns"
    [ "$conns" -ge 1 ] && [ "$conns" -le 2 ]
}

@test "a responder refusing GET (405) gets the request by POST, at the URL's path, without '?'" {
    STUB_ARGS="--log $STUBLOG --refuse-get" start_responder index.txt
    conf "" "$(entries 1 rsa-chain.pem "$RESPONDER_URL")"
    run ocspstaple_cmd fetch -c "$CONF"
    assert_success
    assert_output --partial "written from $RESPONDER_URL: good"
    run requests method
    assert_output "$(printf 'GET\nPOST')"
    run requests path
    assert_line --index 1 "/"
}

# refused_get STATUS - a responder answering GET with STATUS gets the request again by POST.
refused_get() {
    STUB_ARGS="--log $STUBLOG --refuse-get $1" start_responder index.txt
    conf "" "$(entries 1 rsa-chain.pem "$RESPONDER_URL")"
    run ocspstaple_cmd fetch -c "$CONF"
    assert_success
    assert_output --partial "written from $RESPONDER_URL: good"
    run requests method
    assert_output "$(printf 'GET\nPOST')"
}

@test "a responder refusing GET with 414 (URI too long) gets the request by POST" {
    refused_get 414
}

@test "a responder refusing GET with 501 (not implemented) gets the request by POST" {
    refused_get 501
}

@test "a GET answered with another error (500) is not retried by POST" {
    start_stub 500 --log "$STUBLOG"
    conf "" "$(entries 1 rsa-chain.pem "$RESPONDER_URL")"
    run ocspstaple_cmd fetch -c "$CONF"
    assert_failure 2
    assert_output --partial "the responder answered HTTP 500"
    run requests method
    assert_output GET
}

@test "a GET URL over 255 bytes goes by POST at once; one of exactly 255 bytes by GET (RFC 5019)" {
    # A request for one certificate encodes to about 100 bytes, so only a long responder URL
    # (scheme, server and path count, RFC 5019 section 5) makes the GET URL too long.
    STUB_ARGS="--log $STUBLOG" start_responder index.txt
    conf "" "$(entries 1 rsa-chain.pem "$RESPONDER_URL")"
    ocspstaple_cmd fetch -c "$CONF"
    local encoded origin=${RESPONDER_URL%/} pad
    encoded=$(requests path | head -n 1)
    encoded=${encoded#/}
    # http://127.0.0.1:PORT + /ppp...p + / + ENCODED = 255 bytes
    pad=$((255 - ${#origin} - 2 - ${#encoded}))
    [ "$pad" -gt 0 ]
    local path
    path=/$(head -c "$pad" /dev/zero | tr '\0' p)
    : > "$STUBLOG"
    rm -f "$OUT"/*
    conf "" "$(entries 1 rsa-chain.pem "$origin$path")"
    run ocspstaple_cmd fetch -c "$CONF"
    assert_success
    run requests method
    assert_output GET
    run requests path
    [ $((${#origin} + ${#output})) -eq 255 ]
    : > "$STUBLOG"
    rm -f "$OUT"/*
    conf "" "$(entries 1 rsa-chain.pem "${origin}${path}p")"
    run ocspstaple_cmd fetch -c "$CONF"
    assert_success
    assert_output --partial "written from ${origin}${path}p: good"
    run requests method
    assert_output POST
    run requests path
    assert_output "${path}p"
}

@test "a never-answering responder costs one fetch_timeout, not one per entry; others are not delayed" {
    start_responder index.txt
    local live=$RESPONDER_URL i
    start_stub hang
    for i in $(seq 1 20); do cp "$FX/rsa-good.der" "$OUT/rsa-chain.pem.$i.der"; done
    conf "fetch_timeout = 2;" "$(entries 20 rsa-chain.pem "$RESPONDER_URL")" \
        "$(entries 1 ec-chain.pem "$live")"
    local start took
    start=$(millis)
    run ocspstaple_cmd fetch -c "$CONF" --force
    took=$(($(millis) - start))
    echo "took ${took} ms"
    assert_failure 1
    assert_output --partial "$RESPONDER_URL gave no answer within 2 s; 16 more request(s) to it were not made in this run"
    assert_output --partial "written from $live: good"
    # One at a time that was 20 x 2 s; now about one timeout (a generous bound for a loaded box).
    [ "$took" -lt 6000 ]
    for i in $(seq 1 20); do cmp "$FX/rsa-good.der" "$OUT/rsa-chain.pem.$i.der"; done
}

@test "a slow responder: 50 entries at 100 ms each, 8 in flight, take about 50 x 100 ms / 8" {
    make_response "$BATS_TEST_TMPDIR/canned.der" +0 7
    start_stub canned --file "$BATS_TEST_TMPDIR/canned.der" --latency 100 --log "$STUBLOG"
    conf "fetch_concurrency = 8; fetch_per_responder = 8;" "$(entries 50 rsa-chain.pem "$RESPONDER_URL")"
    local start took
    start=$(millis)
    run ocspstaple_cmd fetch -c "$CONF"
    took=$(($(millis) - start))
    echo "took ${took} ms (floor 625 ms; one at a time: at least 5000 ms)"
    assert_success
    [ "$(requests method | wc -l)" -eq 50 ]
    [ "$(requests conn accept | wc -l)" -le 8 ]
    [ "$took" -lt 3000 ]
}

@test "fetch_concurrency bounds the requests in flight, whatever fetch_per_responder says" {
    make_response "$BATS_TEST_TMPDIR/canned.der" +0 7
    start_stub canned --file "$BATS_TEST_TMPDIR/canned.der" --latency 100 --log "$STUBLOG"
    conf "fetch_concurrency = 2; fetch_per_responder = 8;" "$(entries 12 rsa-chain.pem "$RESPONDER_URL")"
    local start took
    start=$(millis)
    run ocspstaple_cmd fetch -c "$CONF"
    took=$(($(millis) - start))
    echo "took ${took} ms (12 x 100 ms / 2 = 600 ms at least)"
    assert_success
    [ "$(requests method | wc -l)" -eq 12 ]
    # Two requests at a time need no more than two connections, and at least 600 ms.
    [ "$(requests conn accept | wc -l)" -le 2 ]
    [ "$took" -ge 600 ]
}

# start_squid - a private squid on 127.0.0.1:$SQUID_PORT, memory cache only: a site's caching
# proxy in front of the CA's responders.
start_squid() {
    SQUID_DIR=$(mktemp -d /tmp/ocspstaple-squid.XXXXXX)
    SQUID_PORT=$(free_port)
    local user
    user=$(id -un)
    if [ "$(id -u)" = 0 ]; then
        user=proxy
        chown proxy "$SQUID_DIR"
    fi
    cat > "$SQUID_DIR/squid.conf" << CONF
http_port 127.0.0.1:$SQUID_PORT
http_access allow localhost
http_access deny all
cache_effective_user $user
cache_mem 16 MB
maximum_object_size_in_memory 64 KB
pid_filename $SQUID_DIR/squid.pid
cache_log $SQUID_DIR/cache.log
access_log stdio:$SQUID_DIR/access.log
cache_store_log none
coredump_dir $SQUID_DIR
visible_hostname localhost
shutdown_lifetime 0 seconds
CONF
    setsid squid -N -f "$SQUID_DIR/squid.conf" > "$SQUID_DIR/stdout.log" 2>&1 < /dev/null 3>&- &
    echo $! >> "$HOSTS_FILE"
    wait_listening "$SQUID_PORT" $! "$SQUID_DIR/stdout.log"
}

@test "behind a caching proxy (squid), a second fetcher is answered from the cache: one request per certificate" {
    command -v squid > /dev/null || skip "squid is not installed (tests/helpers/install-deps.sh test)"
    STUB_ARGS="--log $STUBLOG --max-age 600" start_responder index.txt
    start_squid
    local host dir
    for host in a b; do
        dir="$BATS_TEST_TMPDIR/$host"
        mkdir -p "$dir"
        conf "" "$(entries 1 rsa-chain.pem "$RESPONDER_URL" "$dir")" \
            "$(entries 1 ec-chain.pem "$RESPONDER_URL" "$dir")"
        http_proxy="http://127.0.0.1:$SQUID_PORT" no_proxy="" run ocspstaple_cmd fetch -c "$CONF"
        assert_success
        assert_output --partial "written from"
        [ -s "$dir/rsa-chain.pem.1.der" ] && [ -s "$dir/ec-chain.pem.1.der" ]
    done
    cmp "$BATS_TEST_TMPDIR/a/rsa-chain.pem.1.der" "$BATS_TEST_TMPDIR/b/rsa-chain.pem.1.der"
    cat "$SQUID_DIR/access.log"
    # Four fetches, two certificates: two requests reached the responder, two were cache hits.
    run requests method
    assert_output "$(printf 'GET\nGET')"
    run grep -c "HIT/" "$SQUID_DIR/access.log"
    assert_output 2
}

@test "fetch_concurrency and fetch_per_responder out of range: refused with the reason, defaults kept" {
    STUB_ARGS="--log $STUBLOG" start_responder index.txt
    conf "fetch_concurrency = 0; fetch_per_responder = 65;" "$(entries 3 rsa-chain.pem "$RESPONDER_URL")"
    run ocspstaple_cmd fetch -c "$CONF"
    assert_output --partial "setting 'fetch_concurrency': must be between 1 and 256"
    assert_output --partial "setting 'fetch_per_responder': must be between 1 and 64"
    [ "$(requests method | wc -l)" -eq 3 ]
}

@test "the tests' responder listens on 127.0.0.1 only (not every address, as openssl ocsp -port would)" {
    start_responder index.txt
    local hex
    hex=$(printf '%04X' "$RESPONDER_PORT")
    # Listening sockets (state 0A) on the port, by local address, IPv4 and IPv6.
    run awk -v p=":$hex" '$4 == "0A" && substr($2, length($2) - 4) == p { print $2 }' \
        /proc/net/tcp $([ -e /proc/net/tcp6 ] && echo /proc/net/tcp6)
    assert_output "0100007F:$hex"
}
