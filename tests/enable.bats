#!/usr/bin/env bats
# `ocspstaple enable SERVICE` and `ocspstaple disable SERVICE`: the drop-in for the service's
# unit (in a test root: --root, with the distribution's own unit files copied in), Postfix's
# import_environment (a private instance's main.cf: --postfix-config) and Dovecot's conf.d file
# (a private dovecot.conf, and a copy of Debian's /etc/dovecot: --dovecot-config). Checked: the
# real daemons, started from what enable wrote, staple; a reload does not apply the change, a
# restart does (for both Postfix and Dovecot); disable restores every file byte for byte;
# --dry-run writes nothing; a second enable changes nothing; the refusals say why.

load helpers/common
load helpers/daemons

setup_file() {
    export D="$BATS_FILE_TMPDIR"
    mkdir -p "$D/resp"
    cp "$FX/rsa-good.der" "$D/resp/rsa.der"
    open_for_daemons "$D/resp"
    chmod o+r "$D/resp"/*.der
    # Dovecot logs its login processes' stderr; Postfix drops it.
    cat > "$D/ocspstaple.conf" <<EOF
log_target = "stderr";
staples = ( { certificate = "$FX/rsa-chain.pem"; response = "$D/resp/rsa.der"; } );
EOF
    chmod o+r "$D/ocspstaple.conf"
}

teardown_file() {
    in_background stop_postfix enabled
    in_background stop_postfix reload
    in_background stop_dovecot reload
    wait_background
    stop_sessions
    check_daemon_logs
}

setup() {
    # A root with the unit files of Debian's packages (a stand-in where a package is missing),
    # and /var/lib/ocspstaple as the package makes it.
    R="$BATS_TEST_TMPDIR/root"
    mkdir -p "$R/lib/systemd/system" "$R/var/lib/ocspstaple"
    local unit
    for unit in postfix@.service dovecot.service stunnel@.service nginx.service lighttpd.service; do
        if [ -f "/lib/systemd/system/$unit" ]; then
            cp "/lib/systemd/system/$unit" "$R/lib/systemd/system/"
        else
            printf '[Service]\nExecStart=/bin/true\n' > "$R/lib/systemd/system/$unit"
        fi
    done
    printf '[Service]\nExecStart=/usr/bin/myd\n' > "$R/lib/systemd/system/myd.service"
}

# enable ARGS... / disable ARGS... - the command, with this build's shim and configuration.
enable() {
    "$OCSPSTAPLE_CMD" enable "$@" --root "$R" --shim "$SHIM" -c "$D/ocspstaple.conf"
}
disable() {
    "$OCSPSTAPLE_CMD" disable "$@" --root "$R"
}

# tree_state DIR - every path under DIR with its type and mode, and every file's hash.
tree_state() {
    (cd "$1" && find . -printf '%p %y %m\n' | sort && find . -type f -print0 | sort -z |
        xargs -0 -r sha256sum)
}

# postfix_private NAME - a private Postfix instance's main.cf without the shim (not started);
# prints its directory.
postfix_private() {
    write_postfix_main_cf "$1" -
    echo "$(postfix_dir "$1")/etc"
}

skip_unless_plain_build() {
    [ -z "${SAN_RUNTIME:-}" ] || skip "the daemons would need the sanitizer runtime too"
}

@test "enable postfix: the drop-in for postfix@-.service and import_environment extended exactly; Postfix started from them staples" {
    command -v postfix > /dev/null || skip "postfix is not installed (make test-deps)"
    skip_unless_plain_build
    local etc default
    etc=$(postfix_private enabled)
    default=$(postconf -c "$etc" -h import_environment)
    run enable postfix --postfix-config "$etc"
    assert_success
    assert_output --partial "created $R/etc/systemd/system/postfix@-.service.d/ocspstaple.conf"
    assert_output --partial "changed $etc/main.cf: import_environment"
    assert_output --partial "  was: $default"
    assert_output --partial "apply with: systemctl daemon-reload && systemctl restart postfix@-.service"
    run cat "$R/etc/systemd/system/postfix@-.service.d/ocspstaple.conf"
    assert_output --partial "[Service]
Environment=LD_PRELOAD=$SHIM
Environment=OCSPSTAPLE_CONF=$D/ocspstaple.conf"
    # Postfix's own list, exactly, then the two variables.
    run postconf -c "$etc" -h import_environment
    assert_output "$default LD_PRELOAD=$SHIM OCSPSTAPLE_CONF=$D/ocspstaple.conf"
    start_postfix enabled keep
    assert_staple rsa-good.der -starttls smtp
}

@test "Postfix: after enable, postfix reload does not give new smtpd processes the shim; a restart does" {
    command -v postfix > /dev/null || skip "postfix is not installed (make test-deps)"
    skip_unless_plain_build
    local etc d pid old_smtpd
    etc=$(postfix_private reload)
    d=$(postfix_dir reload)
    start_postfix reload keep
    assert_not_stapled -starttls smtp
    old_smtpd=$(smtpd_pids reload)
    [ -n "$old_smtpd" ]
    run enable postfix --postfix-config "$etc"
    assert_success
    postfix -c "$etc" reload
    # On reload the master re-reads main.cf and stops its idle children: the smtpd that
    # answers next is a new one, started by the master with the environment it had.
    sleep 2
    assert_not_stapled -starttls smtp
    run smtpd_pids reload
    assert_success
    for pid in $output; do
        case " $old_smtpd " in *" $pid "*) fail "smtpd $pid survived the reload" ;; esac
        run bash -c "tr '\0' '\n' < /proc/$pid/environ"
        refute_output --partial LD_PRELOAD
    done
    grep -q "reload" "$d/maillog"
    stop_postfix reload
    start_postfix reload keep
    assert_staple rsa-good.der -starttls smtp
    for pid in $(smtpd_pids reload); do
        run bash -c "tr '\0' '\n' < /proc/$pid/environ"
        assert_output --partial "LD_PRELOAD=$SHIM"
    done
}

@test "disable postfix restores main.cf and the unit directory byte for byte" {
    command -v postfix > /dev/null || skip "postfix is not installed (make test-deps)"
    local etc
    etc=$(postfix_private restore)
    # An operator's own list, over two lines, and a comment: kept exactly.
    printf '# mine\nimport_environment = MAIL_CONFIG TZ\n    LANG=C MAIL_LOGTAG\n' >> "$etc/main.cf"
    cp -a "$R" "$BATS_TEST_TMPDIR/root.before"
    cp "$etc/main.cf" "$BATS_TEST_TMPDIR/main.cf.before"
    run enable postfix --postfix-config "$etc"
    assert_success
    assert_output --partial "  was: MAIL_CONFIG TZ LANG=C MAIL_LOGTAG"
    run postconf -c "$etc" -h import_environment
    assert_output "MAIL_CONFIG TZ LANG=C MAIL_LOGTAG LD_PRELOAD=$SHIM OCSPSTAPLE_CONF=$D/ocspstaple.conf"
    run disable postfix
    assert_success
    assert_output --partial "restored $etc/main.cf as it was before"
    assert_output --partial "removed $R/etc/systemd/system/postfix@-.service.d/ocspstaple.conf"
    cmp "$etc/main.cf" "$BATS_TEST_TMPDIR/main.cf.before"
    diff <(tree_state "$BATS_TEST_TMPDIR/root.before") <(tree_state "$R")
    # Nothing left to undo.
    run disable postfix
    assert_success
    assert_output --partial "not enabled by \`ocspstaple enable\`"
}

@test "disable postfix after the operator changed main.cf: only the added variables are taken out" {
    command -v postfix > /dev/null || skip "postfix is not installed (make test-deps)"
    local etc default
    etc=$(postfix_private changed)
    default=$(postconf -c "$etc" -h import_environment)
    run enable postfix --postfix-config "$etc"
    assert_success
    postconf -c "$etc" -e "import_environment=$(postconf -c "$etc" -h import_environment) EXTRA=1"
    postconf -c "$etc" -e "smtpd_banner = hello"
    run disable postfix
    assert_success
    assert_output --partial "changed since enable: only the shim's words taken out"
    run postconf -c "$etc" -h import_environment
    assert_output "$default EXTRA=1"
    run postconf -c "$etc" -h smtpd_banner
    assert_output "hello"
}

@test "enable --dry-run prints the changes and writes nothing; a second enable changes nothing" {
    command -v postfix > /dev/null || skip "postfix is not installed (make test-deps)"
    local etc
    etc=$(postfix_private dry)
    tree_state "$R" > "$BATS_TEST_TMPDIR/root.state"
    tree_state "$etc" > "$BATS_TEST_TMPDIR/etc.state"
    run enable postfix --postfix-config "$etc" --dry-run
    assert_success
    assert_output --partial "would create $R/etc/systemd/system/postfix@-.service.d/ocspstaple.conf"
    assert_output --partial "Environment=LD_PRELOAD=$SHIM"
    assert_output --partial "would change $etc/main.cf: import_environment"
    assert_output --partial "nothing changed (--dry-run)"
    diff "$BATS_TEST_TMPDIR/root.state" <(tree_state "$R")
    diff "$BATS_TEST_TMPDIR/etc.state" <(tree_state "$etc")

    run enable postfix --postfix-config "$etc"
    assert_success
    tree_state "$R" > "$BATS_TEST_TMPDIR/root.state"
    tree_state "$etc" > "$BATS_TEST_TMPDIR/etc.state"
    run enable postfix --postfix-config "$etc"
    assert_success
    assert_output --partial "already enabled"
    assert_output --partial "nothing changed"
    diff "$BATS_TEST_TMPDIR/root.state" <(tree_state "$R")
    diff "$BATS_TEST_TMPDIR/etc.state" <(tree_state "$etc")

    run disable postfix --dry-run
    assert_success
    assert_output --partial "would remove $R/etc/systemd/system/postfix@-.service.d/ocspstaple.conf"
    assert_output --partial "would restore $etc/main.cf"
    diff "$BATS_TEST_TMPDIR/root.state" <(tree_state "$R")
    diff "$BATS_TEST_TMPDIR/etc.state" <(tree_state "$etc")
}

@test "enable refuses a main.cf that postconf cannot parse, and an import_environment that already has LD_PRELOAD" {
    command -v postfix > /dev/null || skip "postfix is not installed (make test-deps)"
    local etc
    etc=$(postfix_private broken)
    tree_state "$R" > "$BATS_TEST_TMPDIR/root.state"
    echo "this line has no equals sign" >> "$etc/main.cf"
    run enable postfix --postfix-config "$etc"
    assert_failure 1
    assert_output --partial "cannot read Postfix's configuration"
    assert_output --partial "missing '=' after attribute name"
    diff "$BATS_TEST_TMPDIR/root.state" <(tree_state "$R")

    etc=$(postfix_private byhand)
    printf 'import_environment = TZ LD_PRELOAD=/x.so\n' >> "$etc/main.cf"
    run enable postfix --postfix-config "$etc"
    assert_failure 1
    assert_output --partial "import_environment already names LD_PRELOAD"
    diff "$BATS_TEST_TMPDIR/root.state" <(tree_state "$R")

    run enable postfix --postfix-config "$BATS_TEST_TMPDIR/nowhere"
    assert_failure 1
    assert_output --partial "no $BATS_TEST_TMPDIR/nowhere/main.cf"
}

@test "enable dovecot: a conf.d file keeping \$import_environment; Dovecot restarted with it staples; doveadm reload does not apply it" {
    command -v dovecot > /dev/null || skip "dovecot is not installed (make test-deps)"
    skip_unless_plain_build
    local d
    d=$(dovecot_dir reload)
    start_dovecot reload conf.d
    PORT=$IMAPS_PORT
    assert_not_stapled
    cp "$d/dovecot.conf" "$BATS_TEST_TMPDIR/dovecot.conf.before"
    run enable dovecot --dovecot-config "$d/dovecot.conf"
    assert_success
    assert_output --partial "created $R/etc/systemd/system/dovecot.service.d/ocspstaple.conf"
    assert_output --partial "created $d/conf.d/99-ocspstaple.conf"
    assert_output --partial "apply with: systemctl daemon-reload && systemctl restart dovecot.service"
    cmp "$d/dovecot.conf" "$BATS_TEST_TMPDIR/dovecot.conf.before"
    run doveconf -c "$d/dovecot.conf" -h import_environment
    assert_output --partial "LD_PRELOAD"
    assert_output --partial "$SHIM"
    if ! dovecot_is_24; then
        # the defaults kept, the shim added
        assert_output "TZ CORE_OUTOFMEM CORE_ERROR LISTEN_PID LISTEN_FDS NOTIFY_SOCKET LD_PRELOAD=$SHIM OCSPSTAPLE_CONF=$D/ocspstaple.conf"
    fi
    doveadm -c "$d/dovecot.conf" reload
    sleep 2
    grep -q "SIGHUP received - reloading configuration" "$d/dovecot.log"
    # Every connection gets a new imap-login, started after the reload.
    assert_not_stapled
    PORT=$IMAP_PORT
    assert_not_stapled -starttls imap
    stop_dovecot reload
    start_dovecot reload conf.d
    PORT=$IMAPS_PORT
    assert_staple rsa-good.der
    PORT=$IMAP_PORT
    assert_staple rsa-good.der -starttls imap

    run disable dovecot
    assert_success
    assert_output --partial "removed $d/conf.d/99-ocspstaple.conf"
    run ls -A "$d/conf.d"
    assert_output ""
}

@test "enable/disable dovecot against a copy of Debian's /etc/dovecot: byte for byte, dry run, second enable" {
    command -v dovecot > /dev/null || skip "dovecot is not installed (make test-deps)"
    [ -f /etc/dovecot/dovecot.conf ] || skip "no /etc/dovecot/dovecot.conf"
    mkdir -p "$R/etc"
    cp -a /etc/dovecot "$R/etc/dovecot"
    cp -a "$R" "$BATS_TEST_TMPDIR/root.before"
    run enable dovecot --dry-run
    assert_success
    assert_output --partial "would create $R/etc/dovecot/conf.d/99-ocspstaple.conf"
    diff <(tree_state "$BATS_TEST_TMPDIR/root.before") <(tree_state "$R")
    run enable dovecot
    assert_success
    run doveconf -c "$R/etc/dovecot/dovecot.conf" -h import_environment
    assert_output --partial "$SHIM"
    tree_state "$R" > "$BATS_TEST_TMPDIR/root.state"
    run enable dovecot
    assert_success
    assert_output --partial "already enabled"
    diff "$BATS_TEST_TMPDIR/root.state" <(tree_state "$R")
    run disable dovecot
    assert_success
    diff <(tree_state "$BATS_TEST_TMPDIR/root.before") <(tree_state "$R")
}

@test "enable dovecot refuses a dovecot.conf that doveconf rejects" {
    command -v dovecot > /dev/null || skip "dovecot is not installed (make test-deps)"
    mkdir -p "$R/etc/dovecot/conf.d"
    { dovecot_conf_head; printf 'protocols = imap\nno_such_setting = 1\n'; } > "$R/etc/dovecot/dovecot.conf"
    tree_state "$R" > "$BATS_TEST_TMPDIR/root.state"
    run enable dovecot
    assert_failure 1
    assert_output --partial "doveconf rejects $R/etc/dovecot/dovecot.conf"
    assert_output --partial "Unknown setting: no_such_setting"
    diff "$BATS_TEST_TMPDIR/root.state" <(tree_state "$R")
}

@test "enable dovecot takes its conf.d file back when Dovecot does not read it" {
    command -v dovecot > /dev/null || skip "dovecot is not installed (make test-deps)"
    mkdir -p "$R/etc/dovecot/conf.d"
    # No !include conf.d/*.conf: the file would change nothing.
    { dovecot_conf_head; printf 'protocols = imap\n'; } > "$R/etc/dovecot/dovecot.conf"
    tree_state "$R" > "$BATS_TEST_TMPDIR/root.state"
    run enable dovecot
    assert_failure 1
    assert_output --partial "Dovecot does not take $R/etc/dovecot/conf.d/99-ocspstaple.conf"
    assert_output --partial "nothing changed"
    diff "$BATS_TEST_TMPDIR/root.state" <(tree_state "$R")
}

@test "enable postfix@INST: the instance's unit and its own configuration directory" {
    command -v postfix > /dev/null || skip "postfix is not installed (make test-deps)"
    mkdir -p "$R/etc/postfix-out"
    cp /etc/postfix/master.cf "$R/etc/postfix-out/"
    printf 'compatibility_level = 3.6\nmulti_instance_name = postfix-out\n' > "$R/etc/postfix-out/main.cf"
    cp -a "$R" "$BATS_TEST_TMPDIR/root.before"
    run enable postfix@out
    assert_success
    assert_output --partial "created $R/etc/systemd/system/postfix@out.service.d/ocspstaple.conf"
    assert_output --partial "changed $R/etc/postfix-out/main.cf: import_environment"
    assert_output --partial "systemctl restart postfix@out.service"
    run postconf -c "$R/etc/postfix-out" -h import_environment
    assert_output --partial "LD_PRELOAD=$SHIM"
    run disable postfix@out
    assert_success
    diff <(tree_state "$BATS_TEST_TMPDIR/root.before") <(tree_state "$R")
}

@test "stunnel@NAME, nginx, lighttpd and any service: the drop-in for the unit; disable restores the tree" {
    local service unit
    cp -a "$R" "$BATS_TEST_TMPDIR/root.before"
    for service in stunnel@mail nginx lighttpd myd myd.service; do
        unit=${service%.service}.service
        run enable "$service"
        assert_success
        assert_output --partial "created $R/etc/systemd/system/$unit.d/ocspstaple.conf"
        assert_output --partial "apply with: systemctl daemon-reload && systemctl restart $unit"
        run sed -n '/^\[Service\]/,$p' "$R/etc/systemd/system/$unit.d/ocspstaple.conf"
        assert_output "[Service]
Environment=LD_PRELOAD=$SHIM
Environment=OCSPSTAPLE_CONF=$D/ocspstaple.conf"
        run disable "$service"
        assert_success
        diff <(tree_state "$BATS_TEST_TMPDIR/root.before") <(tree_state "$R")
    done
    # The default configuration is not named.
    run "$OCSPSTAPLE_CMD" enable nginx --root "$R" --shim "$SHIM" -c /etc/ocspstaple.conf --dry-run
    assert_success
    refute_output --partial OCSPSTAPLE_CONF
    # An existing unit directory with a drop-in of the operator's: kept, only ours removed.
    mkdir -p "$R/etc/systemd/system/nginx.service.d"
    printf '[Service]\nLimitNOFILE=65536\n' > "$R/etc/systemd/system/nginx.service.d/limits.conf"
    cp -a "$R" "$BATS_TEST_TMPDIR/root.mine"
    run enable nginx
    assert_success
    run disable nginx
    assert_success
    diff <(tree_state "$BATS_TEST_TMPDIR/root.mine") <(tree_state "$R")
}

@test "enable refuses an unknown unit, a masked one, a template, another unit type, and a unit that already preloads" {
    tree_state "$R" > "$BATS_TEST_TMPDIR/root.state"
    run enable nosuchd
    assert_failure 1
    assert_output --partial "no unit nosuchd.service"
    run enable stunnel@
    assert_failure 1
    assert_output --partial "is a template"
    run enable ocspstaple-fetch.timer
    assert_failure 1
    assert_output --partial "is not a service"
    run enable "bad/name"
    assert_failure 1
    assert_output --partial "is not a systemd unit name"
    diff "$BATS_TEST_TMPDIR/root.state" <(tree_state "$R")
    mkdir -p "$R/etc/systemd/system"
    ln -s /dev/null "$R/etc/systemd/system/myd.service"
    run enable myd
    assert_failure 1
    assert_output --partial "myd.service is masked"
    rm "$R/etc/systemd/system/myd.service"
    mkdir -p "$R/etc/systemd/system/nginx.service.d"
    printf '[Service]\nEnvironment=LD_PRELOAD=/usr/lib/libjemalloc.so.2\n' > "$R/etc/systemd/system/nginx.service.d/malloc.conf"
    run enable nginx
    assert_failure 1
    assert_output --partial "nginx.service.d/malloc.conf already sets LD_PRELOAD for nginx.service"
    run "$OCSPSTAPLE_CMD" enable myd --root "$R" --shim /nonexistent/libocspstaple.so
    assert_failure 1
    assert_output --partial "the shim /nonexistent/libocspstaple.so"
    # A drop-in edited since enable is not removed.
    run enable myd
    assert_success
    echo "# mine" >> "$R/etc/systemd/system/myd.service.d/ocspstaple.conf"
    run disable myd
    assert_failure 1
    assert_output --partial "was changed since \`ocspstaple enable\`"
    [ -f "$R/etc/systemd/system/myd.service.d/ocspstaple.conf" ]
}

@test "the shim path comes from the installation: PKGLIBDIR is compiled into the command, and follows a changed PREFIX" {
    # A build of its own: `make`, then `make install PREFIX=/usr LIBDIR=...` as a package does.
    local b="$BATS_TEST_TMPDIR/build"
    make -C "$ROOT" -s BUILD="$b" "$b/ocspstaple" > /dev/null
    run "$b/ocspstaple" --help
    assert_output --partial "--shim PATH        the shim to preload (default: /usr/local/lib/ocspstaple/libocspstaple.so)"
    run "$b/ocspstaple" enable myd --root "$R" --dry-run
    assert_failure 1
    assert_output --partial "the shim /usr/local/lib/ocspstaple/libocspstaple.so: No such file"
    # Only install_paths.c is compiled again.
    run make -C "$ROOT" BUILD="$b" PREFIX=/usr LIBDIR=/usr/lib/x86_64-linux-gnu "$b/ocspstaple"
    assert_success
    assert_equal "$(grep -c -- ' -c -o ' <<< "$output")" 1
    assert_output --partial "install_paths.c"
    run "$b/ocspstaple" enable myd --root "$R" --dry-run
    assert_failure 1
    assert_output --partial "the shim /usr/lib/x86_64-linux-gnu/ocspstaple/libocspstaple.so: No such file"
    # Unchanged paths: nothing to do.
    run make -C "$ROOT" BUILD="$b" PREFIX=/usr LIBDIR=/usr/lib/x86_64-linux-gnu "$b/ocspstaple"
    refute_output --partial " -c -o "
}
