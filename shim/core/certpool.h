/*
 * certpool.h - the certificates the shim keeps besides responses: issuer and chain certificates
 * from the configuration's files, and the issuers found for served certificates. Each distinct
 * certificate is kept once, as DER, and decoded the first time a check needs it.
 *
 * Why: 10,000 `staples` entries whose fullchain files all repeat the same intermediate hold
 * 10,000 copies of it; kept decoded, they took 9 KB per entry, 20 times the response. Kept
 * here, they take one DER copy and one decoded certificate in all.
 *
 * Certificates are never removed (certificate files are read once per process). All functions
 * are thread-safe; the lock is a leaf (nothing else is locked while it is held).
 */
#ifndef OCSPSTAPLE_CERTPOOL_H
#define OCSPSTAPLE_CERTPOOL_H

#include <stdbool.h>
#include <stddef.h>

#include <openssl/x509.h>

struct pooled_cert;

/* certpool_add - the pooled copy of the certificate with these DER bytes (copied in the first
 * time), or NULL when out of memory. `file` (kept as a pointer: it must live as long as the
 * process, as the configuration's strings do) names where it came from, for messages. */
struct pooled_cert *certpool_add(const unsigned char *der, size_t len, const char *file);

/* certpool_add_x509 - certpool_add of a decoded certificate's DER encoding. */
struct pooled_cert *certpool_add_x509(X509 *cert, const char *file);

/* certpool_x509 - the decoded certificate, decoded now if it never was; NULL when its DER does
 * not decode (logged once, naming the file). Borrowed: valid for the life of the process. */
X509 *certpool_x509(struct pooled_cert *c);

/* certpool_lock, certpool_unlock - for fork handlers only: hold the pool's lock across fork()
 * so that the child never inherits it held. */
void certpool_lock(void);
void certpool_unlock(void);

/* certpool_reset_after_clone - in a process made by a raw clone(): whether the pool's lock was
 * free when the process was made (the pool is intact); a lock held then is made usable again
 * and false is returned. */
bool certpool_reset_after_clone(void);

#endif
