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
#include "hash.h"
#include "log.h"
#include "served.h"
#include "sni.h"

static struct validation_policy policy;

void binding_setup(const struct validation_policy *p)
{
    policy = *p;
}

size_t binding_table_size(void)
{
    size_t slots = 64;
    while (slots < 2 * (served_count() + 32))
        slots *= 2;
    return slots;
}

size_t binding_pending(void)
{
    return served_pending();
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
 * it is one of its candidates (its entry names this certificate, now or before a renewal, or
 * it names none and a version of it mentions the serial), or one of its bound versions came
 * from it. */
static bool binding_affected(const struct binding *b, const struct changes *changed)
{
    if (changed->all)
        return true;
    for (size_t i = 0; i < changed->count; i++) {
        const struct source *src = changed->list[i];
        bool former;
        if (src->has_leaf) {
            if (source_names(src, b->fp, &former))
                return true;
            continue; /* a source of other certificates is never bound here */
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

/* ---- checking responses for a certificate ------------------------------------------------ */

/* by_this_update_desc - newest first; of two answers from the same second, "revoked" first:
 * time stamps have a one-second grain, and a revocation must never lose to a "good" it cannot
 * be told apart from by time. */
static int by_this_update_desc(const void *a, const void *b)
{
    const struct bound *x = a, *y = b;
    if (x->this_update != y->this_update)
        return (x->this_update < y->this_update) - (x->this_update > y->this_update);
    return (int)y->revoked - (int)x->revoked;
}

/* log_verdict_once - one line per version about what was decided for it: that it is good
 * once (at a handshake "stapling for", ahead of any "good for": a process that never serves
 * must not seem to staple), a refusal once. */
static void log_verdict_once(struct version *v, const struct source *src, const char *leaf_desc,
                             const struct response_facts *f, bool at_handshake)
{
    if (f->verdict == VERDICT_GOOD) {
        if (!atomic_flag_test_and_set(&v->good_logged))
            log_info("%s: %s %s: %s", src->path, at_handshake ? "stapling for" : "good for",
                     leaf_desc, f->reason);
        return;
    }
    if (atomic_flag_test_and_set(&v->verdict_logged))
        return;
    if (f->verdict == VERDICT_REVOKED)
        log_error("%s: %s: %s%s", src->path, leaf_desc, f->reason,
                  policy.serve_revoked ? "; stapled because serve_revoked is set"
                                       : "; not stapled (serve_revoked is off)");
    else if (f->verdict == VERDICT_NOT_YET_VALID)
        log_warning("%s: not stapled yet for %s: %s", src->path, leaf_desc, f->reason);
    else
        log_error("%s: rejected for %s: %s: %s", src->path, leaf_desc, verdict_name(f->verdict),
                  f->reason);
}

/* what_entries_name - into `out`, what the first entry of `snap` naming another certificate
 * with the subject of `leaf` names (known when its certificate was read from a small
 * configuration); else how many entries name other certificates. */
static void what_entries_name(struct snapshot *snap, X509 *leaf, char *out, size_t size)
{
    size_t others = 0;
    out[0] = '\0';
    for (size_t i = 0; i < snap->count; i++) {
        const struct source *src = snap->items[i].source;
        if (!src->has_leaf)
            continue;
        others++;
        const struct served_cert *e = out[0] == '\0' ? served_find(src->leaf_fp) : NULL;
        const unsigned char *p = e != NULL ? e->der : NULL;
        X509 *x = p != NULL ? d2i_X509(NULL, &p, (long)e->len) : NULL;
        if (x != NULL &&
            X509_NAME_cmp(X509_get_subject_name(x), X509_get_subject_name(leaf)) == 0) {
            char desc[300];
            snprintf(out, size, "; the entry of %s (line %d) names %s in %s", src->path,
                     src->entry->line, describe_cert(x, desc, sizeof(desc)),
                     src->entry->certificate);
        }
        X509_free(x);
    }
    if (out[0] == '\0')
        snprintf(out, size, "; the configuration names %zu other certificate(s)", others);
    ERR_clear_error();
}

/* log_unconfigured_once - a certificate served at a handshake that no entry names and no
 * response mentions: a warning, once per certificate, with what the configuration has instead
 * (an old certificate of the same subject says that a renewal went unnoticed). */
static void log_unconfigured_once(struct snapshot *snap, struct served_cert *c, X509 *leaf,
                                  const char *leaf_desc)
{
    char instead[700];
    if (c->unconfigured_logged)
        return;
    c->unconfigured_logged = true;
    what_entries_name(snap, leaf, instead, sizeof(instead));
    log_warning("nothing to staple for the served certificate %s: no staples entry names it and "
                "no response mentions it%s",
                leaf_desc, instead);
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
        bool former = false, names_it = source_names(src, c->fp, &former) && !former;
        if (src->has_leaf && !names_it && !former)
            continue; /* the entry names another certificate */
        for (int h = 0; h < HISTORY; h++) {
            struct version *v = snap->items[i].history[h];
            struct response_facts facts;
            /* An entry that names this certificate has every version judged (and a wrong
             * file reported); other responses only when they mention the serial at all: those
             * of entries without a certificate, and of an entry for the certificate it named
             * before a renewal (still served until the server reloads). */
            if (v == NULL || (!names_it && !version_mentions(v, c->serial_hash)))
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
            response_validate(basic, leaf, issuer, &policy, now, &facts);
            OCSP_BASICRESP_free(basic);
            /* Only the newest version's verdict is news; older ones were reported before. */
            if ((h == 0 && (names_it || !src->has_leaf)) || facts.verdict == VERDICT_GOOD)
                log_verdict_once(v, src, leaf_desc, &facts, ssl != NULL);
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
        if (found[i].revoked != newest_revoked || (found[i].revoked && !policy.serve_revoked))
            continue;
        found[kept++] = found[i];
    }
    n = kept;
    if (!any_candidate && ssl != NULL)
        log_unconfigured_once(snap, c, leaf, leaf_desc);
    else if (!any_candidate)
        log_debug("no configured response mentions %s", leaf_desc);
    else if (n == 0)
        log_warning("nothing stapleable for %s (see the messages above)", leaf_desc);
out:;
    struct binding *b = NULL;
    if (!*deferred && (b = malloc(sizeof(*b) + n * sizeof(b->list[0]))) != NULL) {
        memcpy(b->fp, c->fp, 20);
        b->cert = c;
        b->skew = policy.skew;
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
    if (b != NULL && !snapshot_insert(snap, b))
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
        if (c->this_update > now + b->skew || now >= c->valid_until)
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

void binding_carry(struct snapshot *snap, struct snapshot *old, const struct changes *changed,
                   bool ahead, const _Atomic bool *stop)
{
    for (size_t i = 0; old != NULL && i <= old->mask; i++) {
        struct binding *b = atomic_load_explicit(&old->table[i], memory_order_acquire);
        if (b == NULL)
            continue;
        if (binding_affected(b, changed)) {
            if (!atomic_load(stop))
                rebind_ahead(snap, b->cert); /* else checked at its next handshake */
            continue;
        }
        struct binding *copy = binding_copy(b);
        if (copy != NULL && !snapshot_insert(snap, copy))
            free(copy);
    }
    for (struct served_cert *c; ahead && !atomic_load(stop) && (c = served_take_pending()) != NULL;)
        if (snapshot_find(snap, c->fp) == NULL)
            rebind_ahead(snap, c);
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
    *transient = b != NULL && (c == &passing || !snapshot_insert(snap, b));
    if (b != NULL && c == &passing)
        b->cert = NULL; /* never inserted, never carried */
    return b;
}
