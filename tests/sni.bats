#!/usr/bin/env bats
# SNI: entries restricted to host names, and hosts that switch context in their SNI callback.

load helpers/common

setup() {
    CONF="$BATS_TEST_TMPDIR/ocspstaple.conf"
}

teardown() {
    stop_hosts
}

@test "an entry with sni is stapled only when the client's SNI matches" {
    write_conf "$CONF" <<EOF
staples = ( { certificate = "$FX/rsa-chain.pem"; response = "$FX/rsa-good.der";
              sni = [ "mail.example.test" ]; } );
EOF
    start_s_server "$CONF" -cert "$FX/rsa.pem" -key "$FX/rsa.key"
    assert_stapled rsa-good.der -servername mail.example.test
    assert_stapled rsa-good.der -servername MAIL.Example.Test
    assert_not_stapled -servername imap.example.test
    assert_not_stapled -noservername
}

@test "wildcard sni matches exactly one label" {
    write_conf "$CONF" <<EOF
staples = ( { certificate = "$FX/rsa-chain.pem"; response = "$FX/rsa-good.der";
              sni = [ "*.example.test" ]; } );
EOF
    start_s_server "$CONF" -cert "$FX/rsa.pem" -key "$FX/rsa.key"
    assert_stapled rsa-good.der -servername imap.example.test
    assert_not_stapled -servername example.test
    assert_not_stapled -servername a.b.example.test
}

@test "two entries for one certificate, chosen by SNI" {
    write_conf "$CONF" <<EOF
staples = (
    { certificate = "$FX/rsa-chain.pem"; response = "$FX/rsa-good.der"; sni = [ "mail.example.test" ]; },
    { certificate = "$FX/rsa-chain.pem"; response = "$FX/rsa-good2.der"; sni = [ "imap.example.test" ]; }
);
EOF
    start_s_server "$CONF" -cert "$FX/rsa.pem" -key "$FX/rsa.key"
    assert_stapled rsa-good.der -servername mail.example.test
    assert_stapled rsa-good2.der -servername imap.example.test
}

@test "s_server with a second context for an SNI name: each name gets its own certificate's response" {
    write_conf "$CONF" <<EOF
staples = (
    { certificate = "$FX/rsa-chain.pem"; response = "$FX/rsa-good.der"; },
    { certificate = "$FX/other-chain.pem"; response = "$FX/other-good.der"; }
);
EOF
    start_s_server "$CONF" -cert "$FX/rsa.pem" -key "$FX/rsa.key" \
        -servername other.example.test -cert2 "$FX/other.pem" -key2 "$FX/other.key"
    assert_stapled other-good.der -servername other.example.test
    assert_output --regexp "CN ?= ?other\.example\.test"
    assert_stapled rsa-good.der -servername mail.example.test
}

@test "a host switching contexts with SSL_set_SSL_CTX in its SNI callback" {
    write_conf "$CONF" <<EOF
staples = (
    { certificate = "$FX/rsa-chain.pem"; response = "$FX/rsa-good.der"; },
    { certificate = "$FX/other-chain.pem"; response = "$FX/other-good.der"; }
);
EOF
    start_tls_server "$CONF" --cert "$FX/rsa.pem" --key "$FX/rsa.key" \
        --sni "other.example.test,$FX/other.pem,$FX/other.key"
    assert_stapled other-good.der -servername other.example.test
    assert_stapled rsa-good.der -servername mail.example.test
    assert_stapled rsa-good.der -tls1_2 -servername mail.example.test
    assert_stapled other-good.der -tls1_2 -servername other.example.test
}
