/*
 * dlclose_host.c - a host that loads libssl as a plug-in does and unloads it again: dlopen()
 * with RTLD_LOCAL, a server context made and freed through dlsym, dlclose(), CYCLES times,
 * then exit(0). It links no OpenSSL itself. Under the shim the core holds libssl from the
 * first context on, so no dlclose() may unmap code the reloader thread is running, and the
 * exit status must stay 0.
 *
 *   dlclose_host CYCLES
 */
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

typedef const void *(*method_fn)(void);
typedef void *(*ctx_new_fn)(const void *);
typedef void (*ctx_free_fn)(void *);

int main(int argc, char **argv)
{
    int cycles = argc > 1 ? atoi(argv[1]) : 10;
    for (int i = 0; i < cycles; i++) {
        void *ssl = dlopen("libssl.so.3", RTLD_NOW | RTLD_LOCAL);
        if (ssl == NULL) {
            fprintf(stderr, "dlclose_host: %s\n", dlerror());
            return 2;
        }
        method_fn method = (method_fn)dlsym(ssl, "TLS_server_method");
        ctx_new_fn ctx_new = (ctx_new_fn)dlsym(ssl, "SSL_CTX_new");
        ctx_free_fn ctx_free = (ctx_free_fn)dlsym(ssl, "SSL_CTX_free");
        if (method == NULL || ctx_new == NULL || ctx_free == NULL)
            return 3;
        void *ctx = ctx_new(method());
        if (ctx == NULL)
            return 4;
        struct timespec t = {0, (long)(rand() % 5) * 1000000L};
        nanosleep(&t, NULL);
        ctx_free(ctx);
        if (dlclose(ssl) != 0)
            return 5;
    }
    exit(0);
}
