#!/usr/bin/env bats
# `ocspstaple check`: what the shim will staple, per certificate, for people and monitoring.
# Exit status: 0 ok, 1 warning, 2 critical, 3 unknown.

load helpers/common
load helpers/responder

setup() {
    CONF="$BATS_TEST_TMPDIR/ocspstaple.conf"
}

@test "all good: exit 0, the certificate and its response described" {
    write_conf "$CONF" <<EOF
staples = ( { certificate = "$FX/rsa-chain.pem"; response = "$FX/rsa-good.der"; } );
EOF
    run ocspstaple_cmd check -c "$CONF"
    assert_success
    assert_output --partial "OK: stapled: good for"
    assert_output --partial "CN=mail.example.test"
    assert_output --partial "serial $(openssl x509 -in "$FX/rsa.pem" -noout -serial | cut -d= -f2)"
    local sha
    sha=$(openssl x509 -in "$FX/rsa.pem" -noout -fingerprint -sha256 | cut -d= -f2 | tr -d : |
        tr A-F a-f)
    assert_output --partial "sha256 $sha"
    assert_output --partial "verdict: good (stapled)"
    assert_output --partial "nextUpdate"
}

@test "--warn: a nextUpdate closer than the threshold is a warning (exit 1)" {
    write_conf "$CONF" <<EOF
staples = ( { certificate = "$FX/rsa-chain.pem"; response = "$FX/rsa-good.der"; } );
EOF
    run ocspstaple_cmd check -c "$CONF" --warn 700000
    assert_failure 1
    assert_output --partial "WARNING: stapled, but its response expires in"
}

@test "default warning: less than a quarter of the validity window left" {
    make_response "$BATS_TEST_TMPDIR/old.der" -6d 7   # one day of seven left
    write_conf "$CONF" <<EOF
staples = ( { certificate = "$FX/rsa-chain.pem"; response = "$BATS_TEST_TMPDIR/old.der"; } );
EOF
    run ocspstaple_cmd check -c "$CONF"
    assert_failure 1
    assert_output --partial "WARNING"
}

@test "each bad response gets the shim's verdict and reason; critical (exit 2)" {
    local f
    for f in rsa-expired:expired rsa-notyet:"not yet valid" rsa-nonext:"no nextUpdate" \
        rsa-wrongcert:"wrong certificate" rsa-badsig:"bad signature" rsa-garbage:malformed \
        rsa-trylater:"not successful" rsa-unknown:"unknown status" rsa-empty:malformed; do
        write_conf "$CONF" <<EOF
staples = ( { certificate = "$FX/rsa-chain.pem"; response = "$FX/${f%%:*}.der"; } );
EOF
        run ocspstaple_cmd check -c "$CONF"
        assert_failure 2
        assert_output --partial "verdict: ${f#*:}"
        assert_output --partial "CRITICAL: no stapleable response"
    done
}

@test "revoked is critical, whatever serve_revoked says" {
    write_conf "$CONF" <<EOF
serve_revoked = true;
staples = ( { certificate = "$FX/rsa-chain.pem"; response = "$FX/rsa-revoked.der"; } );
EOF
    run ocspstaple_cmd check -c "$CONF"
    assert_failure 2
    assert_output --partial "CRITICAL: the certificate is REVOKED"
}

@test "Must-Staple certificate without a stapleable response: critical, in those words" {
    write_conf "$CONF" <<EOF
staples = ( { certificate = "$FX/muststaple.pem"; issuer = "$FX/ca.pem";
              response = "$BATS_TEST_TMPDIR/none.der"; } );
EOF
    run ocspstaple_cmd check -c "$CONF"
    assert_failure 2
    assert_output --partial "OCSP Must-Staple certificate without a stapleable response: its clients will refuse the connection"
    assert_output --partial "[OCSP Must-Staple]"
}

@test "Must-Staple certificate with a good response: ok" {
    write_conf "$CONF" <<EOF
staples = ( { certificate = "$FX/muststaple.pem"; issuer = "$FX/ca.pem";
              response = "$FX/muststaple-good.der"; } );
EOF
    run ocspstaple_cmd check -c "$CONF"
    assert_success
}

@test "no OCSP responder named and no response: information only, exit 0" {
    write_conf "$CONF" <<EOF
staples = ( { certificate = "$FX/noaia.pem"; issuer = "$FX/ca.pem";
              response = "$BATS_TEST_TMPDIR/none.der"; } );
EOF
    run ocspstaple_cmd check -c "$CONF"
    assert_success
    assert_output --partial "INFO: names no OCSP responder and has no response: nothing to staple"
}

@test "a certificate with a responder but no response file: critical" {
    write_conf "$CONF" <<EOF
staples = ( { certificate = "$FX/rsa-chain.pem"; response = "$BATS_TEST_TMPDIR/none.der"; } );
EOF
    run ocspstaple_cmd check -c "$CONF"
    assert_failure 2
    assert_output --partial "verdict: unreadable"
}

@test "configuration unreadable or unparsable: exit 3, saying why" {
    run ocspstaple_cmd check -c "$BATS_TEST_TMPDIR/nowhere.conf"
    assert_failure 3
    assert_output --partial "UNKNOWN"
    assert_output --partial "nowhere.conf: cannot read the configuration"
    printf 'staples = ( oops\n' > "$CONF"
    run ocspstaple_cmd check -c "$CONF"
    assert_failure 3
    assert_output --partial "syntax error"
}

@test "configuration problems are reported with file and line" {
    write_conf "$CONF" <<EOF
verfy = true;
staples = ( { certificate = "$FX/rsa-chain.pem"; response = "$FX/rsa-good.der"; } );
EOF
    run ocspstaple_cmd check -c "$CONF"
    assert_failure 1
    assert_output --partial "$CONF:2: setting 'verfy': unknown setting"
}

@test "a skipped entry (its certificate file is missing) is critical" {
    write_conf "$CONF" <<EOF
staples = ( { certificate = "$BATS_TEST_TMPDIR/gone.pem"; response = "$FX/rsa-good.der"; } );
EOF
    run ocspstaple_cmd check -c "$CONF"
    assert_failure 2
    assert_output --partial "gone.pem: cannot be read"
}

@test "response_dir: responses matched to configured certificates by CertID; others listed" {
    mkdir -p "$BATS_TEST_TMPDIR/dir"
    cp "$FX/rsa-good.der" "$BATS_TEST_TMPDIR/dir/a.der"
    cp "$FX/other-good.der" "$BATS_TEST_TMPDIR/dir/b.der"
    write_conf "$CONF" <<EOF
response_dir = "$BATS_TEST_TMPDIR/dir";
staples = ( { certificate = "$FX/rsa-chain.pem"; response = "$BATS_TEST_TMPDIR/none.der"; } );
EOF
    run ocspstaple_cmd check -c "$CONF"
    assert_success
    assert_output --partial "$BATS_TEST_TMPDIR/dir/a.der"
    assert_output --partial "Responses for no configured certificate:"
    assert_output --regexp "Responses for no configured certificate:.*b.der"
}

@test "--format json: valid JSON with the same facts" {
    write_conf "$CONF" <<EOF
staples = ( { certificate = "$FX/rsa-chain.pem"; response = "$FX/rsa-good.der"; },
            { certificate = "$FX/muststaple.pem"; issuer = "$FX/ca.pem"; response = "$FX/rsa-expired.der"; } );
EOF
    run bash -c "'$OCSPSTAPLE_CMD' check -c '$CONF' --format json > '$BATS_TEST_TMPDIR/out.json'"
    assert_failure 2
    run python3 - "$BATS_TEST_TMPDIR/out.json" <<'EOF'
import json, sys
r = json.load(open(sys.argv[1]))
assert r["status"] == "critical" and r["exit_code"] == 2, r
c = {x["subject"]: x for x in r["certificates"]}
good = c["CN=mail.example.test"]
assert good["status"] == "ok" and good["responses"][0]["verdict"] == "good"
assert good["responses"][0]["seconds_left"] > 0 and len(good["sha256"]) == 64
must = c["CN=must.example.test"]
assert must["must_staple"] is True and must["status"] == "critical"
assert "refuse the connection" in must["summary"]
print("ok")
EOF
    assert_success
    assert_output ok
}

@test "--format prometheus: seconds until nextUpdate per certificate, verdict label, check time" {
    write_conf "$CONF" <<EOF
staples = ( { certificate = "$FX/rsa-chain.pem"; response = "$FX/rsa-good.der"; } );
EOF
    run ocspstaple_cmd check -c "$CONF" --format prometheus
    assert_success
    assert_output --regexp 'ocspstaple_response_seconds_until_next_update\{subject="CN=mail.example.test",serial="[0-9A-F]+",file="[^"]+rsa-good.der",verdict="good"\} [0-9]+'
    assert_output --regexp 'ocspstaple_check_timestamp_seconds [0-9]+'
    assert_output --partial 'ocspstaple_check_status 0'
    assert_output --partial '# TYPE ocspstaple_certificate_stapleable gauge'
}

@test "bad arguments: usage, exit 3" {
    run ocspstaple_cmd check --format xml
    assert_failure 3
    run ocspstaple_cmd frobnicate
    assert_failure 3
    assert_output --partial "usage:"
}

# --- configurations that name no certificate: the responses alone decide what is stapled ---

# dir_conf FIXTURE... - $CONF with only response_dir = $BATS_TEST_TMPDIR/dir, holding copies of
# the fixtures.
dir_conf() {
    mkdir -p "$BATS_TEST_TMPDIR/dir"
    local f
    for f in "$@"; do cp "$FX/$f" "$BATS_TEST_TMPDIR/dir/"; done
    echo "response_dir = \"$BATS_TEST_TMPDIR/dir\";" | write_conf "$CONF"
}

@test "response_dir only, a good response: each file judged on its own, ok (exit 0)" {
    dir_conf rsa-good.der
    run ocspstaple_cmd check -c "$CONF"
    assert_success
    assert_output --partial "OK: stapled: good for"
    assert_output --partial "serial $(openssl x509 -in "$FX/rsa.pem" -noout -serial | cut -d= -f2)"
    assert_output --partial "$BATS_TEST_TMPDIR/dir/rsa-good.der"
    assert_output --partial "verdict: good (stapled)"
}

@test "response_dir only, empty: nothing to staple is critical (exit 2)" {
    dir_conf
    run ocspstaple_cmd check -c "$CONF"
    assert_failure 2
    assert_output --partial "nothing to staple: no entry names a certificate"
    assert_output --partial "$BATS_TEST_TMPDIR/dir"
}

@test "response_dir only, every response expired or unusable: critical (exit 2)" {
    dir_conf rsa-expired.der rsa-garbage.der
    run ocspstaple_cmd check -c "$CONF"
    assert_failure 2
    assert_output --partial "verdict: expired"
    assert_output --partial "CRITICAL: no stapleable response"
    assert_output --regexp "Responses for no configured certificate:.*rsa-garbage.der"
    run ocspstaple_cmd check -c "$CONF" --format prometheus
    assert_failure 2
    assert_output --partial "ocspstaple_check_status 2"
    assert_output --regexp 'ocspstaple_certificate_stapleable\{subject="",serial="[0-9A-F]+",status="critical"\} 0'
}

@test "response_dir only: an expired response beside a good one for the same certificate is ok" {
    dir_conf rsa-expired.der rsa-good.der
    run ocspstaple_cmd check -c "$CONF"
    assert_success
    assert_output --partial "verdict: expired"
    assert_output --partial "verdict: good (stapled)"
}

@test "response_dir only: each certificate its responses name is judged apart (JSON)" {
    dir_conf rsa-good.der rsa-expired.der other-good.der
    run ocspstaple_cmd check -c "$CONF"
    assert_success
    cp "$FX/rsa-revoked.der" "$BATS_TEST_TMPDIR/dir/"
    run bash -c "'$OCSPSTAPLE_CMD' check -c '$CONF' --format json > '$BATS_TEST_TMPDIR/out.json'"
    assert_failure 2
    run python3 - "$BATS_TEST_TMPDIR/out.json" << 'PY'
import json, sys
r = json.load(open(sys.argv[1]))
assert r["status"] == "critical", r
certs = r["certificates"]
assert len(certs) == 2, certs  # rsa.pem (good, expired, revoked) and other.pem (good)
for c in certs:
    assert c["file"] is None and c["subject"] is None and c["sha256"] is None, c
rsa = [c for c in certs if len(c["responses"]) == 3][0]
assert rsa["status"] == "critical" and "REVOKED" in rsa["summary"], rsa
other = [c for c in certs if len(c["responses"]) == 1][0]
assert other["status"] == "ok", other
print("ok")
PY
    assert_success
    assert_output ok
}

@test "response_dir only: a response signed by another key is a bad signature, critical" {
    dir_conf rsa-badsig.der
    run ocspstaple_cmd check -c "$CONF"
    assert_failure 2
    assert_output --partial "verdict: bad signature"
}

@test "response_dir only: without its issuer inside, a response says its signature is checked when served" {
    dir_conf rsa-nocerts.der
    run ocspstaple_cmd check -c "$CONF"
    assert_success
    assert_output --partial "signature not fully checked here"
}

@test "entries without a certificate only: judged alone, with the entry's issuer" {
    printf 'staples = ( { issuer = "%s"; response = "%s"; } );\n' \
        "$FX/ca.pem" "$FX/rsa-nocerts.der" | write_conf "$CONF"
    run ocspstaple_cmd check -c "$CONF"
    assert_success
    assert_output --partial "verdict: good (stapled)"
    refute_output --partial "signature not fully checked here"
    printf 'staples = ( { response = "%s"; } );\n' "$FX/rsa-expired.der" | write_conf "$CONF"
    run ocspstaple_cmd check -c "$CONF"
    assert_failure 2
    assert_output --partial "verdict: expired"
}

@test "no entries and no response_dir: critical, never ok" {
    write_conf "$CONF" < /dev/null
    run ocspstaple_cmd check -c "$CONF"
    assert_failure 2
    assert_output --partial 'nothing to staple: the configuration has no `staples` entries and no response_dir'
}
