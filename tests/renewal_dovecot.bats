#!/usr/bin/env bats
# The certificate life cycle under Dovecot (Debian's package), started as Debian's unit starts
# it (`dovecot -F`), with its certificate from a certbot tree (ssl_cert = <.../live/mail/
# fullchain.pem, the key likewise; ssl_server_cert_file and ssl_server_key_file in 2.4), the
# shim from dovecot.conf's import_environment (the shipped conf.d file), reloaded the way its
# operators reload it: `doveadm reload` (Debian's ExecReload). A second certificate is chosen
# by SNI (local_name other.example.test), not configured in the shim at first. The steps are
# tests/helpers/renewal.bash's, over IMAPS; the shim's lines are read from Dovecot's log
# (login processes' stderr ends up there).
#
# Process model: a new imap-login process per connection (high-security mode), chrooted as
# dovenull; `doveadm reload` makes the master re-read its configuration (the certificates
# with it) and start new login processes from then on.

load helpers/common
load helpers/daemons
load helpers/servers
load helpers/responder
load helpers/renewal

setup_file() {
    command -v dovecot > /dev/null || skip "dovecot is not installed (make test-deps)"
    export D="$BATS_FILE_TMPDIR"
    renewal_setup
    local lines
    if dovecot_is_24; then
        lines="ssl_server_cert_file = $D/le/live/mail/fullchain.pem
ssl_server_key_file = $D/le/live/mail/privkey.pem"
    else
        lines="ssl_cert = <$D/le/live/mail/fullchain.pem
ssl_key = <$D/le/live/mail/privkey.pem"
    fi
    # The environment says where the shim logs: a configuration that does not parse cannot.
    start_dovecot main "$D/ocspstaple.conf" OCSPSTAPLE_LOG_TARGET=stderr "$lines"
}

teardown_file() {
    stop_dovecot main
    stop_sessions
    check_daemon_logs
}

setup() {
    local conf
    conf="$(dovecot_dir main)/dovecot.conf"
    # (doveconf warns that the global ssl_cert after the local_name block leaves that block
    # alone: meant so.)
    PORT=$(doveconf -c "$conf" -h service/imap-login/inet_listener/imaps/port 2> /dev/null)
    CLIENT_ARGS=()
    CHECK_ARGS=()
    SECOND_PORT=$PORT
    SECOND_ARGS=(-servername other.example.test)
    SHIMLOG="$(dovecot_dir main)/dovecot.log"
    ONE_PROCESS=0
    NEW_PROCESS_PER_CONNECTION=1
}

teardown() {
    renewal_teardown
}

# reload_server - `doveadm reload`, remembering how many reloads the log shows.
reload_server() {
    grep -c "SIGHUP received" "$(dovecot_dir main)/dovecot.log" > "$BATS_TEST_TMPDIR/reloads" || true
    doveadm -c "$(dovecot_dir main)/dovecot.conf" reload 2>&1
}

# after_reload - until the master logged the reload.
after_reload() {
    local i before
    before=$(cat "$BATS_TEST_TMPDIR/reloads")
    for i in $(seq 1 100); do
        [ "$(grep -c "SIGHUP received" "$(dovecot_dir main)/dovecot.log")" -gt "$before" ] && return 0
        sleep 0.1
    done
    echo "Dovecot did not log the reload" >&2
    return 1
}

# The order matters only in that each step starts from what the one before left: the
# configuration change first (from the state at start), then the revocation, then the renewals
# (each renews again, so none depends on an earlier renewal having worked).

@test "an entry added to the shim's configuration is stapled within 3 s by the running Dovecot; a broken one keeps the last good, logged once per process" {
    config_change
}

@test "a revoked replacement: no handshake staples good, before or after doveadm reload" {
    revoked_after_reload
}

@test "certbot renewal, new response in place, doveadm reload: the new certificate is stapled within 3 s" {
    renew_with_response
}

@test "certbot's order (renew, doveadm reload, then ocspstaple fetch): no staple until the response is in, then within 3 s without a reload; check tells the truth" {
    renew_certbot_order
}
