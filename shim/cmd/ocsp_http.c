/*
 * ocsp_http.c - one OCSP request over HTTP POST (RFC 6960 appendix A), through
 * OSSL_HTTP_transfer: no hand-written HTTP.
 */
#include "ocsp_http.h"

#include <stdio.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/http.h>

#include "validate.h"

unsigned char *ocsp_query(const char *url, OCSP_REQUEST *req, int timeout, size_t *len, char *why,
                          size_t whylen)
{
    char *user = NULL, *host = NULL, *port = NULL, *path = NULL, *query = NULL, *frag = NULL;
    char err[256], fullpath[2048];
    int use_ssl = 0, portnum = 0;
    unsigned char *out = NULL;
    BIO *body = NULL, *answer = NULL;

    ERR_clear_error();
    if (!OSSL_HTTP_parse_url(url, &use_ssl, &user, &host, &port, &portnum, &path, &query, &frag)) {
        snprintf(why, whylen, "not a usable URL: %s", url);
        goto done;
    }
    if (use_ssl) {
        snprintf(why, whylen, "https responders are not supported (OCSP is served over http)");
        goto done;
    }
    snprintf(fullpath, sizeof(fullpath), "%s%s%s", path, query ? "?" : "", query ? query : "");
    body = BIO_new(BIO_s_mem());
    if (body == NULL || i2d_OCSP_REQUEST_bio(body, req) <= 0) {
        snprintf(why, whylen, "cannot encode the request");
        goto done;
    }
    answer = OSSL_HTTP_transfer(NULL, host, port, fullpath, 0, NULL /* proxy: from env */,
                                NULL /* no_proxy: from env */, NULL, NULL, NULL, NULL, 0, NULL,
                                "application/ocsp-request", body, "application/ocsp-response", 1,
                                RESPONSE_MAX_BYTES, timeout, 0);
    if (answer == NULL) {
        snprintf(why, whylen, "%s", openssl_errors(err, sizeof(err)));
        goto done;
    }
    char *data = NULL;
    long n = BIO_get_mem_data(answer, &data);
    if (n <= 0 || data == NULL) {
        snprintf(why, whylen, "empty answer");
        goto done;
    }
    if ((out = OPENSSL_malloc((size_t)n)) == NULL) {
        snprintf(why, whylen, "out of memory");
        goto done;
    }
    memcpy(out, data, (size_t)n);
    *len = (size_t)n;
done:
    BIO_free(body);
    BIO_free(answer);
    OPENSSL_free(user);
    OPENSSL_free(host);
    OPENSSL_free(port);
    OPENSSL_free(path);
    OPENSSL_free(query);
    OPENSSL_free(frag);
    ERR_clear_error();
    return out;
}
