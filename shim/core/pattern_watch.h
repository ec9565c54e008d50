/*
 * pattern_watch.h - the configuration's pattern entries (a `certificate` with a `*`, see
 * cert_pattern.h), expanded once a pass into an entry per certificate found: a certificate
 * directory added (certbot's live/NEW/) is stapled without a change to the configuration, one
 * removed stops being stapled, a renewal inside one is followed as for any entry. Listed
 * through directory handles opened before any chroot. Part of the store's sources.
 *
 * Not thread-safe: called with the store's reload_lock held.
 */
#ifndef OCSPSTAPLE_PATTERN_WATCH_H
#define OCSPSTAPLE_PATTERN_WATCH_H

#include "config_data.h"
#include "source.h"
#include "source_hooks.h"

/* patterns_set - the pattern entries of `cfg` (copied) are the ones expanded from now on;
 * their directories are opened now (before any chroot, the first time). */
void patterns_set(const struct config *cfg);

/* patterns_pass - expand every pattern now, and make the sources made from patterns match:
 * new certificates get sources (read now), those no longer found are retired (unless some
 * pattern's directory could not be listed: reported once per problem). What changed goes to
 * *changed. */
void patterns_pass(const char *conf_path, const struct sources_hooks *hooks,
                   struct changes *changed);

#endif
