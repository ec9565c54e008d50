#!/usr/bin/env bats
# Redis (Debian's redis-server 7.0, unmodified: linked with jemalloc, TLS through OpenSSL, no
# stapling of its own) staples through the shim, started as its operators start it: a private
# redis.conf with `daemonize yes` (Debian's default), run as user redis, `tls-port` on
# 127.0.0.1 and the plain port off. Checked: the launcher exits 0 and the daemon staples, a
# response replaced while Redis runs, the contexts Redis rebuilds on `CONFIG SET tls-*`, and a
# clean stop on SIGTERM.
#
# Process model: the launcher forks the server and exits; the server creates its context
# after the fork, in one long-lived process (threads for I/O), whose reloader thread rereads
# replaced responses once a second.

load helpers/common
load helpers/daemons
load helpers/servers

setup_file() {
    command -v redis-server > /dev/null || skip "redis-server is not installed (make test-deps)"
    export D="$BATS_FILE_TMPDIR"
    live_responses "$D"
    start_redis main "$D/ocspstaple.conf"
}

teardown_file() {
    stop_redis main
    stop_sessions
    check_daemon_logs
}

setup() {
    PORT=$(grep -m1 '^tls-port ' "$(server_dir main)/redis.conf" | cut -d' ' -f2)
    PID=$(cat "$(server_dir main)/redis.pid")
}

@test "daemonize yes: the launcher exits 0, the daemon runs as redis with jemalloc and the shim" {
    run cat "$(server_dir main)/launcher.rc"
    assert_output 0
    run stat -c %U "/proc/$PID"
    assert_output redis
    run grep -c libjemalloc "/proc/$PID/maps"
    assert [ "$output" -gt 0 ]
    run grep -c libocspstaple "/proc/$PID/maps"
    assert [ "$output" -gt 0 ]
}

@test "tls-port: the response is stapled, and Redis answers over TLS" {
    assert_staple rsa-good.der
    assert_subject mail.example.test
    run redis_tls PING
    assert_success
    assert_output PONG
}

@test "a response replaced while Redis runs is stapled by the next connections" {
    assert_staple rsa-good.der
    replaced_and_stapled rsa-good2.der "$D/resp/rsa.der"
}

@test "CONFIG SET tls-protocols makes Redis build new contexts: they staple too" {
    run redis_tls CONFIG SET tls-protocols "TLSv1.2 TLSv1.3"
    assert_success
    assert_output OK
    run eventually_staple rsa-good2.der 5
    assert_success
    assert_staple rsa-good2.der -tls1_2
    assert_staple rsa-good2.der -tls1_3
    run redis_tls PING
    assert_output PONG
}

@test "SIGTERM (Debian's stop): Redis shuts down cleanly, nothing left running" {
    run redis_tls SET key value
    assert_output OK
    stop_redis main
    run alive "$PID"
    assert_failure
    run grep -c "ready to exit, bye bye" "$(server_dir main)/redis.log"
    assert_output 1
}
