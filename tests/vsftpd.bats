#!/usr/bin/env bats
# vsftpd (Debian's vsftpd 3.0.3, unmodified, no stapling of its own) under the shim, in
# standalone mode as Debian's unit runs it (foreground listener): explicit FTPS (AUTH TLS) on
# 127.0.0.1 with TLS on the data channels. Checked: the control channel is stapled, SIGHUP
# (Debian's reload) keeps it so, the data channels of a session are stapled, and after a
# validly signed "revoked" response replaces the good one, neither new sessions nor a session
# opened before the replacement staple "good" any more.
#
# Process model: the listener creates its SSL context at start (the shim's reloader runs in
# it) and starts each session with a raw clone() system call, not fork(): no pthread_atfork
# handler runs in the session. A session serves one client, control and data channels, for as
# long as the client stays; it must notice at its next handshake that it is not the process
# whose reloader thread keeps the responses fresh.

load helpers/common
load helpers/daemons
load helpers/servers

setup_file() {
    command -v vsftpd > /dev/null || skip "vsftpd is not installed (make test-deps)"
    # Not the shim: with the ASan or the TSan runtime preloaded and nothing else, a session
    # never answers AUTH TLS (with or without vsftpd's seccomp sandbox).
    # (Each test skips: a skip in setup_file makes teardown_file fail in this bats.)
    if [ -n "${SAN_RUNTIME:-}" ]; then
        export SKIP_ALL="vsftpd sessions do not work under a preloaded sanitizer runtime, even without the shim"
        return 0
    fi
    export D="$BATS_FILE_TMPDIR"
    live_responses "$D"
    start_vsftpd main "$D/ocspstaple.conf"
    mkdir -p "$D/session"
}

teardown_file() {
    stop_vsftpd main
    stop_sessions
    check_daemon_logs
}

setup() {
    [ -z "${SKIP_ALL:-}" ] || skip "$SKIP_ALL"
    PORT=$(sed -n 's/^listen_port=//p' "$(server_dir main)/vsftpd.conf")
}

@test "AUTH TLS on the control channel: the response is stapled" {
    assert_staple rsa-good.der -starttls ftp
    assert_subject mail.example.test
    run grep -c libocspstaple "/proc/$(cat "$(server_dir main)/pid")/maps"
    assert [ "$output" -gt 0 ]
}

@test "SIGHUP (Debian's reload): the listener keeps running, new sessions staple" {
    kill -HUP "$(cat "$(server_dir main)/pid")"
    sleep 0.5
    run alive "$(cat "$(server_dir main)/pid")"
    assert_success
    assert_staple rsa-good.der -starttls ftp
}

@test "an FTPS session's data channel is stapled (the session stays open)" {
    setsid python3 "$ROOT/tests/helpers/ftps_session.py" "$PORT" "$D/session" \
        < /dev/null > "$D/session/client.log" 2>&1 3>&- &
    echo "$!" > "$D/session/pid"
    track_session "$!" ftps-client
    local i
    for i in $(seq 1 200); do
        [ -e "$D/session/ready" ] && break
        alive "$(cat "$D/session/pid")" || break
        sleep 0.1
    done
    run cat "$D/session/data.before"
    assert_output --partial "file.txt"
    run staple_is rsa-good.der "$output"
    assert_success
}

@test "a revoked response replaces the good one: new sessions staple it no more" {
    replace_atomically "$FX/rsa-revoked.der" "$D/resp/rsa.der"
    run eventually_not_good -starttls ftp
    assert_success
    assert_not_stapled -starttls ftp
}

@test "a revoked response replaces the good one: the session opened before staples good no more" {
    [ -e "$D/session/ready" ] || skip "no open session (the data channel test failed)"
    # The replacement was made in the previous test; this test alone makes it too.
    cmp -s "$FX/rsa-revoked.der" "$D/resp/rsa.der" ||
        replace_atomically "$FX/rsa-revoked.der" "$D/resp/rsa.der"
    touch "$D/session/go"
    run wait_gone "$(cat "$D/session/pid")" 60
    assert_success
    wait "$(cat "$D/session/pid")" 2>/dev/null || true
    run cat "$D/session/client.log"
    refute_output --partial "ftps session:"
    # The session's last data channel, after up to 10 s of tries (what s_client said of it).
    run grep -E "CONNECTED|OCSP response|Cert Status|This Update|Next Update|file.txt" "$D/session/data.after"
    assert_output --partial "CONNECTED"
    refute_output --partial "Cert Status: good"
}
