#!/usr/bin/env bats
# Pattern entries: one `staples` entry for every certificate a pattern matches (certbot's
# live/*/fullchain.pem), each with its response file named after what the `*` matched; fetch
# fetches for each, check reports each, and certificates added or renewed need no change to the
# configuration.

load helpers/common
load helpers/responder

setup() {
    CONF="$BATS_TEST_TMPDIR/ocspstaple.conf"
    OUT="$BATS_TEST_TMPDIR/ocsp"
    LE="$BATS_TEST_TMPDIR/letsencrypt"
    mkdir -p "$OUT"
    # A CA of the test's own, whose index the responder reads at every request: certificates
    # issued during a test are known to it at once.
    PKI="$BATS_TEST_TMPDIR/pki"
    mkdir -p "$PKI"
    cp "$FX/ca.pem" "$FX/ca.key" "$PKI/"
    : > "$PKI/index.txt"
    echo "unique_subject = no" > "$PKI/index.txt.attr"
    # The responder's port is chosen first, so that certificates can name it (AIA), as real
    # ones name theirs.
    STUB_PORT=$(free_port)
    AIA_URL="http://127.0.0.1:$STUB_PORT/"
}

teardown() {
    stop_hosts
}

# issue NAME OUT - an EC leaf for DNS:NAME signed by the CA: OUT.pem (the leaf), OUT.key, and
# OUT-fullchain.pem (leaf, then the CA); the responder says it is good.
issue() {
    local name=$1 out=$2 serial enddate
    serial=$(openssl rand -hex 16)
    serial="1${serial:1}"
    openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$out.key" \
        -subj "/CN=$name" -out "$out.csr" 2> /dev/null
    printf 'basicConstraints = critical, CA:FALSE\nsubjectAltName = DNS:%s\n%s\n' "$name" \
        "authorityInfoAccess = OCSP;URI:$AIA_URL" > "$out.ext"
    openssl x509 -req -in "$out.csr" -CA "$PKI/ca.pem" -CAkey "$PKI/ca.key" \
        -set_serial "0x$serial" -days 30 -extfile "$out.ext" -out "$out.pem" 2> /dev/null
    cat "$out.pem" "$PKI/ca.pem" > "$out-fullchain.pem"
    rm -f "$out.csr" "$out.ext"
    enddate=$(openssl x509 -in "$out.pem" -noout -enddate)
    enddate=$(date -u -d "${enddate#notAfter=}" +%y%m%d%H%M%SZ)
    printf 'V\t%s\t\t%s\tunknown\t/CN=%s\n' "$enddate" "${serial^^}" "$name" >> "$PKI/index.txt"
}

# certbot_issue NAME N - as certbot does: archive/NAME/fullchainN.pem, and
# live/NAME/fullchain.pem a relative symbolic link to it (switched over when it exists).
certbot_issue() {
    local name=$1 n=$2
    mkdir -p "$LE/archive/$name" "$LE/live/$name"
    issue "$name" "$LE/archive/$name/cert$n"
    mv "$LE/archive/$name/cert$n-fullchain.pem" "$LE/archive/$name/fullchain$n.pem"
    ln -sfn "../../archive/$name/fullchain$n.pem" "$LE/live/$name/fullchain.pem"
}

# certbot_tree - two certificates, certbot's README in live/, and a hidden directory holding a
# certificate that must not be taken (a temporary of a tool at work).
certbot_tree() {
    certbot_issue a.example.test 1
    certbot_issue b.example.test 1
    echo "This directory contains your keys and certificates." > "$LE/live/README"
    mkdir -p "$LE/live/.tmp-c.example.test"
    issue c.example.test "$BATS_TEST_TMPDIR/hidden"
    cp "$BATS_TEST_TMPDIR/hidden-fullchain.pem" "$LE/live/.tmp-c.example.test/fullchain.pem"
}

# conf_certbot - the documented certbot entry (the responder is the certificates').
conf_certbot() {
    write_conf "$CONF" <<EOF
staples = ( { certificate = "$LE/live/*/fullchain.pem";
              response    = "$OUT/*.der"; } );
EOF
}

# serial_of CERT - the certificate's serial, as `openssl ocsp -resp_text` prints it.
serial_of() {
    openssl x509 -in "$1" -noout -serial | cut -d= -f2
}

@test "configuration: each broken pattern rule is named with file, line and setting" {
    write_conf "$CONF" <<EOF
staples = (
  { certificate = "$LE/live/*/*.pem"; response = "$OUT/*.der"; },
  { certificate = "$LE/*/live/*/fullchain.pem"; response = "$OUT/*.der"; },
  { certificate = "$LE/live/*/fullchain.pem"; response = "$OUT/fixed.der"; },
  { certificate = "$LE/live/*/fullchain.pem";
    response = "$OUT/*-*.der"; },
  { certificate = "$LE/live/*/fullchain.pem";
    response = "$BATS_TEST_TMPDIR/*/ocsp.der"; },
  { certificate = "$FX/rsa-chain.pem"; response = "$OUT/*.der"; },
  { certificate = "$FX/rsa-chain.pem"; issuer = "$LE/live/*/chain.pem"; response = "$OUT/x.der"; },
  { response = "$OUT/*.der"; },
  { certificate = "$LE/live/*/fullchain.pem"; response = "$OUT/*.der"; issuer = "$LE/*/*"; },
  { certificate = "$LE/live/.*/fullchain.pem"; response = "$OUT/*.der"; },
  { certificate = "$LE/live/*/"; response = "$OUT/*.der"; }
);
EOF
    run ocspstaple_cmd check -c "$CONF"
    assert_failure 2
    assert_output --partial "$CONF:3: setting 'certificate': holds more than one \`*\`"
    assert_output --partial "$CONF:4: setting 'certificate': holds more than one \`*\`: a pattern has exactly one, in one path component (never in the directories before it)"
    assert_output --partial "$CONF:5: setting 'response': must hold exactly one \`*\` when the certificate is a pattern"
    assert_output --partial "$CONF:7: setting 'response': must hold exactly one \`*\`"
    assert_output --partial "$CONF:9: setting 'response': the \`*\` must be in the file name"
    assert_output --partial "$CONF:10: setting 'response': holds a \`*\`, but the entry's certificate is not a pattern"
    assert_output --partial "$CONF:11: setting 'issuer': holds a \`*\`, but the entry's certificate is not a pattern"
    assert_output --partial "$CONF:12: setting 'response': holds a \`*\`, but the entry's certificate is not a pattern"
    assert_output --partial "$CONF:13: setting 'issuer': holds more than one \`*\`"
    assert_output --partial "$CONF:14: setting 'certificate': the component with the \`*\` starts with '.'"
    assert_output --partial "$CONF:15: setting 'certificate': ends with '/'"
    # Every one of them dropped its entry, and nothing else was said to be wrong.
    [ "$(grep -c 'staples entry skipped' <<< "$output")" -eq 11 ]
    [ "$(grep -c "setting '" <<< "$output")" -eq 11 ]
}

@test "configuration: the three forms of a pattern are accepted, with sni and an issuer template" {
    mkdir -p "$LE/live" "$BATS_TEST_TMPDIR/mail" "$BATS_TEST_TMPDIR/ssl"
    write_conf "$CONF" <<EOF
staples = (
  { certificate = "$LE/live/*/fullchain.pem"; response = "$OUT/*.der";
    issuer = "$LE/live/*/chain.pem"; sni = [ "mail.example.test" ]; },
  { certificate = "$BATS_TEST_TMPDIR/mail/*.pem"; response = "$OUT/mail-*.der"; },
  { certificate = "$BATS_TEST_TMPDIR/ssl/cert-*.crt"; response = "$OUT/*"; issuer = "$FX/ca.pem"; }
);
EOF
    run ocspstaple_cmd check -c "$CONF"
    refute_output --partial "setting '"
    refute_output --partial "skipped"
    assert_output --partial "$CONF:3: pattern $LE/live/*/fullchain.pem matches no certificate"
    assert_output --partial "$CONF:5: pattern $BATS_TEST_TMPDIR/mail/*.pem matches no certificate"
    assert_output --partial "$CONF:6: pattern $BATS_TEST_TMPDIR/ssl/cert-*.crt matches no certificate"
}

@test "a pattern that matches nothing is never OK (critical when nothing else staples); a missing directory too" {
    mkdir -p "$LE/live"
    echo "readme" > "$LE/live/README"
    conf_certbot
    run ocspstaple_cmd check -c "$CONF"
    assert_failure 2
    assert_output --partial "CRITICAL"
    assert_output --partial "$CONF:2: pattern $LE/live/*/fullchain.pem matches no certificate"
    assert_output --partial "nothing to staple: the configuration's patterns match no certificate"
    rm -rf "$LE"
    run ocspstaple_cmd check -c "$CONF"
    assert_failure 2
    assert_output --partial "matches no certificate ($LE/live does not exist)"
    # fetch says so too, and has nothing to fetch.
    run ocspstaple_cmd fetch -c "$CONF"
    assert_success
    assert_output --partial "matches no certificate"
}

@test "matching: hidden names, README, names without the tail, directories, broken links" {
    local d="$BATS_TEST_TMPDIR/mail"
    mkdir -p "$d/sub.pem"
    issue one.example.test "$BATS_TEST_TMPDIR/one"
    issue two.example.test "$BATS_TEST_TMPDIR/two"
    cp "$BATS_TEST_TMPDIR/one-fullchain.pem" "$d/one.example.test.pem"
    cp "$BATS_TEST_TMPDIR/two-fullchain.pem" "$d/two.example.test.pem"
    for name in .hidden.pem README one.pem.bak one.pem~ .pem; do
        cp "$BATS_TEST_TMPDIR/one-fullchain.pem" "$d/$name"
    done
    cp "$BATS_TEST_TMPDIR/one-fullchain.pem" "$d/sub.pem/inside.pem"
    ln -s "$d/nowhere.pem" "$d/broken.pem"
    ln -s "$d/two.example.test.pem" "$d/linked.pem"
    write_conf "$CONF" <<EOF
staples = ( { certificate = "$d/*.pem"; response = "$OUT/*.der"; } );
EOF
    run ocspstaple_cmd check -c "$CONF" --format json
    assert_failure 2 # no response fetched yet
    run python3 -c 'import json, sys
r = json.load(sys.stdin)
print(" ".join(c["file"].rsplit("/", 1)[1] for c in r["certificates"]))
print(" ".join(x["file"].rsplit("/", 1)[1] for c in r["certificates"] for x in c["responses"]))' \
        <<< "$output"
    assert_success
    # Sorted by the captured name; a link to a regular file counts (and its certificate is the
    # same as two's: check reports it once, with both response files).
    assert_line --index 0 "linked.pem one.example.test.pem"
    assert_line --index 1 "linked.der two.example.test.der one.example.test.der"
}

@test "matching: a head and a tail around the star; the captured text never starts with '.'" {
    local d="$BATS_TEST_TMPDIR/ssl"
    mkdir -p "$d"
    issue web.example.test "$BATS_TEST_TMPDIR/web"
    cp "$BATS_TEST_TMPDIR/web-fullchain.pem" "$d/cert-web.crt"
    for name in cert-.crt cert-.x.crt cert-web.crt.old xcert-web.crt cert-web.pem; do
        cp "$BATS_TEST_TMPDIR/web-fullchain.pem" "$d/$name"
    done
    write_conf "$CONF" <<EOF
staples = ( { certificate = "$d/cert-*.crt"; response = "$OUT/*.der"; } );
EOF
    run ocspstaple_cmd check -c "$CONF" --format json
    run python3 -c 'import json, sys
r = json.load(sys.stdin)
print(" ".join(x["file"] for c in r["certificates"] for x in c["responses"]))' <<< "$output"
    assert_output "$OUT/web.der"
}

@test "fetch, certbot's tree: one response per certificate, named after it; check reports each" {
    certbot_tree
    start_responder index.txt ca "$PKI"
    conf_certbot
    run ocspstaple_cmd fetch -c "$CONF"
    assert_success
    assert_output --partial "$OUT/a.example.test.der: written from $RESPONDER_URL: good"
    assert_output --partial "$OUT/b.example.test.der: written from $RESPONDER_URL: good"
    run bash -c "ls -A '$OUT'"
    assert_output "$(printf 'a.example.test.der\nb.example.test.der')"
    # Each response is about its own certificate.
    for name in a.example.test b.example.test; do
        run openssl ocsp -respin "$OUT/$name.der" -resp_text -noverify
        assert_output --partial "Serial Number: $(serial_of "$LE/archive/$name/cert1.pem")"
    done
    run ocspstaple_cmd check -c "$CONF"
    assert_success
    assert_output --partial "$LE/live/a.example.test/fullchain.pem"
    assert_output --partial "$LE/live/b.example.test/fullchain.pem"
    [ "$(grep -c 'OK: stapled' <<< "$output")" -eq 2 ]
    refute_output --partial "c.example.test"
    refute_output --partial "README"
    run ocspstaple_cmd check -c "$CONF" --format prometheus
    assert_success
    [ "$(grep -c '^ocspstaple_response_seconds_until_next_update{subject="CN=[ab].example.test"' <<< "$output")" -eq 2 ]
}

@test "a certificate directory added later is fetched and checked with no change to the configuration" {
    certbot_tree
    start_responder index.txt ca "$PKI"
    conf_certbot
    ocspstaple_cmd fetch -c "$CONF"
    local conf_before
    conf_before=$(sha256sum < "$CONF")
    certbot_issue new.example.test 1
    run ocspstaple_cmd check -c "$CONF"
    assert_failure 2
    assert_output --partial "$LE/live/new.example.test/fullchain.pem"
    assert_output --partial "$OUT/new.example.test.der"
    run ocspstaple_cmd fetch -c "$CONF"
    assert_success
    assert_output --partial "$OUT/new.example.test.der: written from"
    assert_output --partial "$OUT/a.example.test.der: fresh"
    run ocspstaple_cmd check -c "$CONF"
    assert_success
    [ "$(grep -c 'OK: stapled' <<< "$output")" -eq 3 ]
    [ "$(sha256sum < "$CONF")" = "$conf_before" ]
}

@test "a renewed certificate (the live link switched) gets a response for its new serial" {
    certbot_tree
    start_responder index.txt ca "$PKI"
    conf_certbot
    ocspstaple_cmd fetch -c "$CONF"
    certbot_issue a.example.test 2
    local old new
    old=$(serial_of "$LE/archive/a.example.test/cert1.pem")
    new=$(serial_of "$LE/archive/a.example.test/cert2.pem")
    [ "$old" != "$new" ]
    # The response on disk is about the old certificate: not stapleable for the new one.
    run ocspstaple_cmd check -c "$CONF"
    assert_failure 2
    run ocspstaple_cmd fetch -c "$CONF"
    assert_success
    assert_output --partial "$OUT/a.example.test.der: written from"
    assert_output --partial "$OUT/b.example.test.der: fresh"
    run openssl ocsp -respin "$OUT/a.example.test.der" -resp_text -noverify
    assert_output --partial "Serial Number: $new"
    refute_output --partial "Serial Number: $old"
    run ocspstaple_cmd check -c "$CONF"
    assert_success
}

@test "issuer and sni apply to every certificate matched; issuer templates are substituted" {
    mkdir -p "$BATS_TEST_TMPDIR/certs" "$BATS_TEST_TMPDIR/issuers"
    issue x.example.test "$BATS_TEST_TMPDIR/x"
    issue y.example.test "$BATS_TEST_TMPDIR/y"
    # Leaves alone, issuers beside them under the same name: fetch needs the issuer to ask.
    for n in x y; do
        cp "$BATS_TEST_TMPDIR/$n.pem" "$BATS_TEST_TMPDIR/certs/$n.pem"
        cp "$PKI/ca.pem" "$BATS_TEST_TMPDIR/issuers/$n-ca.pem"
    done
    # On a port of its own: the certificates' AIA names nothing that listens, so the answers
    # come from the entry's responder.
    STUB_PORT="" start_responder index.txt ca "$PKI"
    [ "$RESPONDER_URL" != "$AIA_URL" ]
    write_conf "$CONF" <<EOF
staples = ( { certificate = "$BATS_TEST_TMPDIR/certs/*.pem";
              issuer      = "$BATS_TEST_TMPDIR/issuers/*-ca.pem";
              response    = "$OUT/*.der";
              sni         = [ "example.test" ];
              responder   = "$RESPONDER_URL"; } );
EOF
    run ocspstaple_cmd fetch -c "$CONF"
    assert_success
    assert_output --partial "$OUT/x.der: written from"
    assert_output --partial "$OUT/y.der: written from"
    run ocspstaple_cmd check -c "$CONF"
    assert_success
    [ "$(grep -c 'OK: stapled' <<< "$output")" -eq 2 ]
    # An issuer template naming a file that is missing for one certificate: that one is
    # reported as a problem, the other still checked.
    rm "$BATS_TEST_TMPDIR/issuers/y-ca.pem"
    run ocspstaple_cmd check -c "$CONF"
    assert_failure 2
    assert_output --partial "$BATS_TEST_TMPDIR/issuers/y-ca.pem"
    assert_output --partial "$BATS_TEST_TMPDIR/certs/x.pem"
}

@test "a world-writable pattern directory is refused: any user could add certificates to it" {
    local d="$BATS_TEST_TMPDIR/drop"
    mkdir -p "$d"
    issue one.example.test "$BATS_TEST_TMPDIR/one"
    cp "$BATS_TEST_TMPDIR/one-fullchain.pem" "$d/one.pem"
    chmod 0777 "$d"
    write_conf "$CONF" <<EOF
staples = ( { certificate = "$d/*.pem"; response = "$OUT/*.der"; } );
EOF
    run ocspstaple_cmd check -c "$CONF"
    assert_failure 2
    assert_output --partial "$CONF:2: pattern $d/*.pem: $d is world-writable"
    refute_output --partial "one.example.test"
    run ocspstaple_cmd fetch -c "$CONF"
    assert_failure 1
    assert_output --partial "is world-writable"
    chmod 0755 "$d"
    run ocspstaple_cmd check -c "$CONF"
    assert_output --partial "CN=one.example.test"
}

@test "matching: a name with a control character is not taken (it would go into file names and logs)" {
    local d="$BATS_TEST_TMPDIR/mail"
    mkdir -p "$d"
    issue one.example.test "$BATS_TEST_TMPDIR/one"
    cp "$BATS_TEST_TMPDIR/one-fullchain.pem" "$d/good.pem"
    cp "$BATS_TEST_TMPDIR/one-fullchain.pem" "$d/$(printf 'evil\nocspstaple: error: forged')".pem
    cp "$BATS_TEST_TMPDIR/one-fullchain.pem" "$d/$(printf 'tab\there')".pem
    write_conf "$CONF" <<EOF
staples = ( { certificate = "$d/*.pem"; response = "$OUT/*.der"; } );
EOF
    run ocspstaple_cmd check -c "$CONF" --format json
    run python3 -c 'import json, sys
r = json.load(sys.stdin)
print(" ".join(x["file"] for c in r["certificates"] for x in c["responses"]))' <<< "$output"
    assert_output "$OUT/good.der"
}
