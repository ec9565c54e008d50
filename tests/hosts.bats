#!/usr/bin/env bats
# The shapes of real daemons: chroot before the first context (Dovecot's login processes),
# pre-forked workers (Postfix, Dovecot), threads (stunnel), many contexts.

load helpers/common

setup() {
    use_live_response
}

teardown() {
    stop_hosts
}

# handshakes N FILE - N sequential handshakes; each one's "Next Update" line (or "none") to FILE.
handshakes() {
    local i out
    for i in $(seq 1 "$1"); do
        out=$(status_of)
        if grep -q "Cert Status: good" <<< "$out"; then
            grep -m1 "Next Update:" <<< "$out" | sed 's/^ *//' >> "$2"
        else
            echo none >> "$2"
        fi
    done
}


@test "chroot before the first context (as Dovecot's imap-login): stapled, and reloaded" {
    mkdir -p "$BATS_TEST_TMPDIR/jail"
    start_tls_server "$CONF" --cert "$FX/rsa.pem" --key "$FX/rsa.key" \
        --chroot "$BATS_TEST_TMPDIR/jail"
    assert_stapled rsa-good.der
    # The file is outside the jail: reread through the directory handle kept from before.
    replace_atomically "$FX/rsa-good2.der" "$DIR/mail.der"
    run eventually_stapled rsa-good2.der
    assert_success
}

@test "pre-forked workers: every child staples, and sees replacements" {
    start_tls_server "$CONF" --cert "$FX/rsa.pem" --key "$FX/rsa.key" --fork 3
    handshakes 9 "$BATS_TEST_TMPDIR/seen"
    run sort -u "$BATS_TEST_TMPDIR/seen"
    assert_output "$(fixture_line rsa-good.der "Next Update")"
    replace_atomically "$FX/rsa-good2.der" "$DIR/mail.der"
    sleep 2.5
    rm -f "$BATS_TEST_TMPDIR/seen"
    handshakes 9 "$BATS_TEST_TMPDIR/seen"
    run sort -u "$BATS_TEST_TMPDIR/seen"
    assert_output "$(fixture_line rsa-good2.der "Next Update")"
}

@test "workers made with a raw clone() (as vsftpd's sessions): a revoked replacement ends the good staple" {
    # No pthread_atfork handler runs in such a child: it must notice by itself, at its next
    # handshake, that it is not the process that started the reloader.
    [ "${OCSPSTAPLE_SANITIZE:-}" != thread ] || skip "ThreadSanitizer cannot follow a raw clone()"
    start_tls_server "$CONF" --cert "$FX/rsa.pem" --key "$FX/rsa.key" --clone 2
    assert_stapled rsa-good.der
    assert_stapled rsa-good.der
    replace_atomically "$FX/rsa-revoked.der" "$DIR/mail.der"
    run eventually_not_stapled 5
    assert_success
    # Within a reload interval every worker has seen it: a run of handshakes, none "good".
    sleep 2.5
    for i in 1 2 3 4 5 6; do
        run status_of
        refute_output --partial "Cert Status: good"
    done
}

@test "a child forked per connection (the parent never handshakes): sees replacements at once" {
    start_tls_server "$CONF" --cert "$FX/rsa.pem" --key "$FX/rsa.key" --fork-per-connection 1
    assert_stapled rsa-good.der
    replace_atomically "$FX/rsa-good2.der" "$DIR/mail.der"
    run eventually_stapled rsa-good2.der
    assert_success
    # (Not back to rsa-good.der: when the fixtures were made across a second, it is the older
    # of the two, and the newest valid answer a file has held wins.)
    replace_atomically "$FX/rsa-revoked.der" "$DIR/mail.der"
    run eventually_not_stapled
    assert_success
}

@test "8 threads handshaking while the file is replaced every 50 ms: every staple is valid" {
    start_tls_server "$CONF" --cert "$FX/rsa.pem" --key "$FX/rsa.key" --threads 8
    (
        for i in $(seq 1 200); do
            if ((i % 2)); then f=rsa-good2.der; else f=rsa-good.der; fi
            replace_atomically "$FX/$f" "$DIR/mail.der"
            sleep 0.05
        done
    ) 3>&- &
    local replacer=$!
    local pids=()
    for c in $(seq 1 8); do
        handshakes 15 "$BATS_TEST_TMPDIR/seen.$c" 3>&- &
        pids+=($!)
        # And GnuTLS clients saving the exact bytes they were stapled.
        (
            mkdir -p "$BATS_TEST_TMPDIR/bytes.$c"
            for k in $(seq 1 8); do
                stapled_bytes "$BATS_TEST_TMPDIR/bytes.$c/$k.der"
            done
        ) 3>&- &
        pids+=($!)
    done
    wait "${pids[@]}"
    kill "$replacer" 2> /dev/null || true
    wait "$replacer" 2> /dev/null || true
    run bash -c "cat $BATS_TEST_TMPDIR/seen.* | wc -l"
    assert_output 120
    # Every handshake stapled one of the two valid responses; never nothing, never anything else.
    run bash -c "cat $BATS_TEST_TMPDIR/seen.* | sort -u"
    refute_output --partial none
    local allowed
    allowed=$(printf '%s\n%s\n' "$(fixture_line rsa-good.der "Next Update")" \
        "$(fixture_line rsa-good2.der "Next Update")")
    run bash -c "cat $BATS_TEST_TMPDIR/seen.* | sort -u | grep -vxF '$allowed' || true"
    assert_output ""
    # Byte for byte: each staple GnuTLS received is one of the two files written, whole.
    local f n=0
    for f in "$BATS_TEST_TMPDIR"/bytes.*/*.der; do
        cmp -s "$f" "$FX/rsa-good.der" || cmp -s "$f" "$FX/rsa-good2.der" ||
            { echo "$f is neither response" >&2; return 1; }
        n=$((n + 1))
    done
    [ "$n" -eq 64 ]
    kill -0 "$HOST_PID"
}

@test "a host that creates and frees thousands of contexts keeps working" {
    start_tls_server "$CONF" --cert "$FX/rsa.pem" --key "$FX/rsa.key" --contexts 3000
    assert_stapled rsa-good.der
}
