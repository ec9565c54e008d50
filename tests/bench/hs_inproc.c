/*
 * hs_inproc.c - bench-hs: full TLS handshakes between a server and a client in one process,
 * over a BIO pair, the client asking for certificate status (status_request). No network, no
 * other process: what is left is the handshake's own cost, where stapling overhead shows most.
 *
 * Usage: bench-hs --variant a|b|c --chain PEM --key PEM --der RESPONSE --tls 12|13
 *                 [--count N | --seconds S] [--warmup N] [--t0 NS] [--settle S] [--idle-thread]
 *                 [--latency LIVE SERIES N] [--churn TARGET SERIES N]
 *
 *   a  the server does no stapling (no status callback)
 *   b  native stapling: the program's own status callback hands OpenSSL a copy of the DER
 *      response it read at start-up, what a server with built-in stapling does
 *   c  no callback of its own: run it under LD_PRELOAD=libocspstaple.so with OCSPSTAPLE_CONF
 *      naming the same response, and the shim staples
 *
 * Each handshake: a fresh server SSL and client SSL from long-lived contexts (as a server
 * does), no session reuse, no TLS 1.3 tickets. The client checks what it received: `stapled`
 * counts handshakes whose staple is byte-identical to --der.
 *
 * --t0 NS      CLOCK_MONOTONIC (ns) just before this program was exec'ed; first_staple_ms is
 *              then the time from exec to the end of the first handshake carrying a staple
 *              (start-up: loader, OpenSSL, the shim loading every configured response)
 * --settle S   after the warm-up (and the first staple), S more seconds of untimed handshakes
 *              before the timed run, so that it measures the steady state (the shim reads a large
 *              configuration in the background at first)
 * --idle-thread  start a thread that does nothing, before the first handshake (attribution:
 *              under the shim the process has its reloader thread, and glibc's malloc takes
 *              its slower multi-threaded paths from the first thread on)
 * --latency    reload latency: LIVE is the configured response file; N times, after a random
 *              0.3-1.0 s of handshakes, replace LIVE atomically (write beside, rename) with
 *              SERIES01.der, then SERIES02.der, ... (SERIES is a path prefix) and measure the time
 * until a handshake carries it; handshakes go on all the time (the load)
 * --churn      during the timed run, every 100 ms replace TARGET atomically with the next
 *              file SERIESnn.der (cycling over N); staples of any series file count
 *
 * Prints one line of key=value pairs (rate: handshakes per second of the timed run; cpu_rate:
 * per second of process CPU time, every thread; other_threads_cpu_ms_per_s: CPU time of the
 * threads other than the handshaking one, such as the shim's reloader, per second; hs_us_pNN:
 * percentiles of the time of one handshake); exits 1 on any TLS failure.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <pthread.h>

#include <openssl/err.h>
#include <openssl/ssl.h>

#define SERIES_MAX 100

struct buf {
    unsigned char *p;
    size_t len;
};

static double clock_s(clockid_t id)
{
    struct timespec ts;
    clock_gettime(id, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static double now_s(void)
{
    return clock_s(CLOCK_MONOTONIC);
}

static void die(const char *what)
{
    fprintf(stderr, "bench-hs: %s\n", what);
    ERR_print_errors_fp(stderr);
    exit(1);
}

static struct buf read_file(const char *path)
{
    struct buf b = {NULL, 0};
    FILE *f = fopen(path, "rb");
    if (f == NULL) {
        fprintf(stderr, "bench-hs: %s: %s\n", path, strerror(errno));
        exit(1);
    }
    size_t cap = 1 << 16;
    b.p = malloc(cap);
    if (b.p == NULL)
        die("out of memory");
    b.len = fread(b.p, 1, cap, f);
    fclose(f);
    return b;
}

/* replace_atomically - what a careful fetcher does: write beside, rename over. */
static void replace_atomically(const char *dest, const struct buf *content)
{
    char tmp[4200];
    snprintf(tmp, sizeof(tmp), "%s.tmp", dest);
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0 || write(fd, content->p, content->len) != (ssize_t)content->len || close(fd) != 0 ||
        rename(tmp, dest) != 0) {
        fprintf(stderr, "bench-hs: replacing %s: %s\n", dest, strerror(errno));
        exit(1);
    }
}

/* native_status_cb - variant b: built-in stapling of a response loaded at start-up. */
static int native_status_cb(SSL *ssl, void *arg)
{
    const struct buf *der = arg;
    unsigned char *copy = OPENSSL_memdup(der->p, der->len);
    if (copy == NULL)
        return SSL_TLSEXT_ERR_NOACK;
    if (!SSL_set_tlsext_status_ocsp_resp(ssl, copy, (long)der->len)) {
        OPENSSL_free(copy);
        return SSL_TLSEXT_ERR_NOACK;
    }
    return SSL_TLSEXT_ERR_OK;
}

/* idle_thread - does nothing: with --idle-thread, the process is multi-threaded (as under the
 * shim, whose reloader thread starts at the first handshake), to tell what that alone costs. */
static void *idle_thread(void *arg)
{
    (void)arg;
    for (;;)
        pause();
    return NULL;
}

static int step(SSL *ssl, bool *done)
{
    if (*done)
        return 0;
    int r = SSL_do_handshake(ssl);
    if (r == 1) {
        *done = true;
        return 0;
    }
    int e = SSL_get_error(ssl, r);
    return e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE ? 0 : -1;
}

/* handshake - one full handshake; the staple the client received goes to *staple (a copy,
 * or len 0). */
static void handshake(SSL_CTX *sctx, SSL_CTX *cctx, struct buf *staple)
{
    SSL *s = SSL_new(sctx), *c = SSL_new(cctx);
    BIO *sb = NULL, *cb = NULL;
    bool sdone = false, cdone = false;

    if (s == NULL || c == NULL || !BIO_new_bio_pair(&sb, 0, &cb, 0))
        die("SSL_new");
    SSL_set_bio(s, sb, sb);
    SSL_set_bio(c, cb, cb);
    SSL_set_accept_state(s);
    SSL_set_connect_state(c);
    SSL_set_tlsext_status_type(c, TLSEXT_STATUSTYPE_ocsp);
    for (int round = 0; !(sdone && cdone); round++)
        if (round > 50 || step(c, &cdone) != 0 || step(s, &sdone) != 0)
            die("handshake failed");
    const unsigned char *p = NULL;
    long len = SSL_get_tlsext_status_ocsp_resp(c, &p);
    staple->len = 0;
    if (len > 0 && p != NULL && (size_t)len <= 65536) {
        memcpy(staple->p, p, (size_t)len);
        staple->len = (size_t)len;
    }
    SSL_free(c);
    SSL_free(s);
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static bool same(const struct buf *a, const struct buf *b)
{
    return a->len == b->len && a->len > 0 && memcmp(a->p, b->p, a->len) == 0;
}

static long status_kb(const char *field)
{
    char line[256];
    long kb = -1;
    size_t n = strlen(field);
    FILE *f = fopen("/proc/self/status", "r");
    while (f != NULL && fgets(line, sizeof(line), f) != NULL)
        if (strncmp(line, field, n) == 0 && line[n] == ':')
            kb = strtol(line + n + 1, NULL, 10);
    if (f != NULL)
        fclose(f);
    return kb;
}

int main(int argc, char **argv)
{
    const char *variant = NULL, *chain = NULL, *key = NULL, *der_path = NULL;
    const char *latency_live = NULL, *churn_target = NULL, *pattern = NULL;
    int tls = 13, series_n = 0;
    long count = 0, warmup = 20;
    double seconds = 0, t0 = 0, settle = 0;
    bool with_thread = false;

    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        bool more = i + 1 < argc;
        if (strcmp(a, "--variant") == 0 && more)
            variant = argv[++i];
        else if (strcmp(a, "--chain") == 0 && more)
            chain = argv[++i];
        else if (strcmp(a, "--key") == 0 && more)
            key = argv[++i];
        else if (strcmp(a, "--der") == 0 && more)
            der_path = argv[++i];
        else if (strcmp(a, "--tls") == 0 && more)
            tls = atoi(argv[++i]);
        else if (strcmp(a, "--count") == 0 && more)
            count = atol(argv[++i]);
        else if (strcmp(a, "--seconds") == 0 && more)
            seconds = atof(argv[++i]);
        else if (strcmp(a, "--warmup") == 0 && more)
            warmup = atol(argv[++i]);
        else if (strcmp(a, "--idle-thread") == 0)
            with_thread = true;
        else if (strcmp(a, "--t0") == 0 && more)
            t0 = atof(argv[++i]) / 1e9;
        else if (strcmp(a, "--settle") == 0 && more)
            settle = atof(argv[++i]);
        else if ((strcmp(a, "--latency") == 0 || strcmp(a, "--churn") == 0) && i + 3 < argc) {
            *(a[2] == 'l' ? &latency_live : &churn_target) = argv[++i];
            pattern = argv[++i];
            series_n = atoi(argv[++i]);
        } else {
            fprintf(stderr,
                    "bench-hs: bad argument %s (see the comment at the top of "
                    "tests/bench/hs_inproc.c)\n",
                    a);
            return 2;
        }
    }
    if (variant == NULL || strchr("abc", variant[0]) == NULL || variant[1] != '\0' ||
        chain == NULL || key == NULL || der_path == NULL || (tls != 12 && tls != 13) ||
        series_n < 0 || series_n > SERIES_MAX || (count <= 0 && seconds <= 0 && !latency_live))
        die("missing or bad arguments");
    if (seconds > 600 || settle > 600 || count > 100000000)
        die("run too long");

    struct buf der = read_file(der_path), staple = {malloc(65536), 0};
    struct buf series[SERIES_MAX + 1];
    for (int i = 1; i <= series_n; i++) {
        char path[4096];
        snprintf(path, sizeof(path), "%s%02d.der", pattern, i);
        series[i] = read_file(path);
    }
    int version = tls == 13 ? TLS1_3_VERSION : TLS1_2_VERSION;

    SSL_CTX *sctx = SSL_CTX_new(TLS_server_method());
    SSL_CTX *cctx = SSL_CTX_new(TLS_client_method());
    if (sctx == NULL || cctx == NULL || staple.p == NULL ||
        SSL_CTX_use_certificate_chain_file(sctx, chain) != 1 ||
        SSL_CTX_use_PrivateKey_file(sctx, key, SSL_FILETYPE_PEM) != 1 ||
        !SSL_CTX_check_private_key(sctx) || !SSL_CTX_set_min_proto_version(sctx, version) ||
        !SSL_CTX_set_max_proto_version(sctx, version) ||
        !SSL_CTX_set_min_proto_version(cctx, version) ||
        !SSL_CTX_set_max_proto_version(cctx, version) || !SSL_CTX_set_num_tickets(sctx, 0))
        die("setting up the contexts");
    SSL_CTX_set_session_cache_mode(sctx, SSL_SESS_CACHE_OFF);
    SSL_CTX_set_session_cache_mode(cctx, SSL_SESS_CACHE_OFF);
    SSL_CTX_set_options(sctx, SSL_OP_NO_TICKET);
    SSL_CTX_set_options(cctx, SSL_OP_NO_TICKET);
    SSL_CTX_set_verify(cctx, SSL_VERIFY_NONE, NULL);
    if (variant[0] == 'b') {
        SSL_CTX_set_tlsext_status_cb(sctx, native_status_cb);
        SSL_CTX_set_tlsext_status_arg(sctx, &der);
    }

    pthread_t tid;
    if (with_thread && pthread_create(&tid, NULL, idle_thread, NULL) != 0)
        die("pthread_create");
    long done = 0, stapled = 0, any_staple = 0;
    double first_staple = -1, first_hs = -1;
    /* Warm-up (and start-up measurement): untimed. */
    for (long i = 0; i < warmup || (t0 > 0 && first_staple < 0 && variant[0] != 'a' && i < 2000);
         i++) {
        handshake(sctx, cctx, &staple);
        if (first_hs < 0)
            first_hs = now_s();
        if (first_staple < 0 && staple.len > 0)
            first_staple = now_s();
    }

    for (double until = now_s() + settle; settle > 0 && now_s() < until;)
        handshake(sctx, cctx, &staple);
    double lat[SERIES_MAX + 1], lat_max = 0;
    int lat_n = 0;
    unsigned seed = (unsigned)getpid() ^ (unsigned)time(NULL);
    double start = now_s(), end = start, next_churn = start + 0.1;
    double cpu_start = clock_s(CLOCK_PROCESS_CPUTIME_ID);
    double main_start = clock_s(CLOCK_THREAD_CPUTIME_ID);
    int churn_i = 0;
    size_t dur_cap = 1 << 18, dur_n = 0;
    double *dur = malloc(dur_cap * sizeof(*dur));
    if (dur == NULL)
        die("out of memory");
    if (latency_live != NULL) {
        for (int i = 1; i <= series_n; i++) {
            double wait_until = now_s() + 0.3 + 0.7 * (double)rand_r(&seed) / RAND_MAX;
            while (now_s() < wait_until) {
                handshake(sctx, cctx, &staple);
                done++;
            }
            replace_atomically(latency_live, &series[i]);
            double replaced = now_s();
            for (;;) {
                handshake(sctx, cctx, &staple);
                done++;
                if (same(&staple, &series[i]))
                    break;
                if (now_s() - replaced > 10) {
                    fprintf(stderr, "bench-hs: the new response was not stapled within 10 s\n");
                    return 1;
                }
            }
            lat[lat_n] = now_s() - replaced;
            if (lat[lat_n] > lat_max)
                lat_max = lat[lat_n];
            lat_n++;
        }
        end = now_s();
    } else {
        for (double t = start, t2;; t = t2) {
            handshake(sctx, cctx, &staple);
            done++;
            t2 = now_s();
            if (dur_n < dur_cap)
                dur[dur_n++] = t2 - t;
            if (same(&staple, &der))
                stapled++;
            if (staple.len > 0)
                any_staple++;
            if (count > 0 ? done >= count : t2 - start >= seconds)
                break;
            if (churn_target != NULL && series_n > 0 && now_s() >= next_churn) {
                replace_atomically(churn_target, &series[1 + churn_i++ % series_n]);
                next_churn = now_s() + 0.1;
            }
        }
        end = now_s();
    }

    double elapsed = end - start, cpu = clock_s(CLOCK_PROCESS_CPUTIME_ID) - cpu_start;
    double other_cpu = cpu - (clock_s(CLOCK_THREAD_CPUTIME_ID) - main_start);
    printf("variant=%s tls=%d handshakes=%ld seconds=%.4f rate=%.2f cpu_seconds=%.4f "
           "cpu_rate=%.2f stapled=%ld any_staple=%ld",
           variant, tls, done, elapsed, elapsed > 0 ? (double)done / elapsed : 0, cpu,
           cpu > 0 ? (double)done / cpu : 0, stapled, any_staple);
    printf(" other_threads_cpu_ms_per_s=%.3f",
           elapsed > 0 && other_cpu > 0 ? other_cpu * 1e3 / elapsed : 0);
    if (t0 > 0)
        printf(" first_hs_ms=%.2f first_staple_ms=%.2f", (first_hs - t0) * 1e3,
               first_staple < 0 ? -1.0 : (first_staple - t0) * 1e3);
    if (dur_n > 0) {
        qsort(dur, dur_n, sizeof(*dur), cmp_double);
        printf(" hs_us_p10=%.1f hs_us_p25=%.1f hs_us_p50=%.1f", dur[dur_n / 10] * 1e6,
               dur[dur_n / 4] * 1e6, dur[dur_n / 2] * 1e6);
    }
    if (lat_n > 0) {
        printf(" latencies_ms=");
        for (int i = 0; i < lat_n; i++)
            printf("%s%.0f", i ? "," : "", lat[i] * 1e3);
        printf(" latency_max_ms=%.0f", lat_max * 1e3);
    }
    printf(" rss_kb=%ld hwm_kb=%ld\n", status_kb("VmRSS"), status_kb("VmHWM"));
    SSL_CTX_free(sctx);
    SSL_CTX_free(cctx);
    return 0;
}
