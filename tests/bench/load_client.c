/*
 * load_client.c - bench-load: drive a TLS server on 127.0.0.1 with full handshakes asking for
 * certificate status, from several connections in parallel (one thread each), for a fixed time.
 *
 * Usage: bench-load --port P [--threads T] [--seconds S] [--count N] [--tls 12|13]
 *                   [--der RESPONSE]
 *
 * Runs for S seconds, or until N handshakes were attempted (whichever comes first).
 * Each handshake: connect, full handshake (no session reuse) with status_request, check the
 * staple (byte-identical to --der when given, else any), close_notify, wait for the server to
 * close (so that TIME_WAIT lands on the server's side and the client never runs out of ports),
 * close. Prints one line: handshakes=N seconds=S rate=R stapled=K failures=F. Exits 1 when
 * nothing succeeded.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/ssl.h>

#define MAX_THREADS 64

static SSL_CTX *ctx;
static int port;
static double deadline;
static unsigned char *expected;
static long expected_len;
static long count; /* stop after this many handshakes in all (0: no limit) */
static atomic_long total, stapled, failures, claimed;

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static bool one_handshake(void)
{
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0), one = 1;
    SSL *ssl = NULL;
    bool ok = false;

    if (fd < 0)
        return false;
    struct timeval tv = {5, 0}; /* no read or write blocks longer: the run stays bounded */
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
    if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0)
        goto out;
    ssl = SSL_new(ctx);
    if (ssl == NULL || !SSL_set_fd(ssl, fd))
        goto out;
    SSL_set_tlsext_status_type(ssl, TLSEXT_STATUSTYPE_ocsp);
    if (SSL_connect(ssl) != 1)
        goto out;
    const unsigned char *p = NULL;
    long len = SSL_get_tlsext_status_ocsp_resp(ssl, &p);
    if (len > 0 && p != NULL &&
        (expected == NULL || (len == expected_len && memcmp(p, expected, (size_t)len) == 0)))
        atomic_fetch_add(&stapled, 1);
    ok = true;
    SSL_shutdown(ssl);
    /* Let the server close first (bounded by the socket timeouts). */
    char buf[4096];
    while (SSL_read(ssl, buf, sizeof(buf)) > 0)
        ;
out:
    SSL_free(ssl);
    close(fd);
    ERR_clear_error();
    return ok;
}

static void *worker(void *arg)
{
    (void)arg;
    while (now_s() < deadline) {
        if (count > 0 && atomic_fetch_add(&claimed, 1) >= count)
            break;
        if (one_handshake())
            atomic_fetch_add(&total, 1);
        else if (atomic_fetch_add(&failures, 1) > 1000)
            break;
    }
    return NULL;
}

int main(int argc, char **argv)
{
    int threads = 4, tls = 13;
    double seconds = 1;
    const char *der = NULL;

    for (int i = 1; i + 1 < argc; i += 2) {
        if (strcmp(argv[i], "--port") == 0)
            port = atoi(argv[i + 1]);
        else if (strcmp(argv[i], "--threads") == 0)
            threads = atoi(argv[i + 1]);
        else if (strcmp(argv[i], "--seconds") == 0)
            seconds = atof(argv[i + 1]);
        else if (strcmp(argv[i], "--tls") == 0)
            tls = atoi(argv[i + 1]);
        else if (strcmp(argv[i], "--der") == 0)
            der = argv[i + 1];
        else if (strcmp(argv[i], "--count") == 0)
            count = atol(argv[i + 1]);
        else
            break;
    }
    if (argc % 2 != 1 || port <= 0 || port > 65535 || threads < 1 || threads > MAX_THREADS ||
        seconds <= 0 || seconds > 600 || (tls != 12 && tls != 13) || count < 0) {
        fprintf(stderr, "usage: bench-load --port P [--threads T] [--seconds S] [--count N] "
                        "[--tls 12|13] [--der RESPONSE]\n");
        return 2;
    }
    if (der != NULL) {
        FILE *f = fopen(der, "rb");
        expected = malloc(65536);
        if (f == NULL || expected == NULL) {
            fprintf(stderr, "bench-load: %s: %s\n", der, strerror(errno));
            return 1;
        }
        expected_len = (long)fread(expected, 1, 65536, f);
        fclose(f);
    }
    int version = tls == 13 ? TLS1_3_VERSION : TLS1_2_VERSION;
    ctx = SSL_CTX_new(TLS_client_method());
    if (ctx == NULL || !SSL_CTX_set_min_proto_version(ctx, version) ||
        !SSL_CTX_set_max_proto_version(ctx, version)) {
        ERR_print_errors_fp(stderr);
        return 1;
    }
    SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, NULL);
    SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
    SSL_CTX_set_options(ctx, SSL_OP_NO_TICKET);

    pthread_t tid[MAX_THREADS];
    double start = now_s();
    deadline = start + seconds;
    for (int i = 0; i < threads; i++)
        if (pthread_create(&tid[i], NULL, worker, NULL) != 0) {
            fprintf(stderr, "bench-load: cannot start threads\n");
            return 1;
        }
    for (int i = 0; i < threads; i++)
        pthread_join(tid[i], NULL);
    double elapsed = now_s() - start;
    long n = atomic_load(&total);
    printf("handshakes=%ld seconds=%.4f rate=%.2f stapled=%ld failures=%ld\n", n, elapsed,
           (double)n / elapsed, atomic_load(&stapled), atomic_load(&failures));
    SSL_CTX_free(ctx);
    return n > 0 ? 0 : 1;
}
