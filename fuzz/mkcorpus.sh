#!/usr/bin/env bash
#
# mkcorpus.sh - seed corpora for the libFuzzer targets in fuzz/.
#
# Usage:  fuzz/mkcorpus.sh FIXTURES CORPUS
#
#   FIXTURES  a directory made by tests/helpers/mkfixtures.sh
#   CORPUS    receives response/ (every *.der fixture: good, revoked, delegated, expired,
#             garbage, truncated, ...), certfile/ (every *.pem fixture: leaves, chains, CAs,
#             keys) and config/ (configurations written here, from an empty file to one with
#             every setting)
#
# Existing files in CORPUS are kept, so a corpus grown by earlier runs keeps growing.

set -euo pipefail

[[ $# -eq 2 ]] || { echo "usage: ${0##*/} FIXTURES CORPUS" >&2; exit 2; }
FX=$1
OUT=$2
mkdir -p "$OUT/response" "$OUT/config" "$OUT/certfile"

n=0
for f in "$FX"/*.der; do
    cp "$f" "$OUT/response/seed-${f##*/}"
    n=$((n + 1))
done
[[ $n -gt 0 ]] || { echo "${0##*/}: no *.der in $FX" >&2; exit 1; }
for f in "$FX"/*.pem; do
    cp "$f" "$OUT/certfile/seed-${f##*/}"
done

C=$OUT/config
: >"$C/seed-empty.conf"

cat >"$C/seed-minimal.conf" <<'CONF'
staples = ( { response = "/var/lib/ocspstaple/mail.der"; } );
CONF

# Every setting, top level and in an entry.
cat >"$C/seed-every-setting.conf" <<'CONF'
# every setting ocspstaple knows
log_level = "debug";
log_target = "stderr";
verify = true;
skew = 300;
serve_revoked = false;
response_dir = "/var/lib/ocspstaple/responses";
fetch_timeout = 10;
staples = (
    {
        certificate = "/etc/ssl/mail.pem";
        issuer = "/etc/ssl/ca.pem";
        response = "/var/lib/ocspstaple/mail.der";
        sni = [ "mail.example.net", "*.Example.ORG" ];
        responder = "http://ocsp.example.net/";
    },
    {
        certificate = "/etc/ssl/imap.pem";
        response = "/var/lib/ocspstaple/imap.der";
    }
);
CONF

cat >"$C/seed-problems.conf" <<'CONF'
log_level = "loud";
log_target = 3;
verify = "yes";
skew = 999999999;
serve_revoked = 1;
fetch_timeout = 0L;
response_dir = "";
colour = "blue";
staples = (
    { response = "/r1.der"; sni = "mail.example.net"; },
    { certificate = "/c.pem"; },
    { response = "/r2.der"; responder = "https://ocsp.example.net/"; sni = [ "bad name" ]; },
    { response = "/r3.der"; sni = [ ]; colour = "red"; },
    "not a group",
    { response = "/r4.der"; sni = [ "*.", "*" ]; issuer = 7; }
);
CONF

cat >"$C/seed-types.conf" <<'CONF'
skew = 0x10;
fetch_timeout = 600L;
verify = false;
serve_revoked = true;
staples = [ "a", "b" ];
nested = { group = { list = ( 1, 2.5, "x", [ true ] ); }; };
CONF

cat >"$C/seed-syntax-error.conf" <<'CONF'
staples = ( { response = "/r.der"; }
log_level = "info"
CONF

printf 'staples = ( { response = "/r\\x41\\n\\t.der"; certificate = "caf\xc3\xa9 \xff.pem"; } );\n' \
    >"$C/seed-escapes.conf"

{
    printf 'staples = (\n'
    for i in $(seq 1 40); do
        printf '  { response = "/r/%d.der"; sni = [ "h%d.example.net" ]; },\n' "$i" "$i"
    done
    printf '  { response = "/r/last.der"; }\n);\n'
} >"$C/seed-many.conf"
