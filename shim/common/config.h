/*
 * config.h - reading the ocspstaple configuration file (libconfig syntax) into config_data.h.
 *
 * Shared by the shim's core and the ocspstaple command, so that both read the same settings
 * with the same rules. Problems are logged with the file, the line and the setting; a broken
 * entry is skipped, a broken file yields no entries at all (the host keeps running either way).
 */
#ifndef OCSPSTAPLE_CONFIG_H
#define OCSPSTAPLE_CONFIG_H

#include <stdbool.h>

#include "config_data.h"

/* config_path - the configuration file this process should read: $OCSPSTAPLE_CONF (read with
 * secure_getenv, so ignored in setuid/setgid processes), else the compiled-in default. */
const char *config_path(void);

/* config_defaults - fill *cfg with the documented defaults and no entries. */
void config_defaults(struct config *cfg);

/* config_load - parse `path` into *cfg (which is first reset to defaults). Returns 0 when the
 * file was read (individual problems are counted in cfg->problems and logged), -1 when it
 * could not be read or parsed at all (logged; *cfg then holds defaults and no entries).
 * Not thread-safe with itself on the same struct; uses no global state. */
int config_load(const char *path, struct config *cfg);

/* config_load_at - config_load of the file `name` relative to directory descriptor `dirfd`
 * (AT_FDCWD: a path), named `path` in messages: how the shim rereads its configuration, also
 * from inside a chroot. `failure` ends the messages of a file that cannot be used at all ("no
 * stapling" at start-up; what stays in use on a reload). */
int config_load_at(const char *path, int dirfd, const char *name, const char *failure,
                   struct config *cfg);

/* config_setting_bad - whether top-level setting `name` of *cfg had a problem (its default
 * is in *cfg then: a reload keeps the value in use instead). */
bool config_setting_bad(const struct config *cfg, const char *name);

/* config_drop_entries - release cfg's entries (once whoever needed them has taken what it
 * keeps); its settings stay. */
void config_drop_entries(struct config *cfg);

/* config_free - release everything config_load allocated; the struct may be reused. */
void config_free(struct config *cfg);

#endif
