/*
 * pattern_watch.c - pattern entries expanded once a pass (see pattern_watch.h).
 */
#include "pattern_watch.h"

#include <stdlib.h>
#include <string.h>

#include "cert_pattern.h"
#include "dir_handle.h"
#include "entry_set.h"
#include "hash.h"
#include "log.h"
#include "staple_entry.h"

struct pattern {
    struct staple_entry entry; /* the pattern entry, copied */
    struct cert_pattern parts;
    struct dir_handle *dir; /* the pattern's fixed directory; NULL when it cannot be opened */
    uint64_t problem_hash;  /* of the last listing problem reported */
};

static struct {
    struct pattern *list;
    size_t count;
    bool ever; /* some pattern was set: sources made from patterns may exist */
} PW;

/* patterns_clear - forget the patterns set before. */
static void patterns_clear(void)
{
    for (size_t i = 0; i < PW.count; i++) {
        staple_entry_free(&PW.list[i].entry);
        cert_pattern_free(&PW.list[i].parts);
    }
    free(PW.list);
    PW.list = NULL;
    PW.count = 0;
}

void patterns_set(const struct config *cfg)
{
    size_t n = 0;
    patterns_clear();
    for (size_t i = 0; i < cfg->entry_count; i++)
        n += cfg->entries[i].is_pattern;
    if (n == 0 || (PW.list = calloc(n, sizeof(*PW.list))) == NULL)
        return;
    PW.ever = true;
    for (size_t i = 0; i < cfg->entry_count; i++) {
        const struct staple_entry *e = &cfg->entries[i];
        struct pattern *p = &PW.list[PW.count];
        const char *why = NULL;
        if (!e->is_pattern)
            continue;
        if (staple_entry_copy(e, &p->entry) != 0 ||
            cert_pattern_parse(e->certificate, &p->parts, &why) != 0) {
            log_error("%s:%d: pattern %s: %s; nothing will be stapled for it", cfg->path, e->line,
                      e->certificate, why != NULL ? why : "out of memory");
            staple_entry_free(&p->entry);
            continue;
        }
        p->dir = dir_get(p->parts.dir); /* a failure to open it is logged there */
        PW.count++;
    }
}

/* expand_one - the entries pattern `p` makes now, appended to *all; false (reported once per
 * problem) when its directory cannot be listed. */
static bool expand_one(const char *conf_path, struct pattern *p, struct staple_entry **all,
                       size_t *count)
{
    char why[256] = "its directory cannot be opened";
    struct staple_entry *found = NULL;
    size_t n = 0;
    int dfd = p->dir != NULL ? p->dir->pass_fd : -1;
    if (dfd < 0 || cert_pattern_expand(dfd, &p->entry, &found, &n, why, sizeof(why)) != 0) {
        uint64_t h = content_hash((const unsigned char *)why, strlen(why));
        if (h != p->problem_hash)
            log_error("%s:%d: pattern %s: %s; the certificates found before stay in use", conf_path,
                      p->entry.line, p->entry.certificate, why);
        p->problem_hash = h;
        return false;
    }
    p->problem_hash = 0;
    struct staple_entry *grown = n > 0 ? realloc(*all, (*count + n) * sizeof(**all)) : *all;
    if (grown == NULL) {
        for (size_t i = 0; i < n; i++)
            staple_entry_free(&found[i]);
        free(found);
        return false;
    }
    *all = grown;
    if (n > 0)
        memcpy(*all + *count, found, n * sizeof(*found)); /* moved: `found` owns nothing now */
    *count += n;
    free(found);
    return true;
}

void patterns_pass(const char *conf_path, const struct sources_hooks *hooks,
                   struct changes *changed)
{
    struct staple_entry *all = NULL;
    size_t count = 0;
    bool complete = true;
    struct entry_set_result r;

    if (!PW.ever)
        return; /* no pattern was ever configured: nothing to expand, nothing to retire */
    for (size_t i = 0; i < PW.count; i++)
        complete &= expand_one(conf_path, &PW.list[i], &all, &count);
    entry_set_apply(conf_path, all, count, true, complete, hooks, changed, &r);
    if (r.added > 0 || r.removed > 0)
        log_info("%s: patterns: %zu certificate(s) found, %zu no longer", conf_path, r.added,
                 r.removed);
    for (size_t i = 0; i < count; i++)
        staple_entry_free(&all[i]);
    free(all);
}
