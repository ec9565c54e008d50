#!/usr/bin/env bats
# Hostile response files, made by the fixture generator or by mutation: the server keeps
# serving, nothing is stapled (or the previous good response stays), and a log line names the
# file and the reason. Table-driven: one row per file below, then the same table as
# replacements of a good response in one running server.

load helpers/common

MKRESPONSE="$BUILD_DIR/tests/mkresponse"

setup_file() {
    H="$BATS_FILE_TMPDIR/h"
    mkdir -p "$H"
    local good="$FX/rsa-good.der" len
    len=$(stat -c %s "$good")
    # Truncated at the interesting lengths: inside the outer header, after it, after the
    # responseStatus, inside responseBytes, and one byte short.
    for n in 1 2 4 7 9 20 $((len / 2)) $((len - 20)) $((len - 1)); do
        head -c "$n" "$good" > "$H/trunc-$n.der"
    done
    # Wrong ASN.1 tags: the outer SEQUENCE as a SET, the responseStatus as an INTEGER.
    { printf '\x31'; tail -c +2 "$good"; } > "$H/tag-outer.der"
    { head -c 4 "$good"; printf '\x02'; tail -c +6 "$good"; } > "$H/tag-status.der"
    # Huge length fields.
    { printf '\x30\x84\x7f\xff\xff\xff'; tail -c +5 "$good"; } > "$H/len-2g.der"
    { printf '\x30\x88\xff\xff\xff\xff\xff\xff\xff\xff'; tail -c +5 "$good"; } > "$H/len-8bytes.der"
    { cat "$good"; printf 'trailing'; } > "$H/trailing.der"
    : > "$H/empty.der"
    head -c 10485760 /dev/urandom > "$H/10mib.der"
    mkdir "$H/dir.der"
    mkfifo "$H/fifo.der"
    mknod "$H/device.der" c 1 3
    ln -s /dev/zero "$H/link-to-zero.der"
    ln -s "$H/loop-b.der" "$H/loop-a.der"
    ln -s "$H/loop-a.der" "$H/loop-b.der"
    # Several SingleResponses, none for the served certificate.
    (cd "$FX" && openssl ocsp -issuer ca.pem -cert ec.pem -cert noaia.pem -no_nonce \
        -reqout "$H/req.der" > /dev/null 2>&1 &&
        openssl ocsp -index index.txt -CA ca.pem -rsigner ca.pem -rkey ca.key \
            -reqin "$H/req.der" -respout "$H/multi-other.der" -ndays 7 > /dev/null 2>&1)
    # thisUpdate after nextUpdate; dates in 1950 and in 2200.
    "$MKRESPONSE" "$FX/ca.pem" "$FX/ca.key" "$FX/ca.pem" "$FX/rsa.pem" "$H/inverted.der" 3600 -3600
    (cd "$FX" && openssl ocsp -issuer ca.pem -cert rsa.pem -no_nonce -reqout "$H/rsa-req.der" \
        > /dev/null 2>&1 &&
        faketime -f "@1950-01-01 00:00:00" openssl ocsp -index index.txt -CA ca.pem \
            -rsigner ca.pem -rkey ca.key -reqin "$H/rsa-req.der" -respout "$H/year-1950.der" \
            -ndays 7 > /dev/null 2>&1 &&
        faketime -f "@2200-01-01 00:00:00" openssl ocsp -index index.txt -CA ca.pem \
            -rsigner ca.pem -rkey ca.key -reqin "$H/rsa-req.der" -respout "$H/year-2200.der" \
            -ndays 7 > /dev/null 2>&1)
    for f in rsa-garbage rsa-wrongcert rsa-otherca rsa-badsig rsa-delegated-noeku \
        rsa-delegated-ca2 rsa-delegated-expired rsa-unknown rsa-trylater rsa-nonext rsa-pem \
        rsa-expired rsa-notyet; do
        cp "$FX/$f.der" "$H/$f.der"
    done
    export H
}

setup() {
    CONF="$BATS_TEST_TMPDIR/ocspstaple.conf"
}

teardown() {
    stop_hosts
}

# refused FILE REGEX - configured for the served certificate, FILE is not stapled, TLS works,
# and one log line names the file and matches REGEX.
refused() {
    write_conf "$CONF" <<EOF
staples = ( { certificate = "$FX/rsa-chain.pem"; response = "$H/$1"; } );
EOF
    start_s_server "$CONF" -cert "$FX/rsa.pem" -key "$FX/rsa.key"
    assert_not_stapled
    run grep -E -- "$H/$1.*($2)" "$SERVER_LOG"
    assert_success
    kill -0 "$HOST_PID"
}

@test "truncated after 1 byte" { refused trunc-1.der "malformed"; }
@test "truncated after 2 bytes" { refused trunc-2.der "malformed"; }
@test "truncated after 4 bytes (the outer header)" { refused trunc-4.der "malformed"; }
@test "truncated after 7 bytes (the responseStatus)" { refused trunc-7.der "malformed"; }
@test "truncated after 9 bytes" { refused trunc-9.der "malformed"; }
@test "truncated after 20 bytes" { refused trunc-20.der "malformed"; }
@test "truncated in the middle" { refused "trunc-$(($(stat -c %s "$FX/rsa-good.der") / 2)).der" "malformed"; }
@test "truncated 20 bytes short" { refused "trunc-$(($(stat -c %s "$FX/rsa-good.der") - 20)).der" "malformed"; }
@test "truncated 1 byte short" { refused "trunc-$(($(stat -c %s "$FX/rsa-good.der") - 1)).der" "malformed"; }
@test "outer SEQUENCE tagged as a SET" { refused tag-outer.der "malformed"; }
@test "responseStatus tagged as an INTEGER" { refused tag-status.der "malformed"; }
@test "a 2 GiB length field" { refused len-2g.der "malformed"; }
@test "an 8-byte length field" { refused len-8bytes.der "malformed"; }
@test "trailing bytes after the response" { refused trailing.der "trailing data"; }
@test "a 0-byte file" { refused empty.der "empty"; }
@test "a 10 MiB file" { refused 10mib.der "too large"; }
@test "a directory where the file should be" { refused dir.der "a directory"; }
@test "a FIFO where the file should be (never opened, never blocks)" { refused fifo.der "not a regular file"; }
@test "a device node where the file should be" { refused device.der "not a regular file"; }
@test "a symlink to /dev/zero" { refused link-to-zero.der "not a regular file"; }
@test "a symlink loop" { refused loop-a.der "Too many levels of symbolic links"; }
@test "garbage bytes" { refused rsa-garbage.der "malformed"; }
@test "PEM instead of DER" { refused rsa-pem.der "PEM"; }
@test "a response for another certificate of the same CA" { refused rsa-wrongcert.der "wrong certificate"; }
@test "a response for a certificate of another CA" { refused rsa-otherca.der "wrong certificate"; }
@test "several SingleResponses, none for this certificate" { refused multi-other.der "wrong certificate"; }
@test "signed by an unrelated key" { refused rsa-badsig.der "bad signature"; }
@test "a responder certificate without OCSPSigning" { refused rsa-delegated-noeku.der "OCSPSigning"; }
@test "a responder certificate from another CA" { refused rsa-delegated-ca2.der "did not issue"; }
@test "an expired responder certificate" { refused rsa-delegated-expired.der "not valid now"; }
@test "status unknown" { refused rsa-unknown.der "does not know"; }
@test "responseStatus tryLater" { refused rsa-trylater.der "trylater"; }
@test "no nextUpdate" { refused rsa-nonext.der "no nextUpdate"; }
@test "thisUpdate after nextUpdate" { refused inverted.der "earlier than thisUpdate"; }
@test "dates in 1950" { refused year-1950.der "expired"; }
@test "dates in 2200" { refused year-2200.der "in the future"; }

@test "an unreadable file (server running as nobody)" {
    local dir
    dir=$(mktemp -d /tmp/ocspstaple-perm.XXXXXX)
    chmod 755 "$dir"
    cp "$FX/rsa-good.der" "$dir/mail.der"
    chmod 000 "$dir/mail.der"
    cp "$FX/rsa.pem" "$FX/rsa.key" "$FX/rsa-chain.pem" "$dir/"
    chmod 644 "$dir"/*.pem "$dir/rsa.key"
    write_conf "$dir/ocspstaple.conf" <<EOF
staples = ( { certificate = "$dir/rsa-chain.pem"; response = "$dir/mail.der"; } );
EOF
    chmod 644 "$dir/ocspstaple.conf"
    # nobody must be able to load the shim itself: the checkout may be where only root can go
    # (a clone in /root, mode 0700), and then setup_suite's readable copy is loaded.
    SHIM="${OCSPSTAPLE_SHIM_COPY:-$BUILD_DIR}/libocspstaple.so" \
        start_on_free_port s_server "$dir/ocspstaple.conf" setpriv --reuid=nobody --regid=nogroup \
        --clear-groups openssl s_server -accept "127.0.0.1:@PORT@" -www \
        -cert "$dir/rsa.pem" -key "$dir/rsa.key"
    assert_not_stapled
    run grep -E "$dir/mail.der: cannot be read: Permission denied" "$SERVER_LOG"
    rm -rf "$dir"
    assert_success
}

@test "every hostile file as a replacement: the last good response keeps being stapled" {
    mkdir -p "$BATS_TEST_TMPDIR/live"
    cp "$FX/rsa-good.der" "$BATS_TEST_TMPDIR/live/mail.der"
    write_conf "$CONF" <<EOF
staples = ( { certificate = "$FX/rsa-chain.pem"; response = "$BATS_TEST_TMPDIR/live/mail.der"; } );
EOF
    start_s_server "$CONF" -cert "$FX/rsa.pem" -key "$FX/rsa.key"
    assert_stapled rsa-good.der
    local f count=0
    for f in "$H"/*.der; do
        [ -L "$f" ] || [ -f "$f" ] || continue
        # (loop-b is loop-a seen from the other end: the same problem, reported once.)
        case $f in */req.der | */rsa-req.der | */rsa-notyet.der | */loop-b.der) continue ;; esac
        rm -f "$BATS_TEST_TMPDIR/live/mail.der.new"
        cp -P "$f" "$BATS_TEST_TMPDIR/live/mail.der.new"
        mv -f "$BATS_TEST_TMPDIR/live/mail.der.new" "$BATS_TEST_TMPDIR/live/mail.der"
        count=$((count + 1))
        # The reloader looks once a second: wait for its report on this file, then check.
        run wait_for_log "$SERVER_LOG" "live/mail.der: (rejected|cannot be read|not stapled yet)" 5 "$count"
        assert_success
        run status_of
        assert_output --partial "$(fixture_line rsa-good.der "Next Update")"
    done
    [ "$count" -ge 25 ]
    kill -0 "$HOST_PID"
    # Each one was reported (the host's log names the file and a reason for each).
    run grep -cE "live/mail.der: (rejected|cannot be read|not stapled yet)" "$SERVER_LOG"
    [ "$output" -ge 25 ]
}
