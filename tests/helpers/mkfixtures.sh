#!/usr/bin/env bash
#
# mkfixtures.sh - generate the PKI and OCSP response fixtures used by the
#                 ocspstaple bats tests.
#
# Usage:  tests/helpers/mkfixtures.sh OUTDIR [OCSP_URL]
#
#   OUTDIR    created if missing; every fixture is (re)generated into it, so
#             running the script twice over the same directory is safe.
#   OCSP_URL  put in the leaves' Authority Information Access (OCSP) extension.
#             Default: http://127.0.0.1:8888/
#
# Only the openssl CLI (OpenSSL 3.0) and faketime(1) are used.  Dates that
# must lie in the past or the future are obtained by running openssl under
# `faketime -f OFFSET`, because OpenSSL 3.0 has no -not_before option.
# All certificates are valid from now-1day to now+365days (issued at
# "now-1d" with -days 366), except responder-expired.pem (now-10d..now-5d).
#
# OCSP responses are produced offline: `openssl ocsp -reqout` builds a
# nonce-less request, then `openssl ocsp -index ... -reqin ... -respout`
# answers it.  thisUpdate is the (possibly faked) time of the responder run;
# nextUpdate is thisUpdate + -ndays/-nmin (absent when neither is given).
#
# The script is silent on success.  On failure it names the step that
# failed, prints that step's output to stderr and exits non-zero.
# OUTDIR/README.txt describes every generated file.

set -euo pipefail

PROG=${0##*/}

usage() {
    echo "usage: $PROG OUTDIR [OCSP_URL]" >&2
    exit 2
}

[[ $# -ge 1 && $# -le 2 && -n $1 ]] || usage
OUT=$1
OCSP_URL=${2:-http://127.0.0.1:8888/}

for tool in openssl faketime; do
    command -v "$tool" >/dev/null || { echo "$PROG: $tool not found in PATH" >&2; exit 1; }
done
case $OCSP_URL in
    # would break the openssl extension config syntax
    *[[:space:],\$]* | "") echo "$PROG: invalid OCSP_URL: '$OCSP_URL'" >&2; exit 2 ;;
esac

mkdir -p "$OUT" || { echo "$PROG: cannot create $OUT" >&2; exit 1; }
OUT=$(cd "$OUT" && pwd)
TMP=$(mktemp -d "${TMPDIR:-/tmp}/mkfixtures.XXXXXX")
trap 'rm -rf "$TMP"' EXIT
LOG=$TMP/step.log

# ---------------------------------------------------------------------------
# generic helpers
# ---------------------------------------------------------------------------

# fail STEP MESSAGE
fail() {
    echo "$PROG: step failed: $1${2:+: $2}" >&2
    exit 1
}

# run STEP CMD...: run CMD quietly; on failure report STEP and CMD's output.
run() {
    local step=$1
    shift
    if ! "$@" >"$LOG" 2>&1; then
        echo "$PROG: step failed: $step" >&2
        echo "$PROG: command: $*" >&2
        sed 's/^/  | /' "$LOG" >&2
        exit 1
    fi
}

# openssl_at OFFSET ARGS...: openssl with the clock shifted by a libfaketime
# offset such as "-1d", "+2d" or "+0" (the clock keeps running).
openssl_at() {
    local offset=$1
    shift
    faketime -f "$offset" openssl "$@"
}

# Random positive 128-bit serial as 0x + 32 hex digits.  The leading nibble
# is forced to 1 so the number never needs a sign/padding byte.
new_serial() {
    local hex
    hex=$(openssl rand -hex 16) || fail "random serial"
    printf '0x1%s' "${hex:1}"
}

# ---------------------------------------------------------------------------
# keys and certificates
# ---------------------------------------------------------------------------

REQ_CNF=$TMP/req.cnf

write_req_config() {
    cat >"$REQ_CNF" <<'CNF'
[req]
distinguished_name = dn
prompt             = no
[dn]
CN = overridden-by-subj
CNF
}

gen_key_ec() {
    run "generate EC key $1.key" openssl genpkey -algorithm EC \
        -pkeyopt ec_paramgen_curve:P-256 -out "$OUT/$1.key"
}

gen_key_rsa() {
    run "generate RSA key $1.key" openssl genpkey -algorithm RSA \
        -pkeyopt rsa_keygen_bits:2048 -out "$OUT/$1.key"
}

# Extension files hold a single section named [ext].

# ext_ca [pathlen]: extensions of a CA certificate.
ext_ca() {
    printf '%s\n' \
        "[ext]" \
        "basicConstraints       = critical, CA:TRUE${1:+, pathlen:$1}" \
        "keyUsage               = critical, keyCertSign, cRLSign" \
        "subjectKeyIdentifier   = hash" \
        "authorityKeyIdentifier = keyid:always"
}

# ext_leaf KEYUSAGE EKU [SAN] [aia] [muststaple]: end-entity extensions.
ext_leaf() {
    local ku=$1 eku=$2 san=${3:-} aia=${4:-} must=${5:-}
    printf '%s\n' \
        "[ext]" \
        "basicConstraints       = critical, CA:FALSE" \
        "keyUsage               = critical, $ku" \
        "extendedKeyUsage       = $eku" \
        "subjectKeyIdentifier   = hash" \
        "authorityKeyIdentifier = keyid:always"
    [[ -n $san ]] && echo "subjectAltName         = $san"
    [[ $aia == aia ]] && echo "authorityInfoAccess    = OCSP;URI:$OCSP_URL"
    [[ $must == muststaple ]] && echo "tlsfeature             = status_request"
    [[ $eku == OCSPSigning ]] && echo "noCheck                = ignored"
    return 0
}

# make_root NAME CN: self-signed EC P-256 root CA.  (`req -x509` of
# OpenSSL 3.0 has no -extfile, so the [ext] section goes into its config.)
make_root() {
    local name=$1 cn=$2
    gen_key_ec "$name"
    { cat "$REQ_CNF"; ext_ca; } >"$TMP/$name.cnf"
    run "self-sign root CA $name.pem" openssl_at -1d req -x509 -new \
        -config "$TMP/$name.cnf" -extensions ext -key "$OUT/$name.key" \
        -subj "/CN=$cn" -set_serial "$(new_serial)" -days 366 -sha256 \
        -out "$OUT/$name.pem"
}

# issue NAME CN ISSUER [OFFSET DAYS]: certify NAME.key with ISSUER's key,
# using the extensions previously written to $TMP/NAME.ext.
issue() {
    local name=$1 cn=$2 issuer=$3 offset=${4:--1d} days=${5:-366}
    run "CSR for $name" openssl req -new -config "$REQ_CNF" \
        -key "$OUT/$name.key" -subj "/CN=$cn" -out "$TMP/$name.csr"
    run "issue $name.pem (issuer $issuer)" openssl_at "$offset" x509 -req \
        -in "$TMP/$name.csr" -CA "$OUT/$issuer.pem" -CAkey "$OUT/$issuer.key" \
        -set_serial "$(new_serial)" -days "$days" -sha256 \
        -extfile "$TMP/$name.ext" -extensions ext -out "$OUT/$name.pem"
}

# issue_leaf NAME KEYTYPE CN ISSUER EXT-ARGS...: new key + server certificate
# (EKU serverAuth).  EXT-ARGS are ext_leaf's SAN/aia/muststaple arguments.
issue_leaf() {
    local name=$1 type=$2 cn=$3 issuer=$4 ku=digitalSignature
    shift 4
    if [[ $type == rsa ]]; then
        gen_key_rsa "$name"
        ku="digitalSignature, keyEncipherment"
    else
        gen_key_ec "$name"
    fi
    ext_leaf "$ku" serverAuth "$@" >"$TMP/$name.ext"
    issue "$name" "$cn" "$issuer"
}

# issue_responder NAME CN ISSUER EKU [OFFSET DAYS]: OCSP responder cert.
issue_responder() {
    local name=$1 cn=$2 issuer=$3 eku=$4
    shift 4
    gen_key_ec "$name"
    ext_leaf digitalSignature "$eku" >"$TMP/$name.ext"
    issue "$name" "$cn" "$issuer" "$@"
}

# make_chain NAME ISSUER: NAME-chain.pem = NAME.pem followed by ISSUER.pem.
make_chain() {
    cat "$OUT/$1.pem" "$OUT/$2.pem" >"$OUT/$1-chain.pem" || fail "chain $1-chain.pem"
}

make_pki() {
    local san_mail="DNS:mail.example.test, DNS:imap.example.test"

    make_root ca  "ocspstaple Test CA"
    make_root ca2 "ocspstaple Other CA"

    gen_key_ec inter
    ext_ca 0 >"$TMP/inter.ext"
    issue inter "ocspstaple Intermediate CA" ca

    issue_leaf rsa        rsa mail.example.test  ca    "$san_mail" aia
    issue_leaf ec         ec  mail.example.test  ca    "$san_mail" aia
    issue_leaf other      ec  other.example.test ca2   DNS:other.example.test aia
    issue_leaf leafint    ec  deep.example.test  inter DNS:deep.example.test aia
    issue_leaf noaia      ec  noaia.example.test ca    DNS:noaia.example.test
    issue_leaf muststaple ec  must.example.test  ca    DNS:must.example.test aia muststaple
    # Renewals: the same names, new keys and serials.
    issue_leaf rsa2        rsa mail.example.test ca    "$san_mail" aia
    issue_leaf muststaple2 ec  must.example.test ca    DNS:must.example.test aia muststaple

    make_chain rsa ca
    make_chain ec ca
    make_chain other ca2
    make_chain leafint inter
    make_chain rsa2 ca
    make_chain muststaple ca
    make_chain muststaple2 ca

    issue_responder responder         "ocspstaple Test CA OCSP Responder"           ca  OCSPSigning
    issue_responder responder-noeku   "ocspstaple Test CA OCSP Responder no EKU"    ca  serverAuth
    issue_responder responder-ca2     "ocspstaple Other CA OCSP Responder"          ca2 OCSPSigning
    issue_responder responder-expired "ocspstaple Test CA OCSP Responder expired"   ca  OCSPSigning -10d 5
}

# ---------------------------------------------------------------------------
# `openssl ca` style index files
# ---------------------------------------------------------------------------

# index_line STATUS CERT [REVDATE]: one index line for $OUT/CERT.pem.
index_line() {
    local status=$1 cert=$OUT/$2.pem revdate=${3:-}
    local serial enddate subject
    serial=$(openssl x509 -in "$cert" -noout -serial) || fail "index" "serial of $2"
    enddate=$(openssl x509 -in "$cert" -noout -enddate) || fail "index" "notAfter of $2"
    subject=$(openssl x509 -in "$cert" -noout -subject -nameopt compat) ||
        fail "index" "subject of $2"
    enddate=$(date -u -d "${enddate#notAfter=}" +%y%m%d%H%M%SZ) || fail "index" "date of $2"
    printf '%s\t%s\t%s\t%s\tunknown\t%s\n' \
        "$status" "$enddate" "$revdate" "${serial#serial=}" "${subject#subject=}"
}

# write_index FILE LINE...: index file plus its .attr companion.
write_index() {
    local file=$1
    shift
    printf '%s\n' "$@" >"$file" || fail "index $file"
    echo "unique_subject = no" >"$file.attr" || fail "index $file.attr"
}

make_indexes() {
    local revdate
    revdate=$(date -u -d '1 hour ago' +%y%m%d%H%M%SZ)

    write_index "$OUT/index.txt" \
        "$(index_line V rsa)" "$(index_line V ec)" "$(index_line V leafint)" \
        "$(index_line V noaia)" "$(index_line V muststaple)" \
        "$(index_line V rsa2)" "$(index_line V muststaple2)"
    write_index "$OUT/index-revoked.txt" \
        "$(index_line R rsa "$revdate")" "$(index_line V ec)" \
        "$(index_line V leafint)" "$(index_line V noaia)" \
        "$(index_line V muststaple)" "$(index_line R rsa2 "$revdate")" \
        "$(index_line V muststaple2)"
    write_index "$OUT/index2.txt" "$(index_line V other)"
    write_index "$OUT/index-int.txt" "$(index_line V leafint)"
    # Same as index.txt minus rsa: only used to produce rsa-unknown.der.
    write_index "$TMP/index-norsa.txt" \
        "$(index_line V ec)" "$(index_line V leafint)" \
        "$(index_line V noaia)" "$(index_line V muststaple)"
}

# ---------------------------------------------------------------------------
# OCSP responses
# ---------------------------------------------------------------------------

# make_request REQFILE ISSUER CERT...: nonce-less OCSP request for CERTs.
make_request() {
    local reqfile=$1 issuer=$2 c
    shift 2
    local args=()
    for c in "$@"; do args+=(-cert "$OUT/$c.pem"); done
    run "OCSP request for ${reqfile##*/}" openssl ocsp -issuer "$OUT/$issuer.pem" \
        "${args[@]}" -no_nonce -reqout "$reqfile"
}

# make_response FILE INDEX CA SIGNER OFFSET VALIDITY CERT... [-- OPTION...]
#   FILE      output name inside OUTDIR
#   INDEX     index file path
#   CA        issuer of CERT..., given to the responder as -CA
#   SIGNER    name of the certificate/key pair that signs the response
#   OFFSET    faketime offset of the responder run, i.e. thisUpdate
#   VALIDITY  nextUpdate options ("-ndays 7", "-nmin 2", "" = no nextUpdate)
#   OPTION    extra `openssl ocsp` responder options
make_response() {
    local file=$1 index=$2 ca=$3 signer=$4 offset=$5 validity=$6
    shift 6
    local certs=() extra=() vopts=()
    while [[ $# -gt 0 && $1 != -- ]]; do certs+=("$1"); shift; done
    if [[ $# -gt 0 ]]; then shift; extra=("$@"); fi
    read -r -a vopts <<<"$validity" || true

    local req=$TMP/$file.req
    make_request "$req" "$ca" "${certs[@]}"
    rm -f "$OUT/$file"
    run "OCSP response $file" openssl_at "$offset" ocsp \
        -index "$index" -CA "$OUT/$ca.pem" \
        -rsigner "$OUT/$signer.pem" -rkey "$OUT/$signer.key" \
        -reqin "$req" -respout "$OUT/$file" "${vopts[@]}" "${extra[@]}"
    [[ -s $OUT/$file ]] || fail "OCSP response $file" "no output written"
}

make_responses() {
    local idx=$OUT/index.txt

    # Good responses signed by the issuing CA itself.
    make_response rsa-good.der        "$idx" ca ca +0 "-ndays 7" rsa
    make_response rsa-good2.der       "$idx" ca ca +0 "-ndays 6" rsa
    make_response ec-good.der         "$idx" ca ca +0 "-ndays 7" ec
    make_response ec-good2.der        "$idx" ca ca +0 "-ndays 6" ec
    make_response noaia-good.der      "$idx" ca ca +0 "-ndays 7" noaia
    make_response muststaple-good.der "$idx" ca ca +0 "-ndays 7" muststaple
    make_response rsa2-good.der        "$idx" ca ca +0 "-ndays 7" rsa2
    make_response muststaple2-good.der "$idx" ca ca +0 "-ndays 7" muststaple2
    make_response rsa2-revoked.der "$OUT/index-revoked.txt" ca ca +0 "-ndays 7" rsa2
    make_response other-good.der   "$OUT/index2.txt"    ca2   ca2   +0 "-ndays 7" other
    make_response leafint-good.der "$OUT/index-int.txt" inter inter +0 "-ndays 7" leafint

    # Non-good certificate status.
    make_response rsa-revoked.der "$OUT/index-revoked.txt" ca ca +0 "-ndays 7" rsa
    make_response rsa-unknown.der "$TMP/index-norsa.txt"   ca ca +0 "-ndays 7" rsa

    # thisUpdate / nextUpdate variations.
    make_response rsa-expired.der "$idx" ca ca -3d "-ndays 1" rsa
    make_response rsa-notyet.der  "$idx" ca ca +2d "-ndays 7" rsa
    make_response rsa-short.der   "$idx" ca ca +0  "-nmin 2"  rsa
    make_response rsa-soon.der    "$idx" ca ca +0  "-nmin 30" rsa
    make_response rsa-nonext.der  "$idx" ca ca +0  ""         rsa

    # Responses that do not belong to rsa.pem, or are wrongly signed.
    make_response rsa-wrongcert.der "$idx"            ca  ca  +0 "-ndays 7" ec
    make_response rsa-otherca.der   "$OUT/index2.txt" ca2 ca2 +0 "-ndays 7" other
    make_response rsa-badsig.der    "$idx"            ca  ca2 +0 "-ndays 7" rsa

    # Delegated responders (the responder certificate is included).
    make_response rsa-delegated.der         "$idx" ca responder         +0 "-ndays 7" rsa
    make_response rsa-delegated-noeku.der   "$idx" ca responder-noeku   +0 "-ndays 7" rsa
    make_response rsa-delegated-ca2.der     "$idx" ca responder-ca2     +0 "-ndays 7" rsa
    make_response rsa-delegated-expired.der "$idx" ca responder-expired +0 "-ndays 7" rsa

    # Structural variations.
    make_response rsa-nocerts.der "$idx" ca ca +0 "-ndays 7" rsa -- -resp_no_certs
    make_response rsa-multi.der   "$idx" ca ca +0 "-ndays 7" rsa ec
}

make_broken_responses() {
    local half

    # OCSPResponse ::= SEQUENCE { responseStatus ENUMERATED tryLater(3) }
    printf '\x30\x03\x0a\x01\x03' >"$OUT/rsa-trylater.der" || fail "rsa-trylater.der"
    run "rsa-trylater.der is valid DER" \
        openssl asn1parse -inform DER -in "$OUT/rsa-trylater.der"

    run "rsa-garbage.der" openssl rand -out "$OUT/rsa-garbage.der" 2000
    : >"$OUT/rsa-empty.der" || fail "rsa-empty.der"

    half=$(( $(wc -c <"$OUT/rsa-good.der") / 2 ))
    head -c "$half" "$OUT/rsa-good.der" >"$OUT/rsa-truncated.der" || fail "rsa-truncated.der"

    run "rsa-pem.der" openssl base64 -e -in "$OUT/rsa-good.der" -out "$TMP/rsa-good.b64"
    {
        echo "-----BEGIN OCSP RESPONSE-----"
        cat "$TMP/rsa-good.b64"
        echo "-----END OCSP RESPONSE-----"
    } >"$OUT/rsa-pem.der" || fail "rsa-pem.der"
}

# ---------------------------------------------------------------------------
# README
# ---------------------------------------------------------------------------

write_readme() {
    cat >"$OUT/README.txt" <<TXT || fail "README.txt"
ocspstaple test fixtures, generated by tests/helpers/mkfixtures.sh
OCSP URL in leaf AIA: $OCSP_URL
Certificates are valid from now-1day to now+365days unless stated otherwise.
Responses: thisUpdate = generation time, nextUpdate = +7 days unless stated.

ca.pem / ca.key                 root CA "ocspstaple Test CA" (EC P-256)
ca2.pem / ca2.key               unrelated root CA "ocspstaple Other CA" (EC P-256)
inter.pem / inter.key           intermediate CA "ocspstaple Intermediate CA", issued by ca
rsa.pem / rsa.key               RSA-2048 leaf mail.example.test (+imap.example.test), by ca, AIA OCSP
ec.pem / ec.key                 EC P-256 leaf mail.example.test (+imap.example.test), by ca, AIA OCSP
other.pem / other.key           EC leaf other.example.test, by ca2, AIA OCSP
leafint.pem / leafint.key       EC leaf deep.example.test, by inter, AIA OCSP
noaia.pem / noaia.key           EC leaf noaia.example.test, by ca, no AIA extension
muststaple.pem / muststaple.key EC leaf must.example.test, by ca, AIA OCSP + TLS Feature status_request
rsa2.pem / rsa2.key             rsa renewed: RSA leaf mail.example.test, new key and serial, by ca
muststaple2.pem / .key          muststaple renewed: new key and serial, by ca
rsa-chain.pem                   rsa.pem + ca.pem
ec-chain.pem                    ec.pem + ca.pem
other-chain.pem                 other.pem + ca2.pem
leafint-chain.pem               leafint.pem + inter.pem
responder.pem / .key            delegated OCSP responder by ca, EKU OCSPSigning, noCheck
responder-noeku.pem / .key      responder-like cert by ca, EKU serverAuth only
responder-ca2.pem / .key        OCSP responder by ca2, EKU OCSPSigning
responder-expired.pem / .key    OCSP responder by ca, EKU OCSPSigning, valid now-10d..now-5d (expired)
index.txt (+.attr)              openssl ca index for ca: rsa, ec, leafint, noaia, muststaple valid
index-revoked.txt (+.attr)      as index.txt but rsa revoked (1 hour ago)
index2.txt (+.attr)             index for ca2: other valid
index-int.txt (+.attr)          index for inter: leafint valid
rsa-good.der                    good for rsa, signed by ca
rsa-good2.der                   another good for rsa, signed by ca, nextUpdate +6 days (differs from rsa-good)
ec-good.der                     good for ec, signed by ca
ec-good2.der                    another good for ec, signed by ca, nextUpdate +6 days
other-good.der                  good for other, signed by ca2
leafint-good.der                good for leafint, signed by inter
noaia-good.der                  good for noaia, signed by ca
muststaple-good.der             good for muststaple, signed by ca
rsa2-good.der, rsa2-revoked.der good / revoked for rsa2, signed by ca
muststaple2-good.der            good for muststaple2, signed by ca
rsa-revoked.der                 rsa revoked, signed by ca
rsa-unknown.der                 rsa status unknown, signed by ca
rsa-expired.der                 good for rsa, thisUpdate now-3d, nextUpdate now-2d (stale)
rsa-notyet.der                  good for rsa, thisUpdate now+2d, nextUpdate now+9d (not yet valid)
rsa-short.der                   good for rsa, nextUpdate now+2 minutes
rsa-soon.der                    good for rsa, nextUpdate now+30 minutes
rsa-nonext.der                  good for rsa, no nextUpdate field
rsa-wrongcert.der               good for ec (another cert of ca), not for rsa
rsa-otherca.der                 good for other, signed by ca2 (wrong issuer for rsa)
rsa-badsig.der                  CertID of rsa/ca but signed by ca2's key (includes ca2.pem)
rsa-delegated.der               good for rsa, signed by responder.pem (included)
rsa-delegated-noeku.der         good for rsa, signed by responder-noeku.pem (no OCSPSigning EKU)
rsa-delegated-ca2.der           good for rsa (CertID rsa/ca), signed by responder-ca2.pem
rsa-delegated-expired.der       good for rsa, signed by responder-expired.pem (expired signer)
rsa-nocerts.der                 good for rsa, signed by ca, no certificates in the response
rsa-multi.der                   one response with two SingleResponses: rsa and ec, both good
rsa-trylater.der                OCSPResponse status tryLater(3) without body (30 03 0a 01 03)
rsa-garbage.der                 2000 random bytes
rsa-empty.der                   empty file
rsa-truncated.der               first half of rsa-good.der
rsa-pem.der                     rsa-good.der in PEM (base64) form, not DER
README.txt                      this file
TXT
}

# ---------------------------------------------------------------------------

main() {
    write_req_config
    make_pki
    make_indexes
    make_responses
    make_broken_responses
    write_readme
}

main
