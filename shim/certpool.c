/*
 * certpool.c - distinct certificates, kept once as DER and decoded on first use (see
 * certpool.h). An open-addressing table keyed by the SHA-1 of the DER, under one mutex.
 */
#include "certpool.h"

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/evp.h>

#include "log.h"
#include "validate.h"

struct pooled_cert {
    unsigned char fp[20];
    unsigned char *der;
    size_t len;
    const char *file;
    X509 *decoded;
    bool decode_failed;
};

static struct {
    pthread_mutex_t lock;
    struct pooled_cert **slots;
    size_t mask, used;
} P = {.lock = PTHREAD_MUTEX_INITIALIZER};

void certpool_lock(void)
{
    pthread_mutex_lock(&P.lock);
}

void certpool_unlock(void)
{
    pthread_mutex_unlock(&P.lock);
}

static size_t slot_of(const unsigned char fp[20], size_t mask)
{
    uint64_t h;
    memcpy(&h, fp, sizeof(h));
    return (size_t)h & mask;
}

/* find_slot - the slot holding `fp`, or the empty one where it belongs. Caller holds the lock;
 * the table is never full (grow keeps it at most half used). */
static size_t find_slot(const unsigned char fp[20])
{
    size_t i = slot_of(fp, P.mask);
    while (P.slots[i] != NULL && memcmp(P.slots[i]->fp, fp, 20) != 0)
        i = (i + 1) & P.mask;
    return i;
}

/* grow - double the table (or make the first one). Caller holds the lock. */
static bool grow(void)
{
    size_t old_size = P.slots ? P.mask + 1 : 0, size = old_size ? 2 * old_size : 16;
    struct pooled_cert **old = P.slots;
    P.slots = calloc(size, sizeof(struct pooled_cert *));
    if (P.slots == NULL) {
        P.slots = old;
        return false;
    }
    P.mask = size - 1;
    for (size_t i = 0; i < old_size; i++)
        if (old[i] != NULL)
            P.slots[find_slot(old[i]->fp)] = old[i];
    free(old);
    return true;
}

struct pooled_cert *certpool_add(const unsigned char *der, size_t len, const char *file)
{
    unsigned char fp[20];
    unsigned int n = 0;
    struct pooled_cert *c = NULL;

    if (EVP_Digest(der, len, fp, &n, EVP_sha1(), NULL) != 1 || n != 20) {
        ERR_clear_error();
        return NULL;
    }
    pthread_mutex_lock(&P.lock);
    if ((P.slots == NULL || 2 * (P.used + 1) > P.mask + 1) && !grow())
        goto out;
    size_t i = find_slot(fp);
    if ((c = P.slots[i]) != NULL)
        goto out;
    if ((c = calloc(1, sizeof(*c))) == NULL || (c->der = malloc(len)) == NULL) {
        free(c);
        c = NULL;
        goto out;
    }
    memcpy(c->fp, fp, 20);
    memcpy(c->der, der, len);
    c->len = len;
    c->file = file;
    P.slots[i] = c;
    P.used++;
out:
    pthread_mutex_unlock(&P.lock);
    return c;
}

struct pooled_cert *certpool_add_x509(X509 *cert, const char *file)
{
    unsigned char *der = NULL;
    int len = i2d_X509(cert, &der);
    struct pooled_cert *c = len > 0 ? certpool_add(der, (size_t)len, file) : NULL;
    OPENSSL_free(der);
    ERR_clear_error();
    return c;
}

X509 *certpool_x509(struct pooled_cert *c)
{
    char err[256];
    X509 *x = NULL;

    if (c == NULL)
        return NULL;
    pthread_mutex_lock(&P.lock);
    if (c->decoded == NULL && !c->decode_failed) {
        const unsigned char *p = c->der;
        c->decoded = d2i_X509(NULL, &p, (long)c->len);
        if (c->decoded == NULL || p != c->der + c->len) {
            X509_free(c->decoded);
            c->decoded = NULL;
            c->decode_failed = true;
            log_error("%s: a certificate in it cannot be decoded (%s); it is not used",
                      c->file ? c->file : "(unknown file)", openssl_errors(err, sizeof(err)));
        }
    }
    x = c->decoded;
    pthread_mutex_unlock(&P.lock);
    ERR_clear_error();
    return x;
}
