/*
 * version.h - one content of a response file: its DER bytes, the nextUpdate of its first
 * SingleResponse and a hash of the serial number of each SingleResponse. Immutable once made,
 * reference-counted, shared by every snapshot that lists it. Not kept decoded (a decoded
 * response is four times its DER): it is decoded again for the rare check.
 */
#ifndef OCSPSTAPLE_VERSION_H
#define OCSPSTAPLE_VERSION_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "validate.h"

struct version {
    _Atomic long refs;
    unsigned char *der;
    size_t len;
    time_t next_update; /* of its first SingleResponse, 0 when absent: for expiry messages */
    atomic_flag verdict_logged; /* a refusal (or revocation) of it was logged */
    atomic_flag good_logged;    /* that it is good for some certificate was logged */
    _Atomic bool usable;        /* passed every check for some certificate (set when bound) */
    bool expiry_logged;         /* the store's reload_lock */
    size_t serial_count;
    uint64_t serials[]; /* serial_hash() of each SingleResponse's certificate */
};

/* version_new - take ownership of `der` (OPENSSL_malloc'ed) and check that it parses. Returns
 * the version with one reference, or NULL (`der` freed, the reason in *facts) when it is not a
 * stapleable kind of response at all. Thread-safe. */
struct version *version_new(unsigned char *der, size_t len, struct response_facts *facts);

/* version_ref, version_unref - reference counting, from any thread; NULL is ignored. The last
 * unref frees. */
void version_ref(struct version *v);
void version_unref(struct version *v);

/* version_mentions - whether some SingleResponse of `v` may be about the certificate with
 * this serial_hash (a collision only costs a check that then fails). Thread-safe. */
bool version_mentions(const struct version *v, uint64_t serial);

#endif
