/*
 * binding.c - checking the candidate responses for a served certificate, and the table of the
 * results in each snapshot (see binding.h).
 *
 * A certificate's candidates: the entries that name it (by fingerprint), and every other
 * response with a SingleResponse for its serial. The newest validly signed answer wins: when
 * it says "revoked", an older "good" must not be served any more.
 */
#include "binding.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/err.h>

#include "certpool.h"
#include "files.h"
#include "log.h"
#include "ptrtable.h"
#include "sni.h"

#define SERVED_MAX 65536 /* served certificates remembered */

struct served_cert {
    unsigned char fp[20];
    uint64_t serial_hash;
    unsigned char *der; /* the certificate, once some response was about it; else NULL */
    size_t len;
    struct pooled_cert *issuer; /* found at a check, or NULL */
    bool pending;               /* read from an entry's file, to be checked ahead */
};

static struct {
    struct validation_policy policy;
    struct ptrtable served;        /* struct served_cert by fingerprint */
    _Atomic size_t served_pending; /* records made from entries' files, not checked yet */
    _Atomic bool table_full;       /* a binding found no room: the next publish makes more */
    bool served_limit_logged;
} B;

void binding_setup(const struct validation_policy *policy)
{
    B.policy = *policy;
}

size_t binding_table_size(void)
{
    size_t slots = 64;
    while (slots < 2 * (B.served.used + 32))
        slots *= 2;
    return slots;
}

bool binding_table_full(void)
{
    return atomic_load(&B.table_full);
}

void binding_table_reset(void)
{
    atomic_store(&B.table_full, false);
}

size_t binding_pending(void)
{
    return atomic_load(&B.served_pending);
}

/* ---- the table of a snapshot -------------------------------------------------------------- */

struct binding *binding_find(struct snapshot *snap, const unsigned char fp[20])
{
    for (size_t i = fingerprint_hash(fp) & snap->mask, n = 0; n <= snap->mask;
         i = (i + 1) & snap->mask, n++) {
        struct binding *b = atomic_load_explicit(&snap->table[i], memory_order_acquire);
        if (b == NULL)
            return NULL;
        if (memcmp(b->fp, fp, 20) == 0)
            return b;
    }
    return NULL;
}

bool binding_insert(struct snapshot *snap, struct binding *b)
{
    if (4 * (snap->used + 1) > 3 * (snap->mask + 1)) {
        atomic_store(&B.table_full, true);
        return false;
    }
    for (size_t i = fingerprint_hash(b->fp) & snap->mask;; i = (i + 1) & snap->mask) {
        if (atomic_load_explicit(&snap->table[i], memory_order_relaxed) == NULL) {
            atomic_store_explicit(&snap->table[i], b, memory_order_release);
            snap->used++;
            return true;
        }
    }
}

static struct binding *binding_copy(const struct binding *b)
{
    size_t size = sizeof(*b) + b->count * sizeof(b->list[0]);
    struct binding *copy = malloc(size);
    if (copy != NULL)
        memcpy(copy, b, size);
    return copy;
}

/* binding_affected - whether a changed source can change what is bound for b's certificate:
 * it is one of its candidates (its entry names this certificate, or a version of it mentions
 * the serial), or one of its bound versions came from it. */
static bool binding_affected(const struct binding *b, const struct changes *changed)
{
    if (changed->all)
        return true;
    for (size_t i = 0; i < changed->count; i++) {
        const struct source *src = changed->list[i];
        if (src->has_leaf) {
            if (memcmp(src->leaf_fp, b->fp, 20) == 0)
                return true;
            continue; /* a source of another certificate is never bound here */
        }
        for (int h = 0; h < HISTORY; h++)
            if (src->history[h] != NULL && version_mentions(src->history[h], b->cert->serial_hash))
                return true;
        for (size_t k = 0; k < b->count; k++)
            if (b->list[k].source == src)
                return true;
    }
    return false;
}

/* ---- served certificates ---------------------------------------------------------------- */

static size_t served_hash(const void *item)
{
    return fingerprint_hash(((const struct served_cert *)item)->fp);
}

/* served_find - the record of fingerprint `fp`, or NULL. Caller holds bind_lock. */
static struct served_cert *served_find(const unsigned char fp[20])
{
    const struct ptrtable *t = &B.served;
    for (size_t i = fingerprint_hash(fp) & t->mask; t->slots != NULL && t->slots[i] != NULL;
         i = (i + 1) & t->mask) {
        struct served_cert *c = t->slots[i];
        if (memcmp(c->fp, fp, 20) == 0)
            return c;
    }
    return NULL;
}

/* served_get - the record of fingerprint `fp`, made now if there is none; NULL beyond
 * SERVED_MAX (logged once) or when out of memory. *made: whether it was made now. Caller holds
 * bind_lock. */
static struct served_cert *served_get(const unsigned char fp[20], bool *made)
{
    struct served_cert *c = served_find(fp);
    *made = c == NULL;
    if (c != NULL)
        return c;
    if (B.served.used >= SERVED_MAX) {
        if (!B.served_limit_logged)
            log_warning("more than %d distinct certificates served; the ones beyond are checked "
                        "at every handshake",
                        SERVED_MAX);
        B.served_limit_logged = true;
        return NULL;
    }
    if (!ptrtable_reserve(&B.served, served_hash) || (c = calloc(1, sizeof(*c))) == NULL)
        return NULL;
    memcpy(c->fp, fp, 20);
    ptrtable_put(&B.served, c, fingerprint_hash(fp));
    return c;
}

/* served_keep_der - keep the certificate's DER in its record (once some response is about it:
 * a reload may then check a replacement for it without a handshake). Caller holds bind_lock. */
static void served_keep_der(struct served_cert *c, X509 *leaf)
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

/* ---- checking responses for a certificate ------------------------------------------------ */

static int by_this_update_desc(const void *a, const void *b)
{
    const struct bound *x = a, *y = b;
    return (x->this_update < y->this_update) - (x->this_update > y->this_update);
}

/* log_verdict_once - one line per version about what was decided for it. */
static void log_verdict_once(struct version *v, const struct source *src, const char *leaf_desc,
                             const struct response_facts *f)
{
    if (atomic_flag_test_and_set(&v->verdict_logged))
        return;
    if (f->verdict == VERDICT_GOOD)
        log_info("%s: stapling for %s: %s", src->path, leaf_desc, f->reason);
    else if (f->verdict == VERDICT_REVOKED)
        log_error("%s: %s: %s%s", src->path, leaf_desc, f->reason,
                  B.policy.serve_revoked ? "; stapled because serve_revoked is set"
                                         : "; not stapled (serve_revoked is off)");
    else if (f->verdict == VERDICT_NOT_YET_VALID)
        log_warning("%s: not stapled yet for %s: %s", src->path, leaf_desc, f->reason);
    else
        log_error("%s: rejected for %s: %s: %s", src->path, leaf_desc, verdict_name(f->verdict),
                  f->reason);
}

/* host_chain - the certificates the host configured for what it serves on `ssl`. */
static STACK_OF(X509) * host_chain(SSL *ssl)
{
    STACK_OF(X509) *all = sk_X509_new_null(), *chain = NULL, *extra = NULL;
    if (all == NULL || ssl == NULL)
        return all;
    if (SSL_get0_chain_certs(ssl, &chain) && chain != NULL)
        for (int i = 0; i < sk_X509_num(chain); i++)
            sk_X509_push(all, sk_X509_value(chain, i));
    SSL_CTX *ctx = SSL_get_SSL_CTX(ssl);
    if (ctx != NULL && SSL_CTX_get_extra_chain_certs(ctx, &extra) && extra != NULL)
        for (int i = 0; i < sk_X509_num(extra); i++)
            sk_X509_push(all, sk_X509_value(extra, i));
    return all;
}

/* source_issuers - the entry's issuer candidates, decoded (borrowed from the pool; the stack
 * itself is the caller's to free with sk_X509_free). */
static STACK_OF(X509) * source_issuers(const struct source *src)
{
    STACK_OF(X509) *all = sk_X509_new_null();
    for (size_t i = 0; all != NULL && i < src->issuer_count; i++) {
        X509 *x = certpool_x509(src->issuers[i]);
        if (x != NULL)
            sk_X509_push(all, x);
    }
    return all;
}

/* issuer_for - the issuer to check version `basic` against for `c`. At a handshake (ssl set):
 * searched (the entry's candidates, the host's chain, the response's own certificates) and
 * remembered in the pool; ahead of a handshake, the one remembered, else the entry's candidates
 * or the response's certificates. NULL when none. Caller holds bind_lock. */
static X509 *issuer_for(struct served_cert *c, X509 *leaf, const struct source *src, SSL *ssl,
                        STACK_OF(X509) * *chain, OCSP_BASICRESP *basic)
{
    X509 *issuer = ssl == NULL ? certpool_x509(c->issuer) : NULL;
    if (issuer != NULL)
        return issuer;
    STACK_OF(X509) *candidates = source_issuers(src);
    if (*chain == NULL && ssl != NULL)
        *chain = host_chain(ssl);
    issuer = entry_find_issuer(leaf, candidates, *chain, basic);
    sk_X509_free(candidates);
    if (issuer != NULL && c->issuer == NULL)
        c->issuer = certpool_add_x509(issuer, "the issuer found for a served certificate");
    return issuer;
}

/* bind_cert - check every candidate response for `c` (whose certificate is `leaf`) and keep the
 * stapleable ones, newest first. At a handshake `ssl` gives the host's chain; ahead of one
 * (ssl == NULL), returns NULL and sets *deferred when a candidate's issuer is not at hand (the
 * next handshake then binds). Caller holds bind_lock and keeps `snap` alive. */
static struct binding *bind_cert(struct snapshot *snap, SSL *ssl, struct served_cert *c, X509 *leaf,
                                 bool *deferred)
{
    STACK_OF(X509) *chain = NULL;
    size_t cap = 4, n = 0;
    struct bound *found = malloc(cap * sizeof(*found));
    char leaf_desc[300];
    time_t now = time(NULL);
    bool any_candidate = false, newest_revoked = false;

    *deferred = false;
    if (found == NULL)
        return NULL;
    describe_cert(leaf, leaf_desc, sizeof(leaf_desc));
    for (size_t i = 0; i < snap->count; i++) {
        const struct source *src = snap->items[i].source;
        if (src->has_leaf && memcmp(src->leaf_fp, c->fp, 20) != 0)
            continue; /* the entry names another certificate */
        for (int h = 0; h < HISTORY; h++) {
            struct version *v = snap->items[i].history[h];
            struct response_facts facts;
            /* An entry that names this certificate has every version judged (and a wrong
             * file reported); other responses only when they mention the serial at all. */
            if (v == NULL || (!src->has_leaf && !version_mentions(v, c->serial_hash)))
                continue;
            OCSP_BASICRESP *basic = response_parse(v->der, v->len, &facts);
            if (basic == NULL)
                continue; /* it parsed when it was read: out of memory */
            if (!any_candidate && ssl != NULL)
                served_keep_der(c, leaf);
            any_candidate = true;
            X509 *issuer = issuer_for(c, leaf, src, ssl, &chain, basic);
            if (issuer == NULL && ssl == NULL) {
                OCSP_BASICRESP_free(basic);
                *deferred = true;
                goto out;
            }
            response_validate(basic, leaf, issuer, &B.policy, now, &facts);
            OCSP_BASICRESP_free(basic);
            /* Only the newest version's verdict is news; older ones were reported before. */
            if (h == 0 || facts.verdict == VERDICT_GOOD)
                log_verdict_once(v, src, leaf_desc, &facts);
            bool usable = facts.verdict == VERDICT_GOOD || facts.verdict == VERDICT_REVOKED ||
                          facts.verdict == VERDICT_NOT_YET_VALID;
            if (!usable)
                continue;
            atomic_store(&v->usable, true);
            if (n == cap) {
                struct bound *grown = realloc(found, 2 * cap * sizeof(*found));
                if (grown == NULL)
                    continue;
                found = grown;
                cap *= 2;
            }
            found[n].version = v;
            found[n].source = src;
            found[n].this_update = facts.this_update;
            found[n].valid_until = facts.next_update;
            /* A delegated responder's certificate expiring first ends the staple there: strict
             * clients check the responder's validity too. */
            if (facts.responder_not_after != 0 && facts.responder_not_after < facts.next_update)
                found[n].valid_until = facts.responder_not_after;
            found[n].revoked = facts.cert_status == V_OCSP_CERTSTATUS_REVOKED;
            n++;
        }
    }
    qsort(found, n, sizeof(*found), by_this_update_desc);
    newest_revoked = n > 0 && found[0].revoked;
    size_t kept = 0;
    for (size_t i = 0; i < n; i++) {
        /* Newest says revoked: an older "good" must not go out; revoked answers only with
         * serve_revoked. */
        if (found[i].revoked != newest_revoked || (found[i].revoked && !B.policy.serve_revoked))
            continue;
        found[kept++] = found[i];
    }
    n = kept;
    if (!any_candidate)
        log_debug("no configured response mentions %s", leaf_desc);
    else if (n == 0)
        log_warning("nothing stapleable for %s (see the messages above)", leaf_desc);
out:;
    struct binding *b = NULL;
    if (!*deferred && (b = malloc(sizeof(*b) + n * sizeof(b->list[0]))) != NULL) {
        memcpy(b->fp, c->fp, 20);
        b->cert = c;
        b->count = n;
        if (n > 0)
            memcpy(b->list, found, n * sizeof(found[0]));
    }
    free(found);
    sk_X509_free(chain);
    ERR_clear_error();
    return b;
}

/* rebind_ahead - check `c` again in the unpublished `snap`, without a handshake: possible once
 * its certificate is known (its DER was kept at a handshake). */
static void rebind_ahead(struct snapshot *snap, struct served_cert *c)
{
    const unsigned char *p = c->der;
    X509 *leaf = c->der != NULL ? d2i_X509(NULL, &p, (long)c->len) : NULL;
    bool deferred = true;
    if (leaf != NULL)
        c->serial_hash = serial_hash(X509_get0_serialNumber(leaf));
    struct binding *b = leaf != NULL ? bind_cert(snap, NULL, c, leaf, &deferred) : NULL;
    if (b != NULL && !binding_insert(snap, b))
        free(b);
    X509_free(leaf);
    ERR_clear_error();
}

size_t binding_choose(const struct binding *b, const char *servername, unsigned char **der)
{
    time_t now = time(NULL);
    for (size_t i = 0; i < b->count; i++) {
        const struct bound *c = &b->list[i];
        const struct staple_entry *e = c->source->entry;
        if (c->this_update > now + B.policy.skew || now >= c->valid_until)
            continue;
        if (e != NULL && !sni_matches(e->sni, e->sni_count, servername))
            continue;
        unsigned char *copy = OPENSSL_malloc(c->version->len);
        if (copy == NULL)
            return 0;
        memcpy(copy, c->version->der, c->version->len);
        *der = copy;
        return c->version->len;
    }
    return 0;
}

void binding_note_leaf(const unsigned char fp[20], const unsigned char *der, size_t len)
{
    bool made;
    struct served_cert *c = served_get(fp, &made);
    if (c == NULL || !made || (c->der = malloc(len)) == NULL)
        return; /* known already, or checked at its first handshake instead */
    memcpy(c->der, der, len);
    c->len = len;
    c->pending = true;
    B.served_pending++;
}

void binding_carry(struct snapshot *snap, struct snapshot *old, const struct changes *changed,
                   bool ahead)
{
    for (size_t i = 0; old != NULL && i <= old->mask; i++) {
        struct binding *b = atomic_load_explicit(&old->table[i], memory_order_acquire);
        if (b == NULL)
            continue;
        if (binding_affected(b, changed)) {
            rebind_ahead(snap, b->cert);
            continue;
        }
        struct binding *copy = binding_copy(b);
        if (copy != NULL && !binding_insert(snap, copy))
            free(copy);
    }
    for (size_t i = 0; ahead && B.served_pending > 0 && i <= B.served.mask; i++) {
        struct served_cert *c = B.served.slots[i];
        if (c == NULL || !c->pending)
            continue;
        c->pending = false;
        B.served_pending--;
        if (binding_find(snap, c->fp) == NULL)
            rebind_ahead(snap, c);
    }
}

struct binding *binding_for_handshake(struct snapshot *snap, SSL *ssl, X509 *leaf,
                                      const unsigned char fp[20], bool *transient)
{
    bool made, deferred;
    struct served_cert *c = served_get(fp, &made), passing = {.issuer = NULL};
    if (c == NULL) { /* not remembered: checked for this handshake only */
        memcpy(passing.fp, fp, 20);
        c = &passing;
    }
    c->serial_hash = serial_hash(X509_get0_serialNumber(leaf));
    struct binding *b = bind_cert(snap, ssl, c, leaf, &deferred);
    free(passing.der);
    *transient = b != NULL && (c == &passing || !binding_insert(snap, b));
    if (b != NULL && c == &passing)
        b->cert = NULL; /* never inserted, never carried */
    return b;
}
