#!/usr/bin/env bash
# demo.sh - `make demo`: a throwaway CA, certificate and OCSP response; an unmodified
# `openssl s_server` under the shim on a loopback port; `openssl s_client -status` showing the
# stapled response. Everything is removed afterwards.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
WORK=$(mktemp -d /tmp/ocspstaple-demo.XXXXXX)
SERVER_PID=
cleanup() {
    [ -n "$SERVER_PID" ] && kill "$SERVER_PID" 2> /dev/null || true
    rm -rf "$WORK"
}
trap cleanup EXIT

say() { printf '\n== %s\n' "$*"; }

say "Generating a throwaway CA, a certificate for mail.example.test and its OCSP response"
"$ROOT/tests/helpers/mkfixtures.sh" "$WORK/pki"
mkdir -p "$WORK/ocsp"
cp "$WORK/pki/rsa-good.der" "$WORK/ocsp/mail.der"
cat > "$WORK/ocspstaple.conf" << CONF
log_target = "stderr";
staples = ( { certificate = "$WORK/pki/rsa-chain.pem"; response = "$WORK/ocsp/mail.der"; } );
CONF
cat "$WORK/ocspstaple.conf"

port=$((10000 + RANDOM % 22000))
say "Starting an unmodified openssl s_server on 127.0.0.1:$port with LD_PRELOAD=build/libocspstaple.so"
OCSPSTAPLE_CONF="$WORK/ocspstaple.conf" LD_PRELOAD="$ROOT/build/libocspstaple.so" \
    openssl s_server -accept "127.0.0.1:$port" -www -quiet \
    -cert "$WORK/pki/rsa.pem" -key "$WORK/pki/rsa.key" > "$WORK/server.log" 2>&1 < /dev/null &
SERVER_PID=$!
hex=$(printf '%04X' "$port")
for _ in $(seq 1 100); do
    awk -v p=":$hex" '$4 == "0A" && substr($2, length($2) - 4) == p { f = 1 } END { exit !f }' \
        /proc/net/tcp && break
    sleep 0.1
done
sed 's/^/    server: /' "$WORK/server.log"

say "Connecting with: openssl s_client -connect 127.0.0.1:$port -status"
out=$(echo | openssl s_client -connect "127.0.0.1:$port" -status -CAfile "$WORK/pki/ca.pem" 2>&1)
echo "$out" | grep -E "OCSP Response Status|Cert Status|This Update|Next Update|Verify return code" |
    awk '!seen[$0]++' | sed 's/^ */    /'

if echo "$out" | grep -q "Cert Status: good"; then
    say "Result: the server stapled a validated, good OCSP response (the server binary was not modified)"
else
    say "Result: NO staple was received; server log:"
    cat "$WORK/server.log"
    exit 1
fi
