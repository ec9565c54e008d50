/*
 * config_entry.h - the `staples` entries of the configuration.
 */
#ifndef OCSPSTAPLE_CONFIG_ENTRY_H
#define OCSPSTAPLE_CONFIG_ENTRY_H

#include <libconfig.h>

#include "config_data.h"

/* config_parse_staples - every group of the `staples` list `list` into cfg->entries; a group
 * with a problem is logged ("staples entry skipped") and counted in cfg->skipped_entries. */
void config_parse_staples(struct config *cfg, config_setting_t *list);

/* staple_entry_free - release what an entry owns; the entry is zeroed. */
void staple_entry_free(struct staple_entry *e);

#endif
