#!/usr/bin/env bats
# Never staple what a strict client would reject: every kind of bad response is refused with a
# log line naming the file and the reason, and the server keeps serving TLS without a staple.

load helpers/common

setup() {
    CONF="$BATS_TEST_TMPDIR/ocspstaple.conf"
}

teardown() {
    stop_hosts
}

# refused FIXTURE REGEX [extra config] - configured for the RSA certificate, FIXTURE is not
# stapled (TLS 1.2 and 1.3), the handshake succeeds, and the log names the file and the reason.
refused() {
    local fixture=$1 reason=$2
    write_conf "$CONF" <<EOF
${3:-}
staples = ( { certificate = "$FX/rsa-chain.pem"; response = "$FX/$fixture"; } );
EOF
    start_s_server "$CONF" -cert "$FX/rsa.pem" -key "$FX/rsa.key"
    assert_not_stapled -tls1_3
    assert_not_stapled -tls1_2
    run grep -E -- "$FX/$fixture.*($reason)" "$SERVER_LOG"
    assert_success
}

@test "revoked: refused (logged at error level as REVOKED)" {
    refused rsa-revoked.der "REVOKED.*not stapled"
    run grep -E "^ocspstaple: error: .*rsa-revoked.der" "$SERVER_LOG"
    assert_success
}

@test "revoked, with serve_revoked = true: stapled, still logged at error level" {
    write_conf "$CONF" <<EOF
serve_revoked = true;
staples = ( { certificate = "$FX/rsa-chain.pem"; response = "$FX/rsa-revoked.der"; } );
EOF
    start_s_server "$CONF" -cert "$FX/rsa.pem" -key "$FX/rsa.key"
    run status_of
    assert_success
    assert_output --partial "Cert Status: revoked"
    run grep -E "error: .*rsa-revoked.der.*REVOKED.*stapled because serve_revoked" "$SERVER_LOG"
    assert_success
}

@test "status unknown: refused" {
    refused rsa-unknown.der "does not know this certificate"
}

@test "expired (nextUpdate passed): refused" {
    refused rsa-expired.der "expired"
}

@test "not yet valid (thisUpdate beyond the skew): refused" {
    refused rsa-notyet.der "in the future"
}

@test "not yet valid, but within a configured skew: stapled" {
    write_conf "$CONF" <<EOF
skew = 259200;
staples = ( { certificate = "$FX/rsa-chain.pem"; response = "$FX/rsa-notyet.der"; } );
EOF
    start_s_server "$CONF" -cert "$FX/rsa.pem" -key "$FX/rsa.key"
    assert_stapled rsa-notyet.der
}

@test "no nextUpdate: never stapled" {
    refused rsa-nonext.der "no nextUpdate"
}

@test "response for another certificate of the same CA: refused" {
    refused rsa-wrongcert.der "wrong certificate"
}

@test "response for a certificate of another CA: refused" {
    refused rsa-otherca.der "wrong certificate"
}

@test "signed by an unrelated key: refused" {
    refused rsa-badsig.der "bad signature"
}

@test "delegated responder with OCSPSigning, issued by the CA: stapled" {
    write_conf "$CONF" <<EOF
staples = ( { certificate = "$FX/rsa-chain.pem"; response = "$FX/rsa-delegated.der"; } );
EOF
    start_s_server "$CONF" -cert "$FX/rsa.pem" -key "$FX/rsa.key"
    assert_stapled rsa-delegated.der
    assert_stapled_bytes rsa-delegated.der
}

@test "delegated responder without the OCSPSigning usage: refused" {
    refused rsa-delegated-noeku.der "OCSPSigning"
}

@test "delegated responder issued by another CA: refused" {
    refused rsa-delegated-ca2.der "did not issue"
}

@test "delegated responder whose certificate has expired: refused" {
    refused rsa-delegated-expired.der "not valid now"
}

@test "several SingleResponses, one for the served certificate: stapled" {
    write_conf "$CONF" <<EOF
staples = ( { certificate = "$FX/rsa-chain.pem"; response = "$FX/rsa-multi.der"; } );
EOF
    start_s_server "$CONF" -cert "$FX/rsa.pem" -key "$FX/rsa.key"
    assert_stapled rsa-multi.der
}

@test "responseStatus tryLater: refused" {
    refused rsa-trylater.der "not successful.*trylater"
}

@test "garbage bytes: refused" {
    refused rsa-garbage.der "malformed"
}

@test "empty file: refused" {
    refused rsa-empty.der "empty"
}

@test "truncated response: refused" {
    refused rsa-truncated.der "malformed"
}

@test "PEM instead of DER: refused with a hint" {
    refused rsa-pem.der "PEM text, but the response must be DER"
}

@test "missing response file: refused, named in the log" {
    refused does-not-exist.der "No such file or directory"
}

@test "verify = false staples a response without checking its signature (and says so)" {
    write_conf "$CONF" <<EOF
verify = false;
staples = ( { certificate = "$FX/rsa-chain.pem"; response = "$FX/rsa-badsig.der"; } );
EOF
    start_s_server "$CONF" -cert "$FX/rsa.pem" -key "$FX/rsa.key"
    run status_of
    assert_output --partial "Cert Status: good"
    run grep "verify is off" "$SERVER_LOG"
    assert_success
}

@test "verify = false still refuses an expired response" {
    refused rsa-expired.der "expired" "verify = false;"
}
