/*
 * config_reload.h - the configuration file, watched once a second like the files it names: a
 * changed file is read again and applied by the running process (entries added, removed or
 * changed; settings), through directory handles opened before any chroot. A file that no
 * longer parses keeps the configuration in use (the problem is logged once, with file and
 * line); a setting with a problem keeps its value in use. Part of the store.
 *
 * Not thread-safe: called with the store's reload_lock held.
 */
#ifndef OCSPSTAPLE_CONFIG_RELOAD_H
#define OCSPSTAPLE_CONFIG_RELOAD_H

#include "config.h"
#include "source.h"
#include "validate.h"

/* What applying settings needs from the store. */
struct config_reload_hooks {
    /* The checks' policy changed: apply it (every binding is made again). */
    void (*set_policy)(const struct validation_policy *policy);
};

/* config_reload_setup - watch the file `path` (the one just loaded) from now on. Once, before
 * any chroot. */
void config_reload_setup(const char *path);

/* config_reload_pass - after dir_handles_check() in a pass: when the file changed (and has been
 * still for a second), read it and apply it to the sources and, through `hooks`, to the store;
 * *in_use then becomes the new configuration (the old one is freed). What changed goes to
 * *changed. Returns whether a new configuration was applied. */
bool config_reload_pass(struct config *in_use, const struct config_reload_hooks *hooks,
                        struct changes *changed);

#endif
