/*
 * ocsp_http.h - asking an OCSP responder, with OpenSSL's own HTTP client.
 */
#ifndef OCSPSTAPLE_OCSP_HTTP_H
#define OCSPSTAPLE_OCSP_HTTP_H

#include <stddef.h>

#include <openssl/ocsp.h>

/* ocsp_query - POST `req` to the responder at `url` (http:// only; the proxy in http_proxy or
 * HTTP_PROXY is used unless no_proxy excludes the host) and wait at most `timeout` seconds.
 * Returns the DER body of an application/ocsp-response answer (OPENSSL_malloc'ed; the caller
 * frees it) or NULL with the reason in `why` (refused, timed out, HTTP error, wrong content
 * type, too large). */
unsigned char *ocsp_query(const char *url, OCSP_REQUEST *req, int timeout, size_t *len, char *why,
                          size_t whylen);

#endif
