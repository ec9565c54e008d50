/*
 * snapshot.h - what the handshakes see: every source with its versions as of one moment, plus
 * an open-addressing table of bindings (binding.h) by certificate fingerprint. Immutable but
 * for the table, which only gains entries while the snapshot is published (the store's
 * bind_lock serialises the writers; readers need no lock). Reference-counted: one reference
 * for being current, one per handshake using it; the last release frees it, with the bindings
 * in its table and its references to versions.
 */
#ifndef OCSPSTAPLE_SNAPSHOT_H
#define OCSPSTAPLE_SNAPSHOT_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#include "source.h"
#include "version.h"

struct served_cert; /* served.h */

/* One response bound to a certificate: it passed every check for it. */
struct bound {
    struct version *version;
    const struct source *source;
    time_t this_update, valid_until; /* valid_until: nextUpdate, or the responder's notAfter */
    bool revoked;
};

/* binding - for one served certificate (by SHA-1 fingerprint): the versions that passed every
 * check for it, newest first (made by binding.c). */
struct binding {
    unsigned char fp[20];
    struct served_cert *cert; /* NULL for a binding made for one handshake only */
    long skew;                /* the policy's, when it was made */
    size_t count;
    struct bound list[];
};

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

/* snapshot_build - the sources as they are now (those with a version), each version
 * referenced, with an empty table of `slots` slots (a power of two) and no reference yet.
 * NULL when out of memory. Caller holds reload_lock. */
struct snapshot *snapshot_build(size_t slots);

/* snapshot_release - drop a reference; the last one frees the snapshot. Thread-safe. */
void snapshot_release(struct snapshot *snap);

/* snapshot_find - the binding for fingerprint `fp` in `snap`, or NULL. Lock-free. */
struct binding *snapshot_find(struct snapshot *snap, const unsigned char fp[20]);

/* snapshot_insert - add `b` (keyed by its fingerprint) unless the table is three quarters full
 * (then snapshot_table_full() says so until the next snapshot_table_reset()). Returns false
 * when not inserted (the caller keeps `b`). Caller holds bind_lock. */
bool snapshot_insert(struct snapshot *snap, struct binding *b);
bool snapshot_table_full(void);
void snapshot_table_reset(void);

#endif
