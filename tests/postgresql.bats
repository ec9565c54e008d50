#!/usr/bin/env bats
# PostgreSQL (Debian's postgresql-15, unmodified, no stapling of its own) under the shim: a
# private cluster made with initdb and run with pg_ctl as user postgres, ssl = on, listening
# on 127.0.0.1. Checked: the STARTTLS-like SSLRequest (`openssl s_client -starttls postgres`)
# is stapled, by every new backend, a response replaced while the cluster runs, `pg_ctl
# reload` (the postmaster builds its SSL context again), and `pg_ctl stop`.
#
# Process model: the postmaster creates the SSL context (at start and at each reload) and
# forks one backend per connection; the handshake runs in the backend, which inherits the
# context and the responses the postmaster's reloader had loaded. The postmaster is
# single-threaded by design: the shim's reloader thread is the only other thread in it.

load helpers/common
load helpers/daemons
load helpers/servers

setup_file() {
    [ -n "$PG_BIN" ] || skip "postgresql is not installed (make test-deps)"
    # Not the shim: `postgres -V` (the first thing initdb runs) hangs with the ASan or the TSan
    # runtime preloaded and nothing else.
    # (Each test skips: a skip in setup_file makes teardown_file fail in this bats.)
    if [ -n "${SAN_RUNTIME:-}" ]; then
        export SKIP_ALL="postgres hangs under a preloaded sanitizer runtime, even without the shim"
        return 0
    fi
    export D="$BATS_FILE_TMPDIR"
    live_responses "$D"
    start_postgres main "$D/ocspstaple.conf"
}

teardown_file() {
    stop_postgres main
    stop_sessions
    check_daemon_logs
}

setup() {
    [ -z "${SKIP_ALL:-}" ] || skip "$SKIP_ALL"
    PORT=$(sed -n 's/^port = //p' "$(server_dir main)/data/postgresql.auto.conf")
}

# sql QUERY - one query over TLS (sslmode=require), as postgres.
sql() {
    timeout 20 psql "host=127.0.0.1 port=$PORT dbname=postgres user=postgres sslmode=require" \
        -XAtqc "$1"
}

@test "pg_ctl start: the postmaster runs as postgres with the shim; SSLRequest is stapled" {
    local pid
    pid=$(postmaster_pid main)
    run stat -c %U "/proc/$pid"
    assert_output postgres
    run grep -c libocspstaple "/proc/$pid/maps"
    assert [ "$output" -gt 0 ]
    assert_staple rsa-good.der -starttls postgres
    assert_subject mail.example.test
    run sql "select ssl from pg_stat_ssl where pid = pg_backend_pid()"
    assert_success
    assert_output t
}

@test "every connection is a new backend: ten in a row, all stapled" {
    handshakes rsa-good.der 10 "$BATS_TEST_TMPDIR/results" -starttls postgres
    run cat "$BATS_TEST_TMPDIR/results"
    refute_output --partial BAD
    run grep -c '^ok$' "$BATS_TEST_TMPDIR/results"
    assert_output 10
}

@test "a response replaced while PostgreSQL runs is stapled by the next backends" {
    assert_staple rsa-good.der -starttls postgres
    replace_atomically "$FX/rsa-good2.der" "$D/resp/rsa.der"
    run eventually_staple rsa-good2.der 5 -starttls postgres
    assert_success
    handshakes rsa-good2.der 5 "$BATS_TEST_TMPDIR/results" -starttls postgres
    run grep -c '^ok$' "$BATS_TEST_TMPDIR/results"
    assert_output 5
}

@test "pg_ctl reload: the postmaster's new SSL context staples too" {
    local log
    log="$(server_dir main)/postgres.log"
    run pg_as_postgres pg_ctl -D "$(server_dir main)/data" reload
    assert_success
    run wait_for_log "$log" "received SIGHUP, reloading configuration files"
    assert_success
    run eventually_staple rsa-good2.der 5 -starttls postgres
    assert_success
    run sql "select 1"
    assert_output 1
    run grep -E "could not load|SSL error|FATAL" "$log"
    assert_failure
}

@test "pg_ctl stop: the postmaster and its children exit" {
    local pid
    pid=$(postmaster_pid main)
    run pg_as_postgres pg_ctl -D "$(server_dir main)/data" -m fast -w -t 30 stop
    assert_success
    run wait_gone "$pid" 15
    assert_success
    run pgrep -P "$pid"
    assert_failure
}
