/*
 * sources.c - the initial load in steps and the store's view of its files (see sources.h).
 */
#include "sources.h"

#include <sys/stat.h>

#include <stdlib.h>
#include <string.h>

#include "cert_files.h"
#include "staple_entry.h"
#include "dir_handle.h"
#include "dir_scan.h"
#include "entry_set.h"
#include "pattern_watch.h"
#include "hash.h"
#include "log.h"

static struct {
    const struct config *cfg;
    struct sources_hooks hooks;
    /* The initial load: entries read so far, then response_dir's files. */
    size_t next_entry, next_dir_source, loaded_count;
    bool dir_scanned, patterns_expanded;
} SRC;

/* past - whether `deadline` (NULL: none) has passed. */
static bool past(const struct timespec *deadline)
{
    struct timespec now;
    if (deadline == NULL)
        return false;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return now.tv_sec > deadline->tv_sec ||
           (now.tv_sec == deadline->tv_sec && now.tv_nsec >= deadline->tv_nsec);
}

/* open_response_dir - the handle of response_dir `path`, or NULL when it must not be used
 * (world-writable: logged). */
static struct dir_handle *open_response_dir(const char *path)
{
    struct stat st;
    struct dir_handle *d = dir_get(path);
    if (d != NULL && d->fd >= 0 && fstat(d->fd, &st) == 0 && (st.st_mode & S_IWOTH)) {
        log_error("%s: response_dir is world-writable, so any local user could choose what is "
                  "stapled; ignored (chmod o-w it)",
                  path);
        d = NULL;
    }
    return d;
}

void sources_setup(const struct config *cfg, const struct sources_hooks *hooks)
{
    SRC.cfg = cfg;
    SRC.hooks = *hooks;
    dir_handles_setup();
    patterns_set(cfg);
    if (cfg->response_dir != NULL)
        dir_scan_setup(open_response_dir(cfg->response_dir));
}

void sources_check_dirs(void)
{
    dir_handles_check();
}

bool sources_load_more(const struct timespec *deadline, struct changes *changed)
{
    while (SRC.next_entry < SRC.cfg->entry_count) {
        if (past(deadline))
            return false;
        if (SRC.cfg->entries[SRC.next_entry].is_pattern) {
            SRC.next_entry++; /* expanded below */
            continue;
        }
        struct source *src = entry_source_add(SRC.cfg->path, &SRC.cfg->entries[SRC.next_entry++],
                                              SRC.hooks.leaf_read);
        if (src == NULL)
            continue;
        cert_files_watch(src);
        SRC.loaded_count += source_refresh(src, true);
        changes_add(changed, src);
    }
    if (!SRC.patterns_expanded) {
        SRC.patterns_expanded = true;
        patterns_pass(SRC.cfg->path, &SRC.hooks, changed);
    }
    if (!SRC.dir_scanned) {
        SRC.next_dir_source = sources_count(); /* response_dir's files come after the entries */
        SRC.dir_scanned = true;
        dir_scan_first_listing();
    }
    while (SRC.next_dir_source < sources_count()) {
        if (past(deadline))
            return false;
        struct source *src = sources_at(SRC.next_dir_source++);
        SRC.loaded_count += source_refresh(src, true);
        changes_add(changed, src);
    }
    return true;
}

void sources_refresh(struct changes *changed)
{
    /* Certificates first: a renewed certificate and its new response, both replaced since the
     * last pass, are then judged together. */
    patterns_pass(SRC.cfg->path, &SRC.hooks, changed);
    cert_files_pass(SRC.cfg->path, &SRC.hooks, changed);
    dir_scan_pass(changed);
}

/* change_response_dir - response_dir is now `path` (may be NULL): the old one's files are
 * retired, the new one's become sources at the next pass. */
static void change_response_dir(const char *path, struct changes *changed)
{
    for (size_t k = 0; k < sources_count(); k++)
        if (sources_at(k)->entry == NULL) {
            sources_at(k)->retired = true;
            changed->all = true;
        }
    dir_scan_setup(path != NULL ? open_response_dir(path) : NULL);
}

void sources_apply_config(const struct config *next, struct changes *changed, size_t *added,
                          size_t *removed)
{
    struct entry_set_result r;
    bool clean = next->problems == 0 && next->skipped_entries == 0;
    entry_set_apply(next->path, next->entries, next->entry_count, false, clean, &SRC.hooks, changed,
                    &r);
    if (r.kept_unlisted > 0)
        log_warning("%s: %zu entr%s no longer in the configuration (or not loadable as changed) "
                    "%s in use until it loads without problems",
                    next->path, r.kept_unlisted, r.kept_unlisted == 1 ? "y" : "ies",
                    r.kept_unlisted == 1 ? "stays" : "stay");
    const char *old_dir = SRC.cfg->response_dir, *new_dir = next->response_dir;
    bool same_dir =
        old_dir == new_dir || (old_dir != NULL && new_dir != NULL && strcmp(old_dir, new_dir) == 0);
    if (!same_dir) {
        change_response_dir(new_dir, changed);
        sources_unlist_retired();
    }
    patterns_set(next);
    *added = r.added;
    *removed = r.removed;
}

/* newer_usable - whether a version of `src` newer than history[h] passed the checks: then the
 * expiry of history[h] (the response of a certificate renewed since) is no news. */
static bool newer_usable(const struct source *src, int h)
{
    for (int k = 0; k < h; k++)
        if (src->history[k] != NULL && atomic_load(&src->history[k]->usable))
            return true;
    return false;
}

void sources_log_expiries(void)
{
    time_t now = time(NULL);
    char when[32];
    for (size_t i = 0; i < sources_count(); i++)
        for (int h = 0; h < HISTORY; h++) {
            struct source *src = sources_at(i);
            struct version *v = src->history[h];
            if (v == NULL || v->expiry_logged || !atomic_load(&v->usable) || v->next_update == 0 ||
                now < v->next_update || newer_usable(src, h))
                continue;
            format_utc(v->next_update, when, sizeof(when));
            log_warning("%s: the response in use expired at %s: no longer stapled; fetch a "
                        "fresh one (ocspstaple fetch)",
                        src->path, when);
            v->expiry_logged = true;
        }
}

bool sources_dirs_changed(void)
{
    return dir_scan_any_changed();
}

size_t sources_loaded(void)
{
    return SRC.loaded_count;
}
