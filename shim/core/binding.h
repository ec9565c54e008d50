/*
 * binding.h - which responses may be stapled for a certificate the host serves: the checks
 * (through validate.c) and their results, the bindings, put into each snapshot's table. Part
 * of the store (store.c publishes snapshots and runs the handshake path).
 *
 * A binding is made at the certificate's first handshake (the only place that has the
 * certificate and the host's chain), or ahead of it for the certificates of a small
 * configuration; a new snapshot takes over every binding that no changed file can affect and
 * checks the others again (served.h keeps what that needs of each certificate).
 *
 * Locking: every function that makes or checks a binding is called with the store's bind_lock
 * held; binding_choose only needs the snapshot to be alive.
 */
#ifndef OCSPSTAPLE_BINDING_H
#define OCSPSTAPLE_BINDING_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>

#include <openssl/ssl.h>

#include "snapshot.h"
#include "source.h"
#include "validate.h"

/* binding_setup - the policy every check applies (copied). Once, before any check. */
void binding_setup(const struct validation_policy *policy);

/* binding_table_size - slots for a new snapshot's table: room for the binding of every served
 * certificate, and as many more. */
size_t binding_table_size(void);

/* binding_carry - put into `snap` the bindings of `old` (may be NULL) that no source of
 * `changed` can affect (copies); check the others again now, as far as possible without a
 * handshake. With `ahead`, also check the certificates read from a small configuration that
 * were not checked yet (served_note_leaf). Once *stop is set (the process is exiting), no
 * more checks are made: what is left is checked at its next handshake, if any. */
void binding_carry(struct snapshot *snap, struct snapshot *old, const struct changes *changed,
                   bool ahead, const _Atomic bool *stop);

/* binding_pending - how many certificates read from a small configuration wait for their
 * check (any thread may ask). */
size_t binding_pending(void);

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
