#!/usr/bin/env bats
# Faults while a server is handshaking: files and directories disappearing, clocks far off.
# The rule everywhere: keep stapling the last good response while it is valid, never a stale
# one, and pick up a good file when it comes back.

load helpers/common

setup() {
    use_live_response
}

teardown() {
    stop_hosts
}

@test "the response directory removed: the last good stays; made anew with a file: picked up" {
    start_s_server "$CONF" -cert "$FX/rsa.pem" -key "$FX/rsa.key"
    assert_stapled rsa-good.der
    rm -rf "$DIR"
    run wait_for_log "$SERVER_LOG" "mail.der: cannot be read: No such file.*last good"
    assert_success
    assert_stapled rsa-good.der
    mkdir -p "$DIR"
    cp "$FX/rsa-good2.der" "$DIR/mail.der"
    run eventually_stapled rsa-good2.der
    assert_success
}

@test "the file truncated to nothing, then garbage, then unreadable: the last good stays" {
    start_s_server "$CONF" -cert "$FX/rsa.pem" -key "$FX/rsa.key"
    assert_stapled rsa-good.der
    : > "$DIR/mail.der"
    run wait_for_log "$SERVER_LOG" "mail.der: rejected: malformed: the file is empty"
    assert_success
    assert_stapled rsa-good.der
    head -c 700 /dev/urandom > "$DIR/mail.der"
    run wait_for_log "$SERVER_LOG" "mail.der: rejected: malformed: not a DER" 5
    assert_success
    assert_stapled rsa-good.der
    rm "$DIR/mail.der"
    mkdir "$DIR/mail.der"
    run wait_for_log "$SERVER_LOG" "mail.der: cannot be read: a directory"
    assert_success
    assert_stapled rsa-good.der
    rmdir "$DIR/mail.der"
    replace_atomically "$FX/rsa-good2.der" "$DIR/mail.der"
    run eventually_stapled rsa-good2.der
    assert_success
}

@test "a clock ten years ahead: nothing is stapled (expired), and it says so" {
    require_faketime
    FAKETIME="+3650d" PRELOAD_EXTRA=$FAKETIME_LIB start_s_server "$CONF" \
        -cert "$FX/rsa.pem" -key "$FX/rsa.key"
    assert_not_stapled
    run grep -E "mail.der: rejected for .*: expired" "$SERVER_LOG"
    assert_success
}

@test "a clock ten years behind: nothing is stapled (not yet valid), and it says so" {
    require_faketime
    FAKETIME="-3650d" PRELOAD_EXTRA=$FAKETIME_LIB start_s_server "$CONF" \
        -cert "$FX/rsa.pem" -key "$FX/rsa.key"
    assert_not_stapled
    run grep -E "mail.der: not stapled yet for .*in the future" "$SERVER_LOG"
    assert_success
}

@test "a clock that jumps past nextUpdate while serving: stapling stops at once" {
    require_faketime
    echo "+0d" > "$BATS_TEST_TMPDIR/faketime"
    FAKETIME_TIMESTAMP_FILE="$BATS_TEST_TMPDIR/faketime" FAKETIME_NO_CACHE=1 \
        PRELOAD_EXTRA=$FAKETIME_LIB start_s_server "$CONF" -cert "$FX/rsa.pem" -key "$FX/rsa.key"
    assert_stapled rsa-good.der
    echo "+7d" > "$BATS_TEST_TMPDIR/faketime"
    # Checked at every handshake, not by the once-a-second reloader: the very next one.
    assert_not_stapled
    echo "+0d" > "$BATS_TEST_TMPDIR/faketime"
    assert_stapled rsa-good.der
}
