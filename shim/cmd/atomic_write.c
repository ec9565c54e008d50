/*
 * atomic_write.c - replacing response files atomically and durably (see atomic_write.h).
 *
 * A file's own fsync comes before its rename, always: without it a crash could leave the new
 * name on an empty or partly written inode, worse than the old response. The fsync of the
 * directory, which makes the rename itself durable, is what can be shared: a rename that is
 * not yet durable at a crash leaves the old file, whole, which is what a fetch that had not yet
 * run would have left ("never worse"). So a run notes the directories it renamed into and
 * fsyncs each once at the end (one fsync for a directory of 1,000 responses instead of 1,000).
 *
 * fsync, not fdatasync, for the file: a new file's size and blocks are metadata fdatasync has
 * to write anyway, and the mode and owner copied from the old file are metadata it need not.
 * No syncfs: it would flush every other process's dirty data on the filesystem too, for a
 * time nobody can bound on a busy server.
 */
#include "atomic_write.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "log.h"

struct dir_syncs {
    pthread_mutex_t lock;
    char **dirs; /* distinct, malloc'ed */
    size_t count, cap;
};

struct dir_syncs *dir_syncs_new(void)
{
    struct dir_syncs *s = calloc(1, sizeof(*s));

    if (s != NULL && pthread_mutex_init(&s->lock, NULL) != 0) {
        free(s);
        s = NULL;
    }
    return s;
}

/* sync_dir - fsync the directory `dir`. Returns 0 or -1 (logged). */
static int sync_dir(const char *dir)
{
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

    if (fd < 0 || fsync(fd) != 0) {
        log_error("%s: cannot sync the directory: %s; the responses written there are in place, "
                  "but a crash may bring back their previous versions",
                  dir, strerror(errno));
        if (fd >= 0)
            close(fd);
        return -1;
    }
    close(fd);
    return 0;
}

/* note_dir - add `dir` to the set, or sync it at once when it cannot be added. */
static void note_dir(struct dir_syncs *s, const char *dir)
{
    bool noted = false;

    if (s != NULL) {
        pthread_mutex_lock(&s->lock);
        for (size_t i = 0; i < s->count && !noted; i++)
            noted = strcmp(s->dirs[i], dir) == 0;
        if (!noted && s->count == s->cap) {
            size_t cap = s->cap > 0 ? 2 * s->cap : 8;
            char **dirs = realloc(s->dirs, cap * sizeof(*dirs));
            if (dirs != NULL) {
                s->dirs = dirs;
                s->cap = cap;
            }
        }
        if (!noted && s->count < s->cap && (s->dirs[s->count] = strdup(dir)) != NULL) {
            s->count++;
            noted = true;
        }
        pthread_mutex_unlock(&s->lock);
    }
    if (!noted)
        (void)sync_dir(dir);
}

int atomic_write(struct dir_syncs *syncs, const char *path, const void *data, size_t len,
                 mode_t new_mode, char *why, size_t whylen)
{
    const unsigned char *der = data;
    char *copy1 = strdup(path), *copy2 = strdup(path), tmp[4096] = "";
    int fd = -1, rc = -1;
    struct stat old;

    if (copy1 == NULL || copy2 == NULL) {
        snprintf(why, whylen, "out of memory");
        goto done;
    }
    const char *dir = dirname(copy1), *base = basename(copy2);
    snprintf(tmp, sizeof(tmp), "%s/.%s.XXXXXX", dir, base);
    fd = mkostemp(tmp, O_CLOEXEC);
    if (fd < 0) {
        snprintf(why, whylen, "cannot create a temporary file in %s: %s", dir, strerror(errno));
        goto done;
    }
    if (stat(path, &old) == 0) {
        (void)fchmod(fd, old.st_mode & 07777);
        if (fchown(fd, old.st_uid, old.st_gid) != 0 && errno != EPERM)
            log_warning("%s: cannot keep the owner: %s", path, strerror(errno));
    } else {
        (void)fchmod(fd, new_mode);
    }
    size_t done = 0;
    while (done < len) {
        ssize_t n = write(fd, der + done, len - done);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            snprintf(why, whylen, "cannot write %.300s: %s", tmp, strerror(errno));
            goto done;
        }
        done += (size_t)n;
    }
    if (fsync(fd) != 0 || close(fd) != 0) {
        fd = -1;
        snprintf(why, whylen, "cannot write %.300s: %s", tmp, strerror(errno));
        goto done;
    }
    fd = -1;
    if (rename(tmp, path) != 0) {
        snprintf(why, whylen, "cannot rename over %s: %s", path, strerror(errno));
        goto done;
    }
    tmp[0] = '\0';
    note_dir(syncs, dir);
    rc = 0;
done:
    if (fd >= 0)
        close(fd);
    if (rc != 0 && tmp[0] != '\0')
        unlink(tmp);
    free(copy1);
    free(copy2);
    return rc;
}

size_t dir_syncs_flush(struct dir_syncs *syncs)
{
    char **dirs = NULL;
    size_t count = 0, failed = 0;

    if (syncs == NULL)
        return 0;
    pthread_mutex_lock(&syncs->lock);
    dirs = syncs->dirs;
    count = syncs->count;
    syncs->dirs = NULL;
    syncs->count = syncs->cap = 0;
    pthread_mutex_unlock(&syncs->lock);
    for (size_t i = 0; i < count; i++) {
        failed += sync_dir(dirs[i]) != 0;
        free(dirs[i]);
    }
    free(dirs);
    return failed;
}

void dir_syncs_free(struct dir_syncs *syncs)
{
    if (syncs == NULL)
        return;
    (void)dir_syncs_flush(syncs);
    pthread_mutex_destroy(&syncs->lock);
    free(syncs);
}
