/*
 * fuzz_certfile.c - libFuzzer target: one certificate file, read the two ways the project
 * reads them.
 *
 * The input is the content of an entry's `certificate` file (then of its `issuer` file). It
 * goes through entry_load_certs, which decodes every certificate (the ocspstaple command), and
 * entry_index_certs, which only takes the DER out of the PEM text (the shim, for speed), with
 * and without the repeated-text shortcut. Invariants checked with abort():
 *   - what entry_load_certs accepts, entry_index_certs accepts, with a leaf, and hands over
 *     exactly as many other certificates, the same bytes in the same order;
 *   - its leaf fingerprint is cert_fingerprint of the decoded leaf whenever the file holds the
 *     leaf's canonical DER (what OpenSSL serves);
 *   - a text that known_text claims to know is never decoded, and a text decoded after it was
 *     offered yields the same certificates as without the offer;
 *   - every log line is a terminated string; nothing leaks (LeakSanitizer).
 * No fixtures are needed; seeds are the PEM files of tests/helpers/mkfixtures.sh.
 */
#include <fcntl.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/x509.h>

#include "config.h"
#include "files.h"
#include "log.h"
#include "validate.h"

#include "fuzz_target.h"

#define MAX_KEPT 80

/* What one entry_index_certs run handed over. */
struct kept {
    unsigned char *der[MAX_KEPT];
    size_t len[MAX_KEPT];
    size_t count; /* other certificates */
    unsigned char *leaf;
    size_t leaf_len;
    int offers; /* known_text calls */
    bool claim; /* known_text says "known" */
};

static struct fuzz_file input;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    log_set_capture(fuzz_log_checked, NULL);
    log_configure(LOG_LEVEL_ERROR, LOG_TARGET_STDERR);
    fuzz_file_open(&input, "fuzz_certfile");
    return 0;
}

static int keep(const unsigned char *der, size_t len, const char *file, bool leaf, void *arg)
{
    struct kept *k = arg;
    CHECK(der != NULL && len > 0 && file != NULL);
    unsigned char *copy = malloc(len);
    CHECK(copy != NULL);
    memcpy(copy, der, len);
    if (leaf) {
        CHECK(k->leaf == NULL);
        k->leaf = copy;
        k->leaf_len = len;
        return 0;
    }
    CHECK(k->count < MAX_KEPT);
    k->der[k->count] = copy;
    k->len[k->count++] = len;
    return 0;
}

static bool known_text(const unsigned char *text, size_t len, void *arg)
{
    struct kept *k = arg;
    CHECK(len == 0 || text != NULL);
    k->offers++;
    return k->claim;
}

static void kept_free(struct kept *k)
{
    for (size_t i = 0; i < k->count; i++)
        free(k->der[i]);
    free(k->leaf);
}

static int run_index(const struct staple_entry *e, struct kept *k, bool offer, bool claim,
                     bool *has_leaf, unsigned char fp[20])
{
    struct entry_cert_ops ops = {keep, offer ? known_text : NULL, NULL};
    memset(k, 0, sizeof(*k));
    k->claim = claim;
    return entry_index_certs("fuzz.conf", e, has_leaf, fp, &ops, k);
}

/* one_file - the input as the `certificate` file (issuer_too: as the `issuer` file as well). */
static void one_file(bool issuer_too)
{
    struct staple_entry e = {.response = "/nonexistent.der", .certificate = input.path, .line = 1};
    if (issuer_too)
        e.issuer = input.path;
    X509 *leaf = NULL;
    STACK_OF(X509) *issuers = NULL;
    int loaded = entry_load_certs("fuzz.conf", &e, &leaf, &issuers);

    struct kept plain, offered, claimed;
    bool has_leaf = false, has_leaf2 = false, has_leaf3 = false;
    unsigned char fp[20], fp2[20], fp3[20];
    int indexed = run_index(&e, &plain, false, false, &has_leaf, fp);
    int indexed2 = run_index(&e, &offered, true, false, &has_leaf2, fp2);
    int indexed3 = run_index(&e, &claimed, true, true, &has_leaf3, fp3);

    /* Offering the text and being told "not known" changes nothing. */
    CHECK(indexed2 == indexed && has_leaf2 == has_leaf && offered.count == plain.count);
    for (size_t i = 0; i < plain.count; i++)
        CHECK(offered.len[i] == plain.len[i] &&
              !memcmp(offered.der[i], plain.der[i], plain.len[i]));
    if (has_leaf)
        CHECK(memcmp(fp, fp2, 20) == 0);
    /* "Known": nothing but the leaf is handed over. */
    CHECK(claimed.count == 0);
    if (indexed3 == 0 && e.certificate != NULL)
        CHECK(claimed.offers >= 1);

    if (loaded == 0) {
        CHECK(leaf != NULL && issuers != NULL);
        CHECK(indexed == 0 && has_leaf && plain.leaf != NULL);
        CHECK(plain.count == (size_t)sk_X509_num(issuers));
        unsigned char *enc = NULL, digest[20];
        int n = i2d_X509(leaf, &enc);
        /* OpenSSL serves (and fingerprints) the re-encoding; the shim hashes the file's DER:
         * the same whenever the file holds canonical DER. */
        if (n > 0 && (size_t)n == plain.leaf_len && memcmp(enc, plain.leaf, (size_t)n) == 0) {
            CHECK(cert_fingerprint(leaf, digest));
            CHECK(memcmp(digest, fp, 20) == 0);
        }
        OPENSSL_free(enc);
    } else {
        CHECK(leaf == NULL && issuers == NULL);
    }
    kept_free(&plain);
    kept_free(&offered);
    kept_free(&claimed);
    X509_free(leaf);
    sk_X509_pop_free(issuers, X509_free);
    ERR_clear_error();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > CERT_FILE_MAX_BYTES + 1)
        return 0;
    fuzz_file_write(&input, data, size);
    one_file(false);
    one_file(true);
    return 0;
}
