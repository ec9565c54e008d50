/*
 * sources.h - the response files the configuration names or response_dir holds, as the store
 * sees them: read at start-up in steps, reread when they change. Part of the store (store.c
 * schedules it); the pieces are source.c (one file and its versions), entry_index.c (entries'
 * certificates), dir_handle.c (directories kept across a chroot) and dir_scan.c (what changed).
 *
 * Not thread-safe: every function is called with the store's reload_lock held.
 */
#ifndef OCSPSTAPLE_SOURCES_H
#define OCSPSTAPLE_SOURCES_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#include "config.h"
#include "entry_index.h"
#include "source_hooks.h"
#include "source.h"
#include "version.h"

/* sources_setup - the configuration to read (*cfg stays the store's: the initial load reads
 * its entries; sources keep their own copies of them) and the store's hooks (copied). Opens
 * response_dir, unless it is world-writable (logged). Call once, before any chroot. */
void sources_setup(const struct config *cfg, const struct sources_hooks *hooks);

/* sources_apply_config - a reloaded configuration `next` (whose settings are applied by the
 * caller): its entries that were loaded already keep their sources; new or changed ones get
 * sources, read now; those no longer in it are retired, unless `next` had problems (an entry
 * it dropped would otherwise lose its stapling: logged); a changed response_dir is read
 * anew. Everything that changed goes to *changed. Returns the counts in *added, *removed. */
void sources_apply_config(const struct config *next, struct changes *changed, size_t *added,
                          size_t *removed);

/* sources_check_dirs - at the start of a pass: every directory's descriptor, checked once for
 * the whole pass (reopened when the host closed it or the directory was made anew). */
void sources_check_dirs(void);

/* sources_load_more - go on with the initial load until `deadline` (CLOCK_MONOTONIC; NULL: to
 * the end): the entries in the order of the configuration, then the files of response_dir.
 * What was read goes to *changed. Returns true when everything has been read. */
bool sources_load_more(const struct timespec *deadline, struct changes *changed);

/* sources_refresh - after the initial load, once a second: entries whose certificate files
 * changed, re-indexed (cert_files.h); new response_dir files, and the response files that
 * changed, reread (dir_scan.h). What changed goes to *changed. */
void sources_refresh(struct changes *changed);

/* sources_dirs_changed - whether a directory the sources are read from changed since it was
 * last listed (one fstat per directory; no pass needed before). */
bool sources_dirs_changed(void);

/* sources_log_expiries - one line when a response that was in use reaches its nextUpdate. */
void sources_log_expiries(void);

/* sources_loaded - how many sources had a response when first read. */
size_t sources_loaded(void);

#endif
