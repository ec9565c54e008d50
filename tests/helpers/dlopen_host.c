/*
 * dlopen_host.c - a TLS server that loads libssl privately, as plug-in hosts do:
 * dlopen("libssl.so.3", RTLD_LOCAL) and every function through dlsym. For the shim this is the
 * hard case: dlsym(RTLD_NEXT) finds no libssl, and the host's own calls bypass interposition
 * (only libssl's internal calls, such as SSL_CTX_new -> SSL_CTX_new_ex, reach the shim).
 *
 *   dlopen_host PORT CERT KEY
 */
#include <arpa/inet.h>
#include <dlfcn.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

typedef void *(*ptr_fn)(void);

static void *need(void *lib, const char *name)
{
    void *p = dlsym(lib, name);
    if (p == NULL) {
        fprintf(stderr, "dlopen_host: no %s\n", name);
        exit(1);
    }
    return p;
}

int main(int argc, char **argv)
{
    if (argc != 4)
        return 2;
    void *lib = dlopen("libssl.so.3", RTLD_NOW | RTLD_LOCAL);
    if (lib == NULL) {
        fprintf(stderr, "dlopen_host: %s\n", dlerror());
        return 1;
    }
    void *(*method)(void) = (ptr_fn)need(lib, "TLS_server_method");
    void *(*ctx_new)(void *) = (void *(*)(void *))need(lib, "SSL_CTX_new");
    int (*use_chain)(void *, const char *) =
        (int (*)(void *, const char *))need(lib, "SSL_CTX_use_certificate_chain_file");
    int (*use_key)(void *, const char *, int) =
        (int (*)(void *, const char *, int))need(lib, "SSL_CTX_use_PrivateKey_file");
    void *(*ssl_new)(void *) = (void *(*)(void *))need(lib, "SSL_new");
    int (*set_fd)(void *, int) = (int (*)(void *, int))need(lib, "SSL_set_fd");
    int (*do_accept)(void *) = (int (*)(void *))need(lib, "SSL_accept");
    int (*do_read)(void *, void *, int) = (int (*)(void *, void *, int))need(lib, "SSL_read");
    int (*do_write)(void *, const void *, int) =
        (int (*)(void *, const void *, int))need(lib, "SSL_write");
    int (*do_shutdown)(void *) = (int (*)(void *))need(lib, "SSL_shutdown");
    void (*ssl_free)(void *) = (void (*)(void *))need(lib, "SSL_free");

    void *ctx = ctx_new(method());
    if (ctx == NULL || use_chain(ctx, argv[2]) != 1 || use_key(ctx, argv[3], 1) != 1) {
        fprintf(stderr, "dlopen_host: cannot set up the context\n");
        return 1;
    }
    int fd = socket(AF_INET, SOCK_STREAM, 0), one = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    struct sockaddr_in addr = {.sin_family = AF_INET, .sin_port = htons((uint16_t)atoi(argv[1]))};
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (bind(fd, (struct sockaddr *)&addr, sizeof(addr)) != 0 || listen(fd, 16) != 0) {
        perror("dlopen_host: bind");
        return 1;
    }
    for (;;) {
        int c = accept(fd, NULL, NULL);
        if (c < 0)
            continue;
        struct timeval limit = {.tv_sec = 5};
        setsockopt(c, SOL_SOCKET, SO_RCVTIMEO, &limit, sizeof(limit));
        void *ssl = ssl_new(ctx);
        char buf[256];
        set_fd(ssl, c);
        if (do_accept(ssl) == 1) {
            do_write(ssl, "hello\n", 6);
            while (do_read(ssl, buf, sizeof(buf)) > 0)
                ;
            do_shutdown(ssl);
        }
        ssl_free(ssl);
        close(c);
    }
}
