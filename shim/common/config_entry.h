/*
 * config_entry.h - the `staples` entries of the configuration.
 */
#ifndef OCSPSTAPLE_CONFIG_ENTRY_H
#define OCSPSTAPLE_CONFIG_ENTRY_H

#include <stdbool.h>

#include <libconfig.h>

#include "config_data.h"

/* config_parse_staples - every group of the `staples` list `list` into cfg->entries; a group
 * with a problem is logged ("staples entry skipped") and counted in cfg->skipped_entries. */
void config_parse_staples(struct config *cfg, config_setting_t *list);

/* staple_entry_free - release what an entry owns; the entry is zeroed. */
void staple_entry_free(struct staple_entry *e);

/* staple_entry_copy - a deep copy of `e` into *out (strings owned by the copy). Returns 0, or
 * -1 when out of memory (then *out is zeroed and owns nothing). */
int staple_entry_copy(const struct staple_entry *e, struct staple_entry *out);

/* staple_entry_same - whether two entries ask for the same stapling (every setting equal;
 * the line may differ): a reloaded configuration keeps what such an entry has loaded. */
bool staple_entry_same(const struct staple_entry *a, const struct staple_entry *b);

#endif
