/*
 * tls_probe.h - one TLS handshake as a client asking for certificate status (the
 * status_request extension), to see what a running server really serves: its certificate, its
 * chain and its staple. The chain is not verified here: what is judged is the staple, by
 * check_connect.c with the shim's own validation code.
 */
#ifndef OCSPSTAPLE_TLS_PROBE_H
#define OCSPSTAPLE_TLS_PROBE_H

#include <stddef.h>

#include <openssl/x509.h>

#include "net.h"

/* What the server sent. Owned by the struct until tls_probe_free(). */
struct tls_probe {
    X509 *leaf;             /* the certificate served */
    STACK_OF(X509) * chain; /* everything the server sent, leaf first */
    unsigned char *staple;  /* the OCSP response stapled (OPENSSL_malloc'ed), or NULL */
    size_t staple_len;
    char protocol[16]; /* "TLSv1.3", ... */
};

/* tls_probe_run - a TLS handshake on connected socket `fd` (non-blocking), with SNI
 * `servername` (NULL: none), finished before `deadline`. Returns 0 with *out filled, or -1
 * with the reason in `why` (nothing to free then). Closes nothing. */
int tls_probe_run(int fd, const char *servername, deadline_t deadline, struct tls_probe *out,
                  char *why, size_t whylen);

/* tls_probe_free - release what *p holds; the struct is zeroed. */
void tls_probe_free(struct tls_probe *p);

#endif
