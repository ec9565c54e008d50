#!/usr/bin/env bash
# demo.sh - `make demo`: the whole pipeline on loopback. A throwaway CA and certificate; the
# CA's OCSP responder (`openssl ocsp`); `ocspstaple fetch` getting the response; an unmodified
# `openssl s_server` under the shim; `openssl s_client -status` showing the stapled response;
# `ocspstaple check` telling what is stapled, of the files and of the running server.
# Everything is stopped and removed afterwards.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
WORK=$(mktemp -d /tmp/ocspstaple-demo.XXXXXX)
SERVER_PID=
RESPONDER_PID=
cleanup() {
    [ -n "$SERVER_PID" ] && kill "$SERVER_PID" 2> /dev/null || true
    [ -n "$RESPONDER_PID" ] && kill "$RESPONDER_PID" 2> /dev/null || true
    rm -rf "$WORK"
}
trap cleanup EXIT

say() { printf '\n== %s\n' "$*"; }

# in_use PORT - any socket on PORT (read from /proc: OpenSSL 3.0's responder must not be probed
# with an empty connection, it stops answering after one).
in_use() {
    local hex
    hex=$(printf '%04X' "$1")
    awk -v p=":$hex" 'substr($2, length($2) - 4) == p { f = 1 } END { exit !f }' /proc/net/tcp /proc/net/tcp6 2> /dev/null
}
listening() {
    local hex
    hex=$(printf '%04X' "$1")
    awk -v p=":$hex" '$4 == "0A" && substr($2, length($2) - 4) == p { f = 1 } END { exit !f }' \
        /proc/net/tcp /proc/net/tcp6 2> /dev/null
}
wait_port() {
    for _ in $(seq 1 100); do
        listening "$1" && return 0
        sleep 0.1
    done
    echo "nothing listens on port $1" >&2
    return 1
}
pick_port() {
    local p
    while :; do
        p=$((10000 + RANDOM % 22000))
        in_use "$p" || { echo "$p"; return; }
    done
}

rport=$(pick_port)
say "A throwaway CA and a certificate for mail.example.test (OCSP URL http://127.0.0.1:$rport/)"
"$ROOT/tests/helpers/mkfixtures.sh" "$WORK/pki" "http://127.0.0.1:$rport/"

# `openssl ocsp -port` would listen on every address (OpenSSL 3.0): the responder is OpenSSL's
# own, run once per request behind the tests' HTTP stub, which listens on 127.0.0.1 only.
say "The CA's OCSP responder on 127.0.0.1:$rport: openssl ocsp, behind tests/helpers/http_stub.py"
python3 "$ROOT/tests/helpers/http_stub.py" "$rport" ocsp --dir "$WORK/pki" --index index.txt \
    --signer ca --lifetime 600 > "$WORK/responder.log" 2>&1 < /dev/null &
RESPONDER_PID=$!
wait_port "$rport"

mkdir -p "$WORK/ocsp"
cat > "$WORK/ocspstaple.conf" << CONF
staples = ( { certificate = "$WORK/pki/rsa-chain.pem"; response = "$WORK/ocsp/mail.der"; } );
CONF
say "The configuration"
sed 's/^/    /' "$WORK/ocspstaple.conf"

say "ocspstaple fetch: ask the responder named in the certificate, check the answer, write it"
"$ROOT/build/ocspstaple" fetch -c "$WORK/ocspstaple.conf" 2>&1 | sed 's/^/    /'

port=$(pick_port)
say "An unmodified openssl s_server on 127.0.0.1:$port with LD_PRELOAD=build/libocspstaple.so"
OCSPSTAPLE_CONF="$WORK/ocspstaple.conf" OCSPSTAPLE_LOG_TARGET=stderr \
    LD_PRELOAD="$ROOT/build/libocspstaple.so" \
    openssl s_server -accept "127.0.0.1:$port" -www -quiet \
    -cert "$WORK/pki/rsa.pem" -key "$WORK/pki/rsa.key" > "$WORK/server.log" 2>&1 < /dev/null &
SERVER_PID=$!
wait_port "$port"
sed 's/^/    server: /' "$WORK/server.log"

say "openssl s_client -connect 127.0.0.1:$port -status"
out=$(echo | openssl s_client -connect "127.0.0.1:$port" -status -CAfile "$WORK/pki/ca.pem" 2>&1)
echo "$out" | grep -E "OCSP Response Status|Cert Status|This Update|Next Update|Verify return code" |
    sed 's/^ */    /' | awk '!seen[$0]++'
if ! echo "$out" | grep -q "Cert Status: good"; then
    say "Result: NO staple was received; server log:"
    cat "$WORK/server.log"
    exit 1
fi

say "ocspstaple check: what the shim staples, for people and for monitoring"
"$ROOT/build/ocspstaple" check -c "$WORK/ocspstaple.conf" | sed 's/^/    /'

say "ocspstaple check --connect 127.0.0.1:$port: what the running server staples, judged end to end"
"$ROOT/build/ocspstaple" check -c "$WORK/ocspstaple.conf" --connect "127.0.0.1:$port" |
    sed 's/^/    /'

say "Result: the server stapled a validated, good OCSP response (the server binary was not modified)"
