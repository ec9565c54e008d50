#!/usr/bin/env bats
# How the shim sits in a process: what it exports, what it maps, and that everything that is
# not a TLS server behaves exactly as without it.

load helpers/common

setup() {
    CONF="$BATS_TEST_TMPDIR/ocspstaple.conf"
    write_conf "$CONF" <<EOF
log_level = "debug";
staples = ( { certificate = "$FX/rsa-chain.pem"; response = "$FX/rsa-good.der"; } );
EOF
}

teardown() {
    stop_hosts
}

@test "the preload object exports only the interposed functions" {
    run bash -c "nm -D --defined-only '$SHIM' | awk '{ print \$3 }' | sort | tr '\n' ' '"
    assert_output "SSL_CTX_callback_ctrl SSL_CTX_ctrl SSL_CTX_new SSL_CTX_new_ex SSL_new SSL_set_SSL_CTX chroot "
}

@test "the core object exports only its entry point" {
    run bash -c "nm -D --defined-only '$BUILD_DIR/libocspstaple-core.so' | awk '{ print \$3 }'"
    assert_output "ocspstaple_core_init"
}

@test "the preload object links neither OpenSSL nor libconfig" {
    run bash -c "readelf -d '$SHIM' | grep NEEDED"
    assert_success
    refute_output --partial "libssl"
    refute_output --partial "libcrypto"
    refute_output --partial "libconfig"
}

@test "a process without TLS maps no OpenSSL, libconfig or core" {
    run env OCSPSTAPLE_CONF="$CONF" LD_PRELOAD="$SHIM_PRELOAD" cat /proc/self/maps
    assert_success
    assert_output --partial "libocspstaple.so"
    refute_output --partial "libssl"
    refute_output --partial "libcrypto"
    refute_output --partial "libconfig"
    refute_output --partial "libocspstaple-core"
}

@test "a TLS client under the shim (openssl s_client) is untouched: core not even loaded" {
    PORT=$(free_port)
    SERVER_LOG="$BATS_TEST_TMPDIR/plain.log"
    start_plain_host "$SERVER_LOG" openssl s_server -www -accept "127.0.0.1:$PORT" \
        -cert "$FX/rsa.pem" -key "$FX/rsa.key" -status_file "$FX/rsa-good2.der"
    run env OCSPSTAPLE_CONF="$CONF" OCSPSTAPLE_LOG_TARGET=stderr LD_PRELOAD="$SHIM_PRELOAD" \
        bash -c "echo | timeout 20 openssl s_client -connect 127.0.0.1:$PORT -status 2>&1"
    assert_success
    assert_output --partial "$(fixture_line rsa-good2.der "Next Update")"
    refute_output --partial "ocspstaple: "
}

@test "curl --cert-status under the shim behaves as without it" {
    # curl hangs under a preloaded ASan runtime even without the shim: nothing to learn there.
    [ -z "${OCSPSTAPLE_SANITIZE:-}" ] || skip "curl does not run under a preloaded sanitizer runtime"
    PORT=$(free_port)
    SERVER_LOG="$BATS_TEST_TMPDIR/plain.log"
    start_plain_host "$SERVER_LOG" openssl s_server -www -accept "127.0.0.1:$PORT" \
        -cert "$FX/rsa.pem" -key "$FX/rsa.key" -cert_chain "$FX/ca.pem" \
        -status_file "$FX/rsa-good.der"
    local url="https://mail.example.test:$PORT/"
    run env OCSPSTAPLE_CONF="$CONF" LD_PRELOAD="$SHIM_PRELOAD" timeout 20 curl -sS --cert-status \
        --cacert "$FX/ca.pem" --resolve "mail.example.test:$PORT:127.0.0.1" "$url"
    assert_success
    stop_hosts
    # A server that staples a revoked response: curl refuses, with and without the shim.
    start_plain_host "$SERVER_LOG" openssl s_server -www -accept "127.0.0.1:$PORT" \
        -cert "$FX/rsa.pem" -key "$FX/rsa.key" -cert_chain "$FX/ca.pem" \
        -status_file "$FX/rsa-revoked.der"
    run env OCSPSTAPLE_CONF="$CONF" LD_PRELOAD="$SHIM_PRELOAD" timeout 20 curl -sS --cert-status \
        --cacert "$FX/ca.pem" --resolve "mail.example.test:$PORT:127.0.0.1" "$url"
    assert_failure
    assert_output --partial "revocation"
}

@test "Python's ssl module (libssl loaded with RTLD_LOCAL): no crash, and it staples" {
    PORT=$(free_port)
    SERVER_LOG="$BATS_TEST_TMPDIR/py.log"
    start_host "$CONF" "$SERVER_LOG" /usr/bin/python3 "$ROOT/tests/helpers/py_tls_server.py" \
        "$PORT" "$FX/rsa.pem" "$FX/rsa.key"
    assert_stapled rsa-good.der
    assert_stapled rsa-good.der -tls1_2
}

@test "a host that dlopen()s libssl with RTLD_LOCAL and calls it through dlsym: no crash, staples" {
    start_on_free_port dlopen "$CONF" "$BUILD_DIR/tests/dlopen_host" @PORT@ "$FX/rsa-chain.pem" "$FX/rsa.key"
    assert_stapled rsa-good.der
    assert_stapled rsa-good.der -tls1_2
    kill -0 "$HOST_PID"
}

@test "a host that exports its own config_init (as lighttpd does) does not crash the shim" {
    # The isolation is RTLD_DEEPBIND, which the sanitizer runtimes refuse to load.
    [ -z "${OCSPSTAPLE_SANITIZE:-}" ] || skip "sanitizer builds load libconfig without RTLD_DEEPBIND"
    # The trap is armed: the test host exports config_init, which aborts if called.
    run bash -c "nm -D --defined-only '$TLS_SERVER' | grep -w config_init"
    assert_success
    start_tls_server "$CONF" --cert "$FX/rsa.pem" --key "$FX/rsa.key"
    assert_stapled rsa-good.der
    run grep "symbol collision" "$SERVER_LOG"
    assert_failure
}

@test "libssl for another OpenSSL major version: the shim stands aside with one log line" {
    # Simulated: the core's check compares the host's OpenSSL_version_num; a preload that
    # reports 1.1.1 makes the shim refuse to load its core.
    cat > "$BATS_TEST_TMPDIR/fakever.c" <<'EOF'
unsigned long OpenSSL_version_num(void) { return 0x1010117fUL; }
EOF
    cc -shared -fPIC -o "$BATS_TEST_TMPDIR/fakever.so" "$BATS_TEST_TMPDIR/fakever.c"
    PRELOAD_AFTER="$BATS_TEST_TMPDIR/fakever.so" start_s_server "$CONF" \
        -cert "$FX/rsa.pem" -key "$FX/rsa.key"
    assert_not_stapled
    run grep -c "ocspstaple was built for 3.x; no stapling" "$SERVER_LOG"
    assert_output 1
}
