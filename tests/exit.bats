#!/usr/bin/env bats
# A host's exit status is its own, every time: hosts that leave soon after their first server
# context (nginx's launcher forking the master and exiting, a server refusing its
# configuration, an init script's exec, a plug-in host unloading libssl with dlclose) while the reloader is in the middle of the background
# load of a large configuration, or of a reload pass. Before the fix, libcrypto's exit-time
# cleanup ran under the reloader's feet: 28 of 40 plain exits with 200 entries died of SIGSEGV.

load helpers/common

EXIT_HOST="$BUILD_DIR/tests/exit_host"
ENTRIES=200

setup_file() {
    export G="$FX/exit-many"
    many_leaves "$G" "$ENTRIES"
}

setup() {
    CONF="$BATS_TEST_TMPDIR/ocspstaple.conf"
    {
        echo 'log_level = "error";'
        echo 'staples = ('
        for ((i = 0; i < ENTRIES; i++)); do
            printf '  { certificate = "%s/scale/%05d-chain.pem"; response = "%s/scale/%05d.der"; },\n' \
                "$G" "$i" "$G" "$i"
        done
        echo "  { certificate = \"$G/ec-chain.pem\"; response = \"$G/ec.der\"; }"
        echo ');'
    } > "$CONF"
}

# runs N - N hosts, or a fifth of them under ThreadSanitizer, whose runtime takes about a
# second to start each host: what TSan can find (a race at exit) shows in fewer runs, and the
# whole TSan run must fit CI's budget.
runs() {
    if [[ ${OCSPSTAPLE_SANITIZE:-} == *thread* ]]; then echo $(($1 / 5)); else echo "$1"; fi
}

# storm MODE RUNS MAX_MS - RUNS hosts that exit in MODE between 0 and MAX_MS after their first
# server context; prints each status that was not 0, and the count of them last.
storm() {
    local mode=$1 runs=$2 max_ms=$3 bad=0 i rc
    for ((i = 0; i < runs; i++)); do
        rc=0
        # Output not to bats' pipe: a child left behind must not keep `run` waiting.
        OCSPSTAPLE_CONF="$CONF" OCSPSTAPLE_LOG_TARGET=stderr LD_PRELOAD="$SHIM_PRELOAD" \
            "$EXIT_HOST" "$mode" "$(( (RANDOM % (max_ms + 1)) * 1000 ))" \
            > /dev/null 2>> "$BATS_TEST_TMPDIR/storm.log" || rc=$?
        if [ "$rc" -ne 0 ]; then
            echo "run $i: exit status $rc"
            bad=$((bad + 1))
        fi
    done
    echo "$bad failed"
}

@test "exit storm: 150 hosts calling exit(0) at random moments during the background load" {
    run storm exit "$(runs 150)" 20
    assert_output "0 failed"
}

teardown() {
    pkill -KILL -f "$EXIT_HOST" 2> /dev/null || true
}

@test "exit storm: 100 launchers forking to the background, parent and child exiting" {
    # GCC 12's sanitizer allocators are not fork-safe while another thread allocates: a child
    # forked then hangs in the runtime's own lock (seen under ASan), whatever the shim does.
    [ -z "${OCSPSTAPLE_SANITIZE:-}" ] || skip "the sanitizer runtime's allocator is not fork-safe with threads"
    run storm fork 100 20
    assert_output "0 failed"
    # No child was left behind (each waits at most 20 ms, then exits).
    sleep 0.5
    run pgrep -f "$EXIT_HOST"
    assert_failure
}

@test "exit storm: 100 hosts that exec after their first server context" {
    run storm exec "$(runs 100)" 20
    assert_output "0 failed"
}

@test "exit storm: 100 hosts exiting from a second thread" {
    run storm thread "$(runs 100)" 20
    assert_output "0 failed"
}

@test "dlclose storm: 40 plug-in hosts loading and unloading libssl 10 times each, then exiting" {
    local bad=0 i rc
    local n; n=$(runs 40)
    for ((i = 0; i < n; i++)); do
        rc=0
        OCSPSTAPLE_CONF="$CONF" OCSPSTAPLE_LOG_TARGET=stderr LD_PRELOAD="$SHIM_PRELOAD" \
            "$BUILD_DIR/tests/dlclose_host" 10 > /dev/null 2>> "$BATS_TEST_TMPDIR/storm.log" || rc=$?
        [ "$rc" -eq 0 ] || { echo "run $i: exit status $rc"; bad=$((bad + 1)); }
    done
    [ "$bad" -eq 0 ]
    # The core does load in such a host (libssl's own SSL_CTX_new calls SSL_CTX_new_ex, which
    # reaches the shim) and reads its configuration before the first dlclose.
    echo "staples = ( { certificate = \"$G/ec-chain.pem\"; response = \"$G/ec.der\"; } );" \
        > "$CONF"
    run env OCSPSTAPLE_CONF="$CONF" OCSPSTAPLE_LOG_TARGET=stderr LD_PRELOAD="$SHIM_PRELOAD" \
        "$BUILD_DIR/tests/dlclose_host" 3
    assert_success
    assert_output --partial "ec.der: good for"
}

@test "exit storm during reload passes: responses replaced all the while, 50 exits after the load" {
    # A small configuration is loaded at once; files replaced every few milliseconds keep the
    # reloader's passes busy while hosts exit 1 to 1,200 ms after their first context.
    cp "$G/ec.der" "$BATS_TEST_TMPDIR/served.der"
    write_conf "$CONF" <<EOF
log_level = "error";
staples = ( { certificate = "$G/ec-chain.pem"; response = "$BATS_TEST_TMPDIR/served.der"; },
            { certificate = "$G/scale/00000-chain.pem"; response = "$G/scale/00000.der"; } );
response_dir = "$BATS_TEST_TMPDIR/dir";
EOF
    mkdir -p "$BATS_TEST_TMPDIR/dir"
    (
        for ((k = 0; k < 2000; k++)); do
            cp "$G/scale/0000$((k % 5)).der" "$BATS_TEST_TMPDIR/dir/.n.der" &&
                mv -f "$BATS_TEST_TMPDIR/dir/.n.der" "$BATS_TEST_TMPDIR/dir/r$((k % 50)).der"
            sleep 0.005
        done
    ) &
    writer=$!
    run storm exit 50 1200
    kill "$writer" 2> /dev/null || true
    wait "$writer" 2> /dev/null || true
    assert_output "0 failed"
}
