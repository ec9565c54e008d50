#!/bin/sh
# install-deps.sh - make sure what `make` (build) or `make check`/`make demo` (test) needs is
# installed. On Debian or Ubuntu as root, missing packages are installed with apt-get;
# elsewhere the missing ones are listed and the script fails.
#
# The test list holds real daemons (Postfix, Dovecot with imap and pop3, stunnel4, squid, Redis,
# HAProxy, nginx, lighttpd, PostgreSQL, vsftpd) that the tests run as private instances on
# loopback ports. Installing them must not leave a system instance behind: while apt-get runs,
# /usr/sbin/policy-rc.d refuses every service start (an existing policy-rc.d is set aside and
# put back afterwards), Postfix is preseeded to "No configuration", and the daemons this script
# installed are disabled (and stopped, under a running systemd).
#
# deb: what `make deb` needs (dpkg-buildpackage, which insists on build-essential, and
# debhelper; Rules-Requires-Root: no, so no fakeroot). test adds lintian and debootstrap for
# tests/package.bats.
#
#   tests/helpers/install-deps.sh build|test|lint|deb
set -eu

want=${1:-test}
build_pkgs="gcc libc6-dev make pkg-config libssl-dev libconfig-dev openssl"
daemon_pkgs="postfix dovecot-imapd dovecot-pop3d stunnel4 squid redis-server haproxy nginx-light \
lighttpd lighttpd-mod-openssl postgresql vsftpd"
# util-linux: setpriv, unshare; mount: mount (a private /dev for the syslog tests). Not in
# every minimal root (debootstrap --variant=minbase of Debian 12 has no mount).
deb_pkgs="$build_pkgs build-essential dpkg-dev debhelper"
test_pkgs="$build_pkgs bats bats-assert bats-support gnutls-bin curl faketime python3 procps \
util-linux mount groff-base valgrind strace libjemalloc2 libtcmalloc-minimal4 $daemon_pkgs \
build-essential dpkg-dev debhelper lintian debootstrap"
lint_pkgs="$build_pkgs clang-tidy cppcheck"
case $want in
    build) pkgs=$build_pkgs ;;
    test) pkgs=$test_pkgs ;;
    lint) pkgs=$lint_pkgs ;;
    deb) pkgs=$deb_pkgs ;;
    *) echo "usage: $0 build|test|lint|deb" >&2; exit 2 ;;
esac

missing=""
if command -v dpkg-query >/dev/null 2>&1; then
    for p in $pkgs; do
        status=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)
        case $status in
            *"install ok installed"*) ;;
            *) missing="$missing $p" ;;
        esac
    done
else
    echo "install-deps: not a Debian-like system; make sure these are installed:" >&2
    echo "  $pkgs" >&2
    exit 0
fi

[ -z "$missing" ] && exit 0

if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null 2>&1; then
    echo "install-deps: missing packages:$missing" >&2
    echo "install-deps: as root, run: apt-get install$missing" >&2
    exit 1
fi
echo "install-deps: installing:$missing"
export DEBIAN_FRONTEND=noninteractive
# Refresh the package lists when they are missing or more than a day old.
if [ -z "$(find /var/lib/apt/lists -maxdepth 1 -name '*Packages*' -mtime -1 2>/dev/null | head -n 1)" ]; then
    apt-get update -qq
fi

# A daemon package among the missing ones: no service may start while apt-get runs.
daemons=""
for p in $missing; do
    case " $daemon_pkgs " in *" $p "*) daemons="$daemons $p" ;; esac
done
policy=/usr/sbin/policy-rc.d
saved=""
restore_policy() {
    if [ -n "$saved" ]; then
        mv -f "$saved" "$policy"
        saved=""
    else
        rm -f "$policy"
    fi
}
if [ -n "$daemons" ]; then
    if [ -e "$policy" ]; then
        saved="$policy.ocspstaple-saved.$$"
        cp -p "$policy" "$saved"
    fi
    trap 'restore_policy' EXIT
    trap 'exit 1' INT TERM HUP
    printf '#!/bin/sh\n# temporary, from ocspstaple tests/helpers/install-deps.sh\nexit 101\n' \
        > "$policy.tmp.$$"
    chmod 0755 "$policy.tmp.$$"
    mv -f "$policy.tmp.$$" "$policy"
    # Postfix: no system configuration (the tests bring their own main.cf).
    echo "postfix postfix/main_mailer_type select No configuration" | debconf-set-selections
fi

# shellcheck disable=SC2086
apt-get install -y -qq --no-install-recommends $missing >/dev/null

# The system instances of the daemons just installed: disabled, and stopped if systemd runs.
for p in $daemons; do
    case $p in
        postfix) units="postfix.service postfix@-.service" sysv=postfix ;;
        dovecot-imapd | dovecot-pop3d) units="dovecot.service dovecot.socket" sysv=dovecot ;;
        stunnel4) units="stunnel.target stunnel4.service" sysv=stunnel4 ;;
        squid) units="squid.service" sysv=squid ;;
        redis-server) units="redis-server.service" sysv=redis-server ;;
        haproxy) units="haproxy.service" sysv=haproxy ;;
        nginx-light) units="nginx.service" sysv=nginx ;;
        lighttpd) units="lighttpd.service" sysv=lighttpd ;;
        postgresql) units="postgresql.service" sysv=postgresql ;;
        vsftpd) units="vsftpd.service" sysv=vsftpd ;;
        *) continue ;;
    esac
    for u in $units; do
        # systemctl disable also works without a running systemd (it edits the symlinks).
        if [ -d /run/systemd/system ]; then
            systemctl disable --now "$u" >/dev/null 2>&1 || true
        elif command -v systemctl >/dev/null 2>&1; then
            systemctl disable "$u" >/dev/null 2>&1 || true
        fi
    done
    if [ -e "/etc/init.d/$sysv" ]; then
        update-rc.d "$sysv" disable >/dev/null 2>&1 || true
    fi
done
if [ -n "$daemons" ]; then
    restore_policy
    trap - EXIT INT TERM HUP
fi
