#!/usr/bin/env bats
# The host's signals are its own: the shim's reloader thread blocks every signal, so that a
# process-directed signal is never taken there (where a handler of the host's would run in the
# middle of the shim's work, or, for a daemon that blocks its signals and takes them with
# sigwait, the default action would kill it).

load helpers/common

@test "a host taking SIGUSR1, SIGHUP and SIGCHLD with sigtimedwait gets every one, and no handler runs elsewhere" {
    CONF="$BATS_TEST_TMPDIR/ocspstaple.conf"
    write_conf "$CONF" <<EOF
staples = ( { certificate = "$FX/rsa-chain.pem"; response = "$FX/rsa-good.der"; } );
EOF
    run env OCSPSTAPLE_CONF="$CONF" OCSPSTAPLE_LOG_TARGET=stderr LD_PRELOAD="$SHIM_PRELOAD" \
        timeout 60 "$BUILD_DIR/tests/signal_host" 600
    assert_success
    assert_output --partial "600 of 600 signals taken by the main thread; handlers ran 0 times"
}
