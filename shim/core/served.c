/*
 * served.c - the served certificates, by fingerprint (see served.h).
 */
#include "served.h"

#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "ptrtable.h"

#define SERVED_MAX 65536 /* served certificates remembered */

static struct {
    struct ptrtable table;  /* struct served_cert by fingerprint */
    _Atomic size_t pending; /* records made from entries' files, not checked yet */
    size_t pending_cursor;  /* where served_take_pending looks next */
    bool limit_logged;
} SV;

static size_t served_hash(const void *item)
{
    return fingerprint_hash(((const struct served_cert *)item)->fp);
}

struct served_cert *served_find(const unsigned char fp[20])
{
    const struct ptrtable *t = &SV.table;
    for (size_t i = fingerprint_hash(fp) & t->mask; t->slots != NULL && t->slots[i] != NULL;
         i = (i + 1) & t->mask) {
        struct served_cert *c = t->slots[i];
        if (memcmp(c->fp, fp, 20) == 0)
            return c;
    }
    return NULL;
}

struct served_cert *served_get(const unsigned char fp[20], bool *made)
{
    struct served_cert *c = served_find(fp);
    *made = c == NULL;
    if (c != NULL)
        return c;
    if (SV.table.used >= SERVED_MAX) {
        if (!SV.limit_logged)
            log_warning("more than %d distinct certificates served; the ones beyond are checked "
                        "at every handshake",
                        SERVED_MAX);
        SV.limit_logged = true;
        return NULL;
    }
    if (!ptrtable_reserve(&SV.table, served_hash) || (c = calloc(1, sizeof(*c))) == NULL)
        return NULL;
    memcpy(c->fp, fp, 20);
    ptrtable_put(&SV.table, c, fingerprint_hash(fp));
    return c;
}

void served_keep_der(struct served_cert *c, X509 *leaf)
{
    unsigned char *der = NULL;
    int len;
    if (c->der != NULL || (len = i2d_X509(leaf, &der)) <= 0)
        return;
    c->der = malloc((size_t)len);
    if (c->der != NULL) {
        memcpy(c->der, der, (size_t)len);
        c->len = (size_t)len;
    }
    OPENSSL_free(der);
}

void served_note_leaf(const unsigned char fp[20], const unsigned char *der, size_t len)
{
    bool made;
    struct served_cert *c = served_get(fp, &made);
    if (c == NULL || !made || (c->der = malloc(len)) == NULL)
        return; /* known already, or checked at its first handshake instead */
    memcpy(c->der, der, len);
    c->len = len;
    c->pending = true;
    SV.pending++;
}

struct served_cert *served_take_pending(void)
{
    /* The table only grows (a rehash moves records): a full sweep from the start each time the
     * cursor runs out finds every pending record. */
    for (size_t scanned = 0; SV.pending > 0 && scanned <= SV.table.mask; scanned++) {
        if (SV.pending_cursor > SV.table.mask)
            SV.pending_cursor = 0;
        struct served_cert *c = SV.table.slots[SV.pending_cursor++];
        if (c != NULL && c->pending) {
            c->pending = false;
            SV.pending--;
            return c;
        }
    }
    return NULL;
}

size_t served_pending(void)
{
    return atomic_load(&SV.pending);
}

size_t served_count(void)
{
    return SV.table.used;
}
