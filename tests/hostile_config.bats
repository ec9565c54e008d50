#!/usr/bin/env bats
# Hostile configuration and environment: the host starts and serves TLS, with a log line naming
# the problem. And the security rules: what a local user must not be able to do.

load helpers/common

setup() {
    CONF="$BATS_TEST_TMPDIR/ocspstaple.conf"
}

teardown() {
    stop_hosts
}

serves_tls() {
    run status_of
    assert_success
    assert_output --partial "Verify return code"
}

@test "10,000 entries: loaded, and the served certificate is stapled" {
    {
        echo 'log_target = "stderr";'
        echo 'staples = ('
        for i in $(seq 1 9999); do
            echo "  { response = \"$BATS_TEST_TMPDIR/missing-$i.der\"; sni = [ \"h$i.example.test\" ]; },"
        done
        echo "  { certificate = \"$FX/rsa-chain.pem\"; response = \"$FX/rsa-good.der\"; }"
        echo ');'
    } > "$CONF"
    start_s_server "$CONF" -cert "$FX/rsa.pem" -key "$FX/rsa.key"
    # The served entry is the last: stapled once the other 9,999 have been looked at.
    run wait_for_log "$SERVER_LOG" "10000 response file\(s\) configured, 1 loaded" 20
    assert_success
    assert_stapled rsa-good.der
}

@test "very long strings: named, refused, the rest works" {
    local long
    long=$(head -c 100000 /dev/zero | tr '\0' a)
    write_conf "$CONF" <<EOF
response_dir = "/$long";
staples = ( { certificate = "$FX/rsa-chain.pem"; response = "$FX/rsa-good.der"; sni = [ "$long" ]; },
            { certificate = "$FX/rsa-chain.pem"; response = "$FX/rsa-good.der"; } );
EOF
    start_s_server "$CONF" -cert "$FX/rsa.pem" -key "$FX/rsa.key"
    assert_stapled rsa-good.der
    run grep -E "$CONF:2: setting 'response_dir': is longer than a path can be" "$SERVER_LOG"
    assert_success
    run grep -E "$CONF:3: setting 'sni': each name must be a host name" "$SERVER_LOG"
    assert_success
}

@test "non-UTF-8 bytes in values: named, the host serves TLS" {
    printf 'log_target = "stderr";\nstaples = ( { response = "/tmp/\xff\xfe.der"; sni = [ "\xc3\x28.example" ]; } );\n' > "$CONF"
    start_s_server "$CONF" -cert "$FX/rsa.pem" -key "$FX/rsa.key"
    serves_tls
    run grep -E "$CONF:2: setting 'sni': each name must be a host name" "$SERVER_LOG"
    assert_success
}

@test "non-UTF-8 bytes in a setting name: a syntax error with its line, the host serves TLS" {
    printf 'log_target = "stderr";\n\xff\xfe = 1;\n' > "$CONF"
    start_s_server "$CONF" -cert "$FX/rsa.pem" -key "$FX/rsa.key"
    serves_tls
    run grep -E "$CONF:2: syntax error" "$SERVER_LOG"
    assert_success
}

@test "a configuration that is binary garbage: named, the host serves TLS" {
    head -c 4096 /dev/urandom > "$CONF"
    start_s_server "$CONF" -cert "$FX/rsa.pem" -key "$FX/rsa.key"
    serves_tls
    run grep -E "$CONF:[0-9]+: syntax error" "$SERVER_LOG"
    assert_success
}

@test "an empty configuration: no stapling, nothing to complain about beyond one line" {
    : > "$CONF"
    start_s_server "$CONF" -cert "$FX/rsa.pem" -key "$FX/rsa.key"
    serves_tls
    run grep -c "ocspstaple: error" "$SERVER_LOG"
    assert_output 0
}

@test "a configuration that is a FIFO: refused without blocking, the host serves TLS" {
    mkfifo "$BATS_TEST_TMPDIR/fifo.conf"
    start_s_server "$BATS_TEST_TMPDIR/fifo.conf" -cert "$FX/rsa.pem" -key "$FX/rsa.key"
    serves_tls
    run grep -E "fifo.conf: the configuration is not a regular file" "$SERVER_LOG"
    assert_success
}

@test "security: a world-writable response_dir is ignored with a message" {
    mkdir -p "$BATS_TEST_TMPDIR/open"
    cp "$FX/rsa-good.der" "$BATS_TEST_TMPDIR/open/mail.der"
    chmod 0777 "$BATS_TEST_TMPDIR/open"
    write_conf "$CONF" <<EOF
response_dir = "$BATS_TEST_TMPDIR/open";
EOF
    start_s_server "$CONF" -cert "$FX/rsa.pem" -key "$FX/rsa.key"
    assert_not_stapled
    run grep -E "open: response_dir is world-writable" "$SERVER_LOG"
    assert_success
}

@test "security: a response path never yields a staple for another certificate" {
    # The entry names rsa.pem; its file holds a valid response for ec.pem, which the dual
    # server also serves: ec must not get it through rsa's entry, nor rsa get it at all.
    write_conf "$CONF" <<EOF
staples = ( { certificate = "$FX/rsa-chain.pem"; response = "$FX/ec-good.der"; } );
EOF
    start_s_server "$CONF" -cert "$FX/rsa.pem" -key "$FX/rsa.key" -dcert "$FX/ec.pem" -dkey "$FX/ec.key"
    assert_not_stapled -tls1_2 -cipher ECDHE-RSA-AES128-GCM-SHA256
    assert_not_stapled -tls1_2 -cipher ECDHE-ECDSA-AES128-GCM-SHA256
}

@test "security: in a setgid process OCSPSTAPLE_CONF is not read (secure_getenv)" {
    # The shim's configuration path comes from config_path(); this probe links the same code.
    local probe="$BATS_TEST_TMPDIR/probe"
    cp "$BUILD_DIR/tests/config_path_probe" "$probe"
    chmod 755 "$BATS_TEST_TMPDIR"
    run env OCSPSTAPLE_CONF=/tmp/evil.conf "$probe"
    assert_output /tmp/evil.conf
    chgrp nogroup "$probe"
    chmod g+s "$probe"
    run env OCSPSTAPLE_CONF=/tmp/evil.conf "$probe"
    assert_output /etc/ocspstaple.conf
}
