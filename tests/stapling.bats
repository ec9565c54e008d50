#!/usr/bin/env bats
# The basic promise: an unmodified openssl s_server under the shim staples the configured,
# validated response; strict clients (openssl, GnuTLS, curl) accept it.

load helpers/common

setup() {
    CONF="$BATS_TEST_TMPDIR/ocspstaple.conf"
}

teardown() {
    stop_hosts
}

@test "RSA certificate, TLS 1.3: the configured response is stapled" {
    write_conf "$CONF" <<EOF
staples = ( { certificate = "$FX/rsa-chain.pem"; response = "$FX/rsa-good.der"; } );
EOF
    start_s_server "$CONF" -cert "$FX/rsa.pem" -key "$FX/rsa.key"
    assert_stapled rsa-good.der -tls1_3
    assert_output --partial "Cert Status: good"
    assert_output --partial "TLSv1.3"
    # Byte for byte, as GnuTLS received it.
    assert_stapled_bytes rsa-good.der
}

@test "RSA certificate, TLS 1.2: stapled" {
    write_conf "$CONF" <<EOF
staples = ( { certificate = "$FX/rsa-chain.pem"; response = "$FX/rsa-good.der"; } );
EOF
    start_s_server "$CONF" -cert "$FX/rsa.pem" -key "$FX/rsa.key"
    assert_stapled rsa-good.der -tls1_2
    assert_output --partial "TLSv1.2"
}

@test "ECDSA certificate, TLS 1.2 and 1.3: stapled" {
    write_conf "$CONF" <<EOF
staples = ( { certificate = "$FX/ec-chain.pem"; response = "$FX/ec-good.der"; } );
EOF
    start_s_server "$CONF" -cert "$FX/ec.pem" -key "$FX/ec.key"
    assert_stapled ec-good.der -tls1_2
    assert_stapled ec-good.der -tls1_3
}

@test "dual RSA+ECDSA server: each handshake gets the response of the certificate it serves" {
    write_conf "$CONF" <<EOF
staples = (
    { certificate = "$FX/rsa-chain.pem"; response = "$FX/rsa-good.der"; },
    { certificate = "$FX/ec-chain.pem"; response = "$FX/ec-good.der"; }
);
EOF
    start_s_server "$CONF" -cert "$FX/rsa.pem" -key "$FX/rsa.key" \
        -dcert "$FX/ec.pem" -dkey "$FX/ec.key"
    # TLS 1.2, by cipher suite.
    assert_stapled ec-good.der -tls1_2 -cipher ECDHE-ECDSA-AES128-GCM-SHA256
    assert_stapled rsa-good.der -tls1_2 -cipher ECDHE-RSA-AES128-GCM-SHA256
    # TLS 1.3, by signature algorithm.
    assert_stapled ec-good.der -tls1_3 -sigalgs ECDSA+SHA256
    assert_stapled rsa-good.der -tls1_3 -sigalgs RSA-PSS+SHA256
}

@test "response_dir alone: responses matched by CertID, issuer taken from the response" {
    mkdir -p "$BATS_TEST_TMPDIR/responses"
    cp "$FX/rsa-good.der" "$BATS_TEST_TMPDIR/responses/mail.der"
    cp "$FX/ec-good.der" "$BATS_TEST_TMPDIR/responses/mail-ec.der"
    cp "$FX/other-good.der" "$BATS_TEST_TMPDIR/responses/other.der"
    cp "$FX/rsa-expired.der" "$BATS_TEST_TMPDIR/responses/old.der"
    write_conf "$CONF" <<EOF
response_dir = "$BATS_TEST_TMPDIR/responses";
EOF
    start_s_server "$CONF" -cert "$FX/rsa.pem" -key "$FX/rsa.key" \
        -dcert "$FX/ec.pem" -dkey "$FX/ec.key"
    assert_stapled rsa-good.der -tls1_2 -cipher ECDHE-RSA-AES128-GCM-SHA256
    assert_stapled ec-good.der -tls1_2 -cipher ECDHE-ECDSA-AES128-GCM-SHA256
}

@test "GnuTLS (gnutls-cli --ocsp) accepts the staple" {
    write_conf "$CONF" <<EOF
staples = ( { certificate = "$FX/rsa-chain.pem"; response = "$FX/rsa-good.der"; } );
EOF
    start_s_server "$CONF" -cert "$FX/rsa.pem" -key "$FX/rsa.key"
    run timeout 20 gnutls-cli -V --x509cafile="$FX/ca.pem" --port="$PORT" \
        --verify-hostname=mail.example.test 127.0.0.1 < /dev/null
    assert_success
    assert_output --partial "Response Status: Successful"
    assert_output --partial "The certificate is trusted"
}

@test "GnuTLS really judges staples: one the shim would refuse (forced with verify = false) fails" {
    # This is why the shim must never staple a bad response: strict clients hang up.
    write_conf "$CONF" <<EOF
verify = false;
staples = ( { certificate = "$FX/rsa-chain.pem"; response = "$FX/rsa-badsig.der"; } );
EOF
    start_s_server "$CONF" -cert "$FX/rsa.pem" -key "$FX/rsa.key"
    run timeout 20 gnutls-cli -V --x509cafile="$FX/ca.pem" --port="$PORT" \
        --verify-hostname=mail.example.test 127.0.0.1 < /dev/null
    assert_failure
    assert_output --partial "NOT trusted"
}

@test "curl --cert-status accepts the staple, and refuses the same server without one" {
    write_conf "$CONF" <<EOF
staples = ( { certificate = "$FX/rsa-chain.pem"; response = "$FX/rsa-good.der"; } );
EOF
    start_s_server "$CONF" -cert "$FX/rsa.pem" -key "$FX/rsa.key" -cert_chain "$FX/ca.pem"
    run timeout 20 curl -sS --cert-status --cacert "$FX/ca.pem" \
        --resolve "mail.example.test:$PORT:127.0.0.1" "https://mail.example.test:$PORT/"
    assert_success
    stop_hosts
    write_conf "$CONF" <<EOF
staples = ( );
EOF
    start_s_server "$CONF" -cert "$FX/rsa.pem" -key "$FX/rsa.key" -cert_chain "$FX/ca.pem"
    run timeout 20 curl -sS --cert-status --cacert "$FX/ca.pem" \
        --resolve "mail.example.test:$PORT:127.0.0.1" "https://mail.example.test:$PORT/"
    assert_failure
    assert_output --partial "No OCSP response received"
}

@test "a certificate with no configured response: no staple, the handshake succeeds" {
    write_conf "$CONF" <<EOF
staples = ( { certificate = "$FX/ec-chain.pem"; response = "$FX/ec-good.der"; } );
EOF
    start_s_server "$CONF" -cert "$FX/rsa.pem" -key "$FX/rsa.key"
    assert_not_stapled -tls1_3
    assert_not_stapled -tls1_2
}

@test "an entry without certificate: matched to the served certificate by CertID" {
    write_conf "$CONF" <<EOF
staples = ( { response = "$FX/rsa-good.der"; issuer = "$FX/ca.pem"; } );
EOF
    start_s_server "$CONF" -cert "$FX/rsa.pem" -key "$FX/rsa.key"
    assert_stapled rsa-good.der
}

@test "a client that does not ask for status gets none, and later clients still do" {
    write_conf "$CONF" <<EOF
staples = ( { certificate = "$FX/rsa-chain.pem"; response = "$FX/rsa-good.der"; } );
EOF
    start_s_server "$CONF" -cert "$FX/rsa.pem" -key "$FX/rsa.key"
    run bash -c "echo | timeout 20 openssl s_client -connect 127.0.0.1:$PORT -tlsextdebug 2>&1"
    assert_success
    refute_output --partial "OCSP Response Status"
    assert_stapled rsa-good.der
}

@test "session resumption: the resumed handshake succeeds (no certificate, no staple needed)" {
    write_conf "$CONF" <<EOF
staples = ( { certificate = "$FX/rsa-chain.pem"; response = "$FX/rsa-good.der"; } );
EOF
    start_s_server "$CONF" -cert "$FX/rsa.pem" -key "$FX/rsa.key"
    run bash -c "echo | timeout 20 openssl s_client -connect 127.0.0.1:$PORT -status -tls1_2 \
        -sess_out $BATS_TEST_TMPDIR/sess 2>&1"
    assert_success
    assert_output --partial "Cert Status: good"
    run bash -c "echo | timeout 20 openssl s_client -connect 127.0.0.1:$PORT -status -tls1_2 \
        -sess_in $BATS_TEST_TMPDIR/sess 2>&1"
    assert_success
    assert_output --partial "Reused"
}
