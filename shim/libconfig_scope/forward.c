/*
 * forward.c - libocspstaple-libconfig.so, the object through which the core loads libconfig.
 *
 * Why it exists. libconfig must be deep-bound (RTLD_DEEPBIND): its functions call each other
 * through its PLT, and a host that exports a function of the same name (lighttpd's
 * config_init) would otherwise receive those calls. But deep binding puts glibc ahead of the
 * process's own malloc in libconfig's lookup scope, while glibc's own functions (strdup, fopen)
 * allocate through the process's malloc: under jemalloc, tcmalloc or mimalloc, libconfig then
 * frees a pointer its allocator never made, and the host dies in its first SSL_CTX_new
 * (Debian's redis-server did). Linking libconfig statically would keep both guarantees, but
 * Debian's libconfig.a is not position-independent; loading it into a namespace of its own
 * (dlmopen) would give it a second C library and heap in the host.
 *
 * So the core dlopen()s this object deep-bound: its lookup scope is this object first, then
 * libconfig (its one dependency), then glibc. libconfig's own names resolve inside libconfig,
 * and its malloc, calloc, realloc and free resolve here, to the ones the process uses (the
 * first definition in the global scope: an LD_PRELOADed allocator, one linked into the
 * executable, or glibc's): one allocator for every pointer libconfig touches. Nothing else is
 * defined here, and this object is never in the global scope, so it changes nothing for the
 * host.
 */
#include <dlfcn.h>
#include <stdatomic.h>
#include <stddef.h>

#define EXPORT __attribute__((visibility("default")))

void *malloc(size_t size);
void *calloc(size_t n, size_t size);
void *realloc(void *p, size_t size);
void free(void *p);

/* glibc's own, for the moment before the process's are resolved (dlsym may allocate). */
extern void *__libc_malloc(size_t size);
extern void *__libc_calloc(size_t n, size_t size);
extern void *__libc_realloc(void *p, size_t size);
extern void __libc_free(void *p);

/* process_fn - the process's definition of `name`, cached in *slot; NULL while it is being
 * resolved or when there is none. It is looked up through the main program's handle, whose
 * search list is the process's global scope (the executable, LD_PRELOAD, their libraries):
 * RTLD_DEFAULT would search this object's own deep-bound scope first and find these very
 * functions. */
static void *process_fn(_Atomic(void *) *slot, const char *name)
{
    static _Thread_local int resolving;
    void *fn = atomic_load_explicit(slot, memory_order_acquire);
    if (fn != NULL || resolving)
        return fn;
    resolving = 1;
    void *main_program = dlopen(NULL, RTLD_LAZY | RTLD_NOLOAD);
    fn = main_program != NULL ? dlsym(main_program, name) : NULL;
    Dl_info mine, found;
    if (fn != NULL && dladdr((void *)process_fn, &mine) != 0 && dladdr(fn, &found) != 0 &&
        mine.dli_fbase == found.dli_fbase)
        fn = NULL; /* never this object's own */
    resolving = 0;
    if (fn != NULL)
        atomic_store_explicit(slot, fn, memory_order_release);
    return fn;
}

static _Atomic(void *) real_malloc, real_calloc, real_realloc, real_free;

/* resolve_all - at dlopen(), before libconfig can run: every pointer libconfig ever sees is
 * then made and freed by the process's allocator (the glibc fallbacks below stay unused). */
__attribute__((constructor)) static void resolve_all(void)
{
    process_fn(&real_malloc, "malloc");
    process_fn(&real_calloc, "calloc");
    process_fn(&real_realloc, "realloc");
    process_fn(&real_free, "free");
}

EXPORT void *malloc(size_t size)
{
    void *(*fn)(size_t) = (void *(*)(size_t))process_fn(&real_malloc, "malloc");
    return fn != NULL ? fn(size) : __libc_malloc(size);
}

EXPORT void *calloc(size_t n, size_t size)
{
    void *(*fn)(size_t, size_t) = (void *(*)(size_t, size_t))process_fn(&real_calloc, "calloc");
    return fn != NULL ? fn(n, size) : __libc_calloc(n, size);
}

EXPORT void *realloc(void *p, size_t size)
{
    void *(*fn)(void *, size_t) = (void *(*)(void *, size_t))process_fn(&real_realloc, "realloc");
    return fn != NULL ? fn(p, size) : __libc_realloc(p, size);
}

EXPORT void free(void *p)
{
    void (*fn)(void *) = (void (*)(void *))process_fn(&real_free, "free");
    if (fn != NULL)
        fn(p);
    else
        __libc_free(p);
}
