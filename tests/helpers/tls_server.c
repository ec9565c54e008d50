/*
 * tls_server.c - a small OpenSSL server for the tests: the shapes of real hosts that
 * `openssl s_server` cannot take.
 *
 *   tls_server --port P --cert C --key K [--cert C2 --key K2] [--chain F]
 *              [--sni NAME,CERT,KEY]        an SNI callback switching to a second context
 *              [--status-cb MODE]            the host's own status callback: noack (declines,
 *                                            like lighttpd), empty-ok, fatal, staple:FILE
 *              [--threads N]                 N threads accept and handshake concurrently
 *              [--fork N]                    N pre-forked children accept (after the context)
 *              [--fork-per-connection 1]     the parent accepts; a new child per connection
 *                                            handshakes once and exits (inetd, Exim style)
 *              [--chroot DIR]                load keys, chroot, then create the contexts
 *                                            (the order of Dovecot's login processes)
 *              [--contexts N]                create and free N extra contexts first
 *              [--reload-on-hup 1]           on SIGHUP, read the certificate and key files again
 *                                            into a new context and free the old one (as
 *                                            servers reload: a renewed certificate is served)
 *              [--bypass-ctor 1]             create contexts with libssl's SSL_CTX_new_ex found
 *                                            by dlsym on libssl itself (past any interposer), so
 *                                            the host's status callback is set before a shim
 *                                            can see the context (it sees it at SSL_new)
 *
 * Each connection gets a full handshake, the line "hello", and a close. Built with
 * -DCONFIG_INIT_TRAP, the binary exports a function named config_init that aborts, as lighttpd
 * exports one: a shim whose libconfig binds to the host's symbol crashes here.
 */
#include <arpa/inet.h>
#include <dlfcn.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>

#ifdef CONFIG_INIT_TRAP
/* config_init - the collision trap (see the header comment). Not in sanitizer builds, where
 * libconfig cannot be isolated with RTLD_DEEPBIND. */
__attribute__((visibility("default"))) void config_init(void *unused);
__attribute__((visibility("default"))) void config_init(void *unused)
{
    (void)unused;
    fprintf(stderr, "tls_server: the host's config_init was called: symbol collision\n");
    abort();
}
#endif

struct keypair {
    X509 *cert;
    EVP_PKEY *key;
};

static struct keypair pairs[4];
static int pair_count;
static STACK_OF(X509) * chain;
static struct keypair sni_pair;
static char *sni_name;
static SSL_CTX *main_ctx, *sni_ctx;
static const char *status_mode;
static unsigned char *status_der;
static long status_len;
static int listen_fd;
static int bypass_ctor;

static void die(const char *what)
{
    fprintf(stderr, "tls_server: %s\n", what);
    ERR_print_errors_fp(stderr);
    exit(1);
}

static X509 *read_cert(const char *path)
{
    FILE *f = fopen(path, "r");
    X509 *x = f ? PEM_read_X509(f, NULL, NULL, NULL) : NULL;
    if (f)
        fclose(f);
    if (x == NULL)
        die(path);
    return x;
}

static EVP_PKEY *read_key(const char *path)
{
    FILE *f = fopen(path, "r");
    EVP_PKEY *k = f ? PEM_read_PrivateKey(f, NULL, NULL, NULL) : NULL;
    if (f)
        fclose(f);
    if (k == NULL)
        die(path);
    return k;
}

static int status_arg_marker; /* the argument the host gives its own status callback */

static int host_status_cb(SSL *ssl, void *arg)
{
    /* As HAProxy does, the host relies on its own argument being handed back. */
    if (arg != &status_arg_marker)
        die("the status callback got an argument the host never set");
    if (strcmp(status_mode, "noack") == 0)
        return SSL_TLSEXT_ERR_NOACK;
    if (strcmp(status_mode, "empty-ok") == 0)
        return SSL_TLSEXT_ERR_OK;
    if (strcmp(status_mode, "fatal") == 0)
        return SSL_TLSEXT_ERR_ALERT_FATAL;
    unsigned char *copy = OPENSSL_memdup(status_der, (size_t)status_len);
    SSL_set_tlsext_status_ocsp_resp(ssl, copy, status_len);
    return SSL_TLSEXT_ERR_OK;
}

static int servername_cb(SSL *ssl, int *alert, void *arg)
{
    (void)alert, (void)arg;
    const char *name = SSL_get_servername(ssl, TLSEXT_NAMETYPE_host_name);
    if (name != NULL && sni_ctx != NULL && strcasecmp(name, sni_name) == 0)
        SSL_set_SSL_CTX(ssl, sni_ctx);
    return SSL_TLSEXT_ERR_OK;
}

static SSL_CTX *new_ctx(void)
{
    if (!bypass_ctor)
        return SSL_CTX_new(TLS_server_method());
    void *lib = dlopen("libssl.so.3", RTLD_NOW | RTLD_NOLOAD);
    SSL_CTX *(*real)(OSSL_LIB_CTX *, const char *, const SSL_METHOD *) =
        lib ? (SSL_CTX * (*)(OSSL_LIB_CTX *, const char *, const SSL_METHOD *))
                  dlsym(lib, "SSL_CTX_new_ex")
            : NULL;
    if (real == NULL)
        die("dlsym SSL_CTX_new_ex");
    return real(NULL, NULL, TLS_server_method());
}

/* The host's own data on its contexts, as servers keep theirs (app_data, an ex_data index of
 * their own with a free callback): the shim's own slot must never be theirs. */
static int app_marker, ex_marker, host_ex_index = -1;
static int host_ex_freed;

static void host_ex_free(void *parent, void *ptr, CRYPTO_EX_DATA *ad, int idx, long argl,
                         void *argp)
{
    (void)parent, (void)ad, (void)idx, (void)argl, (void)argp;
    if (ptr == &ex_marker)
        host_ex_freed++;
}

static void check_host_data(SSL_CTX *ctx)
{
    if (SSL_CTX_get_app_data(ctx) != &app_marker ||
        SSL_CTX_get_ex_data(ctx, host_ex_index) != &ex_marker)
        die("the host's own data on its context was changed");
}

static SSL_CTX *make_ctx(struct keypair *p, int n, int with_sni)
{
    if (host_ex_index < 0 &&
        (host_ex_index = SSL_CTX_get_ex_new_index(0, NULL, NULL, NULL, host_ex_free)) < 0)
        die("SSL_CTX_get_ex_new_index");
    SSL_CTX *ctx = new_ctx();
    if (ctx == NULL)
        die("SSL_CTX_new");
    if (!SSL_CTX_set_app_data(ctx, &app_marker) ||
        !SSL_CTX_set_ex_data(ctx, host_ex_index, &ex_marker))
        die("SSL_CTX_set_ex_data");
    check_host_data(ctx);
    for (int i = 0; i < n; i++)
        if (SSL_CTX_use_certificate(ctx, p[i].cert) != 1 ||
            SSL_CTX_use_PrivateKey(ctx, p[i].key) != 1)
            die("certificate or key");
    for (int i = 0; chain != NULL && i < sk_X509_num(chain); i++)
        if (SSL_CTX_add1_chain_cert(ctx, sk_X509_value(chain, i)) != 1)
            die("chain");
    /* As HAProxy does: a host reads back the status callback and takes any it finds for its
     * own. It must find exactly what it set: nothing yet, then its own callback and argument. */
    int (*found)(SSL *, void *) = NULL;
    void *found_arg = NULL;
    SSL_CTX_get_tlsext_status_cb(ctx, &found);
    SSL_CTX_get_tlsext_status_arg(ctx, &found_arg);
    if (found != NULL || found_arg != NULL)
        die("found a status callback or argument the host never set");
    if (status_mode != NULL) {
        SSL_CTX_set_tlsext_status_cb(ctx, host_status_cb);
        SSL_CTX_set_tlsext_status_arg(ctx, &status_arg_marker);
        SSL_CTX_get_tlsext_status_cb(ctx, &found);
        SSL_CTX_get_tlsext_status_arg(ctx, &found_arg);
        if (found != host_status_cb || found_arg != &status_arg_marker)
            die("reading back the status callback did not give the host's own");
    }
    if (with_sni)
        SSL_CTX_set_tlsext_servername_callback(ctx, servername_cb);
    return ctx;
}

static void serve_one(int fd)
{
    check_host_data(main_ctx);
    SSL *ssl = SSL_new(main_ctx);
    if (ssl == NULL) {
        close(fd);
        return;
    }
    struct timeval limit = {.tv_sec = 5};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &limit, sizeof(limit));
    SSL_set_fd(ssl, fd);
    if (SSL_accept(ssl) == 1) {
        char buf[256];
        check_host_data(SSL_get_SSL_CTX(ssl)); /* the one chosen for SNI too */
        SSL_write(ssl, "hello\n", 6);
        /* Read until the client closes, so that our close sends no reset. */
        while (SSL_read(ssl, buf, sizeof(buf)) > 0)
            ;
        SSL_shutdown(ssl);
    }
    SSL_free(ssl);
    ERR_clear_error();
    close(fd);
}

static const char *cert_paths[4], *key_paths[4];
static volatile sig_atomic_t reload_wanted;

static void on_hup(int sig)
{
    (void)sig;
    reload_wanted = 1;
}

/* reload_ctx - what a server's reload does: the files read again, a new context, the old one
 * freed (single-threaded hosts only: no handshake uses it any more). */
static void reload_ctx(void)
{
    struct keypair fresh[4];
    reload_wanted = 0;
    for (int i = 0; i < pair_count; i++) {
        fresh[i].cert = read_cert(cert_paths[i]);
        fresh[i].key = read_key(key_paths[i]);
    }
    SSL_CTX *old = main_ctx;
    main_ctx = make_ctx(fresh, pair_count, sni_name != NULL);
    for (int i = 0; i < pair_count; i++) {
        X509_free(fresh[i].cert);
        EVP_PKEY_free(fresh[i].key);
    }
    SSL_CTX_free(old);
    fprintf(stderr, "tls_server: reloaded\n");
}

static void *accept_loop(void *arg)
{
    (void)arg;
    for (;;) {
        if (reload_wanted)
            reload_ctx();
        int fd = accept(listen_fd, NULL, NULL);
        if (fd < 0) {
            if (errno == EINTR || errno == ECONNABORTED)
                continue;
            return NULL;
        }
        serve_one(fd);
    }
}

int main(int argc, char **argv)
{
    int port = 0, threads = 1, children = 0, extra_contexts = 0, per_connection = 0, cloned = 0;
    const char *chroot_dir = NULL;

    signal(SIGPIPE, SIG_IGN);
    for (int i = 1; i < argc; i++) {
        const char *opt = argv[i], *val = i + 1 < argc ? argv[i + 1] : NULL;
        if (val == NULL)
            die("option without a value");
        i++;
        if (strcmp(opt, "--port") == 0)
            port = atoi(val);
        else if (strcmp(opt, "--cert") == 0 && pair_count < 4) {
            pairs[pair_count].cert = read_cert(val);
            cert_paths[pair_count] = val;
        } else if (strcmp(opt, "--key") == 0 && pair_count < 4) {
            key_paths[pair_count] = val;
            pairs[pair_count++].key = read_key(val);
        } else if (strcmp(opt, "--chain") == 0) {
            chain = sk_X509_new_null();
            sk_X509_push(chain, read_cert(val));
        } else if (strcmp(opt, "--sni") == 0) {
            char *copy = strdup(val), *c = strchr(copy, ','), *k = c ? strchr(c + 1, ',') : NULL;
            if (c == NULL || k == NULL)
                die("--sni NAME,CERT,KEY");
            *c = *k = '\0';
            sni_name = copy;
            sni_pair.cert = read_cert(c + 1);
            sni_pair.key = read_key(k + 1);
        } else if (strcmp(opt, "--status-cb") == 0) {
            status_mode = val;
            if (strncmp(val, "staple:", 7) == 0) {
                FILE *f = fopen(val + 7, "rb");
                status_der = malloc(65536);
                if (f == NULL || status_der == NULL)
                    die(val);
                status_len = (long)fread(status_der, 1, 65536, f);
                fclose(f);
            }
        } else if (strcmp(opt, "--threads") == 0)
            threads = atoi(val);
        else if (strcmp(opt, "--fork") == 0)
            children = atoi(val);
        else if (strcmp(opt, "--clone") == 0)
            cloned = atoi(val);
        else if (strcmp(opt, "--fork-per-connection") == 0)
            per_connection = atoi(val);
        else if (strcmp(opt, "--chroot") == 0)
            chroot_dir = val;
        else if (strcmp(opt, "--reload-on-hup") == 0) {
            struct sigaction sa = {.sa_handler = on_hup}; /* no SA_RESTART: accept() returns */
            sigemptyset(&sa.sa_mask);
            if (atoi(val) && sigaction(SIGHUP, &sa, NULL) != 0)
                die("sigaction");
        } else if (strcmp(opt, "--bypass-ctor") == 0)
            bypass_ctor = atoi(val);
        else if (strcmp(opt, "--contexts") == 0)
            extra_contexts = atoi(val);
        else
            die(opt);
    }
    if (port <= 0 || pair_count == 0)
        die("usage: tls_server --port P --cert C --key K [...]");

    /* An error of the host's own, queued and not read yet: whatever the shim does in this
     * thread (its core loaded at the chroot or the first context, files read, responses
     * checked) must leave it there, alone. */
    ERR_raise_data(ERR_LIB_USER, 42, "the host's own queued error");

    listen_fd = socket(AF_INET, SOCK_STREAM, 0);
    int one = 1;
    setsockopt(listen_fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    struct sockaddr_in addr = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (bind(listen_fd, (struct sockaddr *)&addr, sizeof(addr)) != 0 || listen(listen_fd, 128) != 0)
        die("bind/listen");

    if (chroot_dir != NULL && (chroot(chroot_dir) != 0 || chdir("/") != 0))
        die("chroot");
    for (int i = 0; i < extra_contexts; i++)
        SSL_CTX_free(make_ctx(pairs, pair_count, 0));
    if (host_ex_freed != extra_contexts)
        die("the host's ex_data free callback did not run once per freed context");
    main_ctx = make_ctx(pairs, pair_count, sni_name != NULL);
    if (sni_name != NULL)
        sni_ctx = make_ctx(&sni_pair, 1, 0);
    const char *data = NULL;
    int flags = 0;
    unsigned long queued = ERR_get_error_all(NULL, NULL, NULL, &data, &flags);
    if (ERR_GET_LIB(queued) != ERR_LIB_USER || ERR_GET_REASON(queued) != 42 || data == NULL ||
        strcmp(data, "the host's own queued error") != 0 || ERR_peek_error() != 0)
        die("the host's OpenSSL error queue was changed");
    fprintf(stderr, "tls_server: listening on 127.0.0.1:%d\n", port);

    if (per_connection) {
        signal(SIGCHLD, SIG_IGN); /* children are reaped by the kernel */
        for (;;) {
            int fd = accept(listen_fd, NULL, NULL);
            if (fd < 0)
                continue;
            if (fork() == 0) {
                close(listen_fd);
                serve_one(fd);
                _exit(0);
            }
            close(fd);
        }
    }
    if (cloned > 0) {
        /* As vsftpd starts its sessions: the clone system call itself, so that no
         * pthread_atfork handler runs in the child; and, as sessions do, later than the start
         * (not in the middle of the shim's first pass after loading). */
        struct timespec later = {0, 500 * 1000000L};
        nanosleep(&later, NULL);
        for (int i = 0; i < cloned; i++) {
            long pid = syscall(SYS_clone, (unsigned long)SIGCHLD, 0UL, 0UL, 0UL, 0UL);
            if (pid == 0) {
                accept_loop(NULL);
                _exit(0);
            }
            if (pid < 0)
                die("clone");
        }
        while (wait(NULL) > 0)
            ;
        return 0;
    }
    if (children > 0) {
        for (int i = 0; i < children; i++)
            if (fork() == 0) {
                accept_loop(NULL);
                _exit(0);
            }
        while (wait(NULL) > 0)
            ;
        return 0;
    }
    pthread_t tids[64];
    if (threads > 64)
        threads = 64;
    for (int i = 1; i < threads; i++)
        pthread_create(&tids[i], NULL, accept_loop, NULL);
    accept_loop(NULL);
    return 0;
}
