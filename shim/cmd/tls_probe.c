/*
 * tls_probe.c - a client handshake asking for certificate status (see tls_probe.h).
 *
 * OpenSSL's own client: a socket BIO on the caller's non-blocking descriptor, SSL_connect
 * retried on WANT_READ/WANT_WRITE with poll() bounded by the deadline. Peer verification is
 * off on purpose: a probe must report the staple of a server whose chain a client would
 * refuse, too (the chain is reported, not judged).
 */
#include "tls_probe.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/ssl.h>

#include "validate.h"

/* handshake - SSL_connect until done, failed, or past the deadline. */
static int handshake(SSL *ssl, int fd, deadline_t deadline, char *why, size_t whylen)
{
    char err[300], wait_why[100];

    for (;;) {
        ERR_clear_error();
        errno = 0;
        int rc = SSL_connect(ssl);
        if (rc == 1)
            return 0;
        int e = SSL_get_error(ssl, rc);
        short events = e == SSL_ERROR_WANT_READ ? POLLIN : e == SSL_ERROR_WANT_WRITE ? POLLOUT : 0;
        if (events == 0) {
            int sys = errno;
            unsigned long code = ERR_peek_error();
            if (e == SSL_ERROR_ZERO_RETURN || (e == SSL_ERROR_SYSCALL && code == 0 && sys == 0) ||
                ERR_GET_REASON(code) == SSL_R_UNEXPECTED_EOF_WHILE_READING)
                snprintf(err, sizeof(err), "the server closed the connection");
            else if (e == SSL_ERROR_SYSCALL && code == 0)
                snprintf(err, sizeof(err), "%s", strerror(sys));
            else
                openssl_errors(err, sizeof(err));
            snprintf(why, whylen, "TLS handshake failed: %s", err);
            return -1;
        }
        if (net_wait(fd, events, deadline, wait_why, sizeof(wait_why)) != 0) {
            snprintf(why, whylen, "TLS handshake: %s", wait_why);
            return -1;
        }
    }
}

int tls_probe_run(int fd, const char *servername, deadline_t deadline, struct tls_probe *out,
                  char *why, size_t whylen)
{
    SSL_CTX *ctx = NULL;
    SSL *ssl = NULL;
    int ret = -1;
    const unsigned char *resp = NULL;
    char err[300];

    memset(out, 0, sizeof(*out));
    ERR_clear_error();
    if ((ctx = SSL_CTX_new(TLS_client_method())) == NULL || (ssl = SSL_new(ctx)) == NULL ||
        SSL_set_fd(ssl, fd) != 1 || SSL_set_tlsext_status_type(ssl, TLSEXT_STATUSTYPE_ocsp) != 1 ||
        (servername != NULL && SSL_set_tlsext_host_name(ssl, servername) != 1)) {
        snprintf(why, whylen, "cannot set up the TLS client: %s", openssl_errors(err, sizeof(err)));
        goto done;
    }
    SSL_set_verify(ssl, SSL_VERIFY_NONE, NULL);
    if (handshake(ssl, fd, deadline, why, whylen) != 0)
        goto done;
    out->leaf = SSL_get1_peer_certificate(ssl);
    STACK_OF(X509) *chain = SSL_get_peer_cert_chain(ssl);
    out->chain = chain != NULL ? X509_chain_up_ref(chain) : sk_X509_new_null();
    if (out->leaf == NULL || out->chain == NULL) {
        snprintf(why, whylen, "the server sent no certificate");
        goto done;
    }
    long n = SSL_get_tlsext_status_ocsp_resp(ssl, &resp);
    if (n > 0 && resp != NULL) {
        out->staple = OPENSSL_memdup(resp, (size_t)n);
        if (out->staple == NULL) {
            snprintf(why, whylen, "out of memory");
            goto done;
        }
        out->staple_len = (size_t)n;
    }
    snprintf(out->protocol, sizeof(out->protocol), "%s", SSL_get_version(ssl));
    (void)SSL_shutdown(ssl); /* close_notify, best effort: the caller closes the socket */
    ret = 0;
done:
    if (ret != 0)
        tls_probe_free(out);
    SSL_free(ssl);
    SSL_CTX_free(ctx);
    ERR_clear_error();
    return ret;
}

void tls_probe_free(struct tls_probe *p)
{
    X509_free(p->leaf);
    sk_X509_pop_free(p->chain, X509_free);
    OPENSSL_free(p->staple);
    memset(p, 0, sizeof(*p));
}
