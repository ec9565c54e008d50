/*
 * cert_facts.h - what a check report says of a certificate: subject, serial, SHA-256,
 * notAfter, OCSP Must-Staple (TLS Feature status_request), the OCSP responder its AIA names.
 */
#ifndef OCSPSTAPLE_CERT_FACTS_H
#define OCSPSTAPLE_CERT_FACTS_H

#include <openssl/x509.h>

#include "report.h"

/* cert_facts_describe - fill c's subject, serial, sha256 (hex), not_after, must_staple and ocsp_url
 * (strdup'ed, or NULL) from `cert`; `sha256` gets the raw digest. */
void cert_facts_describe(X509 *cert, struct checked_certificate *c, unsigned char sha256[32]);

#endif
