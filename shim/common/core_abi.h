/*
 * core_abi.h - the interface between the preload object (libc only) and the core object
 * (OpenSSL, libconfig). The preload object dlopen()s the core and calls ocspstaple_core_init();
 * nothing else crosses. OpenSSL types are passed as void * so that the preload object needs
 * no OpenSSL headers or libraries at all.
 */
#ifndef OCSPSTAPLE_CORE_ABI_H
#define OCSPSTAPLE_CORE_ABI_H

#define OCSPSTAPLE_CORE_ABI     3
#define OCSPSTAPLE_CORE_NAME    "libocspstaple-core.so"
#define OCSPSTAPLE_CORE_INIT_FN "ocspstaple_core_init"

/* What the preload object hands to the core: the host's real functions. */
struct core_imports {
    int abi;
    /* libssl's SSL_CTX_callback_ctrl, which the preload object interposes. */
    long (*ssl_ctx_callback_ctrl)(void *ctx, int cmd, void (*fp)(void));
    /* libssl's SSL_CTX_ctrl, which the preload object interposes too. */
    long (*ssl_ctx_ctrl)(void *ctx, int cmd, long larg, void *parg);
};

/* What the core offers. All thread-safe; none fails the caller. */
struct core_exports {
    int abi;
    /* Read the configuration and start loading the files it names; with before_chroot, finish
     * loading them now (a chroot hides them). Idempotent. */
    void (*prepare)(int before_chroot);
    /* Attach the status callback to a server context; idempotent. */
    void (*attach_context)(void *ctx);
    /* The host sets a status callback on `ctx`: returns 1 when the core keeps it to chain to
     * (the caller must then not pass it on to libssl), 0 when the context is not the core's. */
    int (*host_sets_status_cb)(void *ctx, void (*fp)(void));
    /* The host reads back the status callback of `ctx`: returns 1, *fp set to the host's own
     * callback or NULL, when the context is the core's; 0 when it is not (ask libssl). */
    int (*host_status_cb)(void *ctx, void (**fp)(void));
};

typedef const struct core_exports *(*core_init_fn)(const struct core_imports *imports);

/* The core's one exported symbol (see core.c). */
const struct core_exports *ocspstaple_core_init(const struct core_imports *imports);

#endif
