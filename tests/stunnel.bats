#!/usr/bin/env bats
# stunnel4 (Debian's package, 5.68: no stapling of its own) staples through the shim: a TLS
# service forwarding to a local port, chrooted and running as user stunnel4, with an SNI
# service carrying a second certificate. Checked: forwarding and stapling, 8 clients at once
# (stunnel serves each connection in a thread of one process), a response replaced while
# stunnel runs, and a broken shim configuration.
#
# Process model: one long-lived process; the shim's reloader thread in it rereads replaced
# responses through directory handles opened before the chroot, once a second.

load helpers/common
load helpers/daemons

CLIENTS=8
PER_CLIENT=32

setup_file() {
    command -v stunnel4 > /dev/null || skip "stunnel4 is not installed (make test-deps)"
    export D="$BATS_FILE_TMPDIR"
    mkdir -p "$D/resp"
    cp "$FX/rsa-good.der" "$D/resp/rsa.der"
    cp "$FX/other-good.der" "$D/resp/other.der"
    open_for_daemons "$D/resp"
    chmod o+r "$D/resp"/*.der
    cat > "$D/ocspstaple.conf" <<EOF
staples = (
    { certificate = "$FX/rsa-chain.pem"; response = "$D/resp/rsa.der"; },
    { certificate = "$FX/other-chain.pem"; response = "$D/resp/other.der"; }
);
EOF
    printf 'staples = ( { certificate = "%s"; response = "%s" } \n' \
        "$FX/rsa-chain.pem" "$D/resp/rsa.der" > "$D/broken.conf"

    start_echo_server
    start_stunnel main "$D/ocspstaple.conf"
    start_stunnel missing "$D/missing.conf"
    start_stunnel broken "$D/broken.conf"
}

teardown_file() {
    stop_sessions
    check_daemon_logs
}

use() {
    PORT=$(cat "$(stunnel_dir "$1")/port")
    LOG="$(stunnel_dir "$1")/stunnel.log"
}

setup() {
    use main
}

# concurrent_handshakes FIXTURE_MAIL FIXTURE_OTHER [PER_CLIENT] - $CLIENTS clients at once,
# PER_CLIENT (default $PER_CLIENT) handshakes each; odd clients ask for no name (the rsa certificate), even ones for
# other.example.test. Every handshake must carry its certificate's response.
concurrent_handshakes() {
    local c pids=() n=${3:-$PER_CLIENT}
    staple_lines_cached "$1" > /dev/null
    staple_lines_cached "$2" > /dev/null
    for c in $(seq 1 "$CLIENTS"); do
        if [ $((c % 2)) = 1 ]; then
            handshakes "$1" "$n" "$BATS_TEST_TMPDIR/client.$c" 3>&- &
        else
            handshakes "$2" "$n" "$BATS_TEST_TMPDIR/client.$c" \
                -servername other.example.test 3>&- &
        fi
        pids+=($!)
    done
    wait "${pids[@]}"
    cat "$BATS_TEST_TMPDIR"/client.*
}

@test "TLS service: stapled, and the data reaches the backend and comes back" {
    assert_staple rsa-good.der
    assert_subject mail.example.test
    run bash -c "(echo ping-through-stunnel; sleep 0.5) | timeout 10 openssl s_client -connect 127.0.0.1:$PORT -quiet -no_ign_eof 2>/dev/null"
    assert_output --partial ping-through-stunnel
}

@test "stunnel runs as stunnel4, chrooted" {
    local pid
    pid=$(cat "$(stunnel_dir main)/pid")
    run stat -c %U "/proc/$pid"
    assert_output stunnel4
    run readlink "/proc/$pid/root"
    assert_output "$(stunnel_dir main)/jail"
}

@test "SNI service: the other name gets the response for its own certificate" {
    assert_staple other-good.der -servername other.example.test
    assert_subject other.example.test
    assert_output --partial "Responder Id: CN = ocspstaple Other CA"
    assert_staple rsa-good.der -servername mail.example.test
}

@test "8 clients at once: every handshake gets its certificate's response" {
    run concurrent_handshakes rsa-good.der other-good.der
    assert_success
    refute_output --partial BAD
    run grep -c '^ok$' <<< "$output"
    assert_output "$((CLIENTS * PER_CLIENT))"
}

@test "a response replaced while stunnel runs is stapled by the next connections" {
    assert_staple rsa-good.der
    replace_atomically "$FX/rsa-good2.der" "$D/resp/rsa.der"
    run eventually_staple rsa-good2.der 5
    assert_success
    run wait_for_log "$LOG" "$D/resp/rsa.der: replaced"
    assert_success
    # From then on, for every client and every thread.
    run concurrent_handshakes rsa-good2.der other-good.der 4
    assert_success
    refute_output --partial BAD
    run grep -c '^ok$' <<< "$output"
    assert_output "$((CLIENTS * 4))"
}

@test "a missing shim configuration: stunnel serves TLS without a staple, and logs why" {
    use missing
    assert_not_stapled
    assert_output --regexp "subject= ?CN ?= ?mail\.example\.test"
    run wait_for_log "$LOG" "ocspstaple: error: $D/missing.conf: cannot read the configuration: No such file or directory; no stapling"
    assert_success
}

@test "a shim configuration with a syntax error: stunnel serves TLS, logs file and line" {
    use broken
    assert_not_stapled
    assert_output --regexp "subject= ?CN ?= ?mail\.example\.test"
    run wait_for_log "$LOG" "ocspstaple: error: $D/broken.conf:[0-9]+: syntax error"
    assert_success
}
