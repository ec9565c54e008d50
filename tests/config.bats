#!/usr/bin/env bats
# The configuration: every problem is a log line naming the file, the line and the setting;
# the host keeps serving TLS, with no stapling for what could not be loaded.

load helpers/common

setup() {
    CONF="$BATS_TEST_TMPDIR/ocspstaple.conf"
}

teardown() {
    stop_hosts
}

GOOD_ENTRY='{ certificate = "FX/rsa-chain.pem"; response = "FX/rsa-good.der"; }'

good_entry() {
    echo "${GOOD_ENTRY//FX/$FX}"
}

# serves_tls - the host completes handshakes (with or without a staple).
serves_tls() {
    run status_of
    assert_success
    assert_output --partial "Verify return code"
}

@test "syntax error: logged with file and line, TLS still served without staple" {
    printf 'log_target = "stderr";\nverify = true\nstaples = ( oops );\n' > "$CONF"
    start_s_server "$CONF" -cert "$FX/rsa.pem" -key "$FX/rsa.key"
    serves_tls
    assert_output --partial "no response sent"
    run grep -E "$CONF:3: syntax error" "$SERVER_LOG"
    assert_success
}

@test "unknown top-level setting: named with its line, the rest still applies" {
    write_conf "$CONF" <<EOF
verfy = false;
staples = ( $(good_entry) );
EOF
    start_s_server "$CONF" -cert "$FX/rsa.pem" -key "$FX/rsa.key"
    assert_stapled rsa-good.der
    run grep -E "$CONF:2: setting 'verfy': unknown setting" "$SERVER_LOG"
    assert_success
}

@test "unknown setting inside an entry: that entry is skipped, the others work" {
    write_conf "$CONF" <<EOF
staples = (
    { certificate = "$FX/rsa-chain.pem"; response = "$FX/rsa-good.der"; isuer = "$FX/ca.pem"; },
    { certificate = "$FX/ec-chain.pem"; response = "$FX/ec-good.der"; }
);
EOF
    start_s_server "$CONF" -cert "$FX/rsa.pem" -key "$FX/rsa.key" -dcert "$FX/ec.pem" -dkey "$FX/ec.key"
    assert_not_stapled -tls1_2 -cipher ECDHE-RSA-AES128-GCM-SHA256
    assert_stapled ec-good.der -tls1_2 -cipher ECDHE-ECDSA-AES128-GCM-SHA256
    run grep -E "$CONF:3: setting 'isuer': unknown setting in a staples entry" "$SERVER_LOG"
    assert_success
    run grep -E "$CONF:3: staples entry skipped" "$SERVER_LOG"
    assert_success
}

@test "wrong type: named, the default stays" {
    write_conf "$CONF" <<EOF
verify = "yes";
skew = "300";
staples = ( $(good_entry) );
EOF
    start_s_server "$CONF" -cert "$FX/rsa.pem" -key "$FX/rsa.key"
    assert_stapled rsa-good.der
    run grep -E "$CONF:2: setting 'verify': must be a boolean, not a string" "$SERVER_LOG"
    assert_success
    run grep -E "$CONF:3: setting 'skew': must be an integer, not a string" "$SERVER_LOG"
    assert_success
}

@test "out-of-range and invalid values are named" {
    write_conf "$CONF" <<EOF
skew = -5;
log_level = "loud";
staples = ( { response = "$FX/rsa-good.der"; sni = "mail.example.test"; },
            { response = "$FX/rsa-good.der"; sni = [ "bad name!" ]; },
            { certificate = "$FX/rsa.pem"; } );
EOF
    start_s_server "$CONF" -cert "$FX/rsa.pem" -key "$FX/rsa.key"
    serves_tls
    run grep -E "$CONF:2: setting 'skew': must be between" "$SERVER_LOG"
    assert_success
    run grep -E "$CONF:3: setting 'log_level': must be" "$SERVER_LOG"
    assert_success
    run grep -E "$CONF:4: setting 'sni': must be an array" "$SERVER_LOG"
    assert_success
    run grep -E "$CONF:5: setting 'sni': each name must be a host name" "$SERVER_LOG"
    assert_success
    run grep -E "$CONF:6: setting 'response': missing" "$SERVER_LOG"
    assert_success
}

@test "missing certificate file: the entry is skipped, the file named" {
    write_conf "$CONF" <<EOF
staples = ( { certificate = "$FX/nope.pem"; response = "$FX/rsa-good.der"; } );
EOF
    start_s_server "$CONF" -cert "$FX/rsa.pem" -key "$FX/rsa.key"
    serves_tls
    assert_output --partial "no response sent"
    run grep -E "$CONF:2: certificate $FX/nope.pem: cannot be read: No such file" "$SERVER_LOG"
    assert_success
}

@test "skipped entries leave nothing behind: reloads run past them, the other entries work" {
    # Regression: a skipped entry once stayed in its directory's table after being freed, and
    # the reloader's first pass over that directory used it (a crash inside the host).
    write_conf "$CONF" <<EOF
staples = ( { certificate = "$FX/nope.pem"; response = "$FX/rsa-good.der"; },
            { certificate = "$FX/rsa.key"; response = "$FX/rsa-good.der"; },
            { certificate = "$FX/rsa-chain.pem"; response = "$FX/rsa-good.der"; } );
EOF
    start_s_server "$CONF" -cert "$FX/rsa.pem" -key "$FX/rsa.key"
    assert_stapled rsa-good.der
    # The directory changes, so the next pass lists it and walks its table.
    touch "$FX/skipped-probe.tmp"
    rm -f "$FX/skipped-probe.tmp"
    sleep 2.5
    kill -0 "$HOST_PID"
    assert_stapled rsa-good.der
}

@test "a response path that names a directory (trailing slash): the entry is skipped, no crash" {
    # Found by clang-tidy: this path once freed its parts twice, inside the host.
    write_conf "$CONF" <<EOF
staples = ( { certificate = "$FX/rsa-chain.pem"; response = "$BATS_TEST_TMPDIR/"; },
            { certificate = "$FX/rsa-chain.pem"; response = "$FX/rsa-good.der"; } );
EOF
    start_s_server "$CONF" -cert "$FX/rsa.pem" -key "$FX/rsa.key"
    assert_stapled rsa-good.der
    run grep -E "response $BATS_TEST_TMPDIR/: not a file name" "$SERVER_LOG"
    assert_success
    kill -0 "$HOST_PID"
}

@test "a certificate file that holds no certificate: the entry is skipped, the file named" {
    write_conf "$CONF" <<EOF
staples = ( { certificate = "$FX/rsa.key"; response = "$FX/rsa-good.der"; } );
EOF
    start_s_server "$CONF" -cert "$FX/rsa.pem" -key "$FX/rsa.key"
    serves_tls
    run grep -E "certificate $FX/rsa.key: holds no PEM certificate" "$SERVER_LOG"
    assert_success
}

@test "OCSPSTAPLE_CONF pointing nowhere: logged, TLS served" {
    start_s_server "$BATS_TEST_TMPDIR/nowhere.conf" -cert "$FX/rsa.pem" -key "$FX/rsa.key"
    serves_tls
    run grep -E "nowhere.conf: cannot read the configuration: No such file" "$SERVER_LOG"
    assert_success
}

@test "a directory as the configuration: logged, TLS served" {
    start_s_server "$BATS_TEST_TMPDIR" -cert "$FX/rsa.pem" -key "$FX/rsa.key"
    serves_tls
    run grep -E "$BATS_TEST_TMPDIR: the configuration is not a regular file" "$SERVER_LOG"
    assert_success
}

@test "a world-writable configuration is ignored with a warning" {
    write_conf "$CONF" <<EOF
staples = ( $(good_entry) );
EOF
    chmod 0666 "$CONF"
    start_s_server "$CONF" -cert "$FX/rsa.pem" -key "$FX/rsa.key"
    assert_not_stapled
    run grep -E "$CONF: the configuration is world-writable" "$SERVER_LOG"
    assert_success
}

@test "without OCSPSTAPLE_CONF the default /etc/ocspstaple.conf is read" {
    [ ! -e /etc/ocspstaple.conf ] || skip "this machine has an /etc/ocspstaple.conf"
    PORT=$(free_port)
    SERVER_LOG="$BATS_TEST_TMPDIR/server.log"
    OCSPSTAPLE_LOG_TARGET=stderr LD_PRELOAD="$SHIM_PRELOAD" setsid openssl s_server -www \
        -accept "127.0.0.1:$PORT" -cert "$FX/rsa.pem" -key "$FX/rsa.key" \
        > "$SERVER_LOG" 2>&1 < /dev/null 3>&- &
    echo $! >> "$HOSTS_FILE"
    wait_listening "$PORT" $! "$SERVER_LOG"
    serves_tls
    run grep -E "/etc/ocspstaple.conf: cannot read the configuration" "$SERVER_LOG"
    assert_success
}

@test "log_level = error keeps info lines out; debug adds one per handshake" {
    write_conf "$CONF" <<EOF
log_level = "error";
staples = ( $(good_entry) );
EOF
    start_s_server "$CONF" -cert "$FX/rsa.pem" -key "$FX/rsa.key"
    assert_stapled rsa-good.der
    run grep -c "ocspstaple: info" "$SERVER_LOG"
    assert_output 0
    stop_hosts
    write_conf "$CONF" <<EOF
log_level = "debug";
staples = ( $(good_entry) );
EOF
    start_s_server "$CONF" -cert "$FX/rsa.pem" -key "$FX/rsa.key"
    assert_stapled rsa-good.der
    run wait_for_log "$SERVER_LOG" "debug: handshake: stapled [0-9]+ bytes"
    assert_success
}

@test "log_target = syslog (the default): lines reach /dev/log with the ident ocspstaple" {
    command -v unshare > /dev/null || skip "unshare is not available"
    # In a chroot or container whose root is not a mount point, unshare cannot make the mount
    # namespace private ("cannot change root filesystem propagation"): the test cannot give the
    # server a /dev/log of its own without touching the machine's.
    unshare -m --propagation private true 2> /dev/null ||
        skip "no private mount namespace here (chroot or container?): cannot give the server its own /dev/log"
    local sock="$BATS_TEST_TMPDIR/log.sock" got="$BATS_TEST_TMPDIR/syslog.txt"
    python3 "$ROOT/tests/helpers/syslog_sink.py" "$sock" "$got" 3>&- &
    local sink=$!
    for _ in $(seq 50); do [ -S "$sock" ] && break; sleep 0.1; done
    printf 'staples = ( %s );\n' "$(good_entry)" > "$CONF"
    PORT=$(free_port)
    SERVER_LOG="$BATS_TEST_TMPDIR/server.log"
    # A private /dev for the server only: the machine's own /dev/log is not touched.
    OCSPSTAPLE_CONF="$CONF" LD_PRELOAD="$SHIM_PRELOAD" setsid unshare -m --propagation private \
        "$ROOT/tests/helpers/with_private_devlog.sh" "$sock" \
        openssl s_server -www -accept "127.0.0.1:$PORT" -cert "$FX/rsa.pem" -key "$FX/rsa.key" \
        > "$SERVER_LOG" 2>&1 < /dev/null 3>&- &
    echo $! >> "$HOSTS_FILE"
    wait_listening "$PORT" $! "$SERVER_LOG"
    assert_stapled rsa-good.der
    run wait_for_log "$got" "ocspstaple\[[0-9]+\]: info: .*rsa-good.der: (good|stapling) for"
    kill "$sink" 2> /dev/null || true
    assert_success
    run grep -c "ocspstaple" "$SERVER_LOG"
    assert_output 0
}
