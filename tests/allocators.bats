#!/usr/bin/env bats
# The host's allocator is the shim's too: under glibc's malloc, jemalloc and tcmalloc, in
# LD_PRELOAD before or after the shim, a server staples and survives reloads of its files.
# libconfig is loaded deep-bound (isolated from a host's own config_init) through an object
# that puts the process's malloc first in its scope: before that, deep binding made libconfig
# free with glibc what glibc's strdup had allocated with jemalloc, and every host with
# another allocator died at its first server context (Debian's redis-server, with jemalloc).

load helpers/common

JEMALLOC=/usr/lib/x86_64-linux-gnu/libjemalloc.so.2
TCMALLOC=/usr/lib/x86_64-linux-gnu/libtcmalloc_minimal.so.4

setup() {
    # An allocator interposer and a sanitizer runtime's own allocator cannot share a process.
    [ -z "${OCSPSTAPLE_SANITIZE:-}" ] || skip "a sanitizer runtime replaces the allocator itself"
    CONF="$BATS_TEST_TMPDIR/ocspstaple.conf"
    cp "$FX/rsa-good.der" "$BATS_TEST_TMPDIR/rsa.der"
    # Many settings and entries: libconfig allocates and frees strings for each.
    write_conf "$CONF" <<EOF
log_level = "info";
skew = 300;
verify = true;
staples = (
  { certificate = "$FX/rsa-chain.pem"; response = "$BATS_TEST_TMPDIR/rsa.der";
    sni = [ "mail.example.test", "*.example.test", "imap.example.test" ]; },
  { certificate = "$FX/ec-chain.pem"; response = "$FX/ec-good.der"; },
  { response = "$FX/ec-good2.der"; issuer = "$FX/ca.pem"; }
);
EOF
}

teardown() {
    stop_hosts
}

# staples_under LIB before|after - s_server with LIB preloaded before or after the shim
# staples, its reloader reads and refuses a broken replacement (and keeps the good response),
# and it is still alive.
staples_under() {
    local lib=$1 order=$2
    [ -e "$lib" ] || fail "$lib is missing (tests/helpers/install-deps.sh installs it)"
    if [ "$order" = before ]; then
        PRELOAD_EXTRA=$lib start_s_server "$CONF" -cert "$FX/rsa.pem" -key "$FX/rsa.key"
    else
        PRELOAD_AFTER=$lib start_s_server "$CONF" -cert "$FX/rsa.pem" -key "$FX/rsa.key"
    fi
    grep -q "$(basename "$lib")" "/proc/$HOST_PID/maps"
    assert_stapled rsa-good.der -servername mail.example.test
    head -c 100 "$FX/rsa-good.der" > "$BATS_TEST_TMPDIR/broken"
    replace_atomically "$BATS_TEST_TMPDIR/broken" "$BATS_TEST_TMPDIR/rsa.der"
    run wait_for_log "$SERVER_LOG" "rsa.der: rejected" 5
    assert_success
    assert_stapled rsa-good.der -servername mail.example.test
    kill -0 "$HOST_PID"
}

@test "glibc's malloc: staples" {
    start_s_server "$CONF" -cert "$FX/rsa.pem" -key "$FX/rsa.key"
    assert_stapled rsa-good.der -servername mail.example.test
}

@test "jemalloc preloaded before the shim: staples, reloads, survives" {
    staples_under "$JEMALLOC" before
}

@test "jemalloc preloaded after the shim: staples, reloads, survives" {
    staples_under "$JEMALLOC" after
}

@test "tcmalloc preloaded before the shim: staples, reloads, survives" {
    staples_under "$TCMALLOC" before
}

@test "tcmalloc preloaded after the shim: staples, reloads, survives" {
    staples_under "$TCMALLOC" after
}

@test "jemalloc and a host exporting config_init (as lighttpd does): both guarantees at once" {
    run bash -c "nm -D --defined-only '$TLS_SERVER' | grep -w config_init"
    assert_success
    PRELOAD_EXTRA=$JEMALLOC start_tls_server "$CONF" --cert "$FX/rsa.pem" --key "$FX/rsa.key"
    assert_stapled rsa-good.der -servername mail.example.test
    kill -0 "$HOST_PID"
}

@test "the object libconfig is loaded through defines the allocator only, and needs libconfig" {
    run bash -c "nm -D --defined-only '$BUILD_DIR/libocspstaple-libconfig.so' | awk '{ print \$3 }' | sort | tr '\n' ' '"
    assert_output "calloc free malloc realloc "
    run bash -c "readelf -d '$BUILD_DIR/libocspstaple-libconfig.so' | grep NEEDED"
    assert_output --partial "libconfig.so"
}
