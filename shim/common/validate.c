/*
 * validate.c - parse and judge OCSP responses with OpenSSL's own OCSP and X509 APIs.
 *
 * The rules are those of the strictest stapling servers (HAProxy, nginx with
 * ssl_stapling_verify) and of the strict clients (GnuTLS, curl --cert-status): whatever passes
 * here is accepted by them. The delegated-responder check is done by hand, rather than with
 * OCSP_basic_verify's chain building, because the issuer we check against may be an
 * intermediate that no trust store holds: we need "signed by this issuer or by its delegate",
 * not "chains to some root".
 */
#include "validate.h"

#include <openssl/err.h>
#include <openssl/x509v3.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

const char *verdict_name(enum verdict v)
{
    switch (v) {
    case VERDICT_GOOD:
        return "good";
    case VERDICT_REVOKED:
        return "revoked";
    case VERDICT_NOT_YET_VALID:
        return "not yet valid";
    case VERDICT_EXPIRED:
        return "expired";
    case VERDICT_NO_NEXT_UPDATE:
        return "no nextUpdate";
    case VERDICT_UNKNOWN_STATUS:
        return "unknown status";
    case VERDICT_WRONG_CERTIFICATE:
        return "wrong certificate";
    case VERDICT_BAD_SIGNATURE:
        return "bad signature";
    case VERDICT_NO_ISSUER:
        return "no issuer";
    case VERDICT_NOT_SUCCESSFUL:
        return "not successful";
    case VERDICT_MALFORMED:
        return "malformed";
    case VERDICT_UNREADABLE:
        return "unreadable";
    }
    return "invalid";
}

bool verdict_stapleable(enum verdict v, const struct validation_policy *policy)
{
    return v == VERDICT_GOOD || (v == VERDICT_REVOKED && policy->serve_revoked);
}

char *openssl_errors(char *buf, size_t size)
{
    unsigned long code;
    const char *data = NULL;
    int flags = 0;
    size_t used = 0;

    if (size == 0)
        return buf;
    buf[0] = '\0';
    while ((code = ERR_get_error_all(NULL, NULL, NULL, &data, &flags)) != 0) {
        char one[200];
        ERR_error_string_n(code, one, sizeof(one));
        /* The detail OpenSSL attached (an HTTP status and reason, a file name) says most. */
        int with_data = data != NULL && data[0] != '\0' && (flags & ERR_TXT_STRING);
        int n = snprintf(buf + used, size - used, "%s%s%s%s%s", used ? "; " : "", one,
                         with_data ? " (" : "", with_data ? data : "", with_data ? ")" : "");
        if (n < 0 || (size_t)n >= size - used)
            break;
        used += (size_t)n;
    }
    ERR_clear_error();
    if (buf[0] == '\0')
        snprintf(buf, size, "no detail from OpenSSL");
    return buf;
}

static void set_reason(struct response_facts *out, enum verdict v, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void set_reason(struct response_facts *out, enum verdict v, const char *fmt, ...)
{
    va_list ap;
    out->verdict = v;
    va_start(ap, fmt);
    vsnprintf(out->reason, sizeof(out->reason), fmt, ap);
    va_end(ap);
}

static void reset_facts(struct response_facts *out)
{
    memset(out, 0, sizeof(*out));
    out->cert_status = -1;
    out->revocation_reason = -1;
}

OCSP_BASICRESP *response_parse(const unsigned char *der, size_t len, struct response_facts *out)
{
    const unsigned char *p = der;
    OCSP_RESPONSE *resp = NULL;
    OCSP_BASICRESP *basic = NULL;
    char err[200];

    reset_facts(out);
    ERR_clear_error();
    if (len == 0) {
        set_reason(out, VERDICT_MALFORMED, "the file is empty");
        return NULL;
    }
    if (len > RESPONSE_MAX_BYTES || len > LONG_MAX) {
        set_reason(out, VERDICT_MALFORMED, "too large for an OCSP response (%zu bytes)", len);
        return NULL;
    }
    if (len > 10 && memcmp(der, "-----BEGIN", 10) == 0) {
        set_reason(out, VERDICT_MALFORMED,
                   "PEM text, but the response must be DER (convert it with: openssl ocsp "
                   "-respin ... -respout FILE, or base64 -d)");
        return NULL;
    }
    resp = d2i_OCSP_RESPONSE(NULL, &p, (long)len);
    if (resp == NULL) {
        set_reason(out, VERDICT_MALFORMED, "not a DER OCSP response (%s)",
                   openssl_errors(err, sizeof(err)));
        return NULL;
    }
    if (p != der + len) {
        set_reason(out, VERDICT_MALFORMED, "%zu bytes of trailing data after the OCSP response",
                   (size_t)(der + len - p));
        goto done;
    }
    int status = OCSP_response_status(resp);
    if (status != OCSP_RESPONSE_STATUS_SUCCESSFUL) {
        set_reason(out, VERDICT_NOT_SUCCESSFUL, "the responder answered \"%s\" (%d), not a status",
                   OCSP_response_status_str(status), status);
        goto done;
    }
    basic = OCSP_response_get1_basic(resp);
    if (basic == NULL)
        set_reason(out, VERDICT_MALFORMED, "successful, but holds no basic OCSP response (%s)",
                   openssl_errors(err, sizeof(err)));
done:
    OCSP_RESPONSE_free(resp);
    ERR_clear_error();
    return basic;
}

time_t asn1_time_to_epoch(const ASN1_TIME *t)
{
    struct tm tm;
    if (t == NULL || !ASN1_TIME_to_tm(t, &tm))
        return 0;
    return timegm(&tm);
}

/* find_single - the SingleResponse of `basic` whose CertID is that of leaf+issuer, computed
 * with the CertID's own hash algorithm (SHA-1 or SHA-256 alike). */
static OCSP_SINGLERESP *find_single(OCSP_BASICRESP *basic, X509 *leaf, X509 *issuer)
{
    int n = OCSP_resp_count(basic);

    for (int i = 0; i < n; i++) {
        OCSP_SINGLERESP *single = OCSP_resp_get0(basic, i);
        OCSP_CERTID *cid = (OCSP_CERTID *)OCSP_SINGLERESP_get0_id(single);
        ASN1_OBJECT *md_oid = NULL;
        if (cid == NULL || !OCSP_id_get0_info(NULL, &md_oid, NULL, NULL, cid))
            continue;
        const EVP_MD *md = EVP_get_digestbyobj(md_oid);
        if (md == NULL)
            continue;
        OCSP_CERTID *mine = OCSP_cert_to_id(md, leaf, issuer);
        int same = mine != NULL && OCSP_id_cmp(mine, cid) == 0;
        OCSP_CERTID_free(mine);
        if (same)
            return single;
    }
    return NULL;
}

void response_first_times(OCSP_BASICRESP *basic, time_t *this_update, time_t *next_update)
{
    ASN1_GENERALIZEDTIME *this_upd = NULL, *next_upd = NULL;

    if (OCSP_resp_count(basic) > 0)
        OCSP_single_get0_status(OCSP_resp_get0(basic, 0), NULL, NULL, &this_upd, &next_upd);
    if (this_update != NULL)
        *this_update = asn1_time_to_epoch(this_upd);
    if (next_update != NULL)
        *next_update = asn1_time_to_epoch(next_upd);
}

bool response_mentions_serial(OCSP_BASICRESP *basic, const ASN1_INTEGER *serial)
{
    int n = OCSP_resp_count(basic);
    for (int i = 0; i < n; i++) {
        OCSP_CERTID *cid = (OCSP_CERTID *)OCSP_SINGLERESP_get0_id(OCSP_resp_get0(basic, i));
        ASN1_INTEGER *s = NULL;
        if (cid != NULL && OCSP_id_get0_info(NULL, NULL, NULL, &s, cid) && s != NULL &&
            ASN1_INTEGER_cmp(s, serial) == 0)
            return true;
    }
    return false;
}

/* cert_valid_at - whether `now` lies within the certificate's validity period. */
static bool cert_valid_at(X509 *cert, time_t now)
{
    return X509_cmp_time(X509_get0_notBefore(cert), &now) < 0 &&
           X509_cmp_time(X509_get0_notAfter(cert), &now) > 0;
}

/* delegated_responder_check - what a delegated responder's certificate `signer` (described as
 * `who`), already known to be issued by the certificate's issuer, must be besides: an
 * OCSPSigning certificate valid now. Sets out->responder_not_after. */
static enum verdict delegated_responder_check(X509 *signer, const char *who, time_t now,
                                              struct response_facts *out)
{
    if (!(X509_get_extension_flags(signer) & EXFLAG_XKUSAGE) ||
        !(X509_get_extended_key_usage(signer) & XKU_OCSP_SIGN)) {
        set_reason(out, VERDICT_BAD_SIGNATURE,
                   "signed by responder %s, which lacks the OCSPSigning extended key usage", who);
        return VERDICT_BAD_SIGNATURE;
    }
    if (!cert_valid_at(signer, now)) {
        set_reason(out, VERDICT_BAD_SIGNATURE,
                   "signed by responder %s, whose certificate is not valid now", who);
        return VERDICT_BAD_SIGNATURE;
    }
    out->responder_not_after = asn1_time_to_epoch(X509_get0_notAfter(signer));
    return VERDICT_GOOD;
}

/* check_signature_alone - what can be checked of the signature with the issuer unknown: when
 * the response holds the certificate that signed it, the signature must verify with its key,
 * and that certificate must name the CertID's issuer as its own and pass
 * delegated_responder_check (that the issuer really issued it is left to the handshake).
 * Returns VERDICT_GOOD (also when nothing could be checked) or VERDICT_BAD_SIGNATURE. */
static enum verdict check_signature_alone(OCSP_BASICRESP *basic, const OCSP_CERTID *cid, time_t now,
                                          struct response_facts *out)
{
    X509 *signer = NULL;
    ASN1_OCTET_STRING *name_hash = NULL;
    ASN1_OBJECT *md_oid = NULL;
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int len = 0;
    char err[200], who[200];

    if (OCSP_resp_get0_signer(basic, &signer, NULL) != 1 || signer == NULL) {
        ERR_clear_error();
        return VERDICT_GOOD;
    }
    describe_cert(signer, who, sizeof(who));
    if (OCSP_basic_verify(basic, NULL, NULL, OCSP_NOVERIFY | OCSP_NOEXPLICIT) != 1) {
        set_reason(out, VERDICT_BAD_SIGNATURE, "the signature does not verify (%s)",
                   openssl_errors(err, sizeof(err)));
        return VERDICT_BAD_SIGNATURE;
    }
    const EVP_MD *dgst = OCSP_id_get0_info(&name_hash, &md_oid, NULL, NULL, (OCSP_CERTID *)cid)
                             ? EVP_get_digestbyobj(md_oid)
                             : NULL;
    if (dgst == NULL || name_hash == NULL ||
        X509_NAME_digest(X509_get_issuer_name(signer), dgst, md, &len) != 1 ||
        (int)len != ASN1_STRING_length(name_hash) ||
        memcmp(md, ASN1_STRING_get0_data(name_hash), len) != 0) {
        set_reason(out, VERDICT_BAD_SIGNATURE,
                   "signed by %s, which is neither the certificate's issuer nor issued by it", who);
        return VERDICT_BAD_SIGNATURE;
    }
    return delegated_responder_check(signer, who, now, out);
}

/* check_signature - the response is signed by `issuer` or by its delegated responder. */
static enum verdict check_signature(OCSP_BASICRESP *basic, X509 *issuer, time_t now,
                                    struct response_facts *out)
{
    STACK_OF(X509) *extra = sk_X509_new_null();
    X509 *signer = NULL;
    enum verdict v = VERDICT_BAD_SIGNATURE;
    char err[200], who[200];

    if (extra == NULL || !sk_X509_push(extra, issuer)) {
        set_reason(out, v, "out of memory");
        goto done;
    }
    if (OCSP_resp_get0_signer(basic, &signer, extra) != 1 || signer == NULL) {
        set_reason(out, v,
                   "signed by a key that is neither the issuer's nor that of a responder "
                   "certificate inside the response");
        goto done;
    }
    /* Signature over the response data with the signer's key; no chain building. */
    if (OCSP_basic_verify(basic, extra, NULL, OCSP_NOVERIFY | OCSP_NOEXPLICIT) != 1) {
        set_reason(out, v, "the signature does not verify (%s)", openssl_errors(err, sizeof(err)));
        goto done;
    }
    if (EVP_PKEY_eq(X509_get0_pubkey(signer), X509_get0_pubkey(issuer)) == 1) {
        v = VERDICT_GOOD;
        goto done;
    }
    describe_cert(signer, who, sizeof(who));
    if (X509_check_issued(issuer, signer) != X509_V_OK ||
        X509_verify(signer, X509_get0_pubkey(issuer)) != 1) {
        set_reason(out, v, "signed by responder %s, which the certificate's issuer did not issue",
                   who);
        goto done;
    }
    v = delegated_responder_check(signer, who, now, out);
done:
    sk_X509_free(extra);
    ERR_clear_error();
    return v;
}

void format_utc(time_t t, char *buf, size_t size)
{
    struct tm tm;
    if (t == 0 || gmtime_r(&t, &tm) == NULL)
        snprintf(buf, size, "(none)");
    else
        strftime(buf, size, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

static enum verdict judge_single(OCSP_BASICRESP *basic, OCSP_SINGLERESP *single, X509 *issuer,
                                 const struct validation_policy *policy, time_t now,
                                 struct response_facts *out);

enum verdict response_validate(OCSP_BASICRESP *basic, X509 *leaf, X509 *issuer,
                               const struct validation_policy *policy, time_t now,
                               struct response_facts *out)
{
    reset_facts(out);
    ERR_clear_error();
    if (basic == NULL || leaf == NULL) {
        set_reason(out, VERDICT_MALFORMED, "nothing to check");
        return out->verdict;
    }
    if (issuer == NULL) {
        set_reason(out, VERDICT_NO_ISSUER,
                   "the issuer certificate was not found (set `issuer`, put the chain in the "
                   "`certificate` file, or configure the chain in the server)");
        return out->verdict;
    }
    OCSP_SINGLERESP *single = find_single(basic, leaf, issuer);
    if (single == NULL) {
        set_reason(out, VERDICT_WRONG_CERTIFICATE,
                   "the response is not about this certificate (no matching CertID)");
        return out->verdict;
    }
    return judge_single(basic, single, issuer, policy, now, out);
}

/* issuer_by_certid - the certificate of `candidates` (may be NULL) whose subject name and
 * public key hash, with the CertID's own algorithm, to the CertID's issuer hashes. */
static X509 *issuer_by_certid(const OCSP_CERTID *cid, const STACK_OF(X509) * candidates)
{
    ASN1_OBJECT *md_oid = NULL;
    if (!OCSP_id_get0_info(NULL, &md_oid, NULL, NULL, (OCSP_CERTID *)cid))
        return NULL;
    const EVP_MD *md = EVP_get_digestbyobj(md_oid);
    for (int i = 0; md != NULL && candidates != NULL && i < sk_X509_num(candidates); i++) {
        X509 *x = sk_X509_value(candidates, i);
        OCSP_CERTID *mine = OCSP_cert_to_id(md, NULL, x);
        int same = mine != NULL && OCSP_id_issuer_cmp(mine, cid) == 0;
        OCSP_CERTID_free(mine);
        if (same)
            return x;
    }
    return NULL;
}

enum verdict response_validate_alone(OCSP_BASICRESP *basic, int index, STACK_OF(X509) * issuers,
                                     const struct validation_policy *policy, time_t now,
                                     struct response_facts *out)
{
    reset_facts(out);
    ERR_clear_error();
    OCSP_SINGLERESP *single = basic ? OCSP_resp_get0(basic, index) : NULL;
    const OCSP_CERTID *cid = single ? OCSP_SINGLERESP_get0_id(single) : NULL;
    if (cid == NULL) {
        set_reason(out, VERDICT_MALFORMED, "no such SingleResponse");
        return out->verdict;
    }
    X509 *issuer = issuer_by_certid(cid, issuers);
    if (issuer == NULL)
        issuer = issuer_by_certid(cid, OCSP_resp_get0_certs(basic));
    if (issuer == NULL && policy->verify &&
        check_signature_alone(basic, cid, now, out) != VERDICT_GOOD)
        return out->verdict;
    judge_single(basic, single, issuer, policy, now, out);
    if (issuer == NULL && policy->verify) {
        out->signature_unchecked = true;
        size_t n = strlen(out->reason);
        snprintf(out->reason + n, sizeof(out->reason) - n,
                 "; signature not fully checked here: its issuer is neither configured nor "
                 "inside the response (the shim checks it against the served chain)");
    }
    return out->verdict;
}

/* judge_single - response_validate's checks of one SingleResponse, from its status on; the
 * signature is checked against `issuer` when there is one (and the policy asks for it). */
static enum verdict judge_single(OCSP_BASICRESP *basic, OCSP_SINGLERESP *single, X509 *issuer,
                                 const struct validation_policy *policy, time_t now,
                                 struct response_facts *out)
{
    ASN1_GENERALIZEDTIME *this_upd = NULL, *next_upd = NULL, *rev = NULL;
    char a[32], b[32];

    int status =
        OCSP_single_get0_status(single, &out->revocation_reason, &rev, &this_upd, &next_upd);
    out->this_update = asn1_time_to_epoch(this_upd);
    out->next_update = asn1_time_to_epoch(next_upd);
    out->revoked_at = asn1_time_to_epoch(rev);
    out->cert_status = status;
    if (policy->verify && issuer != NULL &&
        check_signature(basic, issuer, now, out) != VERDICT_GOOD)
        return out->verdict;
    if (this_upd == NULL || out->this_update == 0) {
        set_reason(out, VERDICT_MALFORMED, "thisUpdate is missing or unreadable");
        return out->verdict;
    }
    if (next_upd == NULL) {
        set_reason(out, VERDICT_NO_NEXT_UPDATE,
                   "the response has no nextUpdate, so clients cannot tell when it goes stale; "
                   "never stapled");
        return out->verdict;
    }
    if (out->next_update == 0 || out->next_update < out->this_update) {
        set_reason(out, VERDICT_MALFORMED, "nextUpdate is unreadable or earlier than thisUpdate");
        return out->verdict;
    }
    if (status == V_OCSP_CERTSTATUS_UNKNOWN) {
        set_reason(out, VERDICT_UNKNOWN_STATUS, "the responder does not know this certificate");
        return out->verdict;
    }
    if (status == V_OCSP_CERTSTATUS_REVOKED) {
        format_utc(out->revoked_at, a, sizeof(a));
        set_reason(out, VERDICT_REVOKED, "the certificate is REVOKED (since %s, reason %s)", a,
                   out->revocation_reason >= 0 ? OCSP_crl_reason_str(out->revocation_reason)
                                               : "unspecified");
    } else if (status != V_OCSP_CERTSTATUS_GOOD) {
        set_reason(out, VERDICT_MALFORMED, "unrecognised certificate status %d", status);
        return out->verdict;
    }
    /* The time window last: a later verdict of EXPIRED implies everything above passed. */
    enum verdict content = out->verdict == VERDICT_REVOKED ? VERDICT_REVOKED : VERDICT_GOOD;
    format_utc(out->this_update, a, sizeof(a));
    format_utc(out->next_update, b, sizeof(b));
    if (out->this_update > now + policy->skew) {
        set_reason(out, VERDICT_NOT_YET_VALID, "thisUpdate %s is in the future (skew %lds)", a,
                   policy->skew);
        return out->verdict;
    }
    if (out->next_update <= now) {
        set_reason(out, VERDICT_EXPIRED, "expired: nextUpdate %s has passed", b);
        return out->verdict;
    }
    if (content == VERDICT_GOOD)
        set_reason(out, VERDICT_GOOD, "good, valid from %s until %s", a, b);
    return out->verdict;
}

X509 *find_issuer(X509 *leaf, STACK_OF(X509) * candidates)
{
    int n = candidates ? sk_X509_num(candidates) : 0;
    for (int i = 0; i < n; i++) {
        X509 *c = sk_X509_value(candidates, i);
        if (c == NULL || c == leaf || X509_cmp(c, leaf) == 0)
            continue;
        if (X509_check_issued(c, leaf) == X509_V_OK &&
            X509_verify(leaf, X509_get0_pubkey(c)) == 1) {
            ERR_clear_error();
            return c;
        }
    }
    ERR_clear_error();
    return NULL;
}

int cert_fingerprint(X509 *cert, unsigned char out[20])
{
    unsigned int len = 0;
    return cert != NULL && X509_digest(cert, EVP_sha1(), out, &len) == 1 && len == 20;
}

char *describe_cert(X509 *cert, char *buf, size_t size)
{
    char subject[200] = "?", serial[80] = "?";
    if (cert != NULL) {
        X509_NAME_oneline(X509_get_subject_name(cert), subject, sizeof(subject));
        BIGNUM *bn = ASN1_INTEGER_to_BN(X509_get0_serialNumber(cert), NULL);
        char *hex = bn ? BN_bn2hex(bn) : NULL;
        if (hex != NULL)
            snprintf(serial, sizeof(serial), "%s", hex);
        OPENSSL_free(hex);
        BN_free(bn);
    }
    snprintf(buf, size, "%s (serial %s)", subject, serial);
    return buf;
}
