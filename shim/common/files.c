/*
 * files.c - PEM certificate files and DER response files, read the same way everywhere.
 */
#include "files.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include "log.h"
#include "validate.h"

#define CERT_FILE_MAX_CERTS 64

/* each_pem_cert - call `each` with the DER bytes of every certificate of the PEM file `path`,
 * in order, at most CERT_FILE_MAX_CERTS of them. Blocks of other kinds (a private key in a
 * combined file) are skipped, as PEM_read_bio_X509 skips them. With `known`, the text that is
 * left before certificate number `offer_at` is offered to it first: when it returns true, the
 * rest is not decoded (the caller has its certificates from identical text). Problems are
 * logged as "CONF:LINE: SETTING PATH: reason". Returns 0, or -1 (logged, unless `each` gave
 * up). */
static int each_pem_cert(const char *conf_path, int line, const char *setting, const char *path,
                         int (*each)(const unsigned char *der, long len, void *arg), int offer_at,
                         bool (*known)(const unsigned char *rest, size_t len, void *arg), void *arg,
                         int dirfd, const char *name)
{
    char why[256];
    size_t size = 0;
    unsigned char *text = regular_file_read(dirfd, name, "a certificate file", CERT_FILE_MAX_BYTES,
                                            &size, NULL, why, sizeof(why));
    BIO *bio = text != NULL && size <= INT_MAX ? BIO_new_mem_buf(text, (int)size) : NULL;
    unsigned char *der = NULL;
    long len = 0;
    int count = 0, rc = -1;

    if (bio == NULL) {
        log_error("%s:%d: %s %s: cannot be read: %s", conf_path, line, setting, path,
                  text == NULL ? why : "out of memory");
        goto done;
    }
    ERR_clear_error();
    for (;;) {
        if (known != NULL && count == offer_at) {
            char *rest = NULL;
            long left = BIO_get_mem_data(bio, &rest);
            if (known((const unsigned char *)rest, left > 0 ? (size_t)left : 0, arg)) {
                rc = 0;
                goto done;
            }
        }
        if (count >= CERT_FILE_MAX_CERTS ||
            PEM_bytes_read_bio(&der, &len, NULL, PEM_STRING_X509, bio, NULL, NULL) != 1)
            break;
        int r = each(der, len, arg);
        OPENSSL_free(der);
        if (r != 0)
            goto done;
        count++;
    }
    unsigned long e = ERR_peek_last_error();
    if (ERR_GET_LIB(e) == ERR_LIB_PEM && ERR_GET_REASON(e) == PEM_R_NO_START_LINE)
        ERR_clear_error(); /* the normal end of the file */
    if (ERR_peek_error() != 0 || count == 0) {
        log_error("%s:%d: %s %s: %s", conf_path, line, setting, path,
                  count == 0 && ERR_peek_error() == 0 ? "holds no PEM certificate"
                                                      : openssl_errors(why, sizeof(why)));
        goto done;
    }
    rc = 0;
done:
    ERR_clear_error();
    BIO_free(bio);
    OPENSSL_free(text);
    return rc;
}

struct decoding {
    STACK_OF(X509) * certs;
    const char *conf_path, *setting, *path;
    int line;
};

/* decode_one - each_pem_cert's callback for load_pem_certs. */
static int decode_one(const unsigned char *der, long len, void *arg)
{
    struct decoding *d = arg;
    const unsigned char *p = der;
    char err[256];
    X509 *x = d2i_X509(NULL, &p, len);
    if (x == NULL) {
        log_error("%s:%d: %s %s: %s", d->conf_path, d->line, d->setting, d->path,
                  openssl_errors(err, sizeof(err)));
        return -1;
    }
    if (!sk_X509_push(d->certs, x)) {
        X509_free(x);
        return -1;
    }
    return 0;
}

/* load_pem_certs - every certificate of a PEM file, decoded, in order. NULL (logged) on
 * failure. */
static STACK_OF(X509) *
    load_pem_certs(const char *conf_path, int line, const char *setting, const char *path)
{
    struct decoding d = {sk_X509_new_null(), conf_path, setting, path, line};
    if (d.certs == NULL || each_pem_cert(conf_path, line, setting, path, decode_one, -1, NULL, &d,
                                         AT_FDCWD, path) != 0) {
        sk_X509_pop_free(d.certs, X509_free);
        return NULL;
    }
    return d.certs;
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

struct indexing {
    const struct entry_cert_ops *ops;
    void *arg;
    const char *file;
    unsigned char *leaf_fp; /* NULL: no leaf wanted from this file, or already taken */
    bool *has_leaf;
};

/* index_one - each_pem_cert's callback for entry_index_certs. */
static int index_one(const unsigned char *der, long len, void *arg)
{
    struct indexing *ix = arg;
    if (ix->leaf_fp != NULL) {
        unsigned int n = 0;
        if (EVP_Digest(der, (size_t)len, ix->leaf_fp, &n, EVP_sha1(), NULL) != 1 || n != 20)
            return -1;
        *ix->has_leaf = true;
        ix->leaf_fp = NULL;
        return ix->ops->keep(der, (size_t)len, ix->file, true, ix->arg);
    }
    return ix->ops->keep(der, (size_t)len, ix->file, false, ix->arg);
}

/* known_text - each_pem_cert's offer, passed on to the caller's known_text. */
static bool known_text(const unsigned char *rest, size_t len, void *arg)
{
    struct indexing *ix = arg;
    return ix->ops->known_text(rest, len, ix->arg);
}

/* locate_file - where entry_index_certs opens `file`: as the caller's ops say, else by path. */
static int locate_file(const struct entry_cert_ops *ops, void *arg, const char *file,
                       const char **name)
{
    *name = file;
    return ops->locate != NULL ? ops->locate(file, name, arg) : AT_FDCWD;
}

int entry_index_certs(const char *conf_path, const struct staple_entry *e, bool *has_leaf,
                      unsigned char leaf_fp[20], const struct entry_cert_ops *ops, void *arg)
{
    struct indexing ix = {ops, arg, e->issuer, NULL, has_leaf};
    bool (*offer)(const unsigned char *, size_t, void *) = ops->known_text ? known_text : NULL;
    const char *name;
    int dirfd;

    *has_leaf = false;
    if (e->issuer != NULL) {
        dirfd = locate_file(ops, arg, e->issuer, &name);
        if (each_pem_cert(conf_path, e->line, "issuer", e->issuer, index_one, 0, offer, &ix, dirfd,
                          name))
            return -1;
    }
    if (e->certificate != NULL) {
        ix.file = e->certificate;
        ix.leaf_fp = leaf_fp;
        dirfd = locate_file(ops, arg, e->certificate, &name);
        if (each_pem_cert(conf_path, e->line, "certificate", e->certificate, index_one, 1, offer,
                          &ix, dirfd, name))
            return -1;
    }
    return 0;
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
    return regular_file_read(dirfd, name, "an OCSP response", RESPONSE_MAX_BYTES, len, NULL, why,
                             whylen);
}

unsigned char *regular_file_read(int dirfd, const char *name, const char *kind, size_t max,
                                 size_t *len, struct stat *stp, char *why, size_t whylen)
{
    unsigned char *buf = NULL;
    struct stat st;

    if (fstatat(dirfd, name, &st, 0) != 0) {
        snprintf(why, whylen, "%s", strerror(errno));
        return NULL;
    }
    if (S_ISDIR(st.st_mode)) {
        snprintf(why, whylen, "a directory, not %s", kind);
        return NULL;
    }
    if (!S_ISREG(st.st_mode)) {
        snprintf(why, whylen, "not a regular file (a FIFO, socket or device?)");
        return NULL;
    }
    if (st.st_size < 0 || (unsigned long long)st.st_size > max) {
        snprintf(why, whylen, "%lld bytes, too large for %s (limit %zu)", (long long)st.st_size,
                 kind, max);
        return NULL;
    }
    /* O_NONBLOCK: should the name have become a FIFO since, neither open nor read blocks. */
    int fd = openat(dirfd, name, O_RDONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
    if (fd < 0) {
        snprintf(why, whylen, "%s", strerror(errno));
        return NULL;
    }
    size_t want = (size_t)st.st_size;
    buf = OPENSSL_malloc(want + 1);
    if (buf == NULL) {
        snprintf(why, whylen, "out of memory");
        goto fail;
    }
    /* Up to one byte more than stat said, to notice a file that grew; a regular file returns
     * short counts only at its end, so the usual single read() is also the last. */
    size_t got = 0;
    while (got <= want) {
        ssize_t n = read(fd, buf + got, want + 1 - got);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            snprintf(why, whylen, "read error: %s", strerror(errno));
            goto fail;
        }
        if (n == 0)
            break;
        got += (size_t)n;
        if (got == want)
            break;
    }
    if (got > want) {
        snprintf(why, whylen, "grew while being read");
        goto fail;
    }
    close(fd);
    *len = got;
    if (stp != NULL)
        *stp = st;
    return buf;
fail:
    OPENSSL_free(buf);
    close(fd);
    return NULL;
}
