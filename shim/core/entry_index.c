/*
 * entry_index.c - entries' certificates indexed into their sources, with a memo of the PEM
 * text already decoded (see entry_index.h).
 */
#include "entry_index.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include <fcntl.h>

#include "staple_entry.h"

#include "certpool.h"
#include "files.h"
#include "hash.h"
#include "log.h"
#include "validate.h"

#define TEXT_MEMO_MAX 256 /* distinct chain texts remembered while loading */

/* Issuer candidates already decoded from identical PEM text. */
struct text_memo {
    uint64_t hash;
    unsigned char *text;
    size_t len;
    struct pooled_cert **certs;
    size_t count;
};

static struct {
    struct text_memo *memos[TEXT_MEMO_MAX];
    size_t memo_count;
} M;

/* What entry_index_certs's callbacks work on: the source being made, who wants its leaf, and
 * the text whose certificates are being decoded (remembered once complete); when reindexing,
 * the source whose files are read (their directories), and a description of the new leaf. */
struct indexing {
    struct source *src;
    leaf_read_fn leaf_read;
    struct text_memo *filling;
    const struct source *files_of;
    char *leaf_desc;
    size_t leaf_desc_size;
};

static void memo_free(struct text_memo *m)
{
    if (m != NULL) {
        free(m->text);
        free(m->certs);
        free(m);
    }
}

/* memo_commit - the text decoded last is complete: remember it (if there is room). */
static void memo_commit(struct indexing *ix)
{
    if (ix->filling != NULL && M.memo_count < TEXT_MEMO_MAX)
        M.memos[M.memo_count++] = ix->filling;
    else
        memo_free(ix->filling);
    ix->filling = NULL;
}

/* known_chain_text - entry_index_certs's callback: the certificates of identical text, when
 * some earlier entry had it; else start remembering what this text holds. */
static bool known_chain_text(const unsigned char *text, size_t len, void *arg)
{
    struct indexing *ix = arg;
    memo_commit(ix);
    if (len == 0)
        return true; /* nothing after the leaf */
    uint64_t h = content_hash(text, len);
    for (size_t i = 0; i < M.memo_count; i++) {
        const struct text_memo *m = M.memos[i];
        if (m->hash != h || m->len != len || memcmp(m->text, text, len) != 0)
            continue;
        for (size_t k = 0; k < m->count; k++)
            if (!source_add_issuer(ix->src, m->certs[k]))
                return false; /* decoded again; fails there the same way if memory is short */
        return true;
    }
    if (M.memo_count < TEXT_MEMO_MAX && (ix->filling = calloc(1, sizeof(*ix->filling))) != NULL) {
        if ((ix->filling->text = malloc(len)) == NULL) {
            memo_free(ix->filling);
            ix->filling = NULL;
            return false;
        }
        memcpy(ix->filling->text, text, len);
        ix->filling->len = len;
        ix->filling->hash = h;
    }
    return false;
}

/* keep_cert - entry_index_certs's callback: an issuer candidate goes to the pool and onto the
 * source's list; the leaf to whoever wants it. */
static int keep_cert(const unsigned char *der, size_t len, const char *file, bool leaf, void *arg)
{
    struct indexing *ix = arg;
    if (leaf) {
        if (ix->leaf_read != NULL)
            ix->leaf_read(ix->src->leaf_fp, der, len);
        if (ix->leaf_desc != NULL) {
            const unsigned char *p = der;
            X509 *x = d2i_X509(NULL, &p, (long)len);
            if (x != NULL)
                describe_cert(x, ix->leaf_desc, ix->leaf_desc_size);
            X509_free(x);
        }
        return 0;
    }
    struct pooled_cert *c = certpool_add(der, len, file);
    if (c == NULL || !source_add_issuer(ix->src, c))
        return -1;
    struct text_memo *m = ix->filling;
    struct pooled_cert **grown =
        m ? realloc(m->certs, (m->count + 1) * sizeof(struct pooled_cert *)) : NULL;
    if (m != NULL && grown == NULL) {
        memo_free(m); /* not remembered, then */
        ix->filling = NULL;
    } else if (m != NULL) {
        m->certs = grown;
        m->certs[m->count++] = c;
    }
    return 0;
}

/* locate_cert_file - entry_index_certs's callback: a file of the source being reindexed is
 * read through its directory's handle (the process may be in a chroot by now), as is a file of
 * a new entry in a directory opened before. */
static int locate_cert_file(const char *file, const char **name, void *arg)
{
    const struct indexing *ix = arg;
    for (int k = 0; ix->files_of != NULL && k < 2; k++) {
        const struct cert_file *f = &ix->files_of->files[k];
        if (f->path != NULL && strcmp(f->path, file) == 0 && f->dir != NULL &&
            f->dir->pass_fd >= 0) {
            *name = f->name;
            return f->dir->pass_fd;
        }
    }
    /* A new entry (a reloaded configuration) whose file is in a directory opened before: read
     * through it, which also works inside a chroot. */
    struct dir_handle *d = dir_of_file(file, false, name);
    if (d == NULL || d->pass_fd < 0) {
        *name = file;
        return AT_FDCWD;
    }
    return d->pass_fd;
}

static const struct entry_cert_ops index_ops = {keep_cert, known_chain_text, locate_cert_file};

/* split_path - directory part and last component of `path` (which must not end in '/'). */
static int split_path(const char *path, char **dir, const char **base)
{
    const char *slash = strrchr(path, '/');
    *base = slash == NULL ? path : slash + 1;
    if (slash == NULL)
        *dir = strdup(".");
    else
        *dir = strndup(path, slash == path ? 1 : (size_t)(slash - path));
    if (*dir == NULL || (*base)[0] == '\0') {
        free(*dir);
        *dir = NULL; /* the caller frees it too, on every path */
        return -1;
    }
    return 0;
}

/* entry_take - what *e owns, moved into a struct of its own (*e zeroed). NULL when out of
 * memory (*e untouched). */
static struct staple_entry *entry_take(struct staple_entry *e)
{
    struct staple_entry *own = malloc(sizeof(*own));
    if (own != NULL) {
        *own = *e;
        memset(e, 0, sizeof(*e));
    }
    return own;
}

/* entry_give_back - undo entry_take. */
static void entry_give_back(struct staple_entry *own, struct staple_entry *e)
{
    *e = *own;
    free(own);
}

struct source *entry_source_add(const char *conf_path, struct staple_entry *e,
                                leaf_read_fn leaf_read)
{
    char *dirpath = NULL;
    const char *base = NULL;
    struct source *src = NULL;
    int line = e->line;
    const char *response = e->response;
    struct staple_entry *own = entry_take(e);

    if (own == NULL)
        goto skip;
    if (split_path(own->response, &dirpath, &base) != 0) {
        log_error("%s:%d: response %s: not a file name", conf_path, line, own->response);
        goto skip;
    }
    struct dir_handle *dir = dir_get(dirpath);
    if (dir == NULL ||
        (src = source_new(own->response, dir, (size_t)(base - own->response))) == NULL)
        goto skip;
    src->entry = own;
    own = NULL; /* the source's now */
    /* Listed only once its certificates are in: a skipped entry leaves nothing behind. */
    struct indexing ix = {src, leaf_read, NULL, NULL, NULL, 0};
    int rc =
        entry_index_certs(conf_path, src->entry, &src->has_leaf, src->leaf_fp, &index_ops, &ix);
    if (rc == 0)
        memo_commit(&ix);
    else
        memo_free(ix.filling);
    if (rc != 0 || !source_list(src)) {
        own = src->entry; /* given back below */
        src->entry = NULL;
        source_free(src); /* logged by entry_index_certs, or out of memory */
        src = NULL;
        goto skip;
    }
    free(dirpath);
    return src;
skip:
    if (own != NULL)
        entry_give_back(own, e);
    log_error("%s:%d: staples entry for %s skipped: nothing will be stapled for it", conf_path,
              line, own != NULL ? e->response : response);
    free(dirpath);
    return NULL;
}

int entry_source_reindex(const char *conf_path, struct source *src, leaf_read_fn leaf_read,
                         struct entry_certs *out, char *leaf_desc, size_t leaf_desc_size)
{
    struct source scratch = {.path = src->path};
    struct indexing ix = {&scratch, leaf_read, NULL, src, leaf_desc, leaf_desc_size};
    if (leaf_desc_size > 0)
        leaf_desc[0] = '\0';
    memset(out, 0, sizeof(*out));
    int rc = entry_index_certs(conf_path, src->entry, &scratch.has_leaf, scratch.leaf_fp,
                               &index_ops, &ix);
    if (rc == 0)
        memo_commit(&ix);
    else
        memo_free(ix.filling);
    if (rc != 0) {
        free(scratch.issuers);
        return -1;
    }
    out->has_leaf = scratch.has_leaf;
    memcpy(out->leaf_fp, scratch.leaf_fp, 20);
    out->issuers = scratch.issuers;
    out->issuer_count = scratch.issuer_count;
    return 0;
}
