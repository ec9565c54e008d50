/*
 * entry_set.c - the entries' sources made to match a list of entries (see entry_set.h).
 */
#include "entry_set.h"

#include <stdlib.h>
#include <string.h>

#include "cert_files.h"
#include "entry_index.h"
#include "hash.h"
#include "log.h"
#include "staple_entry.h"

/* entry_hash - of an entry's response path, for matching entries across lists. */
static size_t entry_hash(const struct staple_entry *e)
{
    return (size_t)content_hash((const unsigned char *)e->response, strlen(e->response));
}

/* of_kind - whether `src` is an entry's source of the kind being matched. */
static bool of_kind(const struct source *src, bool from_patterns)
{
    return src->entry != NULL && (src->entry->from_pattern != NULL) == from_patterns;
}

/* match - for every source of the kind: the same entry of `list` not matched yet, taken
 * (matched[j] set; the source's line becomes the list's); the sources without one are marked
 * in `gone` (indexed like the sources). */
static void match(struct staple_entry *list, size_t n, bool from_patterns,
                  const struct sources_hooks *hooks, bool *matched, bool *gone)
{
    size_t slots = 16;
    while (slots < 2 * n + 2)
        slots *= 2;
    size_t *table = calloc(slots, sizeof(size_t)); /* entry index + 1; 0: empty */
    for (size_t j = 0; table != NULL && j < n; j++) {
        size_t i = entry_hash(&list[j]) & (slots - 1);
        while (table[i] != 0)
            i = (i + 1) & (slots - 1);
        table[i] = j + 1;
    }
    for (size_t k = 0; k < sources_count(); k++) {
        struct source *src = sources_at(k);
        if (!of_kind(src, from_patterns))
            continue;
        gone[k] = true;
        for (size_t i = table ? entry_hash(src->entry) & (slots - 1) : 0; table && table[i] != 0;
             i = (i + 1) & (slots - 1)) {
            size_t j = table[i] - 1;
            if (matched[j] || !staple_entry_same(src->entry, &list[j]))
                continue;
            matched[j] = true;
            gone[k] = false;
            hooks->lock_checks();
            src->entry->line = list[j].line;
            hooks->unlock_checks();
            break;
        }
    }
    free(table);
}

void entry_set_apply(const char *conf_path, struct staple_entry *list, size_t n, bool from_patterns,
                     bool may_remove, const struct sources_hooks *hooks, struct changes *changed,
                     struct entry_set_result *result)
{
    size_t count = sources_count();
    bool *matched = calloc(n + 1, sizeof(bool));
    bool *gone = calloc(count + 1, sizeof(bool));

    memset(result, 0, sizeof(*result));
    if (matched == NULL || gone == NULL) {
        log_error("%s: out of memory while applying a change of entries", conf_path);
        goto out;
    }
    match(list, n, from_patterns, hooks, matched, gone);
    /* New entries first: one that cannot be loaded (a certificate file unreadable) is as a
     * problem of the file, and the entries no longer listed are then kept too. */
    size_t failed = 0;
    for (size_t j = 0; j < n; j++) {
        if (matched[j] || list[j].is_pattern)
            continue;
        struct source *src = entry_source_add(conf_path, &list[j], hooks->leaf_read);
        if (src == NULL) {
            failed++;
            continue;
        }
        cert_files_watch(src);
        source_refresh(src, true);
        changes_add(changed, src);
        result->added++;
    }
    for (size_t k = 0; k < count; k++) {
        if (!gone[k])
            continue;
        if (!may_remove || failed > 0) {
            result->kept_unlisted++;
            continue;
        }
        sources_at(k)->retired = true;
        changed->all = true; /* bindings made with it are made again */
        result->removed++;
    }
    sources_unlist_retired();
out:
    free(matched);
    free(gone);
}
