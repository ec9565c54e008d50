#!/usr/bin/env bats
# The certificate life cycle under lighttpd (Debian's 1.4.69 with lighttpd-mod-openssl),
# started as Debian's unit starts it (`lighttpd -D -f CONF`: in the foreground, the unit being
# the supervisor), dropping its privileges to www-data as Debian's lighttpd.conf does, with
# ssl.pemfile .../live/mail/fullchain.pem and ssl.privkey .../live/mail/privkey.pem from a
# certbot tree, reloaded the way Debian's ExecReload does it: SIGUSR1 (a graceful restart: the
# configuration and the certificates are read again in the same process). (`lighttpd -f` without
# -D forks to the background, and there SIGUSR1 stops the server instead, with or without the
# shim: that is not a reload.) A second socket serves a second certificate, not configured at
# first. The steps are tests/helpers/renewal.bash's; the shim's lines are read from lighttpd's
# stderr and its error log.
#
# Process model: one process, which installs its own OCSP status callback (it declines when
# ssl.stapling-file is not set, and the shim staples); the graceful restart frees the old
# contexts and creates new ones.

load helpers/common
load helpers/daemons
load helpers/servers
load helpers/responder
load helpers/renewal

setup_file() {
    command -v lighttpd > /dev/null || skip "lighttpd is not installed (make test-deps)"
    [ -e /usr/lib/lighttpd/mod_openssl.so ] || skip "lighttpd-mod-openssl is not installed (make test-deps)"
    # lighttpd exports a config_init of its own; the shim keeps libconfig's apart with
    # RTLD_DEEPBIND, which sanitizer builds cannot use (see the Makefile): there libconfig's
    # config_read_file calls lighttpd's config_init and crashes at the first context.
    # (Each test skips: a skip in setup_file makes teardown_file fail in this bats.)
    if [ -n "${SAN_RUNTIME:-}" ]; then
        export SKIP_ALL="lighttpd's exported config_init meets libconfig's without RTLD_DEEPBIND in sanitizer builds"
        return 0
    fi
    export D="$BATS_FILE_TMPDIR"
    renewal_setup
    local d attempt pid
    d=$(server_dir main)
    mkdir -p "$d/www" "$d/log"
    chown www-data "$d/log"
    echo mail > "$d/www/index.html"
    open_for_daemons "$d/www"
    chmod o+r "$d/www/index.html"
    for attempt in 1 2 3; do
        PORT=$(free_port)
        SECOND_PORT=$(free_port)
        [ "$PORT" != "$SECOND_PORT" ] || continue
        cat > "$d/lighttpd.conf" <<EOF
server.modules = ( "mod_openssl" )
server.document-root = "$d/www"
server.pid-file = "$d/lighttpd.pid"
server.errorlog = "$d/log/error.log"
server.username = "www-data"
server.groupname = "www-data"
server.bind = "127.0.0.1"
server.port = $PORT
ssl.engine = "enable"
ssl.pemfile = "$D/le/live/mail/fullchain.pem"
ssl.privkey = "$D/le/live/mail/privkey.pem"
\$SERVER["socket"] == "127.0.0.1:$SECOND_PORT" {
    ssl.engine = "enable"
    ssl.pemfile = "$FX/other-chain.pem"
    ssl.privkey = "$FX/other.key"
}
EOF
        chmod o+r "$d/lighttpd.conf"
        # shellcheck disable=SC2046
        env $(shim_env "$D/ocspstaple.conf") $(sanitizer_environment) setsid lighttpd -D \
            -f "$d/lighttpd.conf" < /dev/null > "$d/lighttpd.out" 2>&1 3>&- &
        pid=$!
        echo "$pid" > "$d/pid"
        track_session "$pid" lighttpd
        if wait_port "$PORT" 15 2> /dev/null && wait_port "$SECOND_PORT" 5 2> /dev/null; then
            echo "$PORT $SECOND_PORT" > "$d/ports"
            return 0
        fi
        kill -TERM "$pid" 2> /dev/null || true
        wait_gone "$pid" 10
        grep -qiE "in use|bind" "$d/lighttpd.out" "$d/log/error.log" 2> /dev/null || break
    done
    echo "lighttpd did not start; its output:" >&2
    cat "$d/lighttpd.out" "$d/log/error.log" >&2 2> /dev/null
    return 1
}

teardown_file() {
    [ -z "${SKIP_ALL:-}" ] || return 0
    local d
    d=$(server_dir main)
    if [ -s "$d/pid" ]; then
        kill -TERM "$(cat "$d/pid")" 2> /dev/null || true
        wait_gone "$(cat "$d/pid")" 10
    fi
    stop_sessions
    check_daemon_logs
}

setup() {
    [ -z "${SKIP_ALL:-}" ] || skip "$SKIP_ALL"
    read -r PORT SECOND_PORT < "$(server_dir main)/ports"
    CLIENT_ARGS=()
    CHECK_ARGS=()
    SECOND_ARGS=()
    SHIMLOG="$(server_dir main)/lighttpd.out $(server_dir main)/log/error.log"
    ONE_PROCESS=1
}

teardown() {
    [ -n "${SKIP_ALL:-}" ] || renewal_teardown
}

# reload_server - SIGUSR1 to lighttpd (Debian's ExecReload: /bin/kill -USR1 $MAINPID).
reload_server() {
    kill -USR1 "$(cat "$(server_dir main)/pid")"
}

# after_reload - until lighttpd has started again after the graceful restart.
after_reload() {
    local i log
    log="$(server_dir main)/log/error.log"
    for i in $(seq 1 100); do
        [ "$(grep -c 'server started' "$log")" -ge "$(grep -c 'graceful shutdown started' "$log")" ] &&
            port_listening "$PORT" && return 0
        sleep 0.1
    done
    echo "lighttpd did not start again; its log:" >&2
    cat "$log" >&2
    return 1
}

# The order matters only in that each step starts from what the one before left: the
# configuration change first (from the state at start), then the revocation, then the renewals
# (each renews again, so none depends on an earlier renewal having worked).

@test "an entry added to the running lighttpd's configuration is stapled within 3 s; a broken one keeps the last good, logged once" {
    config_change
}

@test "a revoked replacement: no handshake staples good, before or after the graceful restart (SIGUSR1)" {
    revoked_after_reload
}

@test "certbot renewal, new response in place, SIGUSR1: the new certificate is stapled within 3 s" {
    renew_with_response
}

@test "certbot's order (renew, SIGUSR1, then ocspstaple fetch): no staple until the response is in, then within 3 s without a reload; check tells the truth" {
    renew_certbot_order
}
