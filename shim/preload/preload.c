/*
 * preload.c - libocspstaple.so, the object users put in LD_PRELOAD.
 *
 * It links only libc: a process that never uses TLS (cat, a shell, /bin/true) maps no OpenSSL
 * and pays only for the loader's work. It interposes OpenSSL's server-context constructors and
 * chroot(); at the first server context (or before a chroot, when libssl is already loaded) it
 * loads libocspstaple-core.so from its own directory, after checking that the host's libssl is
 * the one the core was built for, and hands every server context to it.
 *
 * Resolution of the real functions follows libfaketime's lesson and goes one step further:
 * dlsym(RTLD_NEXT) is NULL when the host loaded libssl with dlopen(RTLD_LOCAL) (Python's _ssl,
 * plug-ins), so fall back to the already loaded libssl (RTLD_NOLOAD), and never return a
 * pointer into this object. When nothing resolves, the interposer returns the API's failure
 * value and logs once: never a call through NULL, never a crash.
 */
#include <dlfcn.h>
#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "core_abi.h"
#include "log.h"

#ifndef OCSPSTAPLE_SSL_SONAME
#define OCSPSTAPLE_SSL_SONAME "libssl.so.3"
#endif
#ifndef OCSPSTAPLE_OPENSSL_MAJOR
#define OCSPSTAPLE_OPENSSL_MAJOR 3
#endif

#define EXPORT __attribute__((visibility("default")))

/* Opaque OpenSSL types: this object never looks inside them. */
typedef struct ssl_ctx_st SSL_CTX;
typedef struct ssl_st SSL;
typedef struct ssl_method_st SSL_METHOD;
typedef struct ossl_lib_ctx_st OSSL_LIB_CTX;

#define SSL_CTRL_SET_TLSEXT_STATUS_REQ_CB 63
#define SSL_CTRL_GET_TLSEXT_STATUS_REQ_CB 128

/* The interposed functions, with libssl's signatures (chroot's comes from unistd.h). */
SSL_CTX *SSL_CTX_new(const SSL_METHOD *meth);
SSL_CTX *SSL_CTX_new_ex(OSSL_LIB_CTX *libctx, const char *propq, const SSL_METHOD *meth);
SSL *SSL_new(SSL_CTX *ctx);
SSL_CTX *SSL_set_SSL_CTX(SSL *ssl, SSL_CTX *ctx);
long SSL_CTX_callback_ctrl(SSL_CTX *ctx, int cmd, void (*fp)(void));
long SSL_CTX_ctrl(SSL_CTX *ctx, int cmd, long larg, void *parg);

enum core_state { CORE_UNLOADED = 0, CORE_READY, CORE_FAILED };

static _Atomic int core_state = CORE_UNLOADED;
static const struct core_exports *core;
static pthread_mutex_t core_lock = PTHREAD_MUTEX_INITIALIZER;
static __thread bool in_core_load; /* re-entrancy guard for this thread */

/* ---- resolving the host's real functions ---------------------------------------------- */

/* own_base - the load address of this object, to recognise pointers back into it. */
static void *own_base(void)
{
    static void *base;
    Dl_info info;
    if (base == NULL && dladdr((void *)own_base, &info) != 0)
        base = info.dli_fbase;
    return base;
}

static bool points_into_self(void *p)
{
    Dl_info info;
    return p != NULL && dladdr(p, &info) != 0 && info.dli_fbase == own_base();
}

/* resolve - the real `name`: the next definition after us, else libssl loaded privately. */
static void *resolve(const char *name)
{
    void *p = dlsym(RTLD_NEXT, name);
    if (p == NULL || points_into_self(p)) {
        void *ssl = dlopen(OCSPSTAPLE_SSL_SONAME, RTLD_LAZY | RTLD_NOLOAD);
        p = ssl != NULL ? dlsym(ssl, name) : NULL;
        /* The handle stays open: libssl is loaded anyway, and the pointer must stay valid. */
    }
    return points_into_self(p) ? NULL : p;
}

/* A cache slot per real function; a NULL result is not cached (libssl may come later). */
#define REAL(type, name)                                                                           \
    static type real_##name(void)                                                                  \
    {                                                                                              \
        static _Atomic(type) cached;                                                               \
        type fn = atomic_load_explicit(&cached, memory_order_acquire);                             \
        if (fn == NULL) {                                                                          \
            fn = (type)resolve(#name);                                                             \
            if (fn != NULL)                                                                        \
                atomic_store_explicit(&cached, fn, memory_order_release);                          \
        }                                                                                          \
        return fn;                                                                                 \
    }

typedef SSL_CTX *(*ctx_new_fn)(const SSL_METHOD *);
typedef SSL_CTX *(*ctx_new_ex_fn)(OSSL_LIB_CTX *, const char *, const SSL_METHOD *);
typedef SSL *(*ssl_new_fn)(SSL_CTX *);
typedef SSL_CTX *(*set_ctx_fn)(SSL *, SSL_CTX *);
typedef long (*callback_ctrl_fn)(SSL_CTX *, int, void (*)(void));
typedef long (*ctx_ctrl_fn)(SSL_CTX *, int, long, void *);
typedef const SSL_METHOD *(*method_fn)(void);
typedef const SSL_METHOD *(*ctx_method_fn)(const SSL_CTX *);
typedef unsigned long (*version_num_fn)(void);
typedef int (*chroot_fn)(const char *);

REAL(ctx_new_fn, SSL_CTX_new)
REAL(ctx_new_ex_fn, SSL_CTX_new_ex)
REAL(ssl_new_fn, SSL_new)
REAL(set_ctx_fn, SSL_set_SSL_CTX)
REAL(callback_ctrl_fn, SSL_CTX_callback_ctrl)
REAL(ctx_ctrl_fn, SSL_CTX_ctrl)
REAL(ctx_method_fn, SSL_CTX_get_ssl_method)
REAL(version_num_fn, OpenSSL_version_num)
REAL(chroot_fn, chroot)

static void log_unresolved(const char *name)
{
    static atomic_flag logged = ATOMIC_FLAG_INIT;
    if (!atomic_flag_test_and_set(&logged))
        log_error("cannot find the real %s in this process (OpenSSL linked statically or "
                  "loaded in an unusual way?); the call fails as OpenSSL would on error",
                  name);
}

/* ---- client methods: contexts made with them are never touched ------------------------ */

static bool is_client_method(const SSL_METHOD *method)
{
    static const char *const names[] = {
        "TLS_client_method",    "TLSv1_2_client_method", "TLSv1_1_client_method",
        "TLSv1_client_method",  "DTLS_client_method",    "DTLSv1_2_client_method",
        "DTLSv1_client_method",
    };
    static _Atomic(const SSL_METHOD *) known[sizeof(names) / sizeof(names[0])];

    if (method == NULL)
        return false;
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        const SSL_METHOD *m = atomic_load_explicit(&known[i], memory_order_relaxed);
        if (m == NULL) {
            method_fn fn = (method_fn)resolve(names[i]);
            if (fn == NULL)
                continue;
            m = fn();
            atomic_store_explicit(&known[i], m, memory_order_relaxed);
        }
        if (m == method)
            return true;
    }
    return false;
}

static bool is_server_context(SSL_CTX *ctx)
{
    ctx_method_fn get = real_SSL_CTX_get_ssl_method();
    return ctx != NULL && get != NULL && !is_client_method(get(ctx));
}

/* ---- loading the core ------------------------------------------------------------------ */

/* host_ssl_matches - the libssl in this process is the one the core was linked against. */
static bool host_ssl_matches(void)
{
    Dl_info info;
    void *fn = (void *)real_SSL_CTX_new();
    version_num_fn version = real_OpenSSL_version_num();

    if (fn == NULL || dladdr(fn, &info) == 0 || info.dli_fname == NULL) {
        log_error("cannot tell which libssl this process uses; no stapling");
        return false;
    }
    const char *base = strrchr(info.dli_fname, '/');
    base = base ? base + 1 : info.dli_fname;
    if (strncmp(base, OCSPSTAPLE_SSL_SONAME, strlen(OCSPSTAPLE_SSL_SONAME)) != 0) {
        log_error("this process uses OpenSSL from %s, but ocspstaple was built for %s; no "
                  "stapling",
                  info.dli_fname, OCSPSTAPLE_SSL_SONAME);
        return false;
    }
    unsigned long v = version != NULL ? version() : 0;
    if ((v >> 28) != OCSPSTAPLE_OPENSSL_MAJOR) {
        log_error("this process runs OpenSSL version 0x%lx, but ocspstaple was built for %d.x; "
                  "no stapling",
                  v, OCSPSTAPLE_OPENSSL_MAJOR);
        return false;
    }
    return true;
}

/* core_path - libocspstaple-core.so beside this object. */
static bool core_path(char *buf, size_t size)
{
    Dl_info info;
    if (dladdr((void *)core_path, &info) == 0 || info.dli_fname == NULL)
        return false;
    const char *slash = strrchr(info.dli_fname, '/');
    int dirlen = slash ? (int)(slash - info.dli_fname) : 1;
    const char *dir = slash ? info.dli_fname : ".";
    int n = snprintf(buf, size, "%.*s/%s", dirlen, dir, OCSPSTAPLE_CORE_NAME);
    return n > 0 && (size_t)n < size;
}

/* load_core_locked - dlopen the core and initialise it. Caller holds core_lock. */
static void load_core_locked(void)
{
    char path[PATH_MAX];
    /* Not RTLD_DEEPBIND: the core's own symbols are hidden, and the host's interposers of libc
     * (libfaketime, jemalloc) must apply to it as to everything else; only libconfig, which
     * can collide with host symbols, is loaded deep-bound (see config.c). */
    int flags = RTLD_NOW | RTLD_LOCAL;

    log_configure(LOG_LEVEL_INFO, LOG_TARGET_SYSLOG);
    if (!host_ssl_matches() || !core_path(path, sizeof(path))) {
        atomic_store(&core_state, CORE_FAILED);
        return;
    }
    void *handle = dlopen(path, flags);
    core_init_fn init = handle ? (core_init_fn)dlsym(handle, OCSPSTAPLE_CORE_INIT_FN) : NULL;
    if (init == NULL) {
        log_error("cannot load %s: %s; no stapling", path, dlerror());
        atomic_store(&core_state, CORE_FAILED);
        return;
    }
    struct core_imports imports = {
        .abi = OCSPSTAPLE_CORE_ABI,
        .ssl_ctx_callback_ctrl =
            (long (*)(void *, int, void (*)(void)))real_SSL_CTX_callback_ctrl(),
        .ssl_ctx_ctrl = (long (*)(void *, int, long, void *))real_SSL_CTX_ctrl(),
    };
    core = init(&imports);
    if (core == NULL || core->abi != OCSPSTAPLE_CORE_ABI) {
        atomic_store(&core_state, CORE_FAILED);
        return;
    }
    core->prepare(0);
    atomic_store_explicit(&core_state, CORE_READY, memory_order_release);
}

/* ready_core - the core, loading it first if needed; NULL when stapling is not possible
 * here (failed before, or called re-entrantly from the core's own loading). */
static const struct core_exports *ready_core(void)
{
    int state = atomic_load_explicit(&core_state, memory_order_acquire);
    if (state == CORE_READY)
        return core;
    if (state == CORE_FAILED || in_core_load)
        return NULL;
    pthread_mutex_lock(&core_lock);
    if (atomic_load(&core_state) == CORE_UNLOADED) {
        in_core_load = true;
        load_core_locked();
        in_core_load = false;
    }
    pthread_mutex_unlock(&core_lock);
    return atomic_load(&core_state) == CORE_READY ? core : NULL;
}

/* loaded_core - the core if it is loaded already, without loading it. */
static const struct core_exports *loaded_core(void)
{
    return atomic_load_explicit(&core_state, memory_order_acquire) == CORE_READY ? core : NULL;
}

static void attach_if_server(SSL_CTX *ctx, const SSL_METHOD *method)
{
    if (ctx == NULL || is_client_method(method))
        return;
    const struct core_exports *c = ready_core();
    if (c != NULL)
        c->attach_context(ctx);
}

/* ---- the interposed functions ----------------------------------------------------------- */

EXPORT SSL_CTX *SSL_CTX_new_ex(OSSL_LIB_CTX *libctx, const char *propq, const SSL_METHOD *meth)
{
    ctx_new_ex_fn real = real_SSL_CTX_new_ex();
    if (real == NULL) {
        log_unresolved("SSL_CTX_new_ex");
        return NULL;
    }
    SSL_CTX *ctx = real(libctx, propq, meth);
    attach_if_server(ctx, meth);
    return ctx;
}

EXPORT SSL_CTX *SSL_CTX_new(const SSL_METHOD *meth)
{
    ctx_new_fn real = real_SSL_CTX_new();
    if (real == NULL) {
        log_unresolved("SSL_CTX_new");
        return NULL;
    }
    SSL_CTX *ctx = real(meth); /* in 3.0 this goes through SSL_CTX_new_ex above: idempotent */
    attach_if_server(ctx, meth);
    return ctx;
}

EXPORT SSL *SSL_new(SSL_CTX *ctx)
{
    ssl_new_fn real = real_SSL_new();
    if (real == NULL) {
        log_unresolved("SSL_new");
        return NULL;
    }
    /* A no-op for contexts made through SSL_CTX_new; the first sight of a server context made
     * past the constructors (a host calling libssl through pointers of its own). */
    if (is_server_context(ctx)) {
        const struct core_exports *c = ready_core();
        if (c != NULL)
            c->attach_context(ctx);
    }
    return real(ctx);
}

EXPORT SSL_CTX *SSL_set_SSL_CTX(SSL *ssl, SSL_CTX *ctx)
{
    set_ctx_fn real = real_SSL_set_SSL_CTX();
    if (real == NULL) {
        log_unresolved("SSL_set_SSL_CTX");
        return NULL;
    }
    if (is_server_context(ctx)) {
        const struct core_exports *c = ready_core();
        if (c != NULL)
            c->attach_context(ctx);
    }
    return real(ssl, ctx);
}

EXPORT long SSL_CTX_callback_ctrl(SSL_CTX *ctx, int cmd, void (*fp)(void))
{
    callback_ctrl_fn real = real_SSL_CTX_callback_ctrl();
    if (real == NULL) {
        log_unresolved("SSL_CTX_callback_ctrl");
        return 0;
    }
    if (cmd == SSL_CTRL_SET_TLSEXT_STATUS_REQ_CB) {
        const struct core_exports *c = loaded_core();
        if (c != NULL && c->host_sets_status_cb(ctx, fp))
            return 1; /* kept for chaining; our callback stays installed */
    }
    return real(ctx, cmd, fp);
}

EXPORT int chroot(const char *path)
{
    chroot_fn real = real_chroot();
    if (real == NULL) {
        errno = ENOSYS;
        return -1;
    }
    /* Inside the chroot the core, libconfig and the response files are out of reach: when
     * this process has libssl, load everything now. */
    void *ssl = dlopen(OCSPSTAPLE_SSL_SONAME, RTLD_LAZY | RTLD_NOLOAD);
    if (ssl != NULL) {
        const struct core_exports *c = ready_core();
        if (c != NULL)
            c->prepare(1);
        dlclose(ssl);
    }
    return real(path);
}

/* SSL_CTX_ctrl - libssl's, except that a host reading back its status callback gets its own
 * (or none), never the shim's: HAProxy takes any callback it finds for one of its own and
 * dereferences its argument. Every other control goes straight through. */
EXPORT long SSL_CTX_ctrl(SSL_CTX *ctx, int cmd, long larg, void *parg)
{
    ctx_ctrl_fn real = real_SSL_CTX_ctrl();
    if (real == NULL) {
        log_unresolved("SSL_CTX_ctrl");
        return 0;
    }
    if (cmd == SSL_CTRL_GET_TLSEXT_STATUS_REQ_CB && parg != NULL) {
        const struct core_exports *c = loaded_core();
        void (*host)(void) = NULL;
        if (c != NULL && c->host_status_cb(ctx, &host)) {
            *(void (**)(void))parg = host;
            return 1;
        }
    }
    return real(ctx, cmd, larg, parg);
}
