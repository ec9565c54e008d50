#!/usr/bin/env bats
# make install / uninstall honour DESTDIR, PREFIX, LIBDIR and SYSCONFDIR, and the installed
# preload object finds its core beside it.

load helpers/common

teardown() {
    stop_hosts
}

@test "make install into a DESTDIR: the tree, and an installed shim that staples" {
    local dest="$BATS_TEST_TMPDIR/dest"
    run make -s -C "$ROOT" install DESTDIR="$dest" PREFIX=/usr SYSCONFDIR=/etc
    assert_success
    [ -f "$dest/usr/lib/ocspstaple/libocspstaple.so" ]
    [ -f "$dest/usr/lib/ocspstaple/libocspstaple-core.so" ]
    [ -f "$dest/etc/ocspstaple.conf" ]
    [ -x "$dest/usr/sbin/ocspstaple" ]
    [ -f "$dest/usr/lib/systemd/system/ocspstaple-fetch.timer" ]
    run grep "^ExecStart=/usr/sbin/ocspstaple fetch" "$dest/usr/lib/systemd/system/ocspstaple-fetch.service"
    assert_success
    run bash -c "cd '$dest' && find . -type f | sort"
    assert_output --partial "./usr/lib/ocspstaple/libocspstaple.so"

    # The installed copy works on its own (its core is found beside it, not in build/).
    CONF="$BATS_TEST_TMPDIR/ocspstaple.conf"
    write_conf "$CONF" <<EOF
staples = ( { certificate = "$FX/rsa-chain.pem"; response = "$FX/rsa-good.der"; } );
EOF
    SHIM="$dest/usr/lib/ocspstaple/libocspstaple.so" start_s_server "$CONF" \
        -cert "$FX/rsa.pem" -key "$FX/rsa.key"
    assert_stapled rsa-good.der
}

@test "make install keeps an existing configuration; LIBDIR is honoured; uninstall removes" {
    local dest="$BATS_TEST_TMPDIR/dest"
    mkdir -p "$dest/etc"
    echo "# mine" > "$dest/etc/ocspstaple.conf"
    run make -s -C "$ROOT" install DESTDIR="$dest" PREFIX=/usr LIBDIR=/usr/lib64 SYSCONFDIR=/etc
    assert_success
    run cat "$dest/etc/ocspstaple.conf"
    assert_output "# mine"
    [ -f "$dest/usr/lib64/ocspstaple/libocspstaple.so" ]
    run make -s -C "$ROOT" uninstall DESTDIR="$dest" PREFIX=/usr LIBDIR=/usr/lib64 SYSCONFDIR=/etc
    assert_success
    [ ! -e "$dest/usr/lib64/ocspstaple/libocspstaple.so" ]
    [ ! -e "$dest/usr/lib64/ocspstaple" ]
    [ ! -e "$dest/usr/sbin/ocspstaple" ]
    [ ! -e "$dest/usr/lib/systemd/system/ocspstaple-fetch.service" ]
    [ -f "$dest/etc/ocspstaple.conf" ]
}

@test "make demo shows a stapled, good response" {
    run make -s -C "$ROOT" demo
    assert_success
    assert_output --partial "Cert Status: good"
    assert_output --partial "Result: the server stapled a validated, good OCSP response"
}
