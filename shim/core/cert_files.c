/*
 * cert_files.c - the entries' certificate and issuer files, watched and re-indexed (see
 * cert_files.h).
 */
#include "cert_files.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "dir_handle.h"
#include "hash.h"
#include "log.h"

#define CERT_DIRS_MAX       64  /* directory handles opened for certificate files, at most */
#define CERT_FILES_PER_PASS 500 /* entries looked at every pass whatever their directory says */

static struct {
    size_t dirs_made; /* directory handles opened for certificate files */
    size_t cursor;    /* the next source looked at in turn, in a large configuration */
} CF;

/* stat_file - the status of f's file now, following symlinks; false with errno set. */
static bool stat_file(const struct cert_file *f, struct stat *st)
{
    int dfd = f->dir != NULL ? f->dir->pass_fd : AT_FDCWD;
    if (dfd == -1) {
        errno = ENOENT;
        return false;
    }
    return fstatat(dfd, f->name, st, 0) == 0;
}

/* watch_file - start watching `path` (may be NULL) into *f. */
static void watch_file(struct cert_file *f, const char *path)
{
    struct stat st;
    memset(f, 0, sizeof(*f));
    f->path = path;
    if (path == NULL)
        return;
    /* A handle of a directory opened before costs nothing; new ones up to CERT_DIRS_MAX. */
    size_t before = dir_handle_count();
    const char *name;
    struct dir_handle *d = dir_of_file(path, CF.dirs_made < CERT_DIRS_MAX, &name);
    CF.dirs_made += dir_handle_count() - before;
    f->name = path;
    if (d != NULL && d->fd >= 0) {
        f->dir = d;
        f->name = name;
        f->dir_generation = d->generation;
    }
    if (stat_file(f, &st)) {
        struct file_id id = file_id_of(&st);
        f->seen = file_id_hash(&id);
        f->have_seen = settled(&st.st_mtim);
        f->unsettled = !f->have_seen;
    }
}

void cert_files_watch(struct source *src)
{
    watch_file(&src->files[0], src->entry->certificate);
    watch_file(&src->files[1], src->entry->issuer);
}

/* changed_file - whether f's file is now another content than the one indexed,
 * or modified within the last second (then f->unsettled: read now, and again next pass, as a
 * writer may still be at it). A file that cannot be looked at is reported once per problem. */
static bool changed_file(const char *conf_path, const struct source *src, struct cert_file *f)
{
    struct stat st;
    f->unsettled = false;
    if (f->dir != NULL)
        f->dir_generation = f->dir->generation;
    if (!stat_file(f, &st)) {
        const char *why = strerror(errno);
        uint64_t h = content_hash((const unsigned char *)why, strlen(why));
        if (h != f->problem_hash)
            log_warning("%s:%d: %s %s: cannot be read: %s; the certificates read before stay in "
                        "use for %s",
                        conf_path, src->entry->line, f == &src->files[0] ? "certificate" : "issuer",
                        f->path, why, src->path);
        f->problem_hash = h;
        f->have_seen = false;
        return false;
    }
    f->problem_hash = 0;
    struct file_id id = file_id_of(&st);
    uint64_t h = file_id_hash(&id);
    if (f->have_seen && h == f->seen)
        return false;
    /* Read at once, so that a response replaced in the same second is judged against the new
     * certificate; but remembered as seen only once settled, so that a file still being
     * written is read again. */
    f->unsettled = !settled(&st.st_mtim) || !settled(&st.st_ctim);
    f->seen = h;
    f->have_seen = !f->unsettled;
    return true;
}

/* reindex - read src's files again and, when they hold other certificates now, make them the
 * entry's (under the checks' lock). Returns whether anything changed. */
static bool reindex(const char *conf_path, const struct sources_hooks *hooks, struct source *src)
{
    struct entry_certs now;
    char desc[300];
    if (entry_source_reindex(conf_path, src, hooks->leaf_read, &now, desc, sizeof(desc)) != 0) {
        bool writing = src->files[0].unsettled || src->files[1].unsettled;
        if (!writing) /* else read again at the next pass, once it is written */
            log_warning("%s:%d: the certificates read before stay in use for %s", conf_path,
                        src->entry->line, src->path);
        return false;
    }
    bool leaf_changed = now.has_leaf != src->has_leaf ||
                        memcmp(now.leaf_fp, src->leaf_fp, sizeof(now.leaf_fp)) != 0;
    bool issuers_changed = now.issuer_count != src->issuer_count ||
                           (now.issuer_count > 0 && memcmp(now.issuers, src->issuers,
                                                           now.issuer_count * sizeof(void *)) != 0);
    if (!leaf_changed && !issuers_changed) {
        free(now.issuers);
        return false;
    }
    struct pooled_cert **old = src->issuers;
    unsigned char(*former)[20] =
        src->former_fp ? src->former_fp : calloc(FORMER_LEAVES, sizeof(*src->former_fp));
    hooks->lock_checks();
    src->former_fp = former;
    if (leaf_changed && src->has_leaf && former != NULL) {
        memmove(src->former_fp[1], src->former_fp[0], (size_t)(FORMER_LEAVES - 1) * 20);
        memcpy(src->former_fp[0], src->leaf_fp, 20);
        if (src->former_count < FORMER_LEAVES)
            src->former_count++;
    }
    src->has_leaf = now.has_leaf;
    memcpy(src->leaf_fp, now.leaf_fp, sizeof(src->leaf_fp));
    src->issuers = now.issuers;
    src->issuer_count = now.issuer_count;
    hooks->unlock_checks();
    free(old);
    if (leaf_changed)
        log_info("%s:%d: certificate %s changed: now %s; stapled as soon as %s holds a good "
                 "response for it",
                 conf_path, src->entry->line, src->entry->certificate,
                 desc[0] ? desc : "(unreadable)", src->path);
    else
        log_info("%s:%d: the issuer certificates of %s changed", conf_path, src->entry->line,
                 src->path);
    return true;
}

/* due - whether src's files are to be looked at in this pass (`all`: every entry is). */
static bool due(const struct source *src, bool all)
{
    bool any = false;
    for (int k = 0; k < 2; k++) {
        const struct cert_file *f = &src->files[k];
        if (f->path == NULL)
            continue;
        any = true;
        if (f->unsettled || !f->have_seen ||
            (f->dir != NULL && f->dir->generation != f->dir_generation))
            return true;
    }
    return any && all;
}

/* look_at - look at src's files, and re-index it when one changed. */
static void look_at(const char *conf_path, const struct sources_hooks *hooks, struct source *src,
                    struct changes *changed)
{
    bool changed_any = false;
    for (int k = 0; k < 2; k++)
        if (src->files[k].path != NULL)
            changed_any |= changed_file(conf_path, src, &src->files[k]);
    if (changed_any && reindex(conf_path, hooks, src))
        changes_add(changed, src);
}

void cert_files_pass(const char *conf_path, const struct sources_hooks *hooks,
                     struct changes *changed)
{
    size_t count = sources_count();
    bool all = count <= CERT_FILES_PER_PASS;
    for (size_t i = 0; i < count; i++) {
        struct source *src = sources_at(i);
        if (src->entry != NULL && due(src, all))
            look_at(conf_path, hooks, src, changed);
    }
    for (size_t k = 0; !all && k < CERT_FILES_PER_PASS; k++) {
        if (CF.cursor >= count)
            CF.cursor = 0;
        struct source *src = sources_at(CF.cursor++);
        if (src->entry != NULL)
            look_at(conf_path, hooks, src, changed);
    }
}
