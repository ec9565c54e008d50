/*
 * gen.c - bench-gen: the PKI and OCSP responses the benchmarks need, made in one process with
 * OpenSSL's APIs (the openssl CLI would take minutes for 10,000 responses). Nothing it writes
 * is committed: `make bench` runs it into a temporary directory every time.
 *
 * Usage: bench-gen OUTDIR NSCALE NSERIES
 *
 *   ca.pem                 an RSA-2048 CA (what most public CAs still sign with)
 *   ec.key, ec-chain.pem   ECDSA P-256 leaf (leaf first, then the CA), the served certificate
 *   ec.der                 a good OCSP response for it (SHA-1 CertID, signed by the CA, no
 *                          certificates inside: the shape of Let's Encrypt's responses)
 *   ec-series-NN.der       NSERIES more responses for it (NN from 01), thisUpdate one minute
 *                          apart, newest last (for the reload benchmark: each one is "newer" than
 * the last) rsa.key, rsa-chain.pem, rsa.der   the same for an RSA-2048 leaf scale/NNNNN-chain.pem,
 * scale/NNNNN.der   NSCALE other ECDSA leaves (they share ec.key, each has its own serial and name)
 * with a response each
 *
 * All responses are good, thisUpdate an hour ago (or later, for the series), nextUpdate in 7
 * days. Prints "generated N responses in S s" on success; on failure, the reason, exit 1.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/ocsp.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

static void die(const char *what)
{
    fprintf(stderr, "bench-gen: %s: ", what);
    ERR_print_errors_fp(stderr);
    fprintf(stderr, "%s\n", errno ? strerror(errno) : "");
    exit(1);
}

static void add_ext(X509 *cert, X509 *issuer, int nid, const char *value)
{
    X509V3_CTX ctx;
    X509V3_set_ctx(&ctx, issuer, cert, NULL, NULL, 0);
    X509_EXTENSION *ext = X509V3_EXT_conf_nid(NULL, &ctx, nid, value);
    if (ext == NULL || !X509_add_ext(cert, ext, -1))
        die("extension");
    X509_EXTENSION_free(ext);
}

/* make_cert - a certificate for `key`, named CN=cn, issued by (issuer, issuer_key), or
 * self-signed when issuer is NULL. */
static X509 *make_cert(EVP_PKEY *key, const char *cn, long serial, X509 *issuer,
                       EVP_PKEY *issuer_key)
{
    X509 *x = X509_new();
    X509_NAME *name = X509_NAME_new();
    if (x == NULL || name == NULL || !X509_set_version(x, 2) ||
        !ASN1_INTEGER_set(X509_get_serialNumber(x), serial) ||
        !X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, (const unsigned char *)cn, -1, -1,
                                    0) ||
        !X509_set_subject_name(x, name) ||
        !X509_set_issuer_name(x, issuer ? X509_get_subject_name(issuer) : name) ||
        !X509_gmtime_adj(X509_getm_notBefore(x), -86400) ||
        !X509_gmtime_adj(X509_getm_notAfter(x), 365L * 86400) || !X509_set_pubkey(x, key))
        die("certificate");
    X509 *signer = issuer ? issuer : x;
    add_ext(x, signer, NID_subject_key_identifier, "hash");
    add_ext(x, signer, NID_authority_key_identifier, "keyid:always");
    if (issuer == NULL) {
        add_ext(x, signer, NID_basic_constraints, "critical,CA:TRUE");
        add_ext(x, signer, NID_key_usage, "critical,keyCertSign,cRLSign");
    } else {
        add_ext(x, signer, NID_basic_constraints, "critical,CA:FALSE");
        add_ext(x, signer, NID_key_usage, "critical,digitalSignature,keyEncipherment");
        add_ext(x, signer, NID_ext_key_usage, "serverAuth");
    }
    if (!X509_sign(x, issuer_key ? issuer_key : key, EVP_sha256()))
        die("signing a certificate");
    X509_NAME_free(name);
    return x;
}

/* make_response - a good, successful OCSP response for leaf, signed by the CA. */
static void write_response(const char *path, X509 *leaf, X509 *ca, EVP_PKEY *ca_key,
                           long this_offset)
{
    OCSP_BASICRESP *basic = OCSP_BASICRESP_new();
    OCSP_CERTID *id = OCSP_cert_to_id(NULL, leaf, ca);
    ASN1_TIME *this_upd = X509_gmtime_adj(NULL, this_offset);
    ASN1_TIME *next_upd = X509_gmtime_adj(NULL, 7L * 86400);
    if (basic == NULL || id == NULL || this_upd == NULL || next_upd == NULL ||
        OCSP_basic_add1_status(basic, id, V_OCSP_CERTSTATUS_GOOD, 0, NULL, this_upd, next_upd) ==
            NULL ||
        !OCSP_basic_sign(basic, ca, ca_key, EVP_sha256(), NULL, OCSP_NOCERTS))
        die("OCSP response");
    OCSP_RESPONSE *resp = OCSP_response_create(OCSP_RESPONSE_STATUS_SUCCESSFUL, basic);
    unsigned char *der = NULL;
    int len = resp ? i2d_OCSP_RESPONSE(resp, &der) : -1;
    FILE *f = fopen(path, "wb");
    if (len <= 0 || f == NULL || fwrite(der, 1, (size_t)len, f) != (size_t)len || fclose(f) != 0)
        die(path);
    OPENSSL_free(der);
    OCSP_RESPONSE_free(resp);
    OCSP_BASICRESP_free(basic);
    OCSP_CERTID_free(id);
    ASN1_TIME_free(this_upd);
    ASN1_TIME_free(next_upd);
}

static void write_chain(const char *path, X509 *leaf, X509 *ca)
{
    FILE *f = fopen(path, "w");
    if (f == NULL || !PEM_write_X509(f, leaf) || (ca && !PEM_write_X509(f, ca)) || fclose(f) != 0)
        die(path);
}

static void write_key(const char *path, EVP_PKEY *key)
{
    FILE *f = fopen(path, "w");
    if (f == NULL || !PEM_write_PrivateKey(f, key, NULL, NULL, 0, NULL, NULL) || fclose(f) != 0)
        die(path);
}

int main(int argc, char **argv)
{
    char path[4096];
    struct timespec t0, t1;

    if (argc != 4) {
        fprintf(stderr, "usage: bench-gen OUTDIR NSCALE NSERIES\n");
        return 2;
    }
    const char *out = argv[1];
    long nscale = strtol(argv[2], NULL, 10), nseries = strtol(argv[3], NULL, 10);
    if (nscale < 0 || nscale > 1000000 || nseries < 0 || nseries > 1000) {
        fprintf(stderr, "bench-gen: counts out of range\n");
        return 2;
    }
    clock_gettime(CLOCK_MONOTONIC, &t0);
    snprintf(path, sizeof(path), "%s/scale", out);
    if ((mkdir(out, 0755) != 0 && errno != EEXIST) || (mkdir(path, 0755) != 0 && errno != EEXIST))
        die(path);
    errno = 0;

    EVP_PKEY *ca_key = EVP_RSA_gen(2048);
    EVP_PKEY *ec_key = EVP_EC_gen("P-256");
    EVP_PKEY *rsa_key = EVP_RSA_gen(2048);
    if (ca_key == NULL || ec_key == NULL || rsa_key == NULL)
        die("key generation");
    X509 *ca = make_cert(ca_key, "ocspstaple bench CA", 1, NULL, NULL);
    snprintf(path, sizeof(path), "%s/ca.pem", out);
    write_chain(path, ca, NULL);

    X509 *ec = make_cert(ec_key, "ec.bench.invalid", 2, ca, ca_key);
    snprintf(path, sizeof(path), "%s/ec.key", out);
    write_key(path, ec_key);
    snprintf(path, sizeof(path), "%s/ec-chain.pem", out);
    write_chain(path, ec, ca);
    snprintf(path, sizeof(path), "%s/ec.der", out);
    write_response(path, ec, ca, ca_key, -3600);
    for (long i = 1; i <= nseries; i++) {
        snprintf(path, sizeof(path), "%s/ec-series-%02ld.der", out, i);
        write_response(path, ec, ca, ca_key, -3600 + 60 * i);
    }

    X509 *rsa = make_cert(rsa_key, "rsa.bench.invalid", 3, ca, ca_key);
    snprintf(path, sizeof(path), "%s/rsa.key", out);
    write_key(path, rsa_key);
    snprintf(path, sizeof(path), "%s/rsa-chain.pem", out);
    write_chain(path, rsa, ca);
    snprintf(path, sizeof(path), "%s/rsa.der", out);
    write_response(path, rsa, ca, ca_key, -3600);

    /* The scale set in two processes (two cores: half the wait). */
    fflush(NULL);
    pid_t child = nscale >= 100 ? fork() : -1;
    for (long i = child == 0 ? 1 : 0; i < nscale; i += child >= 0 ? 2 : 1) {
        char cn[64];
        snprintf(cn, sizeof(cn), "leaf%05ld.bench.invalid", i);
        X509 *leaf = make_cert(ec_key, cn, 1000 + i, ca, ca_key);
        snprintf(path, sizeof(path), "%s/scale/%05ld-chain.pem", out, i);
        write_chain(path, leaf, ca);
        snprintf(path, sizeof(path), "%s/scale/%05ld.der", out, i);
        write_response(path, leaf, ca, ca_key, -3600);
        X509_free(leaf);
    }
    if (child == 0)
        _exit(0);
    int status = 0;
    if (child > 0 &&
        (waitpid(child, &status, 0) != child || !WIFEXITED(status) || WEXITSTATUS(status) != 0)) {
        fprintf(stderr, "bench-gen: the second generator process failed\n");
        return 1;
    }
    clock_gettime(CLOCK_MONOTONIC, &t1);
    printf("generated %ld responses in %.1f s\n", 2 + nseries + nscale,
           (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9);
    X509_free(ca);
    X509_free(ec);
    X509_free(rsa);
    EVP_PKEY_free(ca_key);
    EVP_PKEY_free(ec_key);
    EVP_PKEY_free(rsa_key);
    return 0;
}
