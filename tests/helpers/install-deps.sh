#!/bin/sh
# install-deps.sh - make sure what `make` (build) or `make check`/`make demo` (test) needs is
# installed. On Debian or Ubuntu as root, missing packages are installed with apt-get;
# elsewhere the missing ones are listed and the script fails.
#
#   tests/helpers/install-deps.sh build|test
set -eu

want=${1:-test}
build_pkgs="gcc make pkg-config libssl-dev libconfig-dev openssl"
test_pkgs="$build_pkgs bats bats-assert bats-support gnutls-bin curl faketime python3 procps"
case $want in
    build) pkgs=$build_pkgs ;;
    test) pkgs=$test_pkgs ;;
    *) echo "usage: $0 build|test" >&2; exit 2 ;;
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
# shellcheck disable=SC2086
apt-get install -y -qq --no-install-recommends $missing >/dev/null
