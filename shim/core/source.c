/*
 * source.c - one response file and the versions read from it; the list of all of them (see
 * source.h).
 */
#include "source.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "files.h"
#include "hash.h"
#include "staple_entry.h"
#include "log.h"

static struct {
    struct source **list;
    size_t count, cap;
} L;

void changes_add(struct changes *c, struct source *src)
{
    if (c->count == c->cap) {
        size_t cap = c->cap ? 2 * c->cap : 64;
        struct source **grown = realloc(c->list, cap * sizeof(struct source *));
        if (grown == NULL) {
            c->all = true; /* a binding must not go over with versions no longer listed */
            return;
        }
        c->list = grown;
        c->cap = cap;
    }
    c->list[c->count++] = src;
}

struct source *source_new(const char *path, struct dir_handle *dir, size_t name_offset)
{
    struct source *src = calloc(1, sizeof(*src));
    if (src == NULL)
        return NULL;
    atomic_init(&src->refs, 1);
    src->path = path;
    src->name = src->path + name_offset;
    src->dir = dir;
    return src;
}

bool source_add_issuer(struct source *src, struct pooled_cert *c)
{
    struct pooled_cert **grown =
        realloc(src->issuers, (src->issuer_count + 1) * sizeof(struct pooled_cert *));
    if (grown == NULL)
        return false;
    src->issuers = grown;
    src->issuers[src->issuer_count++] = c;
    return true;
}

static size_t source_name_hash(const void *item)
{
    return name_hash(((const struct source *)item)->name);
}

bool source_list(struct source *src)
{
    struct dir_handle *dir = src->dir;
    if (L.count == L.cap) {
        size_t cap = L.cap ? L.cap * 2 : 16;
        struct source **grown = realloc(L.list, cap * sizeof(struct source *));
        if (grown == NULL)
            return false;
        L.list = grown;
        L.cap = cap;
    }
    if (!ptrtable_reserve(&dir->names, source_name_hash))
        return false;
    ptrtable_put(&dir->names, src, name_hash(src->name));
    L.list[L.count++] = src;
    return true;
}

void source_free(struct source *src)
{
    if (src == NULL)
        return;
    for (int h = 0; h < HISTORY; h++)
        version_unref(src->history[h]);
    if (src->entry != NULL) {
        staple_entry_free(src->entry);
        free(src->entry);
    }
    free(src->owned_path);
    free(src->former_fp);
    free(src->issuers);
    free(src);
}

bool source_names(const struct source *src, const unsigned char fp[20], bool *former)
{
    *former = false;
    if (!src->has_leaf)
        return false;
    if (memcmp(src->leaf_fp, fp, 20) == 0)
        return true;
    for (int i = 0; i < src->former_count; i++)
        if (memcmp(src->former_fp[i], fp, 20) == 0)
            return *former = true;
    return false;
}

void source_ref(struct source *src)
{
    if (src != NULL)
        atomic_fetch_add_explicit(&src->refs, 1, memory_order_relaxed);
}

void source_unref(struct source *src)
{
    if (src != NULL && atomic_fetch_sub_explicit(&src->refs, 1, memory_order_acq_rel) == 1)
        source_free(src);
}

/* still_listed - ptrtable_filter's test: keep the sources not retired. */
static bool still_listed(const void *item)
{
    return !((const struct source *)item)->retired;
}

void sources_unlist_retired(void)
{
    /* Each directory's name table is rebuilt once, however many of its sources go. */
    for (size_t i = 0; i < L.count; i++) {
        struct dir_handle *d = L.list[i]->dir;
        if (L.list[i]->retired && !d->names_filtered && d->names.slots != NULL) {
            ptrtable_filter(&d->names, still_listed, source_name_hash);
            d->names_filtered = true;
        }
    }
    size_t kept = 0;
    for (size_t i = 0; i < L.count; i++) {
        struct source *src = L.list[i];
        src->dir->names_filtered = false;
        if (!src->retired)
            L.list[kept++] = src;
        else
            source_unref(src); /* freed here, or with the last snapshot holding it */
    }
    L.count = kept;
}

size_t sources_count(void)
{
    return L.count;
}

struct source *sources_at(size_t i)
{
    return i < L.count ? L.list[i] : NULL;
}

/* history_push - make `v` the newest version. When the history is full, the oldest version
 * that never passed the checks goes first: a run of bad replacements must not push out the
 * last good response while it is still valid. */
static void history_push(struct source *src, struct version *v)
{
    int evict = HISTORY - 1;
    if (src->history[HISTORY - 1] != NULL) {
        for (int h = HISTORY - 1; h >= 0; h--)
            if (!atomic_load(&src->history[h]->usable)) {
                evict = h;
                break;
            }
    }
    version_unref(src->history[evict]);
    memmove(&src->history[1], &src->history[0], (size_t)evict * sizeof(struct version *));
    src->history[0] = v;
}

/* report_unreadable - one line for a file that cannot be read, once per distinct problem.
 * `missing`: it could not even be looked at (gone, no permission on its directory). */
static void report_unreadable(struct source *src, const char *why, bool missing,
                              const struct stat *st)
{
    char key[300];
    snprintf(key, sizeof(key), "%s|%llu|%o", why, st ? (unsigned long long)st->st_ino : 0ULL,
             st ? (unsigned)st->st_mode : 0U);
    uint64_t h = content_hash((const unsigned char *)key, strlen(key));
    if (h == src->problem_hash)
        return;
    src->problem_hash = h;
    if (missing)
        log_warning("%s: cannot be read: %s%s", src->path, why,
                    src->history[0] ? "; the last good response stays in use until its "
                                      "nextUpdate"
                                    : "; nothing to staple from it");
    else
        log_error("%s: cannot be read: %s%s", src->path, why,
                  src->history[0] ? "; the last good response stays in use" : "");
}

bool source_refresh(struct source *src, bool initial)
{
    struct stat st;
    struct response_facts facts;
    char why[256];
    size_t len = 0;
    int dfd = src->dir->pass_fd;

    /* Missing files need no polling: they can only come back by a change of their directory,
     * which is listed then. Files modified within the last second are looked at again. */
    src->unsettled = false;
    if (dfd < 0) {
        report_unreadable(src, "its directory cannot be opened", true, NULL);
        src->have_seen = false;
        return false;
    }
    if (src->have_seen) {
        if (fstatat(dfd, src->name, &st, 0) != 0) {
            report_unreadable(src, strerror(errno), true, NULL);
            src->have_seen = false;
            return false;
        }
        struct file_id id = file_id_of(&st);
        if (same_file(&id, &src->seen))
            return false;
    }
    memset(&st, 0, sizeof(st));
    unsigned char *der = regular_file_read(dfd, src->name, "an OCSP response", RESPONSE_MAX_BYTES,
                                           &len, &st, why, sizeof(why));
    if (der == NULL) {
        bool missing = st.st_mode == 0; /* not even its status could be read */
        report_unreadable(src, why, missing, missing ? NULL : &st);
        src->seen = file_id_of(&st);
        src->have_seen = !missing && settled(&st.st_mtim);
        src->unsettled = !missing && !src->have_seen;
        return false;
    }
    src->problem_hash = 0;
    src->seen = file_id_of(&st);
    src->have_seen = settled(&st.st_mtim);
    src->unsettled = !src->have_seen;
    if (src->history[0] != NULL && src->history[0]->len == len &&
        memcmp(src->history[0]->der, der, len) == 0) {
        OPENSSL_free(der); /* touched, same bytes */
        return false;
    }
    uint64_t hash = content_hash(der, len);
    struct version *v = version_new(der, len, &facts);
    if (v == NULL) {
        if (hash != src->rejected_hash)
            log_error("%s: rejected: %s: %s%s", src->path, verdict_name(facts.verdict),
                      facts.reason, src->history[0] ? "; the last good response stays in use" : "");
        src->rejected_hash = hash;
        return false;
    }
    src->rejected_hash = 0;
    history_push(src, v);
    if (initial)
        log_debug("%s: loaded (%zu bytes)", src->path, len);
    else
        log_info("%s: replaced (%zu bytes); checking it", src->path, len);
    return true;
}
