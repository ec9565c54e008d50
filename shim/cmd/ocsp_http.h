/*
 * ocsp_http.h - asking an OCSP responder over HTTP (RFC 6960 appendix A, RFC 5019), with
 * OpenSSL's own HTTP client, over a connection that is kept alive between requests.
 */
#ifndef OCSPSTAPLE_OCSP_HTTP_H
#define OCSPSTAPLE_OCSP_HTTP_H

#include <stdbool.h>
#include <stddef.h>

#include <openssl/ocsp.h>

/* One kept-alive connection to one responder (opaque). */
struct ocsp_conn;

/* Why an exchange failed. */
struct ocsp_failure {
    bool no_answer;  /* nothing came back within the timeout: the responder does not answer */
    int http_status; /* the status of a non-200 answer, else 0 */
    char why[512];   /* one line, for the log */
};

/* ocsp_exchange - ask the responder at `url` (http:// only; the proxy in http_proxy or
 * HTTP_PROXY is used unless no_proxy excludes the host) about `req`, waiting at most `timeout`
 * seconds. By GET (the base64, URL-encoded request appended to the URL's path) when that GET
 * URL, scheme and server included, fits in 255 bytes (RFC 5019), else by POST; by POST again
 * when the responder refuses the GET with 405, 414 or 501. `*conn` is the connection to reuse:
 * NULL opens a new one; on return it holds the connection if it may be reused (the caller
 * passes it to the next exchange with the same responder, or to ocsp_conn_close), else NULL.
 * Returns the DER body of an application/ocsp-response answer (OPENSSL_malloc'ed; the caller
 * frees it) or NULL with `f` filled in. Thread-safe for distinct connections. */
unsigned char *ocsp_exchange(struct ocsp_conn **conn, const char *url, OCSP_REQUEST *req,
                             int timeout, size_t *len, struct ocsp_failure *f);

/* ocsp_conn_close - close and free a connection (NULL is fine). */
void ocsp_conn_close(struct ocsp_conn *conn);

#endif
