/*
 * config_setting.h - checking one setting of the configuration, shared by the top-level
 * settings (config.c) and the `staples` entries (config_entry.c). Every problem is logged at
 * error level as "FILE:LINE: setting 'NAME': reason" and counted in cfg->problems.
 */
#ifndef OCSPSTAPLE_CONFIG_SETTING_H
#define OCSPSTAPLE_CONFIG_SETTING_H

#include <libconfig.h>

#include "config_data.h"

/* config_problem - log one problem with setting `s` (may be NULL: line 0) named `what`. */
void config_problem(struct config *cfg, const config_setting_t *s, const char *what,
                    const char *reason);

/* config_want_type - 1 when `s` has libconfig type `type` (an int64 passes for an int), else
 * 0 with the problem logged ("must be a string, not an integer; ignored"). */
int config_want_type(struct config *cfg, const config_setting_t *s, const char *what, int type);

/* config_dup_path - a copy of the non-empty string setting `s` (caller frees), or NULL
 * (logged) for an empty string, one too long to be a path, or when out of memory. */
char *config_dup_path(struct config *cfg, const config_setting_t *s, const char *what);

#endif
