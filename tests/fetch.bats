#!/usr/bin/env bats
# `ocspstaple fetch` against a real responder on loopback (openssl ocsp) and a misbehaving one.

load helpers/common
load helpers/responder

setup() {
    CONF="$BATS_TEST_TMPDIR/ocspstaple.conf"
    OUT="$BATS_TEST_TMPDIR/ocsp"
    mkdir -p "$OUT"
    RESP="$OUT/mail.der"
}

teardown() {
    stop_hosts
}

# conf_for URL [extra settings] - one entry for rsa.pem whose responder is URL.
conf_for() {
    write_conf "$CONF" <<EOF
${2:-}
staples = ( { certificate = "$FX/rsa-chain.pem"; response = "$RESP"; responder = "$1"; } );
EOF
}

@test "first fetch: the response is written, and the shim would staple it" {
    start_responder index.txt
    conf_for "$RESPONDER_URL"
    run ocspstaple_cmd fetch -c "$CONF"
    assert_success
    assert_output --partial "written from $RESPONDER_URL: good"
    [ -s "$RESP" ]
    run stat -c %a "$RESP"
    assert_output 644
    run ocspstaple_cmd check -c "$CONF"
    assert_success
    assert_output --partial "OK: stapled"
    # No temporary file is left behind.
    run bash -c "ls -A '$OUT'"
    assert_output mail.der
}

@test "the issuer taken from inside the current response builds the request" {
    # No chain in the certificate file and no issuer setting: as the shim, fetch finds the
    # issuer among the current response's certificates (and keeps it after freeing that).
    start_responder index.txt
    cp "$FX/rsa-good.der" "$RESP"
    write_conf "$CONF" <<EOF
staples = ( { certificate = "$FX/rsa.pem"; response = "$RESP"; responder = "$RESPONDER_URL"; } );
EOF
    run ocspstaple_cmd fetch -c "$CONF" --force
    assert_success
    assert_output --partial "written from $RESPONDER_URL: good"
}

@test "no fetch while fresh; --force fetches anyway" {
    start_responder index.txt
    conf_for "$RESPONDER_URL"
    ocspstaple_cmd fetch -c "$CONF"
    local before
    before=$(stat -c %i.%Y "$RESP")
    sleep 1.1
    run ocspstaple_cmd fetch -c "$CONF"
    assert_success
    assert_output --partial "fresh"
    assert_output --partial "next refresh after"
    run stat -c %i.%Y "$RESP"
    assert_output "$before"
    run ocspstaple_cmd fetch -c "$CONF" --force
    assert_success
    assert_output --partial "written from"
    run stat -c %i.%Y "$RESP"
    refute_output "$before"
}

@test "past half of the validity window, with jitter: fetched" {
    start_responder index.txt
    conf_for "$RESPONDER_URL"
    make_response "$RESP" -5d 7   # thisUpdate 5 days ago, 2 days left: past 50 % + 10 % jitter
    local before
    before=$(this_update "$RESP")
    run ocspstaple_cmd fetch -c "$CONF"
    assert_success
    assert_output --partial "written from"
    run this_update "$RESP"
    refute_output "$before"
}

@test "--dry-run asks and checks, says what it would write, and writes nothing" {
    start_responder index.txt
    conf_for "$RESPONDER_URL"
    run ocspstaple_cmd fetch -c "$CONF" --dry-run
    assert_success
    assert_output --partial "$RESP: would write"
    [ ! -e "$RESP" ]
}

@test "revocation is picked up: written (validly signed), logged as REVOKED, exit 2" {
    start_responder index.txt
    conf_for "$RESPONDER_URL"
    ocspstaple_cmd fetch -c "$CONF"
    stop_responder
    start_responder index-revoked.txt
    conf_for "$RESPONDER_URL"
    run ocspstaple_cmd fetch -c "$CONF" --force
    assert_failure 2
    assert_output --partial "is REVOKED"
    run openssl ocsp -respin "$RESP" -resp_text -noverify
    assert_output --partial "Cert Status: revoked"
    run ocspstaple_cmd check -c "$CONF"
    assert_failure 2
    assert_output --partial "REVOKED"
}

@test "a revocation signed by the wrong key is not written, even with verify = false" {
    start_responder index-revoked.txt ca2
    conf_for "$RESPONDER_URL" "verify = false;"
    cp "$FX/rsa-good.der" "$RESP"
    run ocspstaple_cmd fetch -c "$CONF" --force
    assert_failure 1
    assert_output --partial "bad signature"
    run cmp "$RESP" "$FX/rsa-good.der"
    assert_success
}

@test "responder down: the current file is untouched, exit 1; without a current file, exit 2" {
    local port
    port=$(free_port)
    conf_for "http://127.0.0.1:$port/" "fetch_timeout = 2;"
    cp "$FX/rsa-good.der" "$RESP"
    run ocspstaple_cmd fetch -c "$CONF" --force
    assert_failure 1
    assert_output --partial "asking http://127.0.0.1:$port/ failed"
    run cmp "$RESP" "$FX/rsa-good.der"
    assert_success
    rm "$RESP"
    run ocspstaple_cmd fetch -c "$CONF"
    assert_failure 2
    [ ! -e "$RESP" ]
}

# misbehaving MODE REASON - the stub answers in MODE: nothing is written, exit 1, REASON logged.
misbehaving() {
    start_stub "$1"
    conf_for "$RESPONDER_URL" "fetch_timeout = 2;"
    cp "$FX/rsa-good.der" "$RESP"
    run ocspstaple_cmd fetch -c "$CONF" --force
    assert_failure 1
    assert_output --regexp "$2"
    run cmp "$RESP" "$FX/rsa-good.der"
    assert_success
}

@test "responder answering HTTP 500: nothing written, exit 1" {
    misbehaving 500 "failed: the responder answered HTTP 500;"
}

@test "responder answering garbage as application/ocsp-response: nothing written, exit 1" {
    misbehaving garbage "failed|unusable response: malformed"
}

@test "responder answering HTML: nothing written, exit 1" {
    misbehaving html "failed: .*content.type"
}

@test "responder answering tryLater: nothing written, exit 1" {
    misbehaving trylater "unusable response: not successful.*trylater"
}

@test "responder dropping the connection mid-request: nothing written, exit 1" {
    misbehaving drop "failed"
}

@test "responder never answering: the timeout ends it, nothing written, exit 1" {
    local start=$SECONDS
    misbehaving hang "failed: no answer within 2 s \(timed out\)"
    [ $((SECONDS - start)) -lt 20 ]
}

@test "http_proxy is honoured: the request goes to the proxy" {
    # The "proxy" is the stub answering 500: seeing its status proves the request went there,
    # since the responder named in the configuration does not exist.
    start_stub 500
    local nowhere
    nowhere=$(free_port)
    conf_for "http://127.0.0.1:$nowhere/" "fetch_timeout = 3;"
    http_proxy="http://127.0.0.1:$RESPONDER_PORT" no_proxy="" run ocspstaple_cmd fetch -c "$CONF"
    assert_failure 2
    assert_output --partial "failed: the responder answered HTTP 500;"
}

@test "a certificate without an OCSP responder URL is skipped with one info line, exit 0" {
    write_conf "$CONF" <<EOF
staples = ( { certificate = "$FX/noaia.pem"; issuer = "$FX/ca.pem"; response = "$RESP"; } );
EOF
    run ocspstaple_cmd fetch -c "$CONF"
    assert_success
    assert_output --partial "names no OCSP responder; nothing to fetch (skipped)"
}

@test "the responder named in the certificate (AIA) is used when no responder is set" {
    start_responder index.txt
    "$ROOT/tests/helpers/mkfixtures.sh" "$BATS_TEST_TMPDIR/pki" "$RESPONDER_URL"
    # The new PKI has its own CA: a responder for it, on the port named in its certificates.
    stop_responder
    local pki="$BATS_TEST_TMPDIR/pki"
    STUB_PORT=$RESPONDER_PORT start_responder index.txt ca "$pki"
    write_conf "$CONF" <<EOF
staples = ( { certificate = "$pki/rsa-chain.pem"; response = "$RESP"; } );
EOF
    run ocspstaple_cmd fetch -c "$CONF"
    assert_success
    assert_output --partial "written from $RESPONDER_URL"
}

@test "permissions and owner of the old file are kept" {
    start_responder index.txt
    conf_for "$RESPONDER_URL"
    cp "$FX/rsa-good.der" "$RESP"
    chmod 0640 "$RESP"
    chown nobody "$RESP"
    run ocspstaple_cmd fetch -c "$CONF" --force
    assert_success
    run stat -c "%a %U" "$RESP"
    assert_output "640 nobody"
}

@test "an answer older than the current response is not written, and is not a failure" {
    start_responder index.txt
    conf_for "$RESPONDER_URL" "skew = 7200;"
    make_response "$RESP" +1h 7   # thisUpdate one hour ahead (within the skew): newer
    local before
    before=$(this_update "$RESP")
    run ocspstaple_cmd fetch -c "$CONF" --force
    assert_success
    assert_output --partial "older than the current one"
    run this_update "$RESP"
    assert_output "$before"
}

@test "end to end: fetch writes, the running server staples the new response, no restart" {
    start_responder index.txt
    conf_for "$RESPONDER_URL"
    ocspstaple_cmd fetch -c "$CONF"
    start_s_server "$CONF" -cert "$FX/rsa.pem" -key "$FX/rsa.key"
    run status_of
    assert_output --partial "$(this_update "$RESP")"
    local first
    first=$(this_update "$RESP")
    sleep 1.1
    run ocspstaple_cmd fetch -c "$CONF" --force
    assert_success
    local second
    second=$(this_update "$RESP")
    [ "$first" != "$second" ]
    local i
    for i in $(seq 1 16); do
        status_of | grep -qF "$second" && break
        sleep 0.25
    done
    run status_of
    assert_output --partial "$second"
}

@test "atomic writes: each file fsync'ed before its rename, the directory fsync'ed once after them" {
    command -v strace > /dev/null || skip "strace is not installed (tests/helpers/install-deps.sh test)"
    start_responder index.txt
    local i entries=""
    for i in $(seq 1 8); do
        entries+="{ certificate = \"$FX/rsa-chain.pem\"; response = \"$OUT/$i.der\"; responder = \"$RESPONDER_URL\"; },"
    done
    write_conf "$CONF" <<EOF2
staples = ( ${entries%,} );
EOF2
    local trace="$BATS_TEST_TMPDIR/trace"
    run strace -f -qq -y -e trace=fsync,fdatasync,rename,renameat,renameat2 -o "$trace" \
        "$OCSPSTAPLE_CMD" fetch -c "$CONF"
    assert_success
    cat "$trace"
    # Every rename's temporary file was fsync'ed (by the same thread, before it); nothing was
    # renamed after the directory's one fsync, and no file was left out.
    run awk -v dir="$OUT" '
        /fsync\(/ && match($0, /<[^>]*>/) {
            p = substr($0, RSTART + 1, RLENGTH - 2)
            if (p == dir) { dirsyncs++; last_dirsync = NR } else synced[p] = NR
        }
        /rename/ && match($0, /"[^"]*"/) {
            tmp = substr($0, RSTART + 1, RLENGTH - 2)
            renames++; last_rename = NR
            if (!(tmp in synced)) { print "renamed, never fsynced: " tmp; bad = 1 }
        }
        END {
            print renames " renames, " dirsyncs " directory fsyncs"
            if (renames != 8 || dirsyncs != 1 || last_dirsync < last_rename) bad = 1
            exit bad
        }' "$trace"
    echo "$output"
    assert_success
    run bash -c "ls -A '$OUT' | wc -l"
    assert_output 8
}
