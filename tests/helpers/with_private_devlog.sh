#!/bin/sh
# with_private_devlog.sh SOCKET CMD... - run CMD with a private /dev whose /dev/log is SOCKET.
# Must run inside a private mount namespace (unshare -m): the machine's /dev is not touched.
set -eu
sock=$1
shift
mount -t tmpfs -o mode=0755 ocspstaple-test-dev /dev
mknod -m 666 /dev/null c 1 3
mknod -m 666 /dev/zero c 1 5
mknod -m 666 /dev/random c 1 8
mknod -m 666 /dev/urandom c 1 9
ln -s "$sock" /dev/log
exec "$@"
