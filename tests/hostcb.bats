#!/usr/bin/env bats
# A host with a status callback of its own: it runs first with its own argument and its
# decision stands; the shim staples only where it declines.

load helpers/common

setup() {
    CONF="$BATS_TEST_TMPDIR/ocspstaple.conf"
    write_conf "$CONF" <<EOF
staples = ( { certificate = "$FX/rsa-chain.pem"; response = "$FX/rsa-good.der"; } );
EOF
}

teardown() {
    stop_hosts
}

@test "a host reading back its status callback (as HAProxy does) finds only what it set itself" {
    # tls_server reads the callback and its argument back before and after setting its own,
    # and exits when it finds anything else (HAProxy took the shim's for its own and crashed).
    start_tls_server "$CONF" --cert "$FX/rsa.pem" --key "$FX/rsa.key"
    assert_stapled rsa-good.der
    stop_hosts
    start_tls_server "$CONF" --cert "$FX/rsa.pem" --key "$FX/rsa.key" --status-cb noack
    assert_stapled rsa-good.der
    stop_hosts
    start_tls_server "$CONF" --cert "$FX/rsa.pem" --key "$FX/rsa.key" \
        --status-cb "staple:$FX/rsa-good2.der" --bypass-ctor 1
    assert_stapled rsa-good2.der
    run grep -c "never set\|not give the host's own" "$SERVER_LOG"
    assert_output 0
}

@test "host callback that always declines (as lighttpd's): the shim staples" {
    start_tls_server "$CONF" --cert "$FX/rsa.pem" --key "$FX/rsa.key" --status-cb noack
    assert_stapled rsa-good.der
    assert_stapled rsa-good.der -tls1_2
    run grep -c "installs its own OCSP status callback" "$SERVER_LOG"
    assert_output 1
}

@test "host callback that says OK but sets nothing: the shim staples" {
    start_tls_server "$CONF" --cert "$FX/rsa.pem" --key "$FX/rsa.key" --status-cb empty-ok
    assert_stapled rsa-good.der
}

@test "host callback that staples its own response: the host's staple stands" {
    start_tls_server "$CONF" --cert "$FX/rsa.pem" --key "$FX/rsa.key" \
        --status-cb "staple:$FX/rsa-good2.der"
    assert_stapled rsa-good2.der
    assert_stapled_bytes rsa-good2.der
}

@test "host callback that fails the handshake: its decision stands" {
    start_tls_server "$CONF" --cert "$FX/rsa.pem" --key "$FX/rsa.key" --status-cb fatal
    run status_of
    refute_output --partial "OCSP Response Status"
    assert_output --partial "alert"
}

@test "host callback set before the shim sees the context (it attaches at SSL_new): chained" {
    start_tls_server "$CONF" --cert "$FX/rsa.pem" --key "$FX/rsa.key" --status-cb noack \
        --bypass-ctor 1
    assert_stapled rsa-good.der
    stop_hosts
    start_tls_server "$CONF" --cert "$FX/rsa.pem" --key "$FX/rsa.key" \
        --status-cb "staple:$FX/rsa-good2.der" --bypass-ctor 1
    assert_stapled rsa-good2.der
}

@test "openssl s_server -status_file: the built-in stapling keeps serving its own file" {
    start_s_server "$CONF" -cert "$FX/rsa.pem" -key "$FX/rsa.key" -status_file "$FX/rsa-good2.der"
    assert_stapled rsa-good2.der
    run grep -c "installs its own OCSP status callback" "$SERVER_LOG"
    assert_output 1
}

@test "clients that do not ask for status never reach the host's callback or the shim's" {
    start_tls_server "$CONF" --cert "$FX/rsa.pem" --key "$FX/rsa.key" --status-cb fatal
    run bash -c "echo | timeout 20 openssl s_client -connect 127.0.0.1:$PORT 2>&1"
    assert_success
    assert_output --partial "SSL handshake has read"
    refute_output --partial "alert"
}
