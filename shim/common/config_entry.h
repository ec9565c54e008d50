/*
 * config_entry.h - the `staples` entries of the configuration.
 */
#ifndef OCSPSTAPLE_CONFIG_ENTRY_H
#define OCSPSTAPLE_CONFIG_ENTRY_H

#include <libconfig.h>

#include "config_data.h"
#include "staple_entry.h" /* staple_entry_free, which config.c uses */

/* config_parse_staples - every group of the `staples` list `list` into cfg->entries; a group
 * with a problem is logged ("staples entry skipped") and counted in cfg->skipped_entries.
 * The rules about `*` are cert_pattern_entry_problem's. A pattern entry is kept as it is
 * written, with is_pattern set: consumers must expand it (cert_pattern_expand) and never read
 * its `certificate`, `response` or `issuer` as files. */
void config_parse_staples(struct config *cfg, config_setting_t *list);

#endif
