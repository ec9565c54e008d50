#!/usr/bin/env bats
# Hot reload: a replaced response is picked up by the running server (no restart), a bad
# replacement is ignored while the last good response is valid, an expired one never goes out.

load helpers/common

setup() {
    use_live_response
}

teardown() {
    stop_hosts
}


@test "atomic replacement (rename) is picked up without a restart" {
    start_s_server "$CONF" -cert "$FX/rsa.pem" -key "$FX/rsa.key"
    assert_stapled rsa-good.der
    replace_atomically "$FX/rsa-good2.der" "$DIR/mail.der"
    run eventually_stapled rsa-good2.der
    assert_success
    run grep -E "$DIR/mail.der: replaced" "$SERVER_LOG"
    assert_success
    assert_stapled_bytes rsa-good2.der
}

@test "rewriting the file in place is picked up too" {
    start_s_server "$CONF" -cert "$FX/rsa.pem" -key "$FX/rsa.key"
    assert_stapled rsa-good.der
    cat "$FX/rsa-good2.der" > "$DIR/mail.der"
    run eventually_stapled rsa-good2.der
    assert_success
}

@test "a bad replacement is logged and ignored: the last good response stays" {
    start_s_server "$CONF" -cert "$FX/rsa.pem" -key "$FX/rsa.key"
    assert_stapled rsa-good.der
    for bad in rsa-garbage.der rsa-badsig.der rsa-expired.der rsa-wrongcert.der \
        rsa-delegated-noeku.der rsa-trylater.der rsa-unknown.der; do
        replace_atomically "$FX/$bad" "$DIR/mail.der"
        sleep 2.2
        assert_stapled rsa-good.der
    done
    run grep -E "mail.der: rejected: malformed" "$SERVER_LOG"
    assert_success
    run grep -E "mail.der: rejected for .*: bad signature" "$SERVER_LOG"
    assert_success
    run grep -E "mail.der: rejected for .*: expired" "$SERVER_LOG"
    assert_success
    run grep -E "mail.der: rejected for .*: wrong certificate" "$SERVER_LOG"
    assert_success
    run grep -E "mail.der: rejected: not successful" "$SERVER_LOG"
    assert_success
    # And a good one after all that is taken.
    replace_atomically "$FX/rsa-good2.der" "$DIR/mail.der"
    run eventually_stapled rsa-good2.der
    assert_success
}

@test "a validly signed revocation replaces a good response: nothing is stapled any more" {
    start_s_server "$CONF" -cert "$FX/rsa.pem" -key "$FX/rsa.key"
    assert_stapled rsa-good.der
    replace_atomically "$FX/rsa-revoked.der" "$DIR/mail.der"
    run eventually_not_stapled
    assert_success
    run grep -E "error: .*mail.der: .*REVOKED" "$SERVER_LOG"
    assert_success
}

@test "file deleted: the last good response stays; a new file is picked up" {
    start_s_server "$CONF" -cert "$FX/rsa.pem" -key "$FX/rsa.key"
    assert_stapled rsa-good.der
    rm "$DIR/mail.der"
    run wait_for_log "$SERVER_LOG" "mail.der: cannot be read: No such file.*last good"
    assert_success
    assert_stapled rsa-good.der
    cp "$FX/rsa-good2.der" "$DIR/mail.der"
    run eventually_stapled rsa-good2.der
    assert_success
}

@test "response_dir: a file added later is picked up" {
    write_conf "$CONF" <<EOF
response_dir = "$BATS_TEST_TMPDIR/dir";
EOF
    mkdir -p "$BATS_TEST_TMPDIR/dir"
    start_s_server "$CONF" -cert "$FX/rsa.pem" -key "$FX/rsa.key"
    assert_not_stapled
    replace_atomically "$FX/rsa-good.der" "$BATS_TEST_TMPDIR/dir/new.der"
    run eventually_stapled rsa-good.der
    assert_success
}

@test "the last good response stops being stapled at its nextUpdate, and is logged as expired" {
    require_faketime
    echo "+0d" > "$BATS_TEST_TMPDIR/faketime"
    export FAKETIME_TIMESTAMP_FILE="$BATS_TEST_TMPDIR/faketime" FAKETIME_NO_CACHE=1
    PRELOAD_EXTRA=$FAKETIME_LIB start_s_server "$CONF" -cert "$FX/rsa.pem" -key "$FX/rsa.key"
    assert_stapled rsa-good.der
    replace_atomically "$FX/rsa-garbage.der" "$DIR/mail.der"
    sleep 1.5
    assert_stapled rsa-good.der
    # Eight days later the response (valid for seven) has expired: no staple, never a stale one.
    echo "+8d" > "$BATS_TEST_TMPDIR/faketime"
    run eventually_not_stapled
    assert_success
    run wait_for_log "$SERVER_LOG" "mail.der: the response in use expired at .*no longer stapled"
    assert_success
}
