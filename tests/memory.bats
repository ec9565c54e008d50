#!/usr/bin/env bats
# Memory: no leaks and no invalid accesses under valgrind across many handshakes, reloads and
# contexts; resident memory flat over 100,000 stapled handshakes; context creation cost flat.
# (Skipped in sanitizer builds: valgrind and the sanitizer runtimes exclude each other, and
# ASan's quarantine makes resident memory meaningless.)

load helpers/common

HS_LOOP="$BUILD_DIR/tests/hs_loop"

setup() {
    [ -z "${OCSPSTAPLE_SANITIZE:-}" ] || skip "valgrind and resident memory need a plain build"
    command -v valgrind > /dev/null || skip "valgrind is not installed"
    CONF="$BATS_TEST_TMPDIR/ocspstaple.conf"
    DIR="$BATS_TEST_TMPDIR/responses"
    mkdir -p "$DIR"
    cp "$FX/ec-good.der" "$DIR/ec.der"
    write_conf "$CONF" <<EOF
log_level = "warning";
staples = ( { certificate = "$FX/ec-chain.pem"; response = "$DIR/ec.der"; } );
EOF
}

# 2,000 handshakes, not more: valgrind counts every lost block, so one leaked per handshake or
# per reload shows at any count, and each handshake costs about 70 ms under valgrind (100 ms
# with Debian 13's OpenSSL 3.5), which the suite pays once per release in CI. Growth that is
# not a leak is the resident memory test's job, at 100,000 handshakes without valgrind.
@test "valgrind: 2,000 contexts, 2,000 handshakes, 10 reloads: no leak, no invalid access" {
    run env OCSPSTAPLE_CONF="$CONF" HS_LOOP_CONTEXTS=2000 LD_PRELOAD="$SHIM" \
        valgrind --quiet --leak-check=full --show-leak-kinds=definite,indirect \
        --errors-for-leak-kinds=definite,indirect --error-exitcode=99 \
        "$HS_LOOP" "$FX/ec.pem" "$FX/ec.key" 2000 200 "$FX/ec-good2.der" "$FX/ec-good.der" \
        "$DIR/ec.der"
    echo "$output" > "$BATS_TEST_TMPDIR/valgrind.log"
    assert_success
    assert_output --partial "stapled 2000 of 2000"
    refute_output --partial "Invalid read"
    refute_output --partial "Invalid write"
    refute_output --partial "definitely lost"
}

@test "resident memory after 100,000 stapled handshakes: within 1 MiB of after 1,000" {
    run env OCSPSTAPLE_CONF="$CONF" LD_PRELOAD="$SHIM" "$HS_LOOP" "$FX/ec.pem" "$FX/ec.key" 100000
    assert_success
    assert_output --partial "stapled 100000 of 100000"
    local first last
    first=$(awk '/rss_kb_after_1000/ { print $2 }' <<< "$output")
    last=$(awk '/rss_kb_at_end/ { print $2 }' <<< "$output")
    echo "resident: $first KiB after 1,000, $last KiB after 100,000" >&3
    [ "$first" -gt 0 ]
    [ $((last - first)) -le 1024 ]
}

@test "creating contexts under the shim costs the same per context, at 1,000 as at 2,000" {
    local n
    for n in 0 1000 2000; do
        OCSPSTAPLE_CONF="$CONF" LD_PRELOAD="$SHIM" HS_LOOP_CONTEXTS=$n valgrind --tool=callgrind \
            --callgrind-out-file="$BATS_TEST_TMPDIR/cg.$n" "$HS_LOOP" "$FX/ec.pem" "$FX/ec.key" 1 \
            > /dev/null 2>&1
    done
    HS_LOOP_CONTEXTS=1000 valgrind --tool=callgrind --callgrind-out-file="$BATS_TEST_TMPDIR/cg.plain" \
        "$HS_LOOP" "$FX/ec.pem" "$FX/ec.key" 1 > /dev/null 2>&1
    HS_LOOP_CONTEXTS=0 valgrind --tool=callgrind --callgrind-out-file="$BATS_TEST_TMPDIR/cg.plain0" \
        "$HS_LOOP" "$FX/ec.pem" "$FX/ec.key" 1 > /dev/null 2>&1
    total() { awk '/^summary:/ { print $2 }' "$BATS_TEST_TMPDIR/cg.$1"; }
    local first second plain
    first=$(($(total 1000) - $(total 0)))
    second=$(($(total 2000) - $(total 1000)))
    plain=$(($(total plain) - $(total plain0)))
    echo "instructions per 1,000 contexts: $first, then $second; without the shim $plain" >&3
    # Linear (the second thousand costs what the first did) and within 5 % of no shim at all.
    [ $((second * 100)) -le $((first * 102)) ]
    [ $((first * 100)) -le $((plain * 105)) ]
}
