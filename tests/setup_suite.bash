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
}
