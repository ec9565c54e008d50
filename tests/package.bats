#!/usr/bin/env bats
# The Debian package (debian/, `make deb`): built, lintian-clean, the files where the README
# says, then installed with apt-get into a fresh minimal root of this machine's Debian release
# (debootstrap from Debian's archive), stapling there from the installed paths, removed
# (configuration and responses kept) and purged (nothing of it left); last, the source built
# in that root with build-essential and its Build-Depends alone.
#
# The package is built once and the root made once, in setup_file (debootstrap takes most of
# the file's 1 to 2 minutes); the tests run in order on that one root. Nothing is cached
# across runs. Building and linting need no root; the root tests are skipped, saying why,
# without root, debootstrap or the archive (OCSPSTAPLE_DEBIAN_MIRROR, default
# http://deb.debian.org/debian).

load helpers/common

setup_file() {
    # (A skip in setup_file fails the file in Debian 12's bats 1.8: each test skips instead.)
    export SKIP_ALL=""
    if [ -n "${OCSPSTAPLE_SANITIZE:-}" ]; then
        SKIP_ALL="the package is built without sanitizers: the plain run tests it"
        return 0
    fi
    export PKG_DIR="$BATS_FILE_TMPDIR/deb"
    export MULTIARCH
    MULTIARCH=$(dpkg-architecture -qDEB_HOST_MULTIARCH)
    export PKG_VERSION
    PKG_VERSION=$(dpkg-parsechangelog -l "$ROOT/debian/changelog" -S Version)
    export DEB="$PKG_DIR/ocspstaple_${PKG_VERSION}_$(dpkg-architecture -qDEB_HOST_ARCH).deb"
    # make deb is the thing tested: its log and status are kept for the first test.
    export BUILD_LOG="$BATS_FILE_TMPDIR/make-deb.log"
    if make -C "$ROOT" deb DEB_DIR="$PKG_DIR" > "$BUILD_LOG" 2>&1; then
        echo 0 > "$BATS_FILE_TMPDIR/make-deb.status"
    else
        echo $? > "$BATS_FILE_TMPDIR/make-deb.status"
    fi
    make_root
}

# make_root - a fresh `debootstrap --variant=minbase` root of this release, with openssl (for
# s_server), its package lists and /proc; its file list in $BATS_FILE_TMPDIR/before. Sets
# FRESH_ROOT, or NO_ROOT_WHY to the reason there is none.
make_root() {
    export FRESH_ROOT="" NO_ROOT_WHY=""
    local mirror=${OCSPSTAPLE_DEBIAN_MIRROR:-http://deb.debian.org/debian} suite base
    suite=$(. /etc/os-release && echo "${VERSION_CODENAME:-}")
    if [ "$(id -u)" != 0 ]; then
        NO_ROOT_WHY="needs root (debootstrap, chroot, mount)"
    elif ! command -v debootstrap > /dev/null; then
        NO_ROOT_WHY="debootstrap is not installed (tests/helpers/install-deps.sh test installs it)"
    elif [ -z "$suite" ]; then
        NO_ROOT_WHY="no VERSION_CODENAME in /etc/os-release: which release to debootstrap?"
    elif ! curl -fsS -o /dev/null --max-time 20 "$mirror/dists/$suite/Release" 2> /dev/null; then
        NO_ROOT_WHY="the archive is out of reach ($mirror/dists/$suite/Release)"
    fi
    [ -z "$NO_ROOT_WHY" ] || return 0

    base=$(mktemp -d "${TMPDIR_ROOTS:-/var/tmp}/ocspstaple-pkgroot.XXXXXX")
    echo "$base" > "$BATS_FILE_TMPDIR/root-base"
    if ! debootstrap --variant=minbase --include=openssl "$suite" "$base/root" "$mirror" \
        > "$BATS_FILE_TMPDIR/debootstrap.log" 2>&1; then
        tail -n 30 "$BATS_FILE_TMPDIR/debootstrap.log" >&2
        echo "debootstrap $suite from $mirror failed (log above)" >&2
        return 1
    fi
    FRESH_ROOT="$base/root"
    mount -t proc proc "$FRESH_ROOT/proc"
    cp /etc/resolv.conf "$FRESH_ROOT/etc/resolv.conf"
    in_root apt-get update -qq
    root_files > "$BATS_FILE_TMPDIR/before"
}

teardown_file() {
    # Nothing to undo when no root was made (skipped: a sanitizer run, not root, no archive).
    if [ -s "$BATS_FILE_TMPDIR/root-base" ]; then
        remove_root "$(cat "$BATS_FILE_TMPDIR/root-base")"
    fi
}

# remove_root BASE - unmount what the tests mounted in BASE/root, then remove BASE.
remove_root() {
    local base=$1
    if [ -d "$base/root/proc" ] && mountpoint -q "$base/root/proc"; then
        umount "$base/root/proc" 2> /dev/null || umount -l "$base/root/proc"
    fi
    # Never remove a tree that still has something mounted in it.
    if grep -q " $base/" /proc/mounts; then
        echo "package.bats: $base still has mounts; not removing it" >&2
        return 1
    fi
    rm -rf "$base"
}

setup() {
    [ -z "$SKIP_ALL" ] || skip "$SKIP_ALL"
}

teardown() {
    stop_hosts_only
}

# in_root CMD... - CMD in the fresh root, as apt-get would run on a new machine.
in_root() {
    chroot "$FRESH_ROOT" /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/root \
        DEBIAN_FRONTEND=noninteractive LC_ALL=C.UTF-8 "$@"
}

# root_files - every path of the root with its type and mode, but what apt and dpkg keep about
# themselves (lists, caches, logs, the dpkg database) and the test's own scratch (/tmp).
root_files() {
    (cd "$FRESH_ROOT" && find . -xdev \( -path ./proc -o -path ./tmp -o -path ./var/log \
        -o -path ./var/cache/apt -o -path ./var/lib/apt -o -path ./var/lib/dpkg \
        -o -path ./var/cache/debconf -o -path ./var/cache/ldconfig \) -prune -o \
        -printf '%y %m %p\n' | LC_ALL=C sort)
}

need_root() {
    [ -n "$FRESH_ROOT" ] || skip "$NO_ROOT_WHY"
}

@test "make deb builds one package (and its -dbgsym), lintian-clean, into DEB_DIR" {
    run cat "$BUILD_LOG"
    [ "$(cat "$BATS_FILE_TMPDIR/make-deb.status")" = 0 ] || { echo "$output" >&2; false; }
    [ -f "$DEB" ]
    run bash -c "cd '$PKG_DIR' && LC_ALL=C ls"
    assert_output "ocspstaple-dbgsym_${PKG_VERSION}_$(dpkg-architecture -qDEB_HOST_ARCH).deb
ocspstaple_${PKG_VERSION}_$(dpkg-architecture -qDEB_HOST_ARCH).buildinfo
ocspstaple_${PKG_VERSION}_$(dpkg-architecture -qDEB_HOST_ARCH).changes
$(basename "$DEB")"
    # dpkg-buildflags' flags (-Wdate-time and -Werror=format-security come from it only)
    # reached the compiler, followed by the project's own (the linked result: next test).
    run grep -cE -- "^cc -Wdate-time -D_FORTIFY_SOURCE=2 .* -Werror=format-security .*-fvisibility=hidden .*-fstack-protector-strong" "$BUILD_LOG"
    assert_success
    # The suite was not run by the build (override_dh_auto_test), and the copy of the tree it
    # was built in is gone.
    run grep -E "(^| )bats |make.* check( |$)" "$BUILD_LOG"
    assert_failure
    [ ! -e "$PKG_DIR/src" ]

    command -v lintian > /dev/null || skip "lintian is not installed (tests/helpers/install-deps.sh test)"
    run lintian --fail-on error,warning "$PKG_DIR"/*.changes
    assert_success
    refute_line --regexp "^[EW]: "
    # The source package too (as dpkg-source would make it from this tree).
    local src="$BATS_FILE_TMPDIR/src/ocspstaple-$PKG_VERSION"
    mkdir -p "$src"
    (cd "$ROOT" && tar -c --exclude=./build --exclude='./build-*' --exclude=./.git .) | tar -x -C "$src"
    (cd "$src" && dpkg-source -b . > /dev/null)
    run lintian --fail-on error,warning "$BATS_FILE_TMPDIR/src/ocspstaple_$PKG_VERSION.dsc"
    assert_success
    refute_line --regexp "^[EW]: "
}

@test "the package: its files, the conffile, the dependencies, the units not enabled" {
    [ -f "$DEB" ] || skip "no package was built (see the first test)"
    run dpkg-deb -c "$DEB"
    assert_success
    local lib="./usr/lib/$MULTIARCH/ocspstaple" f
    for f in "$lib/libocspstaple.so" "$lib/libocspstaple-core.so" "$lib/libocspstaple-libconfig.so" \
        ./usr/sbin/ocspstaple ./etc/ocspstaple.conf \
        ./lib/systemd/system/ocspstaple-fetch.service ./lib/systemd/system/ocspstaple-fetch.timer \
        ./usr/share/man/man8/ocspstaple.8.gz ./usr/share/man/man5/ocspstaple.conf.5.gz \
        ./usr/share/ocspstaple/ocspstaple.conf.example ./usr/share/ocspstaple/postfix/main.cf \
        ./usr/share/ocspstaple/dovecot/99-ocspstaple.conf ./usr/share/ocspstaple/dovecot/2.4/99-ocspstaple.conf \
        ./usr/share/ocspstaple/systemd/postfix@-.service.d/ocspstaple.conf \
        ./usr/share/ocspstaple/systemd/dovecot.service.d/ocspstaple.conf \
        ./usr/share/ocspstaple/systemd/stunnel@.service.d/ocspstaple.conf \
        ./usr/share/ocspstaple/hooks/ocspstaple-renewal-hook \
        ./usr/share/doc/ocspstaple/copyright; do
        assert_line --regexp "^-[rwx-]{9} root/root +[0-9]+ [0-9-]+ [0-9:]+ ${f//./\\.}$"
    done
    assert_line --regexp "^drwxr-xr-x root/root +0 [0-9-]+ [0-9:]+ \./var/lib/ocspstaple/$"
    # Nothing under /usr/local, no test program, no stray build output.
    refute_output --partial "/usr/local"
    refute_output --partial "tls_server"
    # The shared objects are not executable, the command is.
    assert_line --regexp "^-rw-r--r-- root/root .* ${lib//./\\.}/libocspstaple\.so$"
    assert_line --regexp "^-rwxr-xr-x root/root .* \./usr/sbin/ocspstaple$"
    # The renewal hook (README, "Renewing certificates") is executable.
    assert_line --regexp "^-rwxr-xr-x root/root .* \./usr/share/ocspstaple/hooks/ocspstaple-renewal-hook$"

    local ctl="$BATS_TEST_TMPDIR/control" x="$BATS_TEST_TMPDIR/x"
    dpkg-deb -e "$DEB" "$ctl"
    run cat "$ctl/conffiles"
    assert_output "/etc/ocspstaple.conf"
    # The configuration staples nothing: every line a comment or blank.
    dpkg-deb -x "$DEB" "$x"
    # The renewal hook runs the package's command.
    run grep -x 'ocspstaple=${OCSPSTAPLE:-/usr/sbin/ocspstaple}' "$x/usr/share/ocspstaple/hooks/ocspstaple-renewal-hook"
    assert_success
    run grep -vE '^[[:space:]]*(#|$)' "$x/etc/ocspstaple.conf"
    assert_failure
    # libconfig is dlopen'ed by the core through the scope object, and linked by the command.
    run dpkg-deb -f "$DEB" Depends
    assert_output --regexp "(^|, )libconfig9(,| |$)"
    assert_output --regexp "(^|, )libssl3( |,|$)"
    assert_output --regexp "(^|, )libc6( |,|$)"
    # The installed files name the package's paths.
    run grep -rh "LD_PRELOAD" "$x/usr/share/ocspstaple/systemd"
    assert_output --partial "Environment=LD_PRELOAD=/usr/lib/$MULTIARCH/ocspstaple/libocspstaple.so"
    run grep -x "ExecStart=/usr/sbin/ocspstaple fetch" "$x/lib/systemd/system/ocspstaple-fetch.service"
    assert_success
    # Hardened: full RELRO and BIND_NOW on the command and the core, PIE, fortified calls.
    run readelf -d "$x/usr/sbin/ocspstaple"
    assert_output --regexp "FLAGS_1.*NOW PIE"
    run readelf -d "$x/${lib#./}/libocspstaple-core.so"
    assert_output --regexp "FLAGS_1.*NOW"
    run readelf -lW "$x/${lib#./}/libocspstaple.so"
    assert_output --partial "GNU_RELRO"
    run nm -D "$x/${lib#./}/libocspstaple-core.so"
    assert_output --partial "__stack_chk_fail"
    assert_output --regexp "__[a-z]+_chk@"
    # No unit is enabled or started by the maintainer scripts.
    run cat "$ctl/postinst"
    assert_success
    refute_output --regexp "deb-systemd-invoke (start|restart) "
}

@test "apt-get install in a fresh root: --version, nothing enabled, an s_server there staples" {
    need_root
    [ -f "$DEB" ] || skip "no package was built (see the first test)"
    local pt="$FRESH_ROOT/tmp/pkgtest"
    install -d -m 0755 "$pt"
    install -m 0644 "$DEB" "$pt/"
    run in_root sh -c 'cd /tmp/pkgtest && apt-get install -y --no-install-recommends ./ocspstaple_*.deb'
    assert_success
    # Its dependencies came from the archive (the root had no libconfig).
    assert_output --regexp "Unpacking libconfig9"
    run in_root dpkg-query -W -f '${Status} ${Version}' ocspstaple
    assert_output "install ok installed $PKG_VERSION"
    run in_root ocspstaple --version
    assert_success
    assert_output "ocspstaple $PKG_VERSION"
    # Installed, not enabled: no timers.target.wants link, no state saying enabled (the
    # maintainer scripts' deb-systemd-helper is in every root: init-system-helpers is required).
    [ -f "$FRESH_ROOT/lib/systemd/system/ocspstaple-fetch.timer" ]
    [ -x "$FRESH_ROOT/usr/bin/deb-systemd-helper" ]
    run in_root deb-systemd-helper is-enabled ocspstaple-fetch.timer
    assert_failure
    [ ! -e "$FRESH_ROOT/etc/systemd/system/timers.target.wants/ocspstaple-fetch.timer" ]
    run find "$FRESH_ROOT/etc/systemd" -name 'ocspstaple*'
    assert_output ""
    [ -d "$FRESH_ROOT/var/lib/ocspstaple" ]
    [ "$(stat -c %a "$FRESH_ROOT/var/lib/ocspstaple")" = 755 ]

    # An operator's configuration in the conffile, the response in the package's directory,
    # and an unmodified s_server of the root with the installed shim preloaded.
    cp "$FX/rsa-chain.pem" "$FX/rsa.pem" "$FX/rsa.key" "$pt/"
    cp "$FX/rsa-good.der" "$FRESH_ROOT/var/lib/ocspstaple/mail.der"
    cat > "$FRESH_ROOT/etc/ocspstaple.conf" << 'EOF'
log_target = "stderr";
staples = ( { certificate = "/tmp/pkgtest/rsa-chain.pem"; response = "/var/lib/ocspstaple/mail.der"; } );
EOF
    run in_root ocspstaple check
    assert_success
    assert_output --partial "OK: stapled: good for"

    PORT=$(free_port)
    local log="$BATS_TEST_TMPDIR/s_server.log"
    setsid chroot "$FRESH_ROOT" /usr/bin/env -i PATH=/usr/bin:/bin \
        LD_PRELOAD="/usr/lib/$MULTIARCH/ocspstaple/libocspstaple.so" \
        openssl s_server -accept "127.0.0.1:$PORT" -www -cert /tmp/pkgtest/rsa.pem \
        -key /tmp/pkgtest/rsa.key > "$log" 2>&1 < /dev/null 3>&- &
    echo "$!" >> "$HOSTS_FILE"
    wait_listening "$PORT" "$!" "$log"
    assert_stapled rsa-good.der
    # The shim said where it stapled from: the configuration the package compiled in.
    run cat "$log"
    assert_output --partial "/var/lib/ocspstaple/mail.der"
    stop_hosts_only
}

@test "apt-get remove keeps the configuration and the responses; purge leaves nothing" {
    need_root
    in_root dpkg-query -W ocspstaple > /dev/null || skip "the package was not installed (see the test before)"
    run in_root apt-get remove -y ocspstaple
    assert_success
    run in_root dpkg-query -W -f '${Status}' ocspstaple
    assert_output "deinstall ok config-files"
    [ ! -e "$FRESH_ROOT/usr/sbin/ocspstaple" ]
    [ ! -e "$FRESH_ROOT/usr/lib/$MULTIARCH/ocspstaple" ]
    run grep -c "^staples = " "$FRESH_ROOT/etc/ocspstaple.conf"
    assert_output 1
    [ -f "$FRESH_ROOT/var/lib/ocspstaple/mail.der" ]

    # Purge, with the dependencies the package brought (libconfig9): the root's file list is
    # then the one before the installation.
    run in_root apt-get purge -y --autoremove ocspstaple
    assert_success
    run in_root dpkg-query -W -f '${Status}' ocspstaple
    assert_failure
    rm -rf "$FRESH_ROOT/tmp/pkgtest"
    root_files > "$BATS_TEST_TMPDIR/after"
    run diff "$BATS_FILE_TMPDIR/before" "$BATS_TEST_TMPDIR/after"
    assert_success
    assert_output ""
    # Nor anything in the databases dpkg and debconf keep about it.
    run find "$FRESH_ROOT/var/lib/dpkg/info" -name 'ocspstaple*'
    assert_output ""
}

@test "the source builds in the fresh root with build-essential and its Build-Depends alone" {
    need_root
    [ -f "$DEB" ] || skip "no package was built (see the first test)"
    # After the purge test: what it installs here would spoil that test's file lists.
    local src="$FRESH_ROOT/tmp/pkgbuild/ocspstaple-$PKG_VERSION"
    mkdir -p "$src"
    (cd "$ROOT" && tar -c --exclude=./build --exclude='./build-*' --exclude=./.git .) | tar -x -C "$src"
    run in_root sh -c "apt-get install -y -qq --no-install-recommends build-essential > /dev/null &&
        cd /tmp/pkgbuild/ocspstaple-$PKG_VERSION && apt-get build-dep -y -qq --no-install-recommends ./ > /dev/null &&
        dpkg-buildpackage -us -uc -b 2>&1"
    assert_success
    local built="$FRESH_ROOT/tmp/pkgbuild/$(basename "$DEB")"
    [ -f "$built" ]
    # The same files and the same dependencies as the package built on this machine.
    run diff <(dpkg-deb -c "$DEB" | awk '{ print $1, $NF }') <(dpkg-deb -c "$built" | awk '{ print $1, $NF }')
    assert_success
    [ "$(dpkg-deb -f "$DEB" Depends)" = "$(dpkg-deb -f "$built" Depends)" ]
}
