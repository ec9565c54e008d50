#!/usr/bin/env bats
# The certificate life cycle under nginx (Debian's nginx-light 1.22), in its default mode
# (`daemon on`, `master_process on`: the launcher forks the master and exits, workers run as
# www-data), with ssl_certificate .../live/mail/fullchain.pem from a certbot tree, reloaded the
# way its operators reload it: `nginx -s reload` (what Debian's ExecReload runs, under the
# unit's LD_PRELOAD too). A second server block on another port serves a second certificate,
# not configured at first. The steps are tests/helpers/renewal.bash's; the shim's lines are
# read from nginx's error log (nginx points the master's and the workers' stderr there).
#
# Process model: the master re-reads its configuration on reload (new contexts in the master)
# and forks new workers; the old workers finish their connections and exit. The workers are
# forked children that never loaded anything themselves: they must refresh before their first
# staple when what they inherited is older than a second.

load helpers/common
load helpers/daemons
load helpers/servers
load helpers/responder
load helpers/renewal

setup_file() {
    command -v nginx > /dev/null || skip "nginx is not installed (make test-deps)"
    # (Each test skips: a skip in setup_file makes teardown_file fail in this bats.)
    if [ "${OCSPSTAPLE_SANITIZE:-}" = thread ]; then
        export SKIP_ALL="under ThreadSanitizer nginx's master, forked from a threaded launcher, ignores its stop signal (tests/nginx.bats)"
        return 0
    fi
    export D="$BATS_FILE_TMPDIR"
    # nginx gives its workers a fresh environment (TZ and its `env` directives only); the shim
    # keeps OCSPSTAPLE_LOG_TARGET as its launcher read it, and the file says stderr too, which
    # nginx points at its error log.
    export CONF_HEADER='log_target = "stderr";'
    renewal_setup
    local d
    d=$(server_dir main)
    SECOND_PORT=$(free_port)
    nginx_conf main "" "$D/le/live/mail/fullchain.pem" "$D/le/live/mail/privkey.pem" "	server {
		listen 127.0.0.1:$SECOND_PORT ssl;
		ssl_certificate $FX/other-chain.pem;
		ssl_certificate_key $FX/other.key;
		location / {
			return 200 \"other\\n\";
		}
	}"
    start_nginx main "$D/ocspstaple.conf"
    wait_port "$SECOND_PORT" 5
    echo "$PORT $SECOND_PORT" > "$d/ports"
}

teardown_file() {
    [ -n "${SKIP_ALL:-}" ] || stop_nginx main
    stop_sessions
    check_daemon_logs
}

setup() {
    [ -z "${SKIP_ALL:-}" ] || skip "$SKIP_ALL"
    read -r PORT SECOND_PORT < "$(server_dir main)/ports"
    CLIENT_ARGS=()
    CHECK_ARGS=()
    SECOND_ARGS=()
    SHIMLOG="$(server_dir main)/launcher.log $(server_dir main)/error.log"
    ONE_PROCESS=0
}

teardown() {
    [ -n "${SKIP_ALL:-}" ] || renewal_teardown
}

# reload_server - `nginx -s reload`, remembering the workers it replaces.
reload_server() {
    nginx_workers main | sort > "$BATS_TEST_TMPDIR/old-workers"
    nginx_signal main reload
}

# after_reload - until none of the old workers is left and new ones run.
after_reload() {
    local pid i
    for pid in $(cat "$BATS_TEST_TMPDIR/old-workers"); do
        wait_gone "$pid" 15 || { echo "old worker $pid still runs" >&2; return 1; }
    done
    for i in $(seq 1 50); do
        [ -n "$(nginx_workers main)" ] && return 0
        sleep 0.1
    done
    echo "no new workers" >&2
    return 1
}

# The order matters only in that each step starts from what the one before left: the
# configuration change first (from the state at start), then the revocation, then the renewals
# (each renews again, so none depends on an earlier renewal having worked).

@test "an entry added to the running nginx's configuration is stapled within 3 s by its workers; a broken one keeps the last good, logged once" {
    config_change
}

@test "a revoked replacement: no handshake staples good, in the running workers or in those nginx -s reload starts" {
    revoked_after_reload
}

@test "certbot renewal, new response in place, nginx -s reload: the new certificate is stapled within 3 s" {
    renew_with_response
}

@test "certbot's order (renew, nginx -s reload, then ocspstaple fetch): no staple until the response is in, then within 3 s without a reload; check tells the truth" {
    renew_certbot_order
}
