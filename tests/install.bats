#!/usr/bin/env bats
# make install / uninstall honour DESTDIR, PREFIX, LIBDIR and SYSCONFDIR, the installed
# preload object finds its core beside it, and the operator files (systemd drop-ins, Postfix
# and Dovecot snippets, man pages) are installed with the installation's paths.

load helpers/common
load helpers/daemons

teardown() {
    stop_hosts
}

@test "make install into a DESTDIR: the tree, and an installed shim that staples" {
    local dest="$BATS_TEST_TMPDIR/dest"
    run make -s -C "$ROOT" install DESTDIR="$dest" PREFIX=/usr SYSCONFDIR=/etc \
        BUILD="${OCSPSTAPLE_BUILD:-build}" SANITIZE="${OCSPSTAPLE_SANITIZE:-}"
    assert_success
    [ -f "$dest/usr/lib/ocspstaple/libocspstaple.so" ]
    [ -f "$dest/usr/lib/ocspstaple/libocspstaple-core.so" ]
    [ -f "$dest/usr/lib/ocspstaple/libocspstaple-libconfig.so" ]
    [ -f "$dest/etc/ocspstaple.conf" ]
    [ -x "$dest/usr/sbin/ocspstaple" ]
    [ -f "$dest/usr/lib/systemd/system/ocspstaple-fetch.timer" ]
    run grep "^ExecStart=/usr/sbin/ocspstaple fetch" "$dest/usr/lib/systemd/system/ocspstaple-fetch.service"
    assert_success
    run bash -c "cd '$dest' && find . -type f | sort"
    assert_output --partial "./usr/lib/ocspstaple/libocspstaple.so"

    # Operator files under $(PKGDATADIR), with the paths of this installation.
    local share="$dest/usr/share/ocspstaple" unit dropin
    for unit in postfix@-.service dovecot.service stunnel@.service; do
        dropin="$share/systemd/$unit.d/ocspstaple.conf"
        run grep -x '\[Service\]' "$dropin"
        assert_success
        run grep -x "Environment=LD_PRELOAD=/usr/lib/ocspstaple/libocspstaple.so" "$dropin"
        assert_success
        run grep -x "Environment=OCSPSTAPLE_CONF=/etc/ocspstaple.conf" "$dropin"
        assert_success
    done
    [ -f "$share/ocspstaple.conf.example" ]
    # The renewal hook (README, "Renewing certificates"): executable, with this installation's
    # command and configuration.
    [ -x "$share/hooks/ocspstaple-renewal-hook" ]
    run grep -x 'ocspstaple=${OCSPSTAPLE:-/usr/sbin/ocspstaple}' "$share/hooks/ocspstaple-renewal-hook"
    assert_success
    run grep -x 'conf=${OCSPSTAPLE_CONF:-/etc/ocspstaple.conf}' "$share/hooks/ocspstaple-renewal-hook"
    assert_success
    run grep -rl /usr/local "$share"
    assert_failure
    # The main.cf lines and the conf.d file, as Postfix and Dovecot read them: their default
    # list kept, the shim added.
    mkdir "$BATS_TEST_TMPDIR/postfix"
    cp "$share/postfix/main.cf" "$BATS_TEST_TMPDIR/postfix/main.cf"
    : > "$BATS_TEST_TMPDIR/postfix/master.cf"
    run postconf -c "$BATS_TEST_TMPDIR/postfix" -h import_environment
    assert_success
    assert_output "$(postconf -d -h import_environment) LD_PRELOAD=/usr/lib/ocspstaple/libocspstaple.so OCSPSTAPLE_CONF=/etc/ocspstaple.conf"
    # Dovecot 2.4 (dovecot_config_version first, import_environment a block) or 2.3.
    if dovecot_is_24; then
        { dovecot_conf_head; printf '!include %s\n' "$share/dovecot/2.4/99-ocspstaple.conf"; } > "$BATS_TEST_TMPDIR/dovecot.conf"
        run doveconf -c "$BATS_TEST_TMPDIR/dovecot.conf" -h import_environment
        assert_success
        assert_line "LD_PRELOAD = /usr/lib/ocspstaple/libocspstaple.so"
        assert_line "OCSPSTAPLE_CONF = /etc/ocspstaple.conf"
        assert_line --regexp "^LISTEN_PID = "
    else
        printf '!include %s\n' "$share/dovecot/99-ocspstaple.conf" > "$BATS_TEST_TMPDIR/dovecot.conf"
        run doveconf -c "$BATS_TEST_TMPDIR/dovecot.conf" -h import_environment
        assert_success
        assert_output "$(doveconf -c "$BATS_TEST_TMPDIR/dovecot.conf" -d -h import_environment) LD_PRELOAD=/usr/lib/ocspstaple/libocspstaple.so OCSPSTAPLE_CONF=/etc/ocspstaple.conf"
    fi
    # The man pages, formatted without a warning.
    local page
    for page in man8/ocspstaple.8 man5/ocspstaple.conf.5; do
        [ -f "$dest/usr/share/man/$page" ]
        run bash -c "groff -man -Tutf8 -ww '$dest/usr/share/man/$page' 2>&1 > /dev/null"
        assert_success
        assert_output ""
    done
    run bash -c "groff -man -Tutf8 '$dest/usr/share/man/man8/ocspstaple.8' 2>/dev/null"
    assert_output --partial "LD_PRELOAD=/usr/lib/ocspstaple/libocspstaple.so"

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
    [ ! -e "$dest/usr/share/ocspstaple" ]
    [ ! -e "$dest/usr/share/man/man8/ocspstaple.8" ]
    [ ! -e "$dest/usr/share/man/man5/ocspstaple.conf.5" ]
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
