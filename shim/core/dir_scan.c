/*
 * dir_scan.c - listing changed directories and sweeping for files rewritten in place (see
 * dir_scan.h).
 */
#include "dir_scan.h"

#include <dirent.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "files.h"
#include "hash.h"
#include "log.h"

#define RESPONSE_DIR_MAX 200000 /* files taken from response_dir */
#define SWEEP_PER_PASS   500    /* files looked at once a second whatever their directory says */

static struct {
    struct dir_handle *response_dir;
    size_t dir_file_count; /* sources taken from response_dir */
    bool dir_limit_logged;
    unsigned pass;       /* passes after the initial load, counted; 0 is the first listing */
    size_t sweep_cursor; /* the next source the sweep looks at */
} DS;

void dir_scan_setup(struct dir_handle *response_dir)
{
    DS.response_dir = response_dir;
    DS.dir_file_count = 0;
    DS.dir_limit_logged = false;
    if (response_dir != NULL)
        response_dir->listed = false; /* listed, its files taken, at the next pass */
}

/* refresh_now - reread the file of `src` if it changed, once per pass; a new version goes to
 * *changed. */
static void refresh_now(struct source *src, unsigned pass, struct changes *changed, bool initial)
{
    if (src->pass == pass)
        return;
    src->pass = pass;
    if (source_refresh(src, initial) && changed != NULL)
        changes_add(changed, src);
}

/* add_dir_file - a source for response_dir's file `name`, unless there are too many. */
static struct source *add_dir_file(struct dir_handle *d, const char *name)
{
    char path[PATH_MAX];
    if (DS.dir_file_count >= RESPONSE_DIR_MAX) {
        if (!DS.dir_limit_logged)
            log_error("%s: more than %d files; the rest are ignored", d->path, RESPONSE_DIR_MAX);
        DS.dir_limit_logged = true;
        return NULL;
    }
    int n = snprintf(path, sizeof(path), "%s/%s", d->path, name);
    char *kept = n > 0 && (size_t)n < sizeof(path) ? strdup(path) : NULL;
    struct source *src = kept ? source_new(kept, d, strlen(d->path) + 1) : NULL;
    if (src == NULL || !source_list(src)) {
        source_free(src);
        free(kept);
        return NULL;
    }
    src->owned_path = kept;
    DS.dir_file_count++;
    return src;
}

/* list_dir - the directory changed (or was never listed): list it. A *.der file of
 * response_dir not seen before becomes a source. Unless `initial` (the first listing of
 * response_dir, whose files the initial load then reads), the sources whose name now stands
 * for another file (a rename over it), that are gone, or that were never read, are refreshed
 * now: so a replacement is seen within a pass without a stat of every file. */
static void list_dir(struct dir_handle *d, unsigned pass, struct changes *changed, bool initial)
{
    int fd = d->pass_fd >= 0 ? openat(d->pass_fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC) : -1;
    DIR *dh = fd >= 0 ? fdopendir(fd) : NULL;
    if (dh == NULL) {
        if (fd >= 0)
            close(fd);
        d->listed = false;
        return;
    }
    struct dirent *de;
    while ((de = readdir(dh)) != NULL) {
        bool known = false;
        const struct ptrtable *t = &d->names;
        for (size_t i = name_hash(de->d_name) & t->mask; t->slots != NULL && t->slots[i] != NULL;
             i = (i + 1) & t->mask) {
            struct source *src = t->slots[i];
            if (strcmp(src->name, de->d_name) != 0)
                continue;
            known |= src->entry == NULL;
            src->listed = pass;
            if (!initial && (!src->have_seen || src->seen.ino != de->d_ino))
                refresh_now(src, pass, changed, false);
        }
        if (known || d != DS.response_dir || !is_response_file_name(de->d_name))
            continue;
        struct source *src = add_dir_file(d, de->d_name);
        if (src != NULL) {
            src->listed = pass;
            if (!initial)
                refresh_now(src, pass, changed, true);
        }
    }
    closedir(dh);
    for (size_t i = 0; !initial && d->names.slots != NULL && i <= d->names.mask; i++) {
        struct source *src = d->names.slots[i];
        if (src != NULL && src->listed != pass)
            refresh_now(src, pass, changed, false); /* gone: reported */
    }
}

void dir_scan_first_listing(void)
{
    if (DS.response_dir != NULL)
        list_dir(DS.response_dir, 0, NULL, true);
}

void dir_scan_pass(struct changes *changed)
{
    unsigned pass = ++DS.pass;
    if (pass == 0)
        pass = ++DS.pass; /* 0 is the listing of the initial load */
    for (size_t k = 0; k < dir_handle_count(); k++) {
        struct dir_handle *d = dir_handle_at(k);
        struct stat st;
        if (d->pass_fd < 0 || fstat(d->pass_fd, &st) != 0) {
            for (size_t i = 0; d->names.slots != NULL && i <= d->names.mask; i++)
                if (d->names.slots[i] != NULL)
                    refresh_now(d->names.slots[i], pass, changed, false); /* reported */
            continue;
        }
        struct file_id id = file_id_of(&st);
        if (d->listed && same_file(&id, &d->seen))
            continue;
        /* A change within the time stamp tick of this listing would go unseen: list again
         * until the directory has been still for a second. */
        d->seen = id;
        d->listed = settled(&st.st_mtim) && settled(&st.st_ctim);
        d->generation++;
        list_dir(d, pass, changed, false);
    }
    /* Files still being written are looked at every pass, the others SWEEP_PER_PASS at a time
     * (all of them every pass, up to that many files). */
    size_t count = sources_count();
    for (size_t i = 0; i < count; i++)
        if (sources_at(i)->unsettled)
            refresh_now(sources_at(i), pass, changed, false);
    size_t sweep = count < SWEEP_PER_PASS ? count : SWEEP_PER_PASS;
    for (size_t k = 0; k < sweep; k++) {
        if (DS.sweep_cursor >= count)
            DS.sweep_cursor = 0;
        refresh_now(sources_at(DS.sweep_cursor++), pass, changed, false);
    }
}

bool dir_scan_any_changed(void)
{
    for (size_t k = 0; k < dir_handle_count(); k++) {
        struct dir_handle *d = dir_handle_at(k);
        struct stat st;
        if (d->fd < 0 || fstat(d->fd, &st) != 0)
            continue; /* unreachable: the pass would find nothing more */
        struct file_id id = file_id_of(&st);
        if (!d->listed || !same_file(&id, &d->seen))
            return true;
    }
    return false;
}
