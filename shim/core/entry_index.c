/*
 * entry_index.c - entries' certificates indexed into their sources, with a memo of the PEM
 * text already decoded (see entry_index.h).
 */
#include "entry_index.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "certpool.h"
#include "files.h"
#include "hash.h"
#include "log.h"

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
 * the text whose certificates are being decoded (remembered once complete). */
struct indexing {
    struct source *src;
    leaf_read_fn leaf_read;
    struct text_memo *filling;
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

static const struct entry_cert_ops index_ops = {keep_cert, known_chain_text};

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

struct source *entry_source_add(const char *conf_path, const struct staple_entry *e,
                                leaf_read_fn leaf_read)
{
    char *dirpath = NULL;
    const char *base = NULL;
    struct source *src = NULL;

    if (split_path(e->response, &dirpath, &base) != 0) {
        log_error("%s:%d: response %s: not a file name", conf_path, e->line, e->response);
        goto skip;
    }
    struct dir_handle *dir = dir_get(dirpath);
    if (dir == NULL || (src = source_new(e->response, dir, (size_t)(base - e->response))) == NULL)
        goto skip;
    src->entry = e;
    /* Listed only once its certificates are in: a skipped entry leaves nothing behind. */
    struct indexing ix = {src, leaf_read, NULL};
    int rc = entry_index_certs(conf_path, e, &src->has_leaf, src->leaf_fp, &index_ops, &ix);
    if (rc == 0)
        memo_commit(&ix);
    else
        memo_free(ix.filling);
    if (rc != 0 || !source_list(src)) {
        source_free(src); /* logged by entry_index_certs, or out of memory */
        src = NULL;
        goto skip;
    }
    free(dirpath);
    return src;
skip:
    log_error("%s:%d: staples entry for %s skipped: nothing will be stapled for it", conf_path,
              e->line, e->response);
    free(dirpath);
    return NULL;
}
