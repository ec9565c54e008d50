/*
 * files.c - PEM certificate files and DER response files, read the same way everywhere.
 */
#include "files.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/pem.h>

#include "log.h"
#include "validate.h"

#define CERT_FILE_MAX_CERTS 64

/* load_pem_certs - every certificate of a PEM file, in order. NULL (logged) on failure. */
static STACK_OF(X509) *
    load_pem_certs(const char *conf_path, int line, const char *setting, const char *path)
{
    STACK_OF(X509) *certs = sk_X509_new_null();
    char err[256];
    BIO *bio = BIO_new_file(path, "r");
    X509 *x;

    if (bio == NULL || certs == NULL) {
        log_error("%s:%d: %s %s: cannot be read: %s", conf_path, line, setting, path,
                  bio == NULL ? strerror(errno) : "out of memory");
        goto fail;
    }
    while (sk_X509_num(certs) < CERT_FILE_MAX_CERTS &&
           (x = PEM_read_bio_X509(bio, NULL, NULL, NULL)) != NULL) {
        if (!sk_X509_push(certs, x)) {
            X509_free(x);
            goto fail;
        }
    }
    unsigned long e = ERR_peek_last_error();
    if (ERR_GET_LIB(e) == ERR_LIB_PEM && ERR_GET_REASON(e) == PEM_R_NO_START_LINE)
        ERR_clear_error(); /* the normal end of the file */
    if (ERR_peek_error() != 0 || sk_X509_num(certs) == 0) {
        log_error("%s:%d: %s %s: %s", conf_path, line, setting, path,
                  sk_X509_num(certs) == 0 ? "holds no PEM certificate"
                                          : openssl_errors(err, sizeof(err)));
        goto fail;
    }
    BIO_free(bio);
    return certs;
fail:
    ERR_clear_error();
    BIO_free(bio);
    sk_X509_pop_free(certs, X509_free);
    return NULL;
}

/* move_all - append every certificate of `from` to `to` and free `from`. */
static int move_all(STACK_OF(X509) * from, STACK_OF(X509) * to)
{
    int ok = 1;
    while (sk_X509_num(from) > 0) {
        X509 *x = sk_X509_shift(from);
        if (!sk_X509_push(to, x)) {
            X509_free(x);
            ok = 0;
        }
    }
    sk_X509_free(from);
    return ok;
}

int entry_load_certs(const char *conf_path, const struct staple_entry *e, X509 **leaf,
                     STACK_OF(X509) * *issuers)
{
    STACK_OF(X509) *all = sk_X509_new_null(), *got;
    X509 *first = NULL;

    if (all == NULL)
        return -1;
    if (e->issuer != NULL) {
        if ((got = load_pem_certs(conf_path, e->line, "issuer", e->issuer)) == NULL ||
            !move_all(got, all))
            goto fail;
    }
    if (e->certificate != NULL) {
        if ((got = load_pem_certs(conf_path, e->line, "certificate", e->certificate)) == NULL)
            goto fail;
        first = sk_X509_shift(got);
        if (!move_all(got, all))
            goto fail;
    }
    *leaf = first;
    *issuers = all;
    return 0;
fail:
    X509_free(first);
    sk_X509_pop_free(all, X509_free);
    return -1;
}

X509 *entry_find_issuer(X509 *leaf, STACK_OF(X509) * issuers, STACK_OF(X509) * host_chain,
                        OCSP_BASICRESP *basic)
{
    X509 *issuer = find_issuer(leaf, issuers);
    if (issuer == NULL)
        issuer = find_issuer(leaf, host_chain);
    if (issuer == NULL && basic != NULL)
        issuer = find_issuer(leaf, (STACK_OF(X509) *)OCSP_resp_get0_certs(basic));
    return issuer;
}

bool is_response_file_name(const char *name)
{
    size_t n = strlen(name);
    return n > 4 && strcmp(name + n - 4, ".der") == 0 && name[0] != '.';
}

unsigned char *response_file_judge(const char *path, X509 *leaf, STACK_OF(X509) * issuers,
                                   const struct validation_policy *policy, time_t now,
                                   struct response_facts *facts, size_t *len, X509 **issuer)
{
    OCSP_BASICRESP *basic = NULL;
    char why[256];

    unsigned char *der = response_file_read(AT_FDCWD, path, len, why, sizeof(why));
    if (der == NULL) {
        memset(facts, 0, sizeof(*facts));
        facts->cert_status = -1;
        facts->revocation_reason = -1;
        facts->verdict = VERDICT_UNREADABLE;
        snprintf(facts->reason, sizeof(facts->reason), "%s", why);
    } else {
        basic = response_parse(der, *len, facts);
    }
    X509 *found = entry_find_issuer(leaf, issuers, NULL, basic);
    if (found != NULL)
        X509_up_ref(found); /* it may be one of the response's certificates */
    if (basic != NULL)
        response_validate(basic, leaf, found, policy, now, facts);
    OCSP_BASICRESP_free(basic);
    ERR_clear_error();
    if (issuer != NULL)
        *issuer = found;
    else
        X509_free(found);
    return der;
}

unsigned char *response_file_read(int dirfd, const char *name, size_t *len, char *why,
                                  size_t whylen)
{
    unsigned char *buf = NULL;
    struct stat st;

    if (fstatat(dirfd, name, &st, 0) != 0) {
        snprintf(why, whylen, "%s", strerror(errno));
        return NULL;
    }
    if (S_ISDIR(st.st_mode)) {
        snprintf(why, whylen, "a directory, not a response file");
        return NULL;
    }
    if (!S_ISREG(st.st_mode)) {
        snprintf(why, whylen, "not a regular file (a FIFO, socket or device?)");
        return NULL;
    }
    if (st.st_size > RESPONSE_MAX_BYTES) {
        snprintf(why, whylen, "%lld bytes, too large for an OCSP response (limit %d)",
                 (long long)st.st_size, RESPONSE_MAX_BYTES);
        return NULL;
    }
    int fd = openat(dirfd, name, O_RDONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
    if (fd < 0) {
        snprintf(why, whylen, "%s", strerror(errno));
        return NULL;
    }
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || st.st_size > RESPONSE_MAX_BYTES) {
        snprintf(why, whylen, "changed while being opened");
        goto fail;
    }
    buf = OPENSSL_malloc((size_t)st.st_size + 1);
    if (buf == NULL) {
        snprintf(why, whylen, "out of memory");
        goto fail;
    }
    size_t got = 0;
    for (;;) {
        ssize_t n = read(fd, buf + got, (size_t)st.st_size + 1 - got);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            snprintf(why, whylen, "read error: %s", strerror(errno));
            goto fail;
        }
        if (n == 0)
            break;
        got += (size_t)n;
        if (got > (size_t)st.st_size) {
            snprintf(why, whylen, "grew while being read");
            goto fail;
        }
    }
    close(fd);
    *len = got;
    return buf;
fail:
    OPENSSL_free(buf);
    close(fd);
    return NULL;
}
