/*
 * sources.c - the initial load in steps and the store's view of its files (see sources.h).
 */
#include "sources.h"

#include <sys/stat.h>

#include "dir_handle.h"
#include "dir_scan.h"
#include "log.h"

static struct {
    const struct config *cfg;
    leaf_read_fn leaf_read;
    /* The initial load: entries read so far, then response_dir's files. */
    size_t next_entry, next_dir_source, loaded_count;
    bool dir_scanned;
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

void sources_setup(const struct config *cfg, leaf_read_fn leaf_read)
{
    struct stat st;
    SRC.cfg = cfg;
    SRC.leaf_read = leaf_read;
    dir_handles_setup();
    if (cfg->response_dir == NULL)
        return;
    struct dir_handle *d = dir_get(cfg->response_dir);
    if (d != NULL && d->fd >= 0 && fstat(d->fd, &st) == 0 && (st.st_mode & S_IWOTH)) {
        log_error("%s: response_dir is world-writable, so any local user could choose what is "
                  "stapled; ignored (chmod o-w it)",
                  cfg->response_dir);
        d = NULL;
    }
    dir_scan_setup(d);
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
        struct source *src =
            entry_source_add(SRC.cfg->path, &SRC.cfg->entries[SRC.next_entry++], SRC.leaf_read);
        if (src == NULL)
            continue;
        SRC.loaded_count += source_refresh(src, true);
        changes_add(changed, src);
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
    dir_scan_pass(changed);
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
                now < v->next_update)
                continue;
            format_utc(v->next_update, when, sizeof(when));
            log_warning("%s: the response in use expired at %s: no longer stapled; fetch a "
                        "fresh one (ocspstaple fetch)",
                        src->path, when);
            v->expiry_logged = true;
        }
}

size_t sources_loaded(void)
{
    return SRC.loaded_count;
}
