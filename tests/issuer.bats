#!/usr/bin/env bats
# Where the issuer for signature checks comes from, in order: the entry's `issuer`, the chain in
# its `certificate` file, the chain the host configured, a certificate inside the response that
# signed the served leaf. None found: no staple, logged once.

load helpers/common

setup() {
    CONF="$BATS_TEST_TMPDIR/ocspstaple.conf"
}

teardown() {
    stop_hosts
}

@test "issuer from the entry's issuer setting (response carries no certificate)" {
    write_conf "$CONF" <<EOF
staples = ( { certificate = "$FX/rsa.pem"; issuer = "$FX/ca.pem"; response = "$FX/rsa-nocerts.der"; } );
EOF
    start_s_server "$CONF" -cert "$FX/rsa.pem" -key "$FX/rsa.key"
    assert_stapled rsa-nocerts.der
}

@test "issuer from the chain in the certificate file" {
    write_conf "$CONF" <<EOF
staples = ( { certificate = "$FX/rsa-chain.pem"; response = "$FX/rsa-nocerts.der"; } );
EOF
    start_s_server "$CONF" -cert "$FX/rsa.pem" -key "$FX/rsa.key"
    assert_stapled rsa-nocerts.der
}

@test "issuer from the chain the host configured (s_server -cert_chain)" {
    write_conf "$CONF" <<EOF
staples = ( { certificate = "$FX/rsa.pem"; response = "$FX/rsa-nocerts.der"; } );
EOF
    start_s_server "$CONF" -cert "$FX/rsa.pem" -key "$FX/rsa.key" -cert_chain "$FX/ca.pem"
    assert_stapled rsa-nocerts.der
}

@test "issuer from a certificate inside the response that signed the leaf" {
    write_conf "$CONF" <<EOF
staples = ( { certificate = "$FX/rsa.pem"; response = "$FX/rsa-good.der"; } );
EOF
    start_s_server "$CONF" -cert "$FX/rsa.pem" -key "$FX/rsa.key"
    assert_stapled rsa-good.der
}

@test "a leaf under an intermediate CA, chain in the certificate file" {
    write_conf "$CONF" <<EOF
staples = ( { certificate = "$FX/leafint-chain.pem"; response = "$FX/leafint-good.der"; } );
EOF
    start_s_server "$CONF" -cert "$FX/leafint.pem" -key "$FX/leafint.key"
    assert_stapled leafint-good.der
}

@test "an issuer setting naming the wrong CA does not help: falls back, and never staples wrong" {
    write_conf "$CONF" <<EOF
staples = ( { certificate = "$FX/rsa.pem"; issuer = "$FX/ca2.pem"; response = "$FX/rsa-nocerts.der"; } );
EOF
    start_s_server "$CONF" -cert "$FX/rsa.pem" -key "$FX/rsa.key"
    assert_not_stapled
}

@test "no issuer anywhere: no staple, and the reason is logged once" {
    write_conf "$CONF" <<EOF
staples = ( { certificate = "$FX/rsa.pem"; response = "$FX/rsa-nocerts.der"; } );
EOF
    start_s_server "$CONF" -cert "$FX/rsa.pem" -key "$FX/rsa.key"
    assert_not_stapled
    assert_not_stapled
    assert_not_stapled
    run grep -c "rsa-nocerts.der.*issuer certificate was not found" "$SERVER_LOG"
    assert_output 1
}
