/*
 * cert_facts.c - what a check report says of a certificate (see cert_facts.h).
 */
#include "cert_facts.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/x509v3.h>

#define TLS_FEATURE_STATUS_REQUEST 5

static void hex(const unsigned char *in, size_t n, char *out)
{
    for (size_t i = 0; i < n; i++)
        sprintf(out + 2 * i, "%02x", in[i]);
    out[2 * n] = '\0';
}

static bool is_must_staple(X509 *cert)
{
    bool found = false;
    STACK_OF(ASN1_INTEGER) *features = X509_get_ext_d2i(cert, NID_tlsfeature, NULL, NULL);
    for (int i = 0; features != NULL && i < sk_ASN1_INTEGER_num(features); i++)
        if (ASN1_INTEGER_get(sk_ASN1_INTEGER_value(features, i)) == TLS_FEATURE_STATUS_REQUEST)
            found = true;
    sk_ASN1_INTEGER_pop_free(features, ASN1_INTEGER_free);
    ERR_clear_error();
    return found;
}

void cert_facts_describe(X509 *cert, struct checked_certificate *c, unsigned char sha256[32])
{
    BIO *mem = BIO_new(BIO_s_mem());
    char *p = NULL;
    unsigned int len = 0;

    if (mem != NULL &&
        X509_NAME_print_ex(mem, X509_get_subject_name(cert), 0, XN_FLAG_RFC2253) >= 0) {
        long n = BIO_get_mem_data(mem, &p);
        snprintf(c->subject, sizeof(c->subject), "%.*s", (int)n, p);
    }
    BIO_free(mem);
    BIGNUM *bn = ASN1_INTEGER_to_BN(X509_get0_serialNumber(cert), NULL);
    char *serial = bn ? BN_bn2hex(bn) : NULL;
    snprintf(c->serial, sizeof(c->serial), "%s", serial ? serial : "?");
    OPENSSL_free(serial);
    BN_free(bn);
    if (X509_digest(cert, EVP_sha256(), sha256, &len) == 1 && len == 32)
        hex(sha256, 32, c->sha256);
    c->not_after = asn1_time_to_epoch(X509_get0_notAfter(cert));
    c->must_staple = is_must_staple(cert);
    STACK_OF(OPENSSL_STRING) *urls = X509_get1_ocsp(cert);
    if (urls != NULL && sk_OPENSSL_STRING_num(urls) > 0)
        c->ocsp_url = strdup(sk_OPENSSL_STRING_value(urls, 0));
    X509_email_free(urls);
}
