/*
 * ocsp_http.c - one OCSP exchange over HTTP (RFC 6960 appendix A, RFC 5019) through OpenSSL's
 * HTTP client (OSSL_HTTP_open / OSSL_HTTP_set1_request / OSSL_HTTP_exchange): no hand-written
 * HTTP. GET for requests whose GET URL fits in 255 bytes, so that HTTP caches in front of the
 * responder can answer them; POST otherwise or when the GET is refused. Connections are kept
 * alive and reused by the caller (fetch_pool.c).
 *
 * OpenSSL reports an HTTP error status only inside its error text, worded differently from one
 * version to the next; so a small filter BIO, pushed on the connection through OSSL_HTTP_open's
 * bio_update_fn, notes the status line of each answer as it is read, and the reason logged is
 * the command's own ("the responder answered HTTP 500").
 */
#include "ocsp_http.h"

#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/http.h>
#include <openssl/httperr.h>
#include <openssl/x509v3.h>

#include "validate.h"
#include "release.h"

/* RFC 5019 section 5 (kept by RFC 9919): a request goes by GET when the whole GET URL, scheme,
 * server name, path and encoded request, is at most 255 bytes; longer ones go by POST. */
#define GET_MAX_URL 255

/* The first bytes of the answer being read: "HTTP/1.1 200". */
struct status_tap {
    char line[16];
    size_t got;
};

struct ocsp_conn {
    OSSL_HTTP_REQ_CTX *rctx;
    char *host, *port;
    struct status_tap tap;
};

/* tap_status - the HTTP status noted by the tap, or 0 when no status line was read. */
static int tap_status(const struct status_tap *tap)
{
    char digits[4];

    if (tap->got < 12 || strncmp(tap->line, "HTTP/", 5) != 0 || tap->line[8] != ' ')
        return 0;
    memcpy(digits, tap->line + 9, 3);
    digits[3] = '\0';
    char *end = NULL;
    long status = strtol(digits, &end, 10);
    return end == digits + 3 && status >= 100 && status <= 999 ? (int)status : 0;
}

/* tap_note - keep the first bytes of the answer (its status line), however they were read. */
static void tap_note(struct status_tap *tap, const char *buf, int n)
{
    if (n > 0 && tap != NULL && tap->got < sizeof(tap->line) - 1) {
        size_t take = sizeof(tap->line) - 1 - tap->got;
        if ((size_t)n < take)
            take = (size_t)n;
        memcpy(tap->line + tap->got, buf, take);
        tap->got += take;
        tap->line[tap->got] = '\0';
    }
}

static int tap_read(BIO *b, char *buf, int size)
{
    BIO *next = BIO_next(b);
    struct status_tap *tap = BIO_get_data(b);

    if (next == NULL)
        return 0;
    int n = BIO_read(next, buf, size);
    BIO_clear_retry_flags(b);
    BIO_copy_next_retry(b);
    tap_note(tap, buf, n);
    return n;
}

static int tap_write(BIO *b, const char *buf, int size)
{
    BIO *next = BIO_next(b);

    if (next == NULL)
        return 0;
    int n = BIO_write(next, buf, size);
    BIO_clear_retry_flags(b);
    BIO_copy_next_retry(b);
    return n;
}

static long tap_ctrl(BIO *b, int cmd, long num, void *ptr)
{
    BIO *next = BIO_next(b);

    if (next == NULL)
        return 0;
    long ret = BIO_ctrl(next, cmd, num, ptr);
    BIO_clear_retry_flags(b);
    BIO_copy_next_retry(b);
    return ret;
}

/* tap_gets - passed on, with the retry flags of the connection below: OpenSSL 3.5's client
 * reads the response's lines with BIO_gets from a non-blocking connection, and takes a
 * "no data yet" without them for a failure. */
static int tap_gets(BIO *b, char *buf, int size)
{
    BIO *next = BIO_next(b);

    if (next == NULL)
        return 0;
    int n = BIO_gets(next, buf, size);
    BIO_clear_retry_flags(b);
    BIO_copy_next_retry(b);
    tap_note(BIO_get_data(b), buf, n);
    return n;
}

static int tap_create(BIO *b)
{
    BIO_set_init(b, 1);
    return 1;
}

static BIO_METHOD *tap_method;
static pthread_once_t tap_once = PTHREAD_ONCE_INIT;

/* tap_method_init - the filter's method, made once for the process (kept until exit). */
static void tap_method_init(void)
{
    BIO_METHOD *m = BIO_meth_new(BIO_get_new_index() | BIO_TYPE_FILTER, "ocspstaple status tap");
    if (m == NULL || !BIO_meth_set_read(m, tap_read) || !BIO_meth_set_write(m, tap_write) ||
        !BIO_meth_set_ctrl(m, tap_ctrl) || !BIO_meth_set_gets(m, tap_gets) ||
        !BIO_meth_set_create(m, tap_create)) {
        BIO_meth_free(m);
        return;
    }
    tap_method = m;
}

/* tap_update - OSSL_HTTP's bio_update_fn: on connecting, push the tap (its data is the
 * connection's struct status_tap) on the new connection; on disconnecting, leave the chain as
 * it is (OpenSSL frees it whole). Returns the BIO to use, NULL on failure. */
static BIO *tap_update(BIO *bio, void *arg, int connect, int detail)
{
    (void)detail;
    if (!connect)
        return bio;
    if (pthread_once(&tap_once, tap_method_init) != 0 || tap_method == NULL)
        return NULL;
    BIO *tap = BIO_new(tap_method);
    if (tap == NULL)
        return NULL;
    BIO_set_data(tap, arg);
    return BIO_push(tap, bio);
}

void ocsp_conn_close(struct ocsp_conn *conn)
{
    if (conn == NULL)
        return;
    if (conn->rctx != NULL)
        (void)OSSL_HTTP_close(conn->rctx, 1);
    free(conn->host);
    free(conn->port);
    free(conn);
}

/* conn_open - a new connection to host:port (or to the proxy from the environment). */
static struct ocsp_conn *conn_open(const char *host, const char *port, int timeout)
{
    struct ocsp_conn *c = calloc(1, sizeof(*c));

    if (c == NULL)
        return NULL;
    c->host = strdup(host);
    c->port = strdup(port);
    if (c->host == NULL || c->port == NULL) {
        ocsp_conn_close(c);
        return NULL;
    }
    c->rctx = OSSL_HTTP_open(host, port, NULL /* proxy: from env */, NULL /* no_proxy: env */, 0,
                             NULL, NULL, tap_update, &c->tap, 0, timeout);
    if (c->rctx == NULL) {
        ocsp_conn_close(c);
        return NULL;
    }
    return c;
}

/* error_is_timeout - whether OpenSSL's first or last queued error says a time limit ran out. */
static bool error_is_timeout(void)
{
    unsigned long errs[2] = {ERR_peek_error(), ERR_peek_last_error()};

    for (size_t i = 0; i < 2; i++) {
        int lib = ERR_GET_LIB(errs[i]), reason = ERR_GET_REASON(errs[i]);
        if ((lib == ERR_LIB_BIO &&
             (reason == BIO_R_TRANSFER_TIMEOUT || reason == BIO_R_CONNECT_TIMEOUT)) ||
            (lib == ERR_LIB_HTTP && reason == HTTP_R_RETRY_TIMEOUT))
            return true;
    }
    return false;
}

/* fail - fill `f` from the tap and OpenSSL's error queue (drained). */
static void fail(struct ocsp_failure *f, const struct ocsp_conn *c, int timeout)
{
    char err[256];

    f->http_status = c != NULL ? tap_status(&c->tap) : 0;
    if (f->http_status == 200)
        f->http_status = 0; /* an answer, but not a usable one: OpenSSL's reason says why */
    f->no_answer = f->http_status == 0 && error_is_timeout();
    openssl_errors(err, sizeof(err));
    if (f->http_status != 0)
        snprintf(f->why, sizeof(f->why), "the responder answered HTTP %d", f->http_status);
    else if (f->no_answer)
        snprintf(f->why, sizeof(f->why), "no answer within %d s (timed out)", timeout);
    else
        snprintf(f->why, sizeof(f->why), "%s", err);
}

/* exchange_once - one request (`body` NULL: GET) for `target` over *conn, (re)opened as needed.
 * A kept-alive connection that the responder closed in the meantime is retried once on a new
 * one. Returns the answer's body (a memory BIO the caller frees) or NULL with `f` filled in. */
static BIO *exchange_once(struct ocsp_conn **conn, const char *host, const char *port,
                          const char *target, const unsigned char *body, size_t body_len,
                          int timeout, struct ocsp_failure *f)
{
    STACK_OF(CONF_VALUE) *headers = NULL;
    BIO *req = NULL, *answer = NULL;

    for (int attempt = 0; attempt < 2 && answer == NULL; attempt++) {
        struct ocsp_conn *c = *conn;
        if (c != NULL && (strcmp(c->host, host) != 0 || strcmp(c->port, port) != 0 ||
                          !OSSL_HTTP_is_alive(c->rctx))) {
            ocsp_conn_close(c);
            c = *conn = NULL;
        }
        bool reused = c != NULL;
        ERR_clear_error();
        if (c == NULL && (c = *conn = conn_open(host, port, timeout)) == NULL) {
            fail(f, NULL, timeout);
            break;
        }
        sk_CONF_VALUE_pop_free(headers, X509V3_conf_free);
        headers = NULL;
        BIO_free(req);
        req = NULL;
        if (!X509V3_add_value("User-Agent", "ocspstaple/" OCSPSTAPLE_VERSION, &headers) ||
            (body != NULL && ((req = BIO_new_mem_buf(body, (int)body_len)) == NULL))) {
            snprintf(f->why, sizeof(f->why), "out of memory");
            break;
        }
        memset(&c->tap, 0, sizeof(c->tap));
        if (OSSL_HTTP_set1_request(c->rctx, target, headers,
                                   body != NULL ? "application/ocsp-request" : NULL, req,
                                   "application/ocsp-response", 1, RESPONSE_MAX_BYTES, timeout,
                                   1 /* keep alive if the server agrees */))
            answer = OSSL_HTTP_exchange(c->rctx, NULL);
        if (answer != NULL)
            break;
        fail(f, c, timeout);
        ocsp_conn_close(c);
        *conn = NULL;
        if (!reused || f->http_status != 0 || f->no_answer)
            break; /* only a stale kept-alive connection deserves a second try */
    }
    sk_CONF_VALUE_pop_free(headers, X509V3_conf_free);
    BIO_free(req);
    return answer;
}

/* url_encoded_base64 - RFC 6960 A.1's GET form of `der`: base64, then '+', '/' and '=' as %2B,
 * %2F, %3D. Returns a malloc'ed string or NULL. */
static char *url_encoded_base64(const unsigned char *der, size_t len)
{
    if (len > INT_MAX / 2)
        return NULL;
    size_t b64len = 4 * ((len + 2) / 3);
    unsigned char *b64 = malloc(b64len + 1);
    char *out = malloc(3 * b64len + 1);
    if (b64 == NULL || out == NULL || EVP_EncodeBlock(b64, der, (int)len) != (int)b64len) {
        free(b64);
        free(out);
        return NULL;
    }
    char *p = out;
    for (size_t i = 0; i < b64len; i++) {
        unsigned char ch = b64[i];
        if (ch == '+' || ch == '/' || ch == '=')
            p += sprintf(p, "%%%02X", ch);
        else
            *p++ = (char)ch;
    }
    *p = '\0';
    free(b64);
    return out;
}

/* ask - the request by GET at path/ENCODED?query when that URL, with the `origin_len` bytes of
 * scheme and server before it, fits in 255 bytes; else, or when the GET is refused (405, 414,
 * 501), by POST at path?query; an empty query adds no '?'. Returns the answer's body (a memory
 * BIO the caller frees) or NULL with `f` filled in. */
static BIO *ask(struct ocsp_conn **conn, const char *host, const char *port, const char *path,
                const char *query, size_t origin_len, const unsigned char *der, size_t der_len,
                const char *encoded, int timeout, struct ocsp_failure *f)
{
    bool has_query = query != NULL && query[0] != '\0';
    size_t plen = strlen(path);
    bool slash = plen > 0 && path[plen - 1] == '/';
    char *target = NULL;
    BIO *answer = NULL;

    if (asprintf(&target, "%s%s%s%s%s", path, slash ? "" : "/", encoded, has_query ? "?" : "",
                 has_query ? query : "") < 0) {
        snprintf(f->why, sizeof(f->why), "out of memory");
        return NULL;
    }
    if (origin_len + strlen(target) <= GET_MAX_URL) {
        answer = exchange_once(conn, host, port, target, NULL, 0, timeout, f);
        if (answer != NULL ||
            (f->http_status != 405 && f->http_status != 414 && f->http_status != 501)) {
            free(target);
            return answer;
        }
    }
    free(target);
    target = NULL;
    if (asprintf(&target, "%s%s%s", path, has_query ? "?" : "", has_query ? query : "") < 0) {
        snprintf(f->why, sizeof(f->why), "out of memory");
        return NULL;
    }
    answer = exchange_once(conn, host, port, target, der, der_len, timeout, f);
    free(target);
    return answer;
}

unsigned char *ocsp_exchange(struct ocsp_conn **conn, const char *url, OCSP_REQUEST *req,
                             int timeout, size_t *len, struct ocsp_failure *f)
{
    char *user = NULL, *host = NULL, *port = NULL, *path = NULL, *query = NULL, *frag = NULL;
    char *encoded = NULL;
    int use_ssl = 0, portnum = 0;
    unsigned char *der = NULL, *out = NULL;
    BIO *answer = NULL;

    memset(f, 0, sizeof(*f));
    ERR_clear_error();
    if (!OSSL_HTTP_parse_url(url, &use_ssl, &user, &host, &port, &portnum, &path, &query, &frag)) {
        snprintf(f->why, sizeof(f->why), "not a usable URL: %s", url);
        goto done;
    }
    if (use_ssl) {
        snprintf(f->why, sizeof(f->why),
                 "https responders are not supported (OCSP is served over http)");
        goto done;
    }
    int der_len = i2d_OCSP_REQUEST(req, &der);
    if (der_len <= 0 || (encoded = url_encoded_base64(der, (size_t)der_len)) == NULL) {
        snprintf(f->why, sizeof(f->why), "cannot encode the request");
        goto done;
    }
    /* what comes before the path: "http://host:port" as written in the URL */
    const char *authority = strstr(url, "://");
    size_t origin_len = authority != NULL ? (size_t)(authority + 3 - url) : 0;
    origin_len += strcspn(url + origin_len, "/?#");
    answer =
        ask(conn, host, port, path, query, origin_len, der, (size_t)der_len, encoded, timeout, f);
    if (answer == NULL)
        goto done;
    char *data = NULL;
    long n = BIO_get_mem_data(answer, &data);
    if (n <= 0 || data == NULL) {
        snprintf(f->why, sizeof(f->why), "empty answer");
        goto done;
    }
    if ((out = OPENSSL_malloc((size_t)n)) == NULL) {
        snprintf(f->why, sizeof(f->why), "out of memory");
        goto done;
    }
    memcpy(out, data, (size_t)n);
    *len = (size_t)n;
done:
    BIO_free(answer);
    OPENSSL_free(der);
    free(encoded);
    OPENSSL_free(user);
    OPENSSL_free(host);
    OPENSSL_free(port);
    OPENSSL_free(path);
    OPENSSL_free(query);
    OPENSSL_free(frag);
    ERR_clear_error();
    return out;
}
