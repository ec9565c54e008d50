#!/usr/bin/env bats
# The benchmark programs of `make bench` (tests/bench/) run, and the shim staples in them. A
# few seconds, functional checks only: no timing is asserted here (tests/bench/README.md).

load helpers/common

BENCH_BIN="$ROOT/build/bench"

setup() {
    # Benchmarks measure the plain build; sanitizer builds would need their runtime preloaded
    # into every measured process and would measure the sanitizer.
    [ -z "${OCSPSTAPLE_SANITIZE:-}" ] || skip "benchmarks measure the plain build"
}

@test "make bench-smoke: the bench programs run; under the shim every handshake is stapled" {
    TMPDIR=$BATS_TEST_TMPDIR run make -C "$ROOT" --no-print-directory bench-smoke
    assert_success
    assert_output --partial "ocspstaple benchmarks (smoke run)"
    refute_output --partial "FAILED"
    # The shim's rows are there: in-process variant c, s_server under the shim, the reload.
    assert_output --regexp "\| 1 \| ECDSA P-256, TLS 1.3, in process: [^|]*\| a [0-9]+ · b [0-9]+ · c [0-9]+ \|"
    assert_output --regexp "\| 3 \| openssl s_server [^|]*\| built-in [0-9]+ · shim [0-9]+"
    assert_output --regexp "\| 5 \| reload: [^|]*\| median [0-9]+ ms"
}

@test "the bench fails when the preloaded object staples nothing" {
    run make -C "$ROOT" --no-print-directory -s "build/bench/bench" "build/bench/bench-gen" \
        "build/bench/bench-hs" "build/bench/libempty.so" "build/bench/hundred.sh"
    assert_success
    # The empty preload object in the shim's place: variant c must be reported as failed.
    TMPDIR=$BATS_TEST_TMPDIR run "$BENCH_BIN/bench" --bindir "$BENCH_BIN" \
        --shim "$BENCH_BIN/libempty.so" --empty "$BENCH_BIN/libempty.so" --smoke --only 1
    assert_failure
    assert_output --partial "variant c: 0 of"
    assert_output --partial "FAILED"
}
