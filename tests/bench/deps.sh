#!/bin/sh
# deps.sh - what `make bench` needs beyond `make check`'s set-up: valgrind (callgrind counts
# instructions) and the openssl command (s_server). On Debian or Ubuntu as root the missing
# packages are installed with apt-get; elsewhere they are listed and the script fails.
set -eu
missing=""
command -v valgrind >/dev/null 2>&1 || missing="$missing valgrind"
command -v openssl >/dev/null 2>&1 || missing="$missing openssl"
[ -z "$missing" ] && exit 0
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "bench deps: installing$missing" >&2
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $missing >/dev/null
    exit 0
fi
echo "bench deps: missing:$missing (install them, then run make bench again)" >&2
exit 1
