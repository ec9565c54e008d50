#!/usr/bin/env bats
# The certificate life cycle under Postfix (Debian's 3.7), started with `postfix start` (the
# master runs in the background; Debian's unit is Type=forking around the same command), with
# smtpd_tls_chain_files = .../live/mail/privkey.pem, .../live/mail/fullchain.pem from a certbot
# tree, the shim from main.cf's import_environment (the shipped lines), reloaded the way its
# operators reload it: `postfix reload`. A second certificate is chosen by SNI
# (tls_server_sni_maps), not configured in the shim at first; its entry names a copy of it in
# the responses' directory, which the running smtpd processes opened before their chroot (an
# entry in a directory they never opened has a test of its own). The steps are
# tests/helpers/renewal.bash's; the shim logs to syslog (a private /dev/log).
#
# Process model: the master forks an smtpd per connection as needed (execve: each loads the
# shim afresh, before its chroot) and keeps it for further connections; `postfix reload` makes
# the master re-read main.cf and replace its idle daemons with new ones.

load helpers/common
load helpers/daemons
load helpers/servers
load helpers/responder
load helpers/renewal

setup_file() {
    command -v postfix > /dev/null || skip "postfix is not installed (make test-deps)"
    private_devlog_works || skip "no private /dev/log on this machine (the shim's syslog lines are read)"
    export D="$BATS_FILE_TMPDIR"
    renewal_setup
    export SYSLOG_SOCK="$D/log.sock"
    start_syslog_sink "$SYSLOG_SOCK" "$D/syslog.txt"
    # postmap -F stores the files' contents in the table (postmap wants a main.cf).
    mkdir -p "$D/sni"
    : > "$D/sni/main.cf"
    printf '%s %s, %s\n' other.example.test "$FX/other.key" "$FX/other-chain.pem" > "$D/sni/map"
    postmap -c "$D/sni" -F "hash:$D/sni/map"
    open_for_daemons "$D/sni"
    chmod o+r "$D/sni/map.db"
    # The second entry's certificate (the same as the SNI map's) beside the responses: in a
    # directory the chrooted smtpd processes opened before their chroot (see the test of a
    # directory they did not open, below).
    cp "$FX/other-chain.pem" "$D/resp/other-chain.pem"
    chmod o+r "$D/resp/other-chain.pem"
    # The later smtpd_tls_chain_files overrides start_postfix's own (the last one wins).
    start_postfix main "$D/ocspstaple.conf" "smtpd_tls_chain_files = $D/le/live/mail/privkey.pem, $D/le/live/mail/fullchain.pem
tls_server_sni_maps = hash:$D/sni/map"
}

teardown_file() {
    stop_postfix main
    stop_sessions
    check_daemon_logs
}

setup() {
    PORT=$(cat "$(postfix_dir main)/port")
    CLIENT_ARGS=(-starttls smtp)
    CHECK_ARGS=(--starttls smtp)
    SECOND_PORT=$PORT
    SECOND_ARGS=(-starttls smtp -servername other.example.test)
    SECOND_CERT="$D/resp/other-chain.pem"
    SHIMLOG="$D/syslog.txt"
    ONE_PROCESS=0
}

teardown() {
    renewal_teardown
}

# reload_server - `postfix reload`, remembering the smtpd processes it replaces.
reload_server() {
    smtpd_pids main > "$BATS_TEST_TMPDIR/old-smtpd" || true
    postfix -c "$(postfix_dir main)/etc" reload 2>&1
}

# after_reload - until the smtpd processes that ran before the reload have exited.
after_reload() {
    local pid
    for pid in $(cat "$BATS_TEST_TMPDIR/old-smtpd"); do
        wait_gone "$pid" 15 || { echo "smtpd $pid still runs after the reload" >&2; return 1; }
    done
}

# The order matters only in that each step starts from what the one before left: the
# configuration change first (from the state at start), then the revocation, then the renewals
# (each renews again, so none depends on an earlier renewal having worked).

@test "an entry added to the running Postfix's shim configuration is stapled within 3 s; a broken one keeps the last good, logged once per smtpd" {
    config_change
}

@test "an entry added whose certificate is in a directory no running smtpd opened before its chroot: they say they cannot read it; the smtpd processes postfix reload starts staple it" {
    local other
    other=$(openssl x509 -in "$FX/other.pem" -noout -serial | sed 's/^serial=//')
    # (Without the entry the test before added: its running smtpd drops it within a second.)
    write_shim_conf
    run eventually_unstapled "$other" "$WITHIN" "$SECOND_PORT" "${SECOND_ARGS[@]}"
    assert_success
    SECOND_CERT="$FX/other-chain.pem" write_shim_conf second
    run eventually_logged "$WITHIN" "$FX/other-chain.pem: cannot be read"
    assert_success
    run serves_unstapled "$other" 2 "$SECOND_PORT" "${SECOND_ARGS[@]}"
    assert_success
    run reload_server
    assert_success
    run after_reload
    assert_success
    run eventually_serves_stapled "$other" "$WITHIN" "$SECOND_PORT" "${SECOND_ARGS[@]}"
    assert_success
}

@test "a revoked replacement: no handshake staples good, in running smtpd processes or in those started after postfix reload" {
    revoked_after_reload
}

@test "certbot renewal, new response in place, postfix reload: the new certificate is stapled within 3 s" {
    renew_with_response
}

@test "certbot's order (renew, postfix reload, then ocspstaple fetch): no staple until the response is in, then within 3 s without a reload; check tells the truth" {
    renew_certbot_order
}
