/*
 * validate.h - the one implementation of "may this OCSP response be stapled for this
 * certificate", shared by the shim (at load and first use) and the ocspstaple command.
 *
 * Pure functions: bytes, certificates, a policy and a time in; a verdict and a reason out.
 * No I/O, no global state, safe to call from any thread on distinct objects.
 */
#ifndef OCSPSTAPLE_VALIDATE_H
#define OCSPSTAPLE_VALIDATE_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#include <openssl/ocsp.h>
#include <openssl/x509.h>

/* The largest response file accepted; real responses are a few KiB. */
#define RESPONSE_MAX_BYTES 262144 /* 256 KiB */

enum verdict {
    VERDICT_GOOD = 0,       /* stapleable */
    VERDICT_REVOKED,        /* validly signed, says revoked (stapled only with serve_revoked) */
    VERDICT_NOT_YET_VALID,  /* thisUpdate later than now + skew */
    VERDICT_EXPIRED,        /* nextUpdate passed */
    VERDICT_NO_NEXT_UPDATE, /* no nextUpdate: never stapled */
    VERDICT_UNKNOWN_STATUS, /* the responder does not know the certificate */
    VERDICT_WRONG_CERTIFICATE,
    VERDICT_BAD_SIGNATURE,
    VERDICT_NO_ISSUER,      /* the issuer needed to check the response could not be found */
    VERDICT_NOT_SUCCESSFUL, /* responseStatus other than successful (tryLater, ...) */
    VERDICT_MALFORMED,
    VERDICT_UNREADABLE,
};

/* What a response says about one certificate, filled as far as the checks got. */
struct response_facts {
    enum verdict verdict;
    char reason[320];
    int cert_status; /* V_OCSP_CERTSTATUS_* or -1 */
    int revocation_reason;
    time_t this_update, next_update, revoked_at; /* 0 when absent */
    time_t responder_not_after; /* notAfter of a delegated responder's certificate that signed
                                   it (strict clients check it too), 0 when the issuer signed */
    bool signature_unchecked;   /* response_validate_alone: no issuer at hand to check it */
};

struct validation_policy {
    bool verify;        /* check the signature (default true) */
    long skew;          /* seconds of tolerance for thisUpdate in the future */
    bool serve_revoked; /* whether VERDICT_REVOKED is stapleable */
};

/* verdict_name - a short stable name ("good", "expired", ...) for output and logs. */
const char *verdict_name(enum verdict v);

/* verdict_stapleable - whether a response with this verdict may be sent under `policy`. */
bool verdict_stapleable(enum verdict v, const struct validation_policy *policy);

/* response_parse - decode DER bytes. Returns the basic response (caller frees with
 * OCSP_BASICRESP_free) or NULL with out->verdict MALFORMED or NOT_SUCCESSFUL and a reason. */
OCSP_BASICRESP *response_parse(const unsigned char *der, size_t len, struct response_facts *out);

/* response_validate - every check the shim makes before stapling `basic` for `leaf`, whose
 * issuer is `issuer` (NULL: VERDICT_NO_ISSUER unless nothing needs it), at time `now`:
 * a SingleResponse for exactly this certificate (CertID with its own hash algorithm), the
 * signature (by the issuer, or by a currently valid responder certificate the issuer signed
 * that carries the OCSPSigning usage), a nextUpdate, thisUpdate <= nextUpdate, the status,
 * then the time window. Checks run in that order, so NOT_YET_VALID and EXPIRED imply that
 * everything else passed. Returns out->verdict. */
enum verdict response_validate(OCSP_BASICRESP *basic, X509 *leaf, X509 *issuer,
                               const struct validation_policy *policy, time_t now,
                               struct response_facts *out);

/* response_validate_alone - response_validate's checks of the index-th SingleResponse of
 * `basic`, judged without the certificate it is about (the shim staples a response_dir file, or
 * an entry's response without a `certificate`, for whichever served certificate its CertID
 * names): the issuer is the certificate among `issuers` (may be NULL), else among the
 * response's own certificates, whose name and key hash to the CertID's issuer hashes. Without
 * one, the signature is checked as far as the response's own certificates allow (its signer's
 * key, name and OCSPSigning usage), everything else fully; out->signature_unchecked is set and
 * the reason says so. Returns out->verdict. */
enum verdict response_validate_alone(OCSP_BASICRESP *basic, int index, STACK_OF(X509) * issuers,
                                     const struct validation_policy *policy, time_t now,
                                     struct response_facts *out);

/* response_mentions_serial - whether any SingleResponse of `basic` names `serial`. Cheap
 * pre-filter; never a substitute for response_validate. */
bool response_mentions_serial(OCSP_BASICRESP *basic, const ASN1_INTEGER *serial);

/* response_first_times - thisUpdate and nextUpdate of the first SingleResponse (0 when absent),
 * for messages about a response that is not being judged for a certificate. Either pointer may
 * be NULL. */
void response_first_times(OCSP_BASICRESP *basic, time_t *this_update, time_t *next_update);

/* asn1_time_to_epoch - an ASN.1 time as seconds since the epoch; 0 when absent or unreadable
 * (no real response dates from 1970-01-01T00:00:00). */
time_t asn1_time_to_epoch(const ASN1_TIME *t);

/* format_utc - "2026-11-29T13:36:21Z", or "(none)" for 0, into buf. */
void format_utc(time_t t, char *buf, size_t size);

/* find_issuer - the first certificate of `candidates` (may be NULL) that issued `leaf`: names
 * and key identifiers match and its key verifies the leaf's signature. Not referenced: valid
 * as long as `candidates` is. */
X509 *find_issuer(X509 *leaf, STACK_OF(X509) * candidates);

/* cert_fingerprint - SHA-1 of the DER certificate (OpenSSL caches it on the object, so this is
 * a copy, cheap enough for every handshake). Returns 1 on success. */
int cert_fingerprint(X509 *cert, unsigned char out[20]);

/* describe_cert - "subject (serial S)" for log lines, into buf. Returns buf. */
char *describe_cert(X509 *cert, char *buf, size_t size);

/* openssl_errors - drain OpenSSL's error queue into buf as one line. Returns buf. */
char *openssl_errors(char *buf, size_t size);

#endif
