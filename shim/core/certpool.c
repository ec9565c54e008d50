/*
 * certpool.c - distinct certificates, kept once as DER and decoded on first use (see
 * certpool.h). A table keyed by the SHA-1 of the DER, under one mutex.
 */
#include "certpool.h"

#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/evp.h>

#include "lock_reset.h"
#include "log.h"
#include "ptrtable.h"
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
    struct ptrtable table; /* by fingerprint */
} P = {.lock = PTHREAD_MUTEX_INITIALIZER};

void certpool_lock(void)
{
    pthread_mutex_lock(&P.lock);
}

void certpool_unlock(void)
{
    pthread_mutex_unlock(&P.lock);
}

bool certpool_reset_after_clone(void)
{
    return lock_reset_after_clone(&P.lock);
}

static size_t pooled_hash(const void *item)
{
    return fingerprint_hash(((const struct pooled_cert *)item)->fp);
}

/* find - the pooled certificate with fingerprint `fp`, or NULL. Caller holds the lock. */
static struct pooled_cert *find(const unsigned char fp[20])
{
    const struct ptrtable *t = &P.table;
    for (size_t i = fingerprint_hash(fp) & t->mask; t->slots != NULL && t->slots[i] != NULL;
         i = (i + 1) & t->mask) {
        struct pooled_cert *c = t->slots[i];
        if (memcmp(c->fp, fp, 20) == 0)
            return c;
    }
    return NULL;
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
    if ((c = find(fp)) != NULL || !ptrtable_reserve(&P.table, pooled_hash))
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
    ptrtable_put(&P.table, c, fingerprint_hash(fp));
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
