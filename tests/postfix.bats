#!/usr/bin/env bats
# Postfix (Debian's package, unmodified) staples through the shim: smtpd with STARTTLS,
# chrooted as Debian's master.cf has it, gets the shim from main.cf's import_environment.
# Checked: first, second and hundredth connections (across smtpd processes), SNI with two
# certificates from two issuers (tls_server_sni_maps), a response replaced while Postfix runs,
# and a broken shim configuration (Postfix still serves STARTTLS, the log says why).
#
# Process model: the master forks smtpd processes on demand; each serves up to max_use
# connections (10 here instead of the default 100, so that a hundred connections cross ten
# process lifetimes) and lingers up to max_idle seconds. A new smtpd loads the responses
# before its chroot; a running one rereads them through directory handles, once a second.

load helpers/common
load helpers/daemons

setup_file() {
    command -v postfix > /dev/null || skip "postfix is not installed (make test-deps)"
    export D="$BATS_FILE_TMPDIR"
    mkdir -p "$D/resp"
    cp "$FX/rsa-good.der" "$D/resp/rsa.der"
    cp "$FX/other-good.der" "$D/resp/other.der"
    open_for_daemons "$D/resp"
    chmod o+r "$D/resp"/*.der

    # The shim logs to syslog, as it does by default: give Postfix a /dev/log of our own.
    export SYSLOG_OUT="$D/syslog.txt"
    if private_devlog_works; then
        export SYSLOG_SOCK="$D/log.sock"
        start_syslog_sink "$SYSLOG_SOCK" "$SYSLOG_OUT"
    fi

    cat > "$D/ocspstaple.conf" <<EOF
staples = (
    { certificate = "$FX/rsa-chain.pem"; response = "$D/resp/rsa.der"; },
    { certificate = "$FX/other-chain.pem"; response = "$D/resp/other.der"; }
);
EOF
    # Two certificates from two issuers, chosen by SNI. postmap -F stores the files' contents
    # in the table: smtpd reads them per connection, inside its chroot. (postmap wants a
    # main.cf; there is none in /etc/postfix after a "No configuration" installation.)
    mkdir -p "$D/sni"
    : > "$D/sni/main.cf"
    printf '%s %s, %s\n' \
        mail.example.test "$FX/rsa.key" "$FX/rsa-chain.pem" \
        other.example.test "$FX/other.key" "$FX/other-chain.pem" > "$D/sni/map"
    postmap -c "$D/sni" -F "hash:$D/sni/map"
    open_for_daemons "$D/sni"
    chmod o+r "$D/sni/map.db"
    printf 'staples = ( { certificate = "%s"; response = "%s" } \n' \
        "$FX/rsa-chain.pem" "$D/resp/rsa.der" > "$D/broken.conf"

    in_background start_postfix main "$D/ocspstaple.conf" "max_use = 10
tls_server_sni_maps = hash:$D/sni/map"
    in_background start_postfix missing "$D/missing.conf"
    in_background start_postfix broken "$D/broken.conf"
    wait_background
}

teardown_file() {
    in_background stop_postfix main
    in_background stop_postfix missing
    in_background stop_postfix broken
    wait_background
    stop_sessions
    check_daemon_logs
}

setup() {
    PORT=$(cat "$(postfix_dir main)/port")
}

@test "STARTTLS: the response is stapled, by an smtpd chrooted to the queue directory" {
    assert_staple rsa-good.der -starttls smtp
    assert_subject mail.example.test
    # The smtpd that answered is still there (it waits for the next connection): it runs
    # as postfix, inside the chroot.
    run smtpd_pids main
    assert_success
    local pid=${lines[0]}
    run stat -c %U "/proc/$pid"
    assert_output postfix
    run readlink "/proc/$pid/root"
    assert_output "$(postfix_dir main)/spool"
}

@test "main.cf: import_environment is Postfix's default list plus the shim, and smtpd has it" {
    run postconf -c "$(postfix_dir main)/etc" -h import_environment
    assert_success
    assert_output "$(postconf -d -h import_environment) LD_PRELOAD=$(daemon_preload) OCSPSTAPLE_CONF=$D/ocspstaple.conf$(sanitizer_environment | sed "s/^/ /")"
    assert_staple rsa-good.der -starttls smtp
    local pid
    pid=$(smtpd_pids main | head -n 1)
    run grep -c "libocspstaple" "/proc/$pid/maps"
    assert [ "$output" -gt 0 ]
}

@test "the second and the hundredth connection are stapled too, by new smtpd processes" {
    assert_staple rsa-good.der -starttls smtp
    handshakes rsa-good.der 99 "$BATS_TEST_TMPDIR/results" -starttls smtp
    run grep -c '^ok$' "$BATS_TEST_TMPDIR/results"
    assert_output 99
    # With max_use = 10, a hundred connections were served by at least ten smtpd processes.
    run bash -c "grep -oE 'smtpd\[[0-9]+\]: connect from' '$(postfix_dir main)/maillog' | sort -u | wc -l"
    assert [ "$output" -ge 10 ]
}

@test "SNI (tls_server_sni_maps): each name gets the response for its own certificate" {
    assert_staple rsa-good.der -starttls smtp -servername mail.example.test
    assert_subject mail.example.test
    assert_staple other-good.der -starttls smtp -servername other.example.test
    assert_subject other.example.test
    assert_output --partial "Responder Id: CN = ocspstaple Other CA"
    # A name not in the map: the default certificate and its response.
    assert_staple rsa-good.der -starttls smtp -servername unknown.example.test
    assert_subject mail.example.test
}

@test "a response replaced while Postfix runs is stapled by the next connections" {
    assert_staple rsa-good.der -starttls smtp
    replace_atomically "$FX/rsa-good2.der" "$D/resp/rsa.der"
    # Within the reloader's second (plus slack): running smtpd processes reread it in their
    # chroot, new ones load it at their start. No postfix reload.
    run eventually_staple rsa-good2.der 5 -starttls smtp
    assert_success
    handshakes rsa-good2.der 20 "$BATS_TEST_TMPDIR/results" -starttls smtp
    run grep -c '^ok$' "$BATS_TEST_TMPDIR/results"
    assert_output 20
    # The other certificate's response was not touched.
    assert_staple other-good.der -starttls smtp -servername other.example.test
}

@test "a missing shim configuration: Postfix serves STARTTLS without a staple, and logs why" {
    PORT=$(cat "$(postfix_dir missing)/port")
    assert_not_stapled -starttls smtp
    assert_output --regexp "subject= ?CN ?= ?mail\.example\.test"
    [ -n "${SYSLOG_SOCK:-}" ] || skip "no private /dev/log on this machine: log not checked"
    run wait_for_log "$SYSLOG_OUT" "ocspstaple\[[0-9]+\]: error: $D/missing.conf: cannot read the configuration: No such file or directory; no stapling"
    assert_success
}

@test "a shim configuration with a syntax error: Postfix serves STARTTLS, logs file and line" {
    PORT=$(cat "$(postfix_dir broken)/port")
    assert_not_stapled -starttls smtp
    assert_output --regexp "subject= ?CN ?= ?mail\.example\.test"
    [ -n "${SYSLOG_SOCK:-}" ] || skip "no private /dev/log on this machine: log not checked"
    run wait_for_log "$SYSLOG_OUT" "ocspstaple\[[0-9]+\]: error: $D/broken.conf:[0-9]+: syntax error"
    assert_success
}
