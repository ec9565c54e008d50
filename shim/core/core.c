/*
 * core.c - entry point of libocspstaple-core.so, the object the preload object loads into a
 * process that creates its first TLS server context (or is about to chroot with libssl
 * loaded). It exports one symbol, ocspstaple_core_init, and wires the preload object's events
 * to the status callback and the store.
 */
#include <openssl/ssl.h>

#include "core_abi.h"
#include "host_errors.h"
#include "log.h"
#include "status_callback.h"
#include "store.h"

/* core_prepare - the configuration now, and the reloader started while threads may still be
 * created (Dovecot's login processes forbid it later), which reads what the configuration
 * names; before a chroot, or where no thread may run, everything is read at once. */
static void core_prepare(int before_chroot)
{
    struct host_errors saved;
    host_errors_save(&saved);
    store_init();
    if (!store_start_reloader() || before_chroot)
        store_finish_loading();
    host_errors_restore(&saved);
}

static void core_attach_context(void *ctx)
{
    struct host_errors saved;
    host_errors_save(&saved);
    store_init();
    status_callback_attach((SSL_CTX *)ctx);
    host_errors_restore(&saved);
}

static int core_host_sets_status_cb(void *ctx, void (*fp)(void))
{
    return status_callback_host_sets((SSL_CTX *)ctx, fp);
}

static int core_host_status_cb(void *ctx, void (**fp)(void))
{
    return status_callback_host_get((SSL_CTX *)ctx, fp);
}

static const struct core_exports exports = {
    .abi = OCSPSTAPLE_CORE_ABI,
    .prepare = core_prepare,
    .attach_context = core_attach_context,
    .host_sets_status_cb = core_host_sets_status_cb,
    .host_status_cb = core_host_status_cb,
};

/* ocspstaple_core_init - called once by the preload object. Returns the core's entry points,
 * or NULL (logged) when the two objects do not match or OpenSSL refuses the registration. */
__attribute__((visibility("default"))) const struct core_exports *
ocspstaple_core_init(const struct core_imports *imports)
{
    if (imports == NULL || imports->abi != OCSPSTAPLE_CORE_ABI) {
        log_error("libocspstaple.so and %s are from different builds; no stapling",
                  OCSPSTAPLE_CORE_NAME);
        return NULL;
    }
    if (status_callback_setup(
            (long (*)(SSL_CTX *, int, void (*)(void)))imports->ssl_ctx_callback_ctrl,
            (long (*)(SSL_CTX *, int, long, void *))imports->ssl_ctx_ctrl) != 0)
        return NULL;
    return &exports;
}
