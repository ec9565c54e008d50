# setup_suite.bash - once per `bats tests/` run: generate the PKI and OCSP responses.
# Fixtures are made fresh every run (never committed): their dates are relative to now.

setup_suite() {
    ROOT=$(cd "$BATS_TEST_DIRNAME/.." && pwd)
    export ROOT
    export FX="$BATS_SUITE_TMPDIR/fx"
    # Daemons that drop privileges (Postfix, Dovecot) must be able to reach the fixtures.
    chmod o+x "$BATS_RUN_TMPDIR" "$BATS_SUITE_TMPDIR"
    "$ROOT/tests/helpers/mkfixtures.sh" "$FX"
    chmod -R o+rX "$FX"
    # Daemons started as their own user (PostgreSQL, Redis) load the shim with that user's
    # rights. Where the checkout is closed to other users (a clone in /root, mode 0700), they
    # load a copy of this build's objects made here, where everyone may read (daemon_preload).
    local build="$ROOT/${OCSPSTAPLE_BUILD:-build}"
    if ! setpriv --reuid=nobody --regid=nogroup --clear-groups test -r "$build/libocspstaple.so"; then
        mkdir "$BATS_SUITE_TMPDIR/shim"
        cp "$build"/libocspstaple*.so "$BATS_SUITE_TMPDIR/shim/"
        chmod -R o+rX "$BATS_SUITE_TMPDIR/shim"
        export OCSPSTAPLE_SHIM_COPY="$BATS_SUITE_TMPDIR/shim"
    fi
}
