/*
 * config_reload.c - rereading and applying a changed configuration file (see config_reload.h).
 */
#include "config_reload.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "dir_handle.h"
#include "file_state.h"
#include "hash.h"
#include "log.h"
#include "sources.h"

static struct {
    struct dir_handle *dir; /* NULL: looked at by path */
    const char *name;       /* in dir, or the path */
    char *path;
    struct file_id seen;
    bool have_seen;
    uint64_t problem_hash; /* of the last "cannot be read" reported */
} CW;

void config_reload_setup(const char *path)
{
    struct stat st;
    const char *name;
    if ((CW.path = strdup(path)) == NULL)
        return;
    struct dir_handle *d = dir_of_file(CW.path, true, &name);
    CW.name = CW.path;
    if (d != NULL && d->fd >= 0) {
        CW.dir = d;
        CW.name = name;
    }
    if (fstatat(CW.dir != NULL ? CW.dir->fd : AT_FDCWD, CW.name, &st, 0) == 0) {
        CW.seen = file_id_of(&st);
        CW.have_seen = true; /* as loaded a moment ago */
    }
}

/* changed_now - whether the file is another content than the one in use, and still for a
 * second; *dfd gets the directory to read it through. */
static bool changed_now(int *dfd)
{
    struct stat st;
    *dfd = CW.dir != NULL ? CW.dir->pass_fd : AT_FDCWD;
    if (*dfd == -1 || fstatat(*dfd, CW.name, &st, 0) != 0) {
        const char *why = *dfd == -1 ? "its directory cannot be opened" : strerror(errno);
        uint64_t h = content_hash((const unsigned char *)why, strlen(why));
        if (h != CW.problem_hash)
            log_warning("%s: cannot read the configuration: %s; the configuration loaded before "
                        "stays in use",
                        CW.path, why);
        CW.problem_hash = h;
        CW.have_seen = false;
        return false;
    }
    CW.problem_hash = 0;
    struct file_id id = file_id_of(&st);
    if (CW.have_seen && same_file(&id, &CW.seen))
        return false;
    if (!settled(&st.st_mtim) || !settled(&st.st_ctim))
        return false; /* an editor may still be writing it: next pass */
    CW.seen = id;
    CW.have_seen = true;
    return true;
}

/* keep_bad_settings - a setting of `next` with a problem keeps the value in use. */
static void keep_bad_settings(struct config *next, const struct config *in_use)
{
    if (config_setting_bad(next, "log_level"))
        next->log_level = in_use->log_level;
    if (config_setting_bad(next, "log_target"))
        next->log_target = in_use->log_target;
    if (config_setting_bad(next, "verify"))
        next->verify = in_use->verify;
    if (config_setting_bad(next, "skew"))
        next->skew = in_use->skew;
    if (config_setting_bad(next, "serve_revoked"))
        next->serve_revoked = in_use->serve_revoked;
    if (config_setting_bad(next, "response_dir")) {
        free(next->response_dir);
        next->response_dir = in_use->response_dir ? strdup(in_use->response_dir) : NULL;
    }
    log_configure(next->log_level, next->log_target);
}

bool config_reload_pass(struct config *in_use, const struct config_reload_hooks *hooks,
                        struct changes *changed)
{
    struct config next;
    size_t added = 0, removed = 0;
    int dfd;

    if (CW.path == NULL || !changed_now(&dfd))
        return false;
    if (config_load_at(in_use->path, dfd, CW.name, "the configuration loaded before stays in use",
                       &next) != 0) {
        log_configure(in_use->log_level, in_use->log_target);
        config_free(&next);
        return false;
    }
    keep_bad_settings(&next, in_use);
    if (next.verify != in_use->verify || next.skew != in_use->skew ||
        next.serve_revoked != in_use->serve_revoked) {
        struct validation_policy policy = {next.verify, next.skew, next.serve_revoked};
        hooks->set_policy(&policy);
        changed->all = true;
        if (!next.verify)
            log_warning("%s: verify is off: response signatures are not checked", next.path);
    }
    sources_apply_config(&next, changed, &added, &removed);
    log_info("%s: configuration changed: applied (%zu entr%s: %zu added, %zu removed)%s", next.path,
             next.entry_count, next.entry_count == 1 ? "y" : "ies", added, removed,
             next.problems > 0 ? "; with problems, see above" : "");
    config_drop_entries(&next); /* the sources hold theirs */
    config_free(in_use);
    *in_use = next;
    return true;
}
