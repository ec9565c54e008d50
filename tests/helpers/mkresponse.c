/*
 * mkresponse.c - an OCSP response with arbitrary times, for shapes `openssl ocsp` cannot make
 * (thisUpdate after nextUpdate). Built with OpenSSL's OCSP API; tests only.
 *
 *   mkresponse SIGNER.pem SIGNER.key ISSUER.pem LEAF.pem OUT.der THIS NEXT [good|revoked]
 *
 * THIS and NEXT are offsets in seconds from now (NEXT may be "none").
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/err.h>
#include <openssl/ocsp.h>
#include <openssl/pem.h>

static void *load(const char *path, int key)
{
    FILE *f = fopen(path, "r");
    void *p = NULL;
    if (f != NULL) {
        p = key ? (void *)PEM_read_PrivateKey(f, NULL, NULL, NULL)
                : (void *)PEM_read_X509(f, NULL, NULL, NULL);
        fclose(f);
    }
    if (p == NULL) {
        fprintf(stderr, "mkresponse: cannot read %s\n", path);
        exit(1);
    }
    return p;
}

int main(int argc, char **argv)
{
    if (argc < 8) {
        fprintf(stderr, "usage: mkresponse SIGNER.pem SIGNER.key ISSUER.pem LEAF.pem OUT THIS "
                        "NEXT [good|revoked]\n");
        return 2;
    }
    X509 *signer = load(argv[1], 0), *issuer = load(argv[3], 0), *leaf = load(argv[4], 0);
    EVP_PKEY *key = load(argv[2], 1);
    time_t now = time(NULL);
    ASN1_GENERALIZEDTIME *this_upd = ASN1_GENERALIZEDTIME_adj(NULL, now, 0, atol(argv[6]));
    ASN1_GENERALIZEDTIME *next_upd =
        strcmp(argv[7], "none") == 0 ? NULL : ASN1_GENERALIZEDTIME_adj(NULL, now, 0, atol(argv[7]));
    int revoked = argc > 8 && strcmp(argv[8], "revoked") == 0;
    ASN1_TIME *rev = revoked ? ASN1_TIME_adj(NULL, now, 0, -3600) : NULL;
    OCSP_CERTID *id = OCSP_cert_to_id(EVP_sha1(), leaf, issuer);
    OCSP_BASICRESP *basic = OCSP_BASICRESP_new();
    if (id == NULL || basic == NULL ||
        OCSP_basic_add1_status(
            basic, id, revoked ? V_OCSP_CERTSTATUS_REVOKED : V_OCSP_CERTSTATUS_GOOD,
            revoked ? OCSP_REVOKED_STATUS_KEYCOMPROMISE : 0, rev, this_upd, next_upd) == NULL ||
        OCSP_basic_sign(basic, signer, key, EVP_sha256(), NULL, 0) != 1) {
        ERR_print_errors_fp(stderr);
        return 1;
    }
    OCSP_RESPONSE *resp = OCSP_response_create(OCSP_RESPONSE_STATUS_SUCCESSFUL, basic);
    unsigned char *der = NULL;
    int len = resp ? i2d_OCSP_RESPONSE(resp, &der) : -1;
    FILE *out = fopen(argv[5], "wb");
    if (len <= 0 || out == NULL || fwrite(der, 1, (size_t)len, out) != (size_t)len ||
        fclose(out) != 0) {
        fprintf(stderr, "mkresponse: cannot write %s\n", argv[5]);
        return 1;
    }
    return 0;
}
