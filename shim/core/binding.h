/*
 * binding.h - which responses may be stapled for a certificate the host serves: the checks
 * (through validate.c), their results per snapshot, and what is remembered of each served
 * certificate to check a replaced response for it without waiting for a handshake. Part of
 * the store (store.c publishes snapshots and runs the handshake path).
 *
 *   snapshot what the handshakes see: every source with its versions as of one moment, plus a
 *            table of bindings. Reference-counted by store.c.
 *   binding  for one served certificate (by SHA-1 fingerprint): the versions that passed every
 *            check for it, newest first, with their time windows. Made at the certificate's
 *            first handshake (the only place that has the certificate and the host's chain),
 *            or ahead of it for the certificates of a small configuration; a new snapshot takes
 *            over every binding that no changed file can affect and checks the others again.
 *   served   a certificate this process has served, or read from a small configuration: its
 *            fingerprint and serial hash, its DER once some response is about it, the issuer
 *            found for it (pooled). Kept for the life of the process, at most SERVED_MAX.
 *
 * Locking: every function that makes or checks a binding, or touches the served certificates,
 * is called with the store's bind_lock held; binding_find and binding_choose only need the
 * snapshot to be alive (the table only gains entries while it is published).
 */
#ifndef OCSPSTAPLE_BINDING_H
#define OCSPSTAPLE_BINDING_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#include <openssl/ssl.h>

#include "sources.h"
#include "validate.h"

struct snap_item {
    const struct source *source;
    struct version *history[HISTORY];
};

struct snapshot {
    _Atomic long refs; /* one for being current, one per handshake using it */
    size_t count;
    struct snap_item *items;
    size_t mask, used;
    _Atomic(struct binding *) *table;
};

struct bound {
    struct version *version;
    const struct source *source;
    time_t this_update, valid_until; /* valid_until: nextUpdate, or the responder's notAfter */
    bool revoked;
};

struct served_cert;

struct binding {
    unsigned char fp[20];
    struct served_cert *cert;
    size_t count;
    struct bound list[];
};

/* binding_setup - the policy every check applies (copied). Once, before any check. */
void binding_setup(const struct validation_policy *policy);

/* binding_table_size - slots for a new snapshot's table: room for the binding of every served
 * certificate, and as many more. */
size_t binding_table_size(void);

/* binding_find - the binding for fingerprint `fp` in `snap`, or NULL. Lock-free. */
struct binding *binding_find(struct snapshot *snap, const unsigned char fp[20]);

/* binding_insert - add `b` to `snap` unless its table is three quarters full (then
 * binding_table_full() says so until the next binding_table_reset()). Returns false when not
 * inserted (the caller keeps `b`). */
bool binding_insert(struct snapshot *snap, struct binding *b);
bool binding_table_full(void);
void binding_table_reset(void);

/* binding_carry - put into `snap` the bindings of `old` (may be NULL) that no source of
 * `changed` can affect (copies); check the others again now, as far as possible without a
 * handshake. With `ahead`, also check the certificates read from a small configuration that
 * were not checked yet (binding_note_leaf). */
void binding_carry(struct snapshot *snap, struct snapshot *old, const struct changes *changed,
                   bool ahead);

/* binding_pending - how many certificates read from a small configuration wait for their
 * check (any thread may ask). */
size_t binding_pending(void);

/* binding_note_leaf - an entry's certificate read from its file (DER borrowed), to be checked
 * at the next binding_carry with `ahead`. */
void binding_note_leaf(const unsigned char fp[20], const unsigned char *der, size_t len);

/* binding_for_handshake - the binding of `leaf` (fingerprint `fp`) made now, at its handshake
 * on `ssl`, and inserted into `snap`; or, when there is no room to remember it, made for this
 * handshake only: then *transient is true and the caller frees it. NULL when out of memory. */
struct binding *binding_for_handshake(struct snapshot *snap, SSL *ssl, X509 *leaf,
                                      const unsigned char fp[20], bool *transient);

/* binding_choose - the first bound response that fits this handshake (client SNI
 * `servername`, may be NULL, and the time now), copied with OPENSSL_malloc into *der. Returns
 * its length, or 0 (then *der is untouched). */
size_t binding_choose(const struct binding *b, const char *servername, unsigned char **der);

#endif
