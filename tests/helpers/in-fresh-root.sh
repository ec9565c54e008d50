#!/bin/sh
# in-fresh-root.sh SUITE [MIRROR] - what a newcomer does, in a fresh minimal Debian: make a root
# with `debootstrap --variant=minbase SUITE` (bookworm, trixie) from Debian's archive, mount
# /proc, /sys, /dev, /dev/pts and /dev/shm into it, install only `make`, clone this checkout
# into the root's /root (mode 0700) and run `make demo` and `make check` there. The bats output
# goes to stdout unchanged (CI counts its ok / not ok lines). Whatever happens, the mounts are
# undone and the root is removed. Fails when a step or a test fails.
#
# Needs root, debootstrap and the archive (MIRROR, default http://deb.debian.org/debian).
# Nothing is cached: every run downloads and builds a new root (about 2 minutes for the root).
set -eu

suite=${1:?usage: $0 SUITE [MIRROR]  (SUITE: bookworm, trixie)}
mirror=${2:-http://deb.debian.org/debian}
here=$(cd "$(dirname "$0")/../.." && pwd)

[ "$(id -u)" = 0 ] || { echo "in-fresh-root.sh: must run as root (debootstrap, chroot, mount)" >&2; exit 1; }
command -v debootstrap > /dev/null 2>&1 || apt-get install -y -qq --no-install-recommends debootstrap > /dev/null ||
    { echo "in-fresh-root.sh: debootstrap is not installed and could not be installed" >&2; exit 1; }

base=$(mktemp -d "${TMPDIR_ROOTS:-/var/tmp}/ocspstaple-root-$suite.XXXXXX")
root=$base/root
mounted=""

cleanup() {
    # Unmount in reverse order; a busy mount is detached lazily so that the root can go.
    for m in $mounted; do
        umount -R "$m" 2> /dev/null || umount -l "$m" 2> /dev/null ||
            echo "in-fresh-root.sh: could not unmount $m" >&2
    done
    mounted=""
    if grep -q " $root" /proc/mounts; then
        echo "in-fresh-root.sh: $root still has mounts; not removing it" >&2
        return
    fi
    rm -rf "$base"
}
trap cleanup EXIT
trap 'exit 1' INT TERM HUP

echo "in-fresh-root.sh: debootstrap --variant=minbase $suite $root $mirror"
if ! debootstrap --variant=minbase "$suite" "$root" "$mirror" > "$base/debootstrap.log" 2>&1; then
    tail -n 30 "$base/debootstrap.log" >&2
    echo "in-fresh-root.sh: debootstrap $suite failed (log above)" >&2
    exit 1
fi

mount -t proc proc "$root/proc" && mounted="$root/proc $mounted"
mount --rbind /sys "$root/sys" && mounted="$root/sys $mounted"
mount --bind /dev "$root/dev" && mounted="$root/dev $mounted"
mount --bind /dev/pts "$root/dev/pts" && mounted="$root/dev/pts $mounted"
mount --bind /dev/shm "$root/dev/shm" && mounted="$root/dev/shm $mounted"
cp /etc/resolv.conf "$root/etc/resolv.conf"

# Only make, as the README asks of a newcomer; the rest is install-deps.sh's job.
chroot "$root" sh -c 'apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq make > /dev/null' ||
    { echo "in-fresh-root.sh: apt-get install make failed in the $suite root" >&2; exit 1; }

# The checkout as committed (a clone), under /root, which only root may enter.
git clone -q "$here" "$root/root/ocspstaple" ||
    { echo "in-fresh-root.sh: git clone $here into the $suite root failed" >&2; exit 1; }
chmod 0700 "$root/root"

echo "in-fresh-root.sh: $suite: make demo"
chroot "$root" sh -c 'cd /root/ocspstaple && make demo' ||
    { echo "in-fresh-root.sh: make demo failed in the $suite root" >&2; exit 1; }
echo "in-fresh-root.sh: $suite: make check"
chroot "$root" sh -c 'cd /root/ocspstaple && make check' ||
    { echo "in-fresh-root.sh: make check failed in the $suite root" >&2; exit 1; }
echo "in-fresh-root.sh: $suite: make demo and make check passed"
