#!/usr/bin/env bats
# Dovecot (Debian's package, unmodified) staples through the shim: imap-login with its default
# chroot and login user, on an imaps port and with STARTTLS, gets the shim from dovecot.conf's
# import_environment (its defaults kept). Checked: both ports, a local_name block with a second
# certificate (SNI), a response replaced while Dovecot runs, the high-performance mode
# (service_count = 0), and a broken shim configuration.
#
# Process model: by default (high-security mode) every connection gets a new imap-login
# process, which loads the responses before its chroot: a replaced response is stapled from
# the next connection on. In high-performance mode login processes live on and serve many
# connections.

load helpers/common
load helpers/daemons

setup_file() {
    command -v dovecot > /dev/null || skip "dovecot is not installed (make test-deps)"
    export D="$BATS_FILE_TMPDIR"
    mkdir -p "$D/resp" "$D/resp-perf"
    cp "$FX/rsa-good.der" "$D/resp/rsa.der"
    cp "$FX/other-good.der" "$D/resp/other.der"
    cp "$FX/rsa-good.der" "$D/resp-perf/rsa.der"
    open_for_daemons "$D/resp" "$D/resp-perf"
    chmod o+r "$D"/resp*/*.der

    # Login processes' stderr goes to Dovecot's log (as "Error:" lines): the tests read it there.
    cat > "$D/ocspstaple.conf" <<EOF
log_target = "stderr";
staples = (
    { certificate = "$FX/rsa-chain.pem"; response = "$D/resp/rsa.der"; },
    { certificate = "$FX/other-chain.pem"; response = "$D/resp/other.der"; }
);
EOF
    cat > "$D/perf.conf" <<EOF
log_target = "stderr";
staples = ( { certificate = "$FX/rsa-chain.pem"; response = "$D/resp-perf/rsa.der"; } );
EOF
    printf 'staples = ( { certificate = "%s"; response = "%s" } \n' \
        "$FX/rsa-chain.pem" "$D/resp/rsa.der" > "$D/broken.conf"

    in_background start_dovecot main "$D/ocspstaple.conf"
    in_background start_dovecot perf "$D/perf.conf" "" "service imap-login {
  service_count = 0
}"
    # Without a readable configuration the shim cannot know log_target: the environment says it.
    in_background start_dovecot missing "$D/missing.conf" OCSPSTAPLE_LOG_TARGET=stderr
    in_background start_dovecot broken "$D/broken.conf" OCSPSTAPLE_LOG_TARGET=stderr
    wait_background
}

teardown_file() {
    local name
    for name in main perf missing broken; do
        in_background stop_dovecot "$name"
    done
    wait_background
    stop_sessions
    check_daemon_logs
}

# use NAME - talk to instance NAME: PORT is its imaps port, IMAP_PORT its STARTTLS port.
use() {
    local conf
    conf="$(dovecot_dir "$1")/dovecot.conf"
    PORT=$(doveconf -c "$conf" -h service/imap-login/inet_listener/imaps/port)
    IMAP_PORT=$(doveconf -c "$conf" -h service/imap-login/inet_listener/imap/port)
    LOG="$(dovecot_dir "$1")/dovecot.log"
    SID=$(cat "$(dovecot_dir "$1")/pid")
}

setup() {
    use main
    CLIENT_PID=
}

teardown() {
    if [ -n "$CLIENT_PID" ]; then
        kill "$CLIENT_PID" 2> /dev/null || true
    fi
}

@test "imaps: the response is stapled" {
    assert_staple rsa-good.der
    assert_subject mail.example.test
}

@test "STARTTLS: the response is stapled" {
    PORT=$IMAP_PORT
    assert_staple rsa-good.der -starttls imap
    assert_subject mail.example.test
}

@test "dovecot.conf: import_environment keeps its defaults and adds the shim" {
    local conf
    conf="$(dovecot_dir main)/dovecot.conf"
    run doveconf -c "$conf" -h import_environment
    assert_success
    if dovecot_is_24; then
        # 2.4 prints one NAME = value line per variable, sorted.
        assert_line "LD_PRELOAD = $(daemon_preload)"
        assert_line "OCSPSTAPLE_CONF = $D/ocspstaple.conf"
        assert_line --regexp "^LISTEN_PID = "
        assert_line --regexp "^NOTIFY_SOCKET = "
        return
    fi
    assert_output "$(doveconf -c "$conf" -d -h import_environment) LD_PRELOAD=$(daemon_preload) OCSPSTAPLE_CONF=$D/ocspstaple.conf$(sanitizer_environment | sed "s/^/ /")"
    assert_output --regexp "LISTEN_PID LISTEN_FDS NOTIFY_SOCKET"
}

@test "the login process that staples runs chrooted, as the login user" {
    # Hold a connection open (-ign_eof: until killed), then look at the imap-login process
    # serving it.
    timeout 10 openssl s_client -connect "127.0.0.1:$PORT" -status -ign_eof < /dev/null \
        > "$BATS_TEST_TMPDIR/held.txt" 2>&1 3>&- &
    CLIENT_PID=$!
    local pid="" i
    for i in $(seq 1 50); do
        grep -q "Next Update" "$BATS_TEST_TMPDIR/held.txt" && pid=$(pgrep -s "$SID" -x imap-login | head -n 1)
        [ -n "$pid" ] && break
        sleep 0.1
    done
    assert [ -n "$pid" ]
    run stat -c %U "/proc/$pid"
    assert_output dovenull
    run readlink "/proc/$pid/root"
    assert_output "$(dovecot_dir main)/run/login"
    kill "$CLIENT_PID" 2> /dev/null || true
    wait "$CLIENT_PID" 2> /dev/null || true
    CLIENT_PID=
    run staple_is rsa-good.der "$(cat "$BATS_TEST_TMPDIR/held.txt")"
    assert_success
}

@test "SNI (local_name): each name gets the response for its own certificate" {
    assert_staple other-good.der -servername other.example.test
    assert_subject other.example.test
    assert_output --partial "Responder Id: CN = ocspstaple Other CA"
    assert_staple rsa-good.der -servername mail.example.test
    assert_subject mail.example.test
    PORT=$IMAP_PORT
    assert_staple other-good.der -starttls imap -servername other.example.test
}

@test "a response replaced while Dovecot runs is stapled from the next connection on" {
    assert_staple rsa-good.der
    replace_atomically "$FX/rsa-good2.der" "$D/resp/rsa.der"
    # One login process per connection: the very next one loads the new file.
    assert_staple rsa-good2.der
    PORT=$IMAP_PORT
    assert_staple rsa-good2.der -starttls imap
    assert_staple other-good.der -starttls imap -servername other.example.test
}

@test "high-performance mode (service_count = 0): one login process staples every connection" {
    use perf
    handshakes rsa-good.der 10 "$BATS_TEST_TMPDIR/results"
    run grep -c '^ok$' "$BATS_TEST_TMPDIR/results"
    assert_output 10
    run pgrep -s "$SID" -x imap-login
    assert_success
    assert_equal "${#lines[@]}" 1
}

@test "high-performance mode: a running login process sees a replacement without a reload" {
    use perf
    assert_staple rsa-good.der
    replace_atomically "$FX/rsa-good2.der" "$D/resp-perf/rsa.der"
    run eventually_staple rsa-good2.der 5
    assert_success
}

@test "high-performance mode: after doveadm reload, new login processes staple the new response" {
    use perf
    replace_atomically "$FX/rsa-delegated.der" "$D/resp-perf/rsa.der"
    run doveadm -c "$(dovecot_dir perf)/dovecot.conf" reload
    assert_success
    run eventually_staple rsa-delegated.der 5
    assert_success
}

@test "a missing shim configuration: Dovecot serves TLS without a staple, and logs why" {
    use missing
    assert_not_stapled
    assert_output --regexp "subject= ?CN ?= ?mail\.example\.test"
    run wait_for_log "$LOG" "imap-login: Error: ocspstaple: error: $D/missing.conf: cannot read the configuration: No such file or directory; no stapling"
    assert_success
}

@test "a shim configuration with a syntax error: Dovecot serves TLS, logs file and line" {
    use broken
    PORT=$IMAP_PORT
    assert_not_stapled -starttls imap
    assert_output --regexp "subject= ?CN ?= ?mail\.example\.test"
    run wait_for_log "$LOG" "ocspstaple: error: $D/broken.conf:[0-9]+: syntax error"
    assert_success
}
