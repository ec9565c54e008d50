/*
 * served.h - the certificates this process has served, or read from a small configuration:
 * what is remembered of each to check a replaced response for it without waiting for a
 * handshake. Kept for the life of the process, at most SERVED_MAX.
 *
 * Locking: every function is called with the store's bind_lock held, except served_pending,
 * which any thread may ask.
 */
#ifndef OCSPSTAPLE_SERVED_H
#define OCSPSTAPLE_SERVED_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <openssl/x509.h>

#include "certpool.h"

struct served_cert {
    unsigned char fp[20];
    uint64_t serial_hash;
    unsigned char *der; /* the certificate, once some response was about it; else NULL */
    size_t len;
    struct pooled_cert *issuer; /* found at a check, or NULL */
    bool pending;               /* read from an entry's file, to be checked ahead */
    bool unconfigured_logged;   /* served with nothing configured for it: said once */
};

/* served_find - the record of fingerprint `fp`, or NULL. */
struct served_cert *served_find(const unsigned char fp[20]);

/* served_get - the record of fingerprint `fp`, made now if there is none; NULL beyond
 * SERVED_MAX (logged once) or when out of memory. *made: whether it was made now. */
struct served_cert *served_get(const unsigned char fp[20], bool *made);

/* served_keep_der - keep the certificate's DER in its record (once some response is about it:
 * a reload may then check a replacement for it without a handshake). */
void served_keep_der(struct served_cert *c, X509 *leaf);

/* served_note_leaf - an entry's certificate read from its file (DER copied), to be checked
 * ahead of its first handshake (see served_take_pending). Nothing when it is known already. */
void served_note_leaf(const unsigned char fp[20], const unsigned char *der, size_t len);

/* served_take_pending - the next record noted by served_note_leaf and not checked yet, now
 * no longer pending; NULL when there is none. */
struct served_cert *served_take_pending(void);

/* served_pending - how many records wait for their check (any thread may ask). */
size_t served_pending(void);

/* served_count - how many records there are. */
size_t served_count(void);

#endif
