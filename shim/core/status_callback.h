/*
 * status_callback.h - the OCSP status callback attached to every server context, and the
 * per-context state it needs (the host's own callback, if any).
 */
#ifndef OCSPSTAPLE_STATUS_CALLBACK_H
#define OCSPSTAPLE_STATUS_CALLBACK_H

#include <openssl/ssl.h>

/* status_callback_setup - once per process, before any attach: remember libssl's real
 * SSL_CTX_callback_ctrl and SSL_CTX_ctrl (the preload object interposes both) and register the
 * context ex_data slot. Returns 0 or -1 (logged). */
int status_callback_setup(long (*real_callback_ctrl)(SSL_CTX *, int, void (*)(void)),
                          long (*real_ctrl)(SSL_CTX *, int, long, void *));

/* status_callback_attach - install the callback on `ctx` unless done before; an existing host
 * callback is kept for chaining. Thread-safe. */
void status_callback_attach(SSL_CTX *ctx);

/* status_callback_host_sets - the host installs `fp` as its status callback on `ctx`: record it
 * for chaining. Returns 1 when recorded, 0 when `ctx` is not attached (pass it on). */
int status_callback_host_sets(SSL_CTX *ctx, void (*fp)(void));

/* status_callback_host_get - the host reads back the status callback of `ctx`: *fp gets the
 * host's own callback, or NULL when it set none (the shim's own is never shown). Returns 1
 * when `ctx` is attached, 0 when it is not (ask libssl). Thread-safe. */
int status_callback_host_get(SSL_CTX *ctx, void (**fp)(void));

#endif
