/*
 * hs_loop.c - many full TLS handshakes in one process (server and client joined by memory
 * BIOs), for the memory tests: run under the shim, with or without valgrind.
 *
 *   hs_loop CERT KEY COUNT [REPLACE_EVERY SRC_A SRC_B DEST]
 *
 * Each handshake asks for OCSP status (TLS 1.3, ECDHE, no session reuse). With REPLACE_EVERY,
 * every that many handshakes DEST is atomically replaced by SRC_A or SRC_B in turn, and the loop
 * pauses 1.2 s so that the shim's reloader (once a second) picks it up: reloads in between.
 * Prints "stapled N of COUNT", then "rss_kb_after_1000 X" and "rss_kb_at_end Y". Exit 0 when
 * every handshake completed, 1 otherwise. With HS_LOOP_CONTEXTS=N in the environment, N extra
 * server contexts are created and freed first (a host that makes many contexts).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/ssl.h>

static long rss_kb(void)
{
    long pages = 0, resident = 0;
    FILE *f = fopen("/proc/self/statm", "r");
    if (f != NULL) {
        if (fscanf(f, "%ld %ld", &pages, &resident) != 2)
            resident = 0;
        fclose(f);
    }
    return resident * (sysconf(_SC_PAGESIZE) / 1024);
}

static int copy_file(const char *from, const char *to)
{
    char tmp[4096], buf[65536];
    snprintf(tmp, sizeof(tmp), "%s.tmp", to);
    FILE *in = fopen(from, "rb"), *out = fopen(tmp, "wb");
    size_t n = in ? fread(buf, 1, sizeof(buf), in) : 0;
    int ok = in && out && n > 0 && fwrite(buf, 1, n, out) == n;
    if (in)
        fclose(in);
    if (out && fclose(out) != 0)
        ok = 0;
    return ok && rename(tmp, to) == 0 ? 0 : -1;
}

/* handshake - one full handshake; returns 1 if completed, and sets *stapled. */
static int handshake(SSL_CTX *sctx, SSL_CTX *cctx, int *stapled)
{
    SSL *s = SSL_new(sctx), *c = SSL_new(cctx);
    BIO *s_in = BIO_new(BIO_s_mem()), *s_out = BIO_new(BIO_s_mem());
    int done_s = 0, done_c = 0, ok = 0;

    SSL_set_bio(s, s_in, s_out);
    BIO_up_ref(s_in);
    BIO_up_ref(s_out);
    SSL_set_bio(c, s_out, s_in); /* the client reads what the server writes */
    SSL_set_tlsext_status_type(c, TLSEXT_STATUSTYPE_ocsp);
    SSL_set_accept_state(s);
    SSL_set_connect_state(c);
    for (int round = 0; round < 20 && !(done_s && done_c); round++) {
        if (!done_c) {
            int r = SSL_do_handshake(c);
            done_c = r == 1;
            if (r <= 0 && SSL_get_error(c, r) != SSL_ERROR_WANT_READ)
                break;
        }
        if (!done_s) {
            int r = SSL_do_handshake(s);
            done_s = r == 1;
            if (r <= 0 && SSL_get_error(s, r) != SSL_ERROR_WANT_READ)
                break;
        }
    }
    if (done_s && done_c) {
        const unsigned char *resp = NULL;
        *stapled = SSL_get_tlsext_status_ocsp_resp(c, &resp) > 0 && resp != NULL;
        ok = 1;
    }
    SSL_free(s);
    SSL_free(c);
    ERR_clear_error();
    return ok;
}

int main(int argc, char **argv)
{
    if (argc != 4 && argc != 8) {
        fprintf(stderr, "usage: hs_loop CERT KEY COUNT [REPLACE_EVERY SRC_A SRC_B DEST]\n");
        return 2;
    }
    long count = atol(argv[3]), every = argc == 8 ? atol(argv[4]) : 0;
    const char *contexts = getenv("HS_LOOP_CONTEXTS");
    for (long i = 0; contexts != NULL && i < atol(contexts); i++)
        SSL_CTX_free(SSL_CTX_new(TLS_server_method()));
    SSL_CTX *sctx = SSL_CTX_new(TLS_server_method());
    SSL_CTX *cctx = SSL_CTX_new(TLS_client_method());
    if (sctx == NULL || cctx == NULL || SSL_CTX_use_certificate_chain_file(sctx, argv[1]) != 1 ||
        SSL_CTX_use_PrivateKey_file(sctx, argv[2], SSL_FILETYPE_PEM) != 1) {
        ERR_print_errors_fp(stderr);
        return 2;
    }
    SSL_CTX_set_session_cache_mode(sctx, SSL_SESS_CACHE_OFF);
    SSL_CTX_set_num_tickets(sctx, 0);
    SSL_CTX_set_min_proto_version(cctx, TLS1_3_VERSION);

    long stapled = 0, completed = 0, rss_1000 = 0;
    for (long i = 1; i <= count; i++) {
        int got = 0;
        completed += handshake(sctx, cctx, &got);
        stapled += got;
        if (i == 1000)
            rss_1000 = rss_kb();
        if (every > 0 && i % every == 0) {
            if (copy_file((i / every) % 2 ? argv[5] : argv[6], argv[7]) != 0)
                fprintf(stderr, "hs_loop: cannot replace %s\n", argv[7]);
            usleep(1200000);
        }
    }
    printf("stapled %ld of %ld\ncompleted %ld\nrss_kb_after_1000 %ld\nrss_kb_at_end %ld\n", stapled,
           count, completed, rss_1000, rss_kb());
    SSL_CTX_free(sctx);
    SSL_CTX_free(cctx);
    return completed == count ? 0 : 1;
}
