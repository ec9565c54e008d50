/*
 * status_callback.c - what runs inside the handshake: chain to the host's callback, then look
 * up and copy the response for the certificate being served.
 *
 * Contract with OpenSSL (3.0, server side): the callback runs after the certificate has been
 * chosen, so SSL_get_certificate() is the leaf of this handshake; returning
 * SSL_TLSEXT_ERR_NOACK sends no staple, SSL_TLSEXT_ERR_OK sends the buffer set with
 * SSL_set_tlsext_status_ocsp_resp(), which OpenSSL then owns; any other value aborts the
 * handshake, which this code never does on its own account. On a client connection the same
 * callback means "is the server's response acceptable": there only the host's callback speaks.
 */
#include "status_callback.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>

#include "host_errors.h"
#include "log.h"
#include "store.h"

typedef int (*status_cb_fn)(SSL *, void *);

struct ctx_state {
    _Atomic(status_cb_fn) host_cb; /* the host's own status callback, or NULL */
};

static int ctx_index = -1;
static long (*real_callback_ctrl)(SSL_CTX *, int, void (*)(void));
static long (*real_ctrl)(SSL_CTX *, int, long, void *);
static pthread_mutex_t attach_lock = PTHREAD_MUTEX_INITIALIZER;
static atomic_flag host_cb_logged = ATOMIC_FLAG_INIT;

static void free_ctx_state(void *parent, void *ptr, CRYPTO_EX_DATA *ad, int idx, long argl,
                           void *argp)
{
    (void)parent, (void)ad, (void)idx, (void)argl, (void)argp;
    OPENSSL_free(ptr);
}

/* staple_for - our own stapling decision for a server handshake. */
static int staple_for(SSL *ssl)
{
    unsigned char *der = NULL;
    X509 *leaf = SSL_get_certificate(ssl);
    const char *servername = SSL_get_servername(ssl, TLSEXT_NAMETYPE_host_name);

    struct host_errors saved;
    host_errors_save(&saved);
    store_before_handshake();
    size_t len = store_staple(ssl, leaf, servername, &der);
    host_errors_restore(&saved);
    if (len == 0) {
        log_debug("handshake: nothing to staple (SNI %s)", servername ? servername : "none");
        return SSL_TLSEXT_ERR_NOACK;
    }
    if (!SSL_set_tlsext_status_ocsp_resp(ssl, der, (long)len)) {
        OPENSSL_free(der);
        return SSL_TLSEXT_ERR_NOACK;
    }
    log_debug("handshake: stapled %zu bytes (SNI %s)", len, servername ? servername : "none");
    return SSL_TLSEXT_ERR_OK;
}

/* status_callback - installed on every server context. `arg` is the host's argument (the
 * shim never sets one), handed unchanged to the host's callback. */
static int status_callback(SSL *ssl, void *arg)
{
    struct ctx_state *st = SSL_CTX_get_ex_data(SSL_get_SSL_CTX(ssl), ctx_index);
    status_cb_fn host = st ? atomic_load_explicit(&st->host_cb, memory_order_acquire) : NULL;

    if (!SSL_is_server(ssl))
        return host != NULL ? host(ssl, arg) : 1; /* as if the shim were not there */
    if (host != NULL) {
        const unsigned char *resp = NULL;
        /* Clear what an earlier run on this connection (HelloRetryRequest) left, so that the
         * host's "OK" below is judged on what it set now. */
        SSL_set_tlsext_status_ocsp_resp(ssl, NULL, 0);
        int verdict = host(ssl, arg);
        if (verdict == SSL_TLSEXT_ERR_OK && SSL_get_tlsext_status_ocsp_resp(ssl, &resp) > 0 &&
            resp != NULL)
            return verdict; /* the host stapled */
        if (verdict != SSL_TLSEXT_ERR_OK && verdict != SSL_TLSEXT_ERR_NOACK)
            return verdict; /* the host failed the handshake: its decision */
    }
    return staple_for(ssl);
}

int status_callback_setup(long (*real)(SSL_CTX *, int, void (*)(void)),
                          long (*ctrl)(SSL_CTX *, int, long, void *))
{
    real_callback_ctrl = real;
    real_ctrl = ctrl;
    ctx_index = SSL_CTX_get_ex_new_index(0, "ocspstaple", NULL, NULL, free_ctx_state);
    if (ctx_index < 0 || real_callback_ctrl == NULL || real_ctrl == NULL) {
        log_error("cannot register with OpenSSL; no stapling in this process");
        return -1;
    }
    return 0;
}

void status_callback_attach(SSL_CTX *ctx)
{
    if (ctx == NULL || ctx_index < 0 || SSL_CTX_get_ex_data(ctx, ctx_index) != NULL)
        return;
    pthread_mutex_lock(&attach_lock);
    if (SSL_CTX_get_ex_data(ctx, ctx_index) == NULL) {
        struct ctx_state *st = OPENSSL_zalloc(sizeof(*st));
        int (*existing)(SSL *, void *) = NULL;
        if (st != NULL && SSL_CTX_set_ex_data(ctx, ctx_index, st)) {
            /* libssl's own answer: the interposed getter would hide what is there. */
            real_ctrl(ctx, SSL_CTRL_GET_TLSEXT_STATUS_REQ_CB, 0, (void *)&existing);
            if (existing != NULL && existing != status_callback)
                atomic_store(&st->host_cb, existing);
            real_callback_ctrl(ctx, SSL_CTRL_SET_TLSEXT_STATUS_REQ_CB,
                               (void (*)(void))status_callback);
        } else {
            OPENSSL_free(st);
        }
    }
    pthread_mutex_unlock(&attach_lock);
}

int status_callback_host_sets(SSL_CTX *ctx, void (*fp)(void))
{
    struct ctx_state *st =
        ctx != NULL && ctx_index >= 0 ? SSL_CTX_get_ex_data(ctx, ctx_index) : NULL;
    if (st == NULL)
        return 0;
    if ((status_cb_fn)fp == status_callback)
        return 1;
    atomic_store_explicit(&st->host_cb, (status_cb_fn)fp, memory_order_release);
    if (fp != NULL && !atomic_flag_test_and_set(&host_cb_logged))
        log_info("the server installs its own OCSP status callback: it runs first, and "
                 "ocspstaple staples only where it declines");
    return 1;
}

int status_callback_host_get(SSL_CTX *ctx, void (**fp)(void))
{
    struct ctx_state *st =
        ctx != NULL && ctx_index >= 0 ? SSL_CTX_get_ex_data(ctx, ctx_index) : NULL;
    if (st == NULL)
        return 0;
    *fp = (void (*)(void))atomic_load_explicit(&st->host_cb, memory_order_acquire);
    return 1;
}
