/*
 * ptrtable.h - open-addressing hash tables of pointers, for the store's indexes (certificates
 * by fingerprint, served certificates by fingerprint, sources by file name).
 *
 * Linear probing; kept at most half full, so that a probe always ends at an empty slot. Items
 * are removed only by rebuilding the table (ptrtable_filter). The caller hashes, probes and
 * compares: a probe for `hash` visits for (size_t i = hash & t->mask; t->slots[i] != NULL; i = (i +
 * 1) & t->mask) once t->slots is not NULL. No locking: the caller's.
 */
#ifndef OCSPSTAPLE_PTRTABLE_H
#define OCSPSTAPLE_PTRTABLE_H

#include <stdbool.h>
#include <stddef.h>

struct ptrtable {
    void **slots; /* NULL until the first ptrtable_reserve */
    size_t mask, used;
};

/* ptrtable_hash_fn - the hash of an item, as it was put (used when the table grows). */
typedef size_t (*ptrtable_hash_fn)(const void *item);

/* ptrtable_reserve - room for one more item, growing (and rehashing with `hash`) when needed.
 * Returns false, the table unchanged, when out of memory. */
bool ptrtable_reserve(struct ptrtable *t, ptrtable_hash_fn hash);

/* ptrtable_put - add `item` at the first empty slot of its probe (after ptrtable_reserve; a
 * key may be put more than once). */
void ptrtable_put(struct ptrtable *t, void *item, size_t hash);

/* ptrtable_filter - keep only the items for which keep() is true (the table is rebuilt in
 * place, with `hash`). */
void ptrtable_filter(struct ptrtable *t, bool (*keep)(const void *item), ptrtable_hash_fn hash);

/* fingerprint_hash - the hash of a SHA-1 fingerprint for these tables (its first bytes: it is
 * uniform already). */
size_t fingerprint_hash(const unsigned char fp[20]);

#endif
