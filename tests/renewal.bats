#!/usr/bin/env bats
# The certificate life cycle in one running process: a renewed certificate (certbot's symlink
# switch, acme.sh's rewrite in place) is stapled as soon as a good response for it is in place,
# in either order of the operator's steps; the old certificate keeps its own response while it
# is still served; a changed configuration is applied without a restart, a broken one keeps
# the last good; a served certificate nothing is configured for is named in the log. The host
# is tls_server with --reload-on-hup, which rereads its files on SIGHUP as servers do (the real
# servers' reloads are in lifecycle tests of their own).

load helpers/common

# The contract's times (3 s), stretched under a sanitizer runtime, which slows every host.
SLOW=1
[ -z "${OCSPSTAPLE_SANITIZE:-}" ] || SLOW=3

setup() {
    CONF="$BATS_TEST_TMPDIR/ocspstaple.conf"
    DIR="$BATS_TEST_TMPDIR/responses"
    LE="$BATS_TEST_TMPDIR/letsencrypt"
    mkdir -p "$DIR" "$LE/archive/mail" "$LE/live/mail"
    cp "$FX/rsa-chain.pem" "$LE/archive/mail/fullchain1.pem"
    cp "$FX/rsa.key" "$LE/archive/mail/privkey1.pem"
    ln -s ../../archive/mail/fullchain1.pem "$LE/live/mail/fullchain.pem"
    ln -s ../../archive/mail/privkey1.pem "$LE/live/mail/privkey.pem"
    cp "$FX/rsa-good.der" "$DIR/mail.der"
    write_conf "$CONF" <<EOF
staples = ( { certificate = "$LE/live/mail/fullchain.pem"; response = "$DIR/mail.der"; } );
EOF
}

teardown() {
    stop_hosts
}

# start_renewing_host - tls_server on the live/ files, rereading them on SIGHUP.
start_renewing_host() {
    start_tls_server "$CONF" --cert "$LE/live/mail/fullchain.pem" \
        --key "$LE/live/mail/privkey.pem" --reload-on-hup 1 "$@"
}

# renew N FIXTURE - what certbot does: new files in archive/, the live/ symlinks switched.
renew() {
    cp "$FX/$2-chain.pem" "$LE/archive/mail/fullchain$1.pem"
    cp "$FX/$2.key" "$LE/archive/mail/privkey$1.pem"
    ln -s "../../archive/mail/fullchain$1.pem" "$LE/live/mail/.fullchain.new"
    mv -T "$LE/live/mail/.fullchain.new" "$LE/live/mail/fullchain.pem"
    ln -s "../../archive/mail/privkey$1.pem" "$LE/live/mail/.privkey.new"
    mv -T "$LE/live/mail/.privkey.new" "$LE/live/mail/privkey.pem"
}

# reload_host - the server's reload: SIGHUP, then wait until it says it reloaded.
reload_host() {
    local before
    before=$(grep -c "tls_server: reloaded" "$SERVER_LOG" || true)
    kill -HUP "$HOST_PID"
    wait_for_log "$SERVER_LOG" "tls_server: reloaded" 10 $((before + 1))
}

# served_serial - the serial of the certificate the server serves now.
served_serial() {
    echo | timeout 20 openssl s_client -connect "127.0.0.1:$PORT" 2> /dev/null |
        openssl x509 -noout -serial
}

# serial_of FIXTURE - the serial of a fixture certificate, as served_serial prints it.
serial_of() {
    openssl x509 -in "$FX/$1.pem" -noout -serial
}

# change_conf - write the configuration read from stdin the way editors and tools do (beside
# the file, then renamed over it).
change_conf() {
    write_conf "$CONF.new"
    mv -f "$CONF.new" "$CONF"
}

@test "certbot renewal, response first: the new certificate is stapled within 3 s of the reload" {
    start_renewing_host
    assert_stapled rsa-good.der
    renew 2 rsa2
    replace_atomically "$FX/rsa2-good.der" "$DIR/mail.der"
    run reload_host
    assert_success
    run served_serial
    assert_output "$(serial_of rsa2)"
    run eventually_stapled rsa2-good.der $((3 * SLOW))
    assert_success
    assert_stapled_bytes rsa2-good.der
    run grep -E "certificate $LE/live/mail/fullchain.pem changed: now .*mail.example.test" \
        "$SERVER_LOG"
    assert_success
}

@test "certbot's order (reload, then fetch): no staple in between, then the new one without a reload" {
    start_renewing_host
    assert_stapled rsa-good.der
    renew 2 rsa2
    run reload_host
    assert_success
    run served_serial
    assert_output "$(serial_of rsa2)"
    # The only response is the old certificate's: nothing may be stapled for the new one.
    sleep 2.5
    assert_not_stapled
    # Both checks tell the truth: the files (the entry's certificate has no good response) and
    # the running server (no staple).
    run ocspstaple_cmd check -c "$CONF"
    assert_failure
    run ocspstaple_cmd check -c "$CONF" --connect "127.0.0.1:$PORT"
    assert_failure 2
    assert_output --partial "$(serial_of rsa2 | sed 's/^serial=//')"
    # The hourly fetch writes the new certificate's response: the running server takes it.
    replace_atomically "$FX/rsa2-good.der" "$DIR/mail.der"
    run eventually_stapled rsa2-good.der $((3 * SLOW))
    assert_success
    run ocspstaple_cmd check -c "$CONF"
    assert_success
    run ocspstaple_cmd check -c "$CONF" --connect "127.0.0.1:$PORT"
    assert_success
}

@test "a renewal the server has not reloaded yet: the old certificate keeps its own good response" {
    start_renewing_host
    assert_stapled rsa-good.der
    renew 2 rsa2
    replace_atomically "$FX/rsa2-good.der" "$DIR/mail.der"
    # The server still serves the old certificate: its good response stays in use.
    sleep 3
    assert_stapled rsa-good.der
    run grep -E "mail.der: .*wrong certificate" "$SERVER_LOG"
    assert_failure
    run reload_host
    assert_success
    run eventually_stapled rsa2-good.der $((3 * SLOW))
    assert_success
}

@test "acme.sh style: the certificate file rewritten in place is followed too" {
    cp "$FX/rsa-chain.pem" "$BATS_TEST_TMPDIR/fullchain.cer"
    cp "$FX/rsa.key" "$BATS_TEST_TMPDIR/mail.key"
    write_conf "$CONF" <<EOF
staples = ( { certificate = "$BATS_TEST_TMPDIR/fullchain.cer"; response = "$DIR/mail.der"; } );
EOF
    start_tls_server "$CONF" --cert "$BATS_TEST_TMPDIR/fullchain.cer" \
        --key "$BATS_TEST_TMPDIR/mail.key" --reload-on-hup 1
    assert_stapled rsa-good.der
    cat "$FX/rsa2-chain.pem" > "$BATS_TEST_TMPDIR/fullchain.cer"
    cat "$FX/rsa2.key" > "$BATS_TEST_TMPDIR/mail.key"
    cat "$FX/rsa2-good.der" > "$DIR/mail.der"
    run reload_host
    assert_success
    run eventually_stapled rsa2-good.der $((4 * SLOW))
    assert_success
}

@test "a Must-Staple certificate renewed this way keeps GnuTLS connecting" {
    cp "$FX/muststaple-chain.pem" "$LE/archive/mail/fullchain1.pem"
    cp "$FX/muststaple.key" "$LE/archive/mail/privkey1.pem"
    cp "$FX/muststaple-good.der" "$DIR/mail.der"
    start_renewing_host
    gnutls_must_staple() {
        timeout 20 gnutls-cli --x509cafile="$FX/ca.pem" --port="$PORT" \
            --verify-hostname=must.example.test 127.0.0.1 < /dev/null > /dev/null 2>&1
    }
    run gnutls_must_staple
    assert_success
    renew 2 muststaple2
    replace_atomically "$FX/muststaple2-good.der" "$DIR/mail.der"
    run reload_host
    assert_success
    run eventually_stapled muststaple2-good.der $((3 * SLOW))
    assert_success
    run gnutls_must_staple
    assert_success
}

@test "a served certificate nothing is configured for is named once, with what the entry has" {
    # The small configuration read the old certificate when loaded; the server serves another.
    start_tls_server "$CONF" --cert "$FX/ec-chain.pem" --key "$FX/ec.key"
    assert_not_stapled
    assert_not_stapled
    run grep -c "warning: nothing to staple for the served certificate .*mail.example.test" \
        "$SERVER_LOG"
    assert_output 1
    run grep -E "the entry of $DIR/mail.der \(line [0-9]+\) names .*mail.example.test.*in $LE/live/mail/fullchain.pem" \
        "$SERVER_LOG"
    assert_success
}

@test "a new entry added to the configuration is stapled within 3 s, without a restart" {
    start_tls_server "$CONF" --cert "$LE/live/mail/fullchain.pem" \
        --key "$LE/live/mail/privkey.pem" --cert "$FX/ec-chain.pem" --key "$FX/ec.key"
    # Both certificates are served (by the client's signature algorithms); only RSA is
    # configured yet.
    ECDSA=(-sigalgs ECDSA+SHA256)
    RSA=(-sigalgs "RSA-PSS+SHA256:RSA+SHA256")
    assert_stapled rsa-good.der "${RSA[@]}"
    assert_not_stapled "${ECDSA[@]}"
    cp "$FX/ec-good.der" "$DIR/ec.der"
    change_conf <<EOF
staples = (
    { certificate = "$LE/live/mail/fullchain.pem"; response = "$DIR/mail.der"; },
    { certificate = "$FX/ec-chain.pem"; response = "$DIR/ec.der"; }
);
EOF
    stapled_ec() { status_of "${ECDSA[@]}" | grep -qF "$(fixture_line ec-good.der "Next Update")"; }
    local i ok=0
    for i in $(seq 1 $((16 * SLOW))); do
        if stapled_ec; then ok=1; break; fi
        sleep 0.25
    done
    [ "$ok" = 1 ] || { cat "$SERVER_LOG"; false; }
    assert_stapled rsa-good.der "${RSA[@]}"
    run grep -E "configuration changed: applied \(2 entries: 1 added, 0 removed\)" "$SERVER_LOG"
    assert_success
}

@test "an entry removed from the configuration is no longer stapled" {
    start_renewing_host
    assert_stapled rsa-good.der
    change_conf <<EOF
staples = ( );
EOF
    run eventually_not_stapled $((4 * SLOW))
    assert_success
}

@test "a broken configuration keeps the last good one, and is named once with its line" {
    start_renewing_host
    assert_stapled rsa-good.der
    change_conf <<EOF
staples = ( { certificate = "$LE/live/mail/fullchain.pem"; response = "$DIR/mail.der"; }
EOF
    sleep 3.5
    assert_stapled rsa-good.der
    run grep -c "ocspstaple.conf:[0-9]*: syntax error in the configuration: .*; the configuration loaded before stays in use" \
        "$SERVER_LOG"
    assert_output 1
    # An entry with a problem: what it named stays stapled; the rest of the file applies.
    change_conf <<EOF
staples = ( { certificate = "$LE/live/mail/fullchain.pem"; response = "$DIR/mail.der"; sni = "x"; } );
EOF
    sleep 3.5
    assert_stapled rsa-good.der
    run grep -E "1 entry no longer in the configuration \(or not loadable as changed\) stays in use until it loads without problems" \
        "$SERVER_LOG"
    assert_success
    # Fixed: applied.
    change_conf <<EOF
log_level = "debug";
staples = ( { certificate = "$LE/live/mail/fullchain.pem"; response = "$DIR/mail.der"; } );
EOF
    run wait_for_log "$SERVER_LOG" "configuration changed: applied \(1 entry: 0 added, 0 removed\)$" 5
    assert_success
    assert_stapled rsa-good.der
}

@test "a changed setting applies: serve_revoked turned on staples the revoked response" {
    cp "$FX/rsa-revoked.der" "$DIR/mail.der"
    start_renewing_host
    assert_not_stapled
    change_conf <<EOF
serve_revoked = true;
staples = ( { certificate = "$LE/live/mail/fullchain.pem"; response = "$DIR/mail.der"; } );
EOF
    local i
    for i in $(seq 1 $((16 * SLOW))); do
        status_of | grep -q "Cert Status: revoked" && break
        sleep 0.25
    done
    run status_of
    assert_output --partial "Cert Status: revoked"
}

@test "after a revoked replacement, children forked later staple no good response" {
    start_renewing_host --fork-per-connection 1
    assert_stapled rsa-good.der
    replace_atomically "$FX/rsa-revoked.der" "$DIR/mail.der"
    run eventually_not_stapled $((4 * SLOW))
    assert_success
    # The first child without a staple may have looked at the files itself (what it inherited
    # was more than a second old) before the parent's reloader did: a second later, the
    # parent's view is the revocation too, and so is every child's.
    sleep 2
    local i
    for i in 1 2 3 4 5; do
        run status_of
        refute_output --partial "Cert Status: good"
    done
}

@test "a process that never handshakes does not say it staples" {
    # `nginx -t`, a reload command run with the unit's LD_PRELOAD: contexts made, no handshake.
    run env OCSPSTAPLE_CONF="$CONF" OCSPSTAPLE_LOG_TARGET=stderr \
        LD_PRELOAD="${SAN_RUNTIME:+$SAN_RUNTIME:}$SHIM" "$BUILD_DIR/tests/exit_host" exit 1500000
    assert_success
    # It did check the response (a small configuration is checked when loaded)...
    assert_output --partial "mail.der: good for /CN=mail.example.test"
    # ...and says nothing of stapling.
    refute_output --partial "stapling"
}

@test "a pattern entry: every certificate it matches is stapled, new ones without a configuration change" {
    write_conf "$CONF" <<EOF2
staples = ( { certificate = "$LE/live/*/fullchain.pem"; response = "$DIR/*.der"; } );
EOF2
    echo "This directory contains your keys and certificates." > "$LE/live/README"
    start_tls_server "$CONF" --cert "$LE/live/mail/fullchain.pem" \
        --key "$LE/live/mail/privkey.pem" --cert "$FX/ec-chain.pem" --key "$FX/ec.key" \
        --reload-on-hup 1
    RSA=(-sigalgs "RSA-PSS+SHA256:RSA+SHA256")
    ECDSA=(-sigalgs ECDSA+SHA256)
    assert_stapled rsa-good.der "${RSA[@]}"
    assert_not_stapled "${ECDSA[@]}"
    # A new lineage (certbot certonly -d ec...): found and stapled, the configuration unchanged.
    mkdir -p "$LE/archive/ec" "$LE/live/ec"
    cp "$FX/ec-chain.pem" "$LE/archive/ec/fullchain1.pem"
    cp "$FX/ec-good.der" "$DIR/ec.der"
    ln -s ../../archive/ec/fullchain1.pem "$LE/live/ec/fullchain.pem"
    stapled_ec() { status_of "${ECDSA[@]}" | grep -qF "$(fixture_line ec-good.der "Next Update")"; }
    local i ok=0
    for i in $(seq 1 $((16 * SLOW))); do
        if stapled_ec; then ok=1; break; fi
        sleep 0.25
    done
    [ "$ok" = 1 ] || { cat "$SERVER_LOG"; false; }
    run grep -E "patterns: 1 certificate\(s\) found" "$SERVER_LOG"
    assert_success
    # A renewal inside the pattern is followed as for any entry.
    renew 2 rsa2
    replace_atomically "$FX/rsa2-good.der" "$DIR/mail.der"
    run reload_host
    assert_success
    run eventually_stapled rsa2-good.der $((3 * SLOW))
    assert_success
    # A lineage removed: its certificate is no longer stapled through the pattern.
    rm -r "$LE/live/ec"
    for i in $(seq 1 $((16 * SLOW))); do
        stapled_ec || break
        sleep 0.25
    done
    run stapled_ec
    assert_failure
}

@test "inside a chroot: a changed configuration is read through the directory opened before it" {
    mkdir -p "$BATS_TEST_TMPDIR/jail"
    cp "$FX/rsa-good2.der" "$DIR/other.der"
    start_tls_server "$CONF" --cert "$FX/rsa-chain.pem" --key "$FX/rsa.key" \
        --chroot "$BATS_TEST_TMPDIR/jail"
    assert_stapled rsa-good.der
    change_conf <<EOF2
staples = ( { certificate = "$LE/live/mail/fullchain.pem"; response = "$DIR/other.der"; } );
EOF2
    run eventually_stapled rsa-good2.der $((4 * SLOW))
    assert_success
    run grep -E "configuration changed: applied \(1 entry: 1 added, 1 removed\)" "$SERVER_LOG"
    assert_success
}

@test "a changed entry whose new certificate cannot be read: the entry as it was stays stapled" {
    start_renewing_host
    assert_stapled rsa-good.der
    change_conf <<EOF2
staples = ( { certificate = "$LE/live/mail/missing.pem"; response = "$DIR/mail.der"; } );
EOF2
    run wait_for_log "$SERVER_LOG" "1 entry no longer in the configuration .* stays in use" 5
    assert_success
    run grep -E "live/mail/missing.pem: cannot be read" "$SERVER_LOG"
    assert_success
    assert_stapled rsa-good.der
}
