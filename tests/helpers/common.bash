# common.bash - shared helpers for the bats suite: servers under the shim, clients that ask for
# OCSP status, log assertions. Load with: load helpers/common
#
# A test starts hosts with start_host / start_s_server; teardown (stop_hosts) stops them all,
# including forked children (each host runs in its own session and is killed as a group).

bats_load_library bats-support
bats_load_library bats-assert

ROOT=${ROOT:-$(cd "$BATS_TEST_DIRNAME/.." && pwd)}
BUILD_DIR="$ROOT/${OCSPSTAPLE_BUILD:-build}"
SHIM="$BUILD_DIR/libocspstaple.so"
TLS_SERVER="$BUILD_DIR/tests/tls_server"
OCSPSTAPLE_CMD="$BUILD_DIR/ocspstaple"
HOSTS_FILE="$BATS_TEST_TMPDIR/hosts.pids"

# With `make check SANITIZE=...` the objects are instrumented: their runtime must be loaded
# first in every process the shim goes into (hosts are not instrumented themselves).
SAN_RUNTIME=
case ${OCSPSTAPLE_SANITIZE:-} in
    *address*) SAN_RUNTIME=$(gcc -print-file-name=libasan.so) ;;
    *thread*) SAN_RUNTIME=$(gcc -print-file-name=libtsan.so) ;;
    *undefined*) SAN_RUNTIME=$(gcc -print-file-name=libubsan.so) ;;
esac
# Hosts are killed at the end of a test, so leak checking is for the command (instrumented
# itself); every other report makes the process stop and the test fail (see check_sanitizers).
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=0:abort_on_error=0:halt_on_error=1:detect_odr_violation=0}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
# die_after_fork=0: the daemons fork while the shim's reloader thread runs (as real ones do).
export TSAN_OPTIONS=${TSAN_OPTIONS:-halt_on_error=0:second_deadlock_stack=1:die_after_fork=0}
# The LD_PRELOAD value that puts the shim (and the sanitizer runtime) into a process.
SHIM_PRELOAD="${SAN_RUNTIME:+$SAN_RUNTIME:}$SHIM"

# port_listening PORT - true when something listens on 127.0.0.1/::1 PORT (read from /proc,
# without connecting: some servers mis-handle probe connections).
port_listening() {
    local hex
    hex=$(printf '%04X' "$1")
    awk -v p=":$hex" '$4 == "0A" && substr($2, length($2) - 4) == p { found = 1 }
        END { exit !found }' /proc/net/tcp /proc/net/tcp6 2>/dev/null
}

# port_in_use PORT - any local socket on PORT, in any state (a client's ephemeral port or a
# TIME_WAIT would make bind() fail too).
port_in_use() {
    local hex
    hex=$(printf '%04X' "$1")
    awk -v p=":$hex" 'substr($2, length($2) - 4) == p { found = 1 } END { exit !found }' \
        /proc/net/tcp /proc/net/tcp6 2>/dev/null
}

# free_port - an unused port below the kernel's ephemeral range (32768 and up by default).
free_port() {
    local p
    while :; do
        p=$((10000 + RANDOM % 22000))
        port_in_use "$p" || { echo "$p"; return; }
    done
}

# write_conf FILE - write a shim configuration from stdin, with stderr logging for the tests.
write_conf() {
    {
        echo 'log_target = "stderr";'
        cat
    } > "$1"
}

# start_host CONF LOG CMD... - run CMD under the shim with configuration CONF, in its own
# session, output to LOG; wait until PORT (exported by the caller) listens.
start_host() {
    local conf=$1 log=$2
    shift 2
    OCSPSTAPLE_CONF=$conf OCSPSTAPLE_LOG_TARGET=stderr LD_PRELOAD="${SAN_RUNTIME:+$SAN_RUNTIME:}${PRELOAD_EXTRA:+$PRELOAD_EXTRA:}$SHIM${PRELOAD_AFTER:+:$PRELOAD_AFTER}" \
        setsid "$@" > "$log" 2>&1 < /dev/null 3>&- &
    local pid=$!
    echo "$pid" >> "$HOSTS_FILE"
    HOST_PID=$pid
    wait_listening "$PORT" "$pid" "$log"
}

# start_plain_host LOG CMD... - the same without the shim (the reference case).
start_plain_host() {
    local log=$1
    shift
    setsid "$@" > "$log" 2>&1 < /dev/null 3>&- &
    HOST_PID=$!
    echo "$HOST_PID" >> "$HOSTS_FILE"
    wait_listening "$PORT" "$HOST_PID" "$log"
}

# wait_listening PORT PID LOG - up to 15 s; fails with the host's log if it died.
wait_listening() {
    local i
    for i in $(seq 1 150); do
        port_listening "$1" && return 0
        if ! kill -0 "$2" 2>/dev/null; then
            echo "host exited before listening on $1; its log:" >&2
            cat "$3" >&2
            return 1
        fi
        sleep 0.1
    done
    echo "host did not listen on $1 within 15 s; its log:" >&2
    cat "$3" >&2
    return 1
}

# start_on_free_port NAME CONF CMD... - start_host on a fresh $PORT (CMD may use the literal
# word @PORT@); if the port was taken in between (bind failed), try another, up to 3 times.
start_on_free_port() {
    local name=$1 conf=$2 attempt
    shift 2
    for attempt in 1 2 3; do
        PORT=$(free_port)
        SERVER_LOG="$BATS_TEST_TMPDIR/$name.$PORT.log"
        if start_host "$conf" "$SERVER_LOG" "${@//@PORT@/$PORT}" 2> "$SERVER_LOG.why"; then
            return 0
        fi
        grep -qiE "bind|address already in use" "$SERVER_LOG" || break
    done
    cat "$SERVER_LOG.why" >&2
    return 1
}

# start_s_server CONF ARGS... - unmodified `openssl s_server` under the shim on $PORT.
start_s_server() {
    local conf=$1
    shift
    start_on_free_port s_server "$conf" openssl s_server -accept "127.0.0.1:@PORT@" -www "$@"
}

# start_tls_server CONF ARGS... - the test host program (tests/helpers/tls_server.c) on $PORT.
start_tls_server() {
    local conf=$1
    shift
    start_on_free_port tls_server "$conf" "$TLS_SERVER" --port @PORT@ "$@"
}

# check_sanitizers - fail when any log of this test holds a sanitizer report.
check_sanitizers() {
    local found
    found=$(grep -lE "ERROR: AddressSanitizer|ERROR: LeakSanitizer|runtime error:|WARNING: ThreadSanitizer" \
        "$BATS_TEST_TMPDIR"/*.log 2> /dev/null || true)
    [ -z "$found" ] && return 0
    echo "sanitizer reports in: $found" >&2
    cat $found >&2
    return 1
}

# stop_hosts - stop every host this test started, with their children; then fail the test if
# any of them reported a sanitizer error.
stop_hosts() {
    stop_hosts_only
    check_sanitizers
}

stop_hosts_only() {
    [ -f "$HOSTS_FILE" ] || return 0
    local pid
    # The group, or the process alone when it never got its own session (stuck before setsid).
    while read -r pid; do
        kill -TERM -- "-$pid" 2>/dev/null || kill -TERM "$pid" 2>/dev/null || true
    done < "$HOSTS_FILE"
    sleep 0.1
    while read -r pid; do
        kill -KILL -- "-$pid" 2>/dev/null || kill -KILL "$pid" 2>/dev/null || true
    done < "$HOSTS_FILE"
    rm -f "$HOSTS_FILE"
}

# status_of [s_client args...] - what `openssl s_client -status` sees on 127.0.0.1:$PORT.
status_of() {
    echo | timeout 20 openssl s_client -connect "127.0.0.1:$PORT" -status "$@" 2>&1
}

# assert_stapled FIXTURE [s_client args...] - the handshake carries exactly the response in
# $FX/FIXTURE (same thisUpdate and nextUpdate), with status good, verified by s_client's parser.
assert_stapled() {
    local fixture=$1
    shift
    run status_of "$@"
    assert_success
    assert_output --partial "OCSP Response Status: successful"
    assert_output --partial "$(fixture_line "$fixture" "This Update")"
    assert_output --partial "$(fixture_line "$fixture" "Next Update")"
}

# assert_not_stapled [s_client args...] - the handshake succeeds with no staple.
assert_not_stapled() {
    run status_of "$@"
    assert_success
    assert_output --partial "OCSP response: no response sent"
    assert_output --partial "Verify return code"
}

# fixture_line FIXTURE FIELD - the line "FIELD: ..." of a fixture response, as s_client prints it.
fixture_line() {
    openssl ocsp -respin "$FX/$1" -resp_text -noverify 2>/dev/null | grep -m1 "$2:" | sed 's/^ *//'
}

# wait_for_log FILE PATTERN [SECONDS] [COUNT] - until an extended regex appears in FILE (at
# least COUNT times, default 1).
wait_for_log() {
    local i limit=$((${3:-10} * 10)) want=${4:-1}
    for i in $(seq 1 "$limit"); do
        [ "$(grep -Ec -- "$2" "$1" 2>/dev/null)" -ge "$want" ] && return 0
        sleep 0.1
    done
    echo "fewer than $want lines matching '$2' in $1 after ${3:-10}s; it holds:" >&2
    cat "$1" >&2
    return 1
}

# replace_atomically SRC DEST - what a careful fetcher does: write beside, rename over.
replace_atomically() {
    cp "$1" "$2.tmp.$$"
    mv -f "$2.tmp.$$" "$2"
}

# stapled_bytes FILE [gnutls-cli args...] - save the staple GnuTLS receives on $PORT into FILE.
stapled_bytes() {
    local out=$1
    shift
    rm -f "$out"
    timeout 20 gnutls-cli --insecure --save-ocsp="$out" --port="$PORT" "$@" 127.0.0.1 \
        < /dev/null > /dev/null 2>&1 || true
}

# assert_stapled_bytes FIXTURE [gnutls-cli args...] - the staple is byte-identical to it.
assert_stapled_bytes() {
    local fixture=$1
    shift
    stapled_bytes "$BATS_TEST_TMPDIR/staple.der" "$@"
    run cmp "$BATS_TEST_TMPDIR/staple.der" "$FX/$fixture"
    assert_success
}

# ocspstaple_cmd ARGS... - the ocspstaple command of this build (under ASan, with leak checks:
# it is instrumented itself, and its own leaks are ours).
ocspstaple_cmd() {
    ASAN_OPTIONS=${ASAN_OPTIONS/detect_leaks=0/detect_leaks=1} "$OCSPSTAPLE_CMD" "$@"
}

# eventually_stapled FIXTURE [SECONDS] - the staple on $PORT becomes FIXTURE within SECONDS
# (default 5: the shim looks once a second; the rest is slack for a loaded machine).
eventually_stapled() {
    local want i
    want=$(fixture_line "$1" "Next Update")
    for i in $(seq 1 $((${2:-5} * 4))); do
        status_of | grep -qF "$want" && return 0
        sleep 0.25
    done
    echo "the staple did not become $1; the server said:" >&2
    cat "$SERVER_LOG" >&2
    return 1
}

# eventually_not_stapled [SECONDS] - handshakes on $PORT stop carrying a staple.
eventually_not_stapled() {
    local i
    for i in $(seq 1 $((${1:-5} * 4))); do
        status_of | grep -q "OCSP response: no response sent" && return 0
        sleep 0.25
    done
    return 1
}

# use_live_response - $DIR/mail.der, a copy of rsa-good.der that a test may replace, and $CONF
# stapling it for rsa.pem.
use_live_response() {
    CONF="$BATS_TEST_TMPDIR/ocspstaple.conf"
    DIR="$BATS_TEST_TMPDIR/responses"
    mkdir -p "$DIR"
    cp "$FX/rsa-good.der" "$DIR/mail.der"
    write_conf "$CONF" <<EOF
staples = ( { certificate = "$FX/rsa-chain.pem"; response = "$DIR/mail.der"; } );
EOF
}

FAKETIME_LIB=/usr/lib/x86_64-linux-gnu/faketime/libfaketime.so.1

# require_faketime - skip the test unless libfaketime can be preloaded into hosts here.
require_faketime() {
    [ -e "$FAKETIME_LIB" ] || skip "libfaketime is not installed"
    [ -z "${OCSPSTAPLE_SANITIZE:-}" ] || skip "libfaketime deadlocks with a preloaded sanitizer runtime"
}

# many_leaves DIR N - in DIR (made once per suite run), N distinct leaves with a response each
# (DIR/scale/NNNNN-chain.pem, .der) and a served one (DIR/ec-chain.pem, ec.key, ec.der), from
# the benchmark's generator: OpenSSL's API in one process, where the openssl command would take
# minutes for thousands of responses.
many_leaves() {
    local dir=$1 n=$2
    if [ ! -e "$dir/ec.der" ]; then
        make -C "$ROOT" --no-print-directory -s build/bench/bench-gen >&2
        "$ROOT/build/bench/bench-gen" "$dir" "$n" 2 >&2
    fi
}
