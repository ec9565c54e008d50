/*
 * entry_set.h - making the entries' sources match a list of entries: what a reloaded
 * configuration names, or what the patterns expand to now. An entry the same as before keeps
 * its source (and what it loaded); a new one gets a source, read now; a source whose entry is
 * no longer listed is retired. Part of the store's sources.
 *
 * Not thread-safe: called with the store's reload_lock held.
 */
#ifndef OCSPSTAPLE_ENTRY_SET_H
#define OCSPSTAPLE_ENTRY_SET_H

#include <stdbool.h>
#include <stddef.h>

#include "config_data.h"
#include "source.h"
#include "source_hooks.h"

/* What entry_set_apply did. */
struct entry_set_result {
    size_t added, removed;
    size_t kept_unlisted; /* not listed, but kept: removing was not allowed */
};

/* entry_set_apply - make the sources of one kind of entry (`from_patterns`: those made from a
 * pattern; else the configuration's own) match list[0..n): sources of entries not in the list
 * are retired when `may_remove` (else kept, and counted), entries not yet loaded become
 * sources (taking what the list's entry owns; pattern entries of the list are left alone).
 * An entry that cannot be loaded counts as a problem: then nothing is retired either. What
 * changed goes to *changed. */
void entry_set_apply(const char *conf_path, struct staple_entry *list, size_t n, bool from_patterns,
                     bool may_remove, const struct sources_hooks *hooks, struct changes *changed,
                     struct entry_set_result *result);

#endif
