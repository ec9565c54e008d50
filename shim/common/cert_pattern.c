/*
 * cert_pattern.c - certificate patterns: their rules, matching a directory's names, and the
 * concrete entries they make (see cert_pattern.h).
 *
 * Matching is done on the names of one directory's listing rather than with glob(3): glob
 * works on paths, which the shim cannot use after a chroot, and it sorts by the whole path
 * under the locale, where the results must not depend on the environment.
 */
#include "cert_pattern.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "staple_entry.h"

/* count_stars - the number of '*' in `s` (0 for NULL). */
static size_t count_stars(const char *s)
{
    size_t n = 0;
    for (; s != NULL && *s; s++)
        n += *s == '*';
    return n;
}

bool cert_pattern_is_pattern(const char *certificate)
{
    return certificate != NULL && strchr(certificate, '*') != NULL;
}

void cert_pattern_free(struct cert_pattern *p)
{
    free(p->dir);
    free(p->head);
    free(p->tail);
    free(p->rest);
    memset(p, 0, sizeof(*p));
}

/* pattern_rule - the rule `certificate` breaks as a pattern, or NULL. */
static const char *pattern_rule(const char *certificate)
{
    size_t stars = count_stars(certificate);
    if (stars == 0)
        return "holds no `*`, so it is not a pattern";
    if (stars > 1)
        return "holds more than one `*`: a pattern has exactly one, in one path component "
               "(never in the directories before it)";
    const char *star = strchr(certificate, '*');
    const char *comp = star;
    while (comp > certificate && comp[-1] != '/')
        comp--;
    if (comp[0] == '.')
        return "the component with the `*` starts with '.', but `*` never matches a hidden "
               "name";
    const char *end = strchr(star, '/');
    if (end != NULL && end[1] == '\0')
        return "ends with '/': a pattern names certificate files";
    return NULL;
}

int cert_pattern_parse(const char *certificate, struct cert_pattern *p, const char **why)
{
    memset(p, 0, sizeof(*p));
    if ((*why = pattern_rule(certificate)) != NULL)
        return -1;
    const char *star = strchr(certificate, '*');
    const char *comp = star;
    while (comp > certificate && comp[-1] != '/')
        comp--;
    const char *end = strchr(star, '/');
    if (end == NULL)
        end = star + strlen(star);
    if (comp == certificate)
        p->dir = strdup(".");
    else if (comp == certificate + 1)
        p->dir = strdup("/");
    else
        p->dir = strndup(certificate, (size_t)(comp - 1 - certificate));
    p->head = strndup(comp, (size_t)(star - comp));
    p->tail = strndup(star + 1, (size_t)(end - star - 1));
    p->rest = strdup(end);
    if (p->dir == NULL || p->head == NULL || p->tail == NULL || p->rest == NULL) {
        cert_pattern_free(p);
        *why = "out of memory";
        return -1;
    }
    return 0;
}

const char *cert_pattern_entry_problem(const struct staple_entry *e, const char **setting)
{
    const char *why;

    if (!cert_pattern_is_pattern(e->certificate)) {
        *setting = "response";
        if (count_stars(e->response) > 0)
            return "holds a `*`, but the entry's certificate is not a pattern (a `*` in "
                   "certificate makes the entry cover many certificates)";
        *setting = "issuer";
        if (count_stars(e->issuer) > 0)
            return "holds a `*`, but the entry's certificate is not a pattern (a `*` in "
                   "certificate makes the entry cover many certificates)";
        return NULL;
    }
    *setting = "certificate";
    if ((why = pattern_rule(e->certificate)) != NULL)
        return why;
    *setting = "response";
    if (e->response == NULL || count_stars(e->response) != 1)
        return "must hold exactly one `*` when the certificate is a pattern: it is replaced by "
               "what the certificate's `*` matched, one response file per certificate";
    if (strchr(strchr(e->response, '*'), '/') != NULL)
        return "the `*` must be in the file name (the last component of the path)";
    *setting = "issuer";
    if (count_stars(e->issuer) > 1)
        return "holds more than one `*` (at most one, replaced as in response)";
    return NULL;
}

bool cert_pattern_match(const struct cert_pattern *p, const char *name, const char **captured,
                        size_t *captured_len)
{
    size_t n = strlen(name), h = strlen(p->head), t = strlen(p->tail);

    if (name[0] == '.' || n < h + t + 1 || strchr(name, '/') != NULL)
        return false;
    if (strncmp(name, p->head, h) != 0 || strcmp(name + n - t, p->tail) != 0)
        return false;
    if (name[h] == '.') /* the captured text becomes part of file names: never a hidden one */
        return false;
    for (size_t i = h; i < n - t; i++)
        if ((unsigned char)name[i] < 0x20 || name[i] == 0x7f) /* nor one that forges log lines */
            return false;
    if (captured != NULL)
        *captured = name + h;
    if (captured_len != NULL)
        *captured_len = n - h - t;
    return true;
}

char *cert_pattern_substitute(const char *template, const char *captured)
{
    const char *star = strchr(template, '*');
    char *out = NULL;

    if (star == NULL)
        return strdup(template);
    if (asprintf(&out, "%.*s%s%s", (int)(star - template), template, captured, star + 1) < 0)
        return NULL;
    return out;
}

/* One certificate found by the listing. */
struct found {
    char *captured;
    char *relpath;
};

static int by_captured(const void *a, const void *b)
{
    return strcmp(((const struct found *)a)->captured, ((const struct found *)b)->captured);
}

/* list_found - the certificates of `p` in `dirfd` into *out (*count of them), unsorted.
 * Returns 0, or -1 with `why`; *out is the caller's to free either way. */
static int list_found(int dirfd, const struct cert_pattern *p, struct found **out, size_t *count,
                      char *why, size_t whylen)
{
    /* A descriptor of its own: the caller's offset is not moved, and an O_PATH one serves. */
    int fd = openat(dirfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
    struct dirent *de;
    int rc = 0;

    struct stat dst;
    if (d == NULL) {
        snprintf(why, whylen, "cannot list %s: %s", p->dir, strerror(errno));
        if (fd >= 0)
            close(fd);
        return -1;
    }
    if (fstat(fd, &dst) != 0 || (dst.st_mode & S_IWOTH)) {
        snprintf(why, whylen,
                 "%s is world-writable, so any local user could add certificates and name "
                 "response files; not listed (chmod o-w it)",
                 p->dir);
        closedir(d);
        return -1;
    }
    errno = 0;
    while ((de = readdir(d)) != NULL) {
        const char *cap;
        size_t caplen;
        struct stat st;
        char *relpath = NULL;
        if (!cert_pattern_match(p, de->d_name, &cap, &caplen))
            continue;
        if (asprintf(&relpath, "%s%s", de->d_name, p->rest) < 0) {
            snprintf(why, whylen, "out of memory");
            rc = -1;
            break;
        }
        if (fstatat(fd, relpath, &st, 0) != 0 || !S_ISREG(st.st_mode)) {
            free(relpath); /* not (yet) a certificate: live/README, a directory being made */
            errno = 0;
            continue;
        }
        struct found *grown = realloc(*out, (*count + 1) * sizeof(*grown));
        char *c = strndup(cap, caplen);
        if (grown != NULL)
            *out = grown;
        if (grown == NULL || c == NULL) {
            free(relpath);
            free(c);
            snprintf(why, whylen, "out of memory");
            rc = -1;
            break;
        }
        (*out)[*count].captured = c;
        (*out)[(*count)++].relpath = relpath;
        errno = 0;
    }
    if (rc == 0 && errno != 0) {
        snprintf(why, whylen, "cannot list %s: %s", p->dir, strerror(errno));
        rc = -1;
    }
    closedir(d);
    return rc;
}

int cert_pattern_list(int dirfd, const struct cert_pattern *p, cert_pattern_fn fn, void *arg,
                      char *why, size_t whylen)
{
    struct found *found = NULL;
    size_t count = 0;
    int rc = list_found(dirfd, p, &found, &count, why, whylen);

    if (rc == 0 && count > 1)
        qsort(found, count, sizeof(*found), by_captured);
    for (size_t i = 0; rc == 0 && i < count; i++)
        if (fn(found[i].captured, found[i].relpath, arg) != 0) {
            snprintf(why, whylen, "the listing of %s was stopped", p->dir);
            rc = -1;
        }
    for (size_t i = 0; i < count; i++) {
        free(found[i].captured);
        free(found[i].relpath);
    }
    free(found);
    return rc == 0 ? (int)count : -1;
}

int cert_pattern_entry_make(const struct staple_entry *pe, const char *captured,
                            struct staple_entry *out)
{
    struct staple_entry tmpl = *pe;

    memset(out, 0, sizeof(*out));
    if (!cert_pattern_is_pattern(pe->certificate) || pe->response == NULL ||
        pattern_rule(pe->certificate) != NULL)
        return -1;
    /* The copy takes sni and responder; the three templates are made afresh. */
    tmpl.certificate = tmpl.response = tmpl.issuer = tmpl.from_pattern = NULL;
    if (staple_entry_copy(&tmpl, out) != 0)
        return -1;
    out->is_pattern = false;
    out->certificate = cert_pattern_substitute(pe->certificate, captured);
    out->response = cert_pattern_substitute(pe->response, captured);
    out->issuer = pe->issuer != NULL ? cert_pattern_substitute(pe->issuer, captured) : NULL;
    out->from_pattern = strdup(pe->certificate);
    if (out->certificate == NULL || out->response == NULL || out->from_pattern == NULL ||
        (pe->issuer != NULL && out->issuer == NULL)) {
        staple_entry_free(out);
        return -1;
    }
    return 0;
}

/* What cert_pattern_expand gathers. */
struct expansion {
    const struct staple_entry *pe;
    struct staple_entry *entries;
    size_t count;
};

/* add_entry - cert_pattern_fn: one concrete entry more. */
static int add_entry(const char *captured, const char *relpath, void *arg)
{
    struct expansion *x = arg;
    (void)relpath;
    struct staple_entry *grown = realloc(x->entries, (x->count + 1) * sizeof(*grown));
    if (grown == NULL)
        return -1;
    x->entries = grown;
    if (cert_pattern_entry_make(x->pe, captured, &x->entries[x->count]) != 0)
        return -1;
    x->count++;
    return 0;
}

int cert_pattern_expand(int dirfd, const struct staple_entry *pe, struct staple_entry **out,
                        size_t *count, char *why, size_t whylen)
{
    struct cert_pattern p;
    struct expansion x = {pe, NULL, 0};
    const char *rule;

    *out = NULL;
    *count = 0;
    if (cert_pattern_parse(pe->certificate, &p, &rule) != 0) {
        snprintf(why, whylen, "%s", rule);
        return -1;
    }
    int n = cert_pattern_list(dirfd, &p, add_entry, &x, why, whylen);
    cert_pattern_free(&p);
    if (n < 0) {
        for (size_t i = 0; i < x.count; i++)
            staple_entry_free(&x.entries[i]);
        free(x.entries);
        return -1;
    }
    *out = x.entries;
    *count = x.count;
    return 0;
}
